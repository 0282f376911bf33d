// socket.js: the one WebSocket of this tab. It reconnects by itself with backoff, remembers
// the boot id and the last event seq, and reconnects with ?boot=…&since=… so that the server
// replays what was missed (or sends resync).
//
// Events emitted:
//   status(connected: boolean)  the socket went up (after hello) or down
//   event(frame)                every server frame except hello, pong and resync
//   resync()                    the server could not replay: refetch everything
//   connected()                 the first connection said hello: events flow from here on
//   reconnected()               a later connection said hello (replay follows)
//   session-ended()             close code 4001: the session is gone, go to login
//   retry(attempt)              a reconnect is scheduled (the app checks the session)

import { EV } from './events.js';
import { Emitter } from './emitter.js';

const MIN_DELAY = 500;
const MAX_DELAY = 15000;
const PING_EVERY = 25000;
const DEAD_AFTER = 60000;

export class Socket extends Emitter {
  constructor(path = '/ws') {
    super();
    this.path = path;
    this.ws = null;
    this.boot = '';
    this.lastSeq = null;
    this.helloSeq = null;
    this.conn = ''; // this connection's id, from its hello (call signalling addresses it)
    // The accounts whose presence this client shows (null: every account), sent at the
    // handshake (?watch=) and whenever it changes (presence.watch): the server sends the
    // presence of those only.
    this.watch = null;
    this.connected = false;
    this.stopped = true;
    this.attempt = 0;
    this.everConnected = false;
    this._timer = null;
    this._ping = null;
    this._lastHeard = 0;
    this._onOnline = () => this._reconnectNow();
  }

  /** start connects and keeps the socket up until stop(). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this._onOnline);
    this._connect();
  }

  /**
   * firstHello resolves true once the first connection has said hello (at once if it has),
   * or false after ms: what is read from the API after it cannot miss an event sent before.
   */
  firstHello(ms) {
    if (this.everConnected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const off = this.on('connected', () => { clearTimeout(timer); off(); resolve(true); });
      const timer = setTimeout(() => { off(); resolve(false); }, ms);
    });
  }

  /** stop closes the socket for good and forgets the catch-up position. */
  stop() {
    this.stopped = true;
    window.removeEventListener('online', this._onOnline);
    clearTimeout(this._timer);
    clearInterval(this._ping);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, 'bye');
    }
    this.boot = '';
    this.lastSeq = null;
    this.everConnected = false;
    this._setConnected(false);
  }

  /** send writes one frame; it answers false when the socket is not connected. */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.connected) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let q = '';
    if (this.boot && this.lastSeq !== null) {
      q = `?boot=${encodeURIComponent(this.boot)}&since=${encodeURIComponent(this.lastSeq)}`;
    }
    if (this.watch) q += `${q ? '&' : '?'}watch=${encodeURIComponent(this.watch.join(','))}`;
    return `${proto}//${location.host}${this.path}${q}`;
  }

  /** setWatch names the accounts whose presence to receive (null: every account). */
  setWatch(users) {
    const same = users === this.watch || (users && this.watch && users.join(',') === this.watch.join(','));
    if (same) return;
    this.watch = users;
    this.send(users ? { type: 'presence.watch', users } : { type: 'presence.watch', all: true });
  }

  _connect() {
    if (this.stopped) return;
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (err) {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener('message', (e) => {
      if (ws !== this.ws) return;
      this._lastHeard = Date.now();
      let frame;
      try {
        frame = JSON.parse(e.data);
      } catch {
        return;
      }
      this._frame(frame);
    });
    ws.addEventListener('close', (e) => {
      if (ws !== this.ws) return;
      this.ws = null;
      clearInterval(this._ping);
      this._setConnected(false);
      if (e.code === 4001) {
        this.stopped = true;
        this.emit('session-ended');
        return;
      }
      this._scheduleReconnect();
    });
    ws.addEventListener('open', () => {
      this._lastHeard = Date.now();
      clearInterval(this._ping);
      this._ping = setInterval(() => {
        if (Date.now() - this._lastHeard > DEAD_AFTER) {
          // No frame for too long: the connection is dead even if the browser has not noticed.
          ws.close(4000, 'dead');
          return;
        }
        if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}');
      }, PING_EVERY);
    });
  }

  _frame(frame) {
    if (typeof frame.seq === 'number' && frame.type !== EV.HELLO && frame.type !== EV.RESYNC) {
      if (this.lastSeq !== null && frame.seq <= this.lastSeq) return; // already seen
      this.lastSeq = frame.seq;
    }
    switch (frame.type) {
      case EV.HELLO: {
        const again = this.everConnected;
        if (this.lastSeq === null || (this.boot && frame.boot !== this.boot)) {
          // A first connection or a restarted daemon (which also sends resync): count from
          // the current seq of this boot.
          this.lastSeq = frame.seq ?? 0;
        }
        this.boot = frame.boot;
        this.conn = frame.conn || '';
        this.helloSeq = frame.seq ?? 0;
        this.attempt = 0;
        this.everConnected = true;
        this._setConnected(true);
        this.emit(again ? 'reconnected' : 'connected');
        return;
      }
      case EV.RESYNC:
        this.lastSeq = Math.max(this.helloSeq ?? 0, 0);
        this.emit('resync');
        return;
      case EV.PONG:
        return;
      default:
        this.emit('event', frame);
    }
  }

  _setConnected(v) {
    if (this.connected === v) return;
    this.connected = v;
    this.emit('status', v);
  }

  _scheduleReconnect() {
    if (this.stopped) return;
    clearTimeout(this._timer);
    const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt++;
    this.emit('retry', this.attempt);
    this._timer = setTimeout(() => this._connect(), delay);
  }

  _reconnectNow() {
    if (this.stopped || this.connected) return;
    clearTimeout(this._timer);
    this.attempt = 0;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
    this._connect();
  }
}
