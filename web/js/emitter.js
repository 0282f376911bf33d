// emitter.js: a minimal event emitter shared by the socket and the state.

export class Emitter {
  constructor() {
    this._handlers = new Map();
  }

  /** on registers fn for event and returns a function that removes it. */
  on(event, fn) {
    if (!this._handlers.has(event)) this._handlers.set(event, new Set());
    this._handlers.get(event).add(fn);
    return () => this._handlers.get(event)?.delete(fn);
  }

  /** emit calls every handler of event; one failing handler does not stop the others. */
  emit(event, ...args) {
    for (const fn of [...(this._handlers.get(event) || [])]) {
      try {
        fn(...args);
      } catch (err) {
        console.error(`handler for ${event}:`, err);
      }
    }
  }
}
