// notify.js: desktop notifications and their sound. What notifies follows the user's
// settings (state.prefs: do not disturb, and each conversation's level and mute, kept on the
// server); nothing notifies for the conversation open in a focused window. Permission is
// asked only from a control the user clicks (Settings → Notifications), never on load.

const SOUND_KEY = 'mm_sound';

/** Notifier shows notifications for messages and calls. */
export class Notifier {
  /** ctx: { state, openConversation(id) } */
  constructor(ctx) {
    this.ctx = ctx;
    this.audio = null;
  }

  /** supported reports whether this browser has desktop notifications at all. */
  static supported() {
    return typeof window.Notification === 'function';
  }

  /** permission is 'granted', 'denied', 'default' or 'unsupported'. */
  static permission() {
    return Notifier.supported() ? Notification.permission : 'unsupported';
  }

  /** request asks for permission (call it from a click). */
  static async request() {
    if (!Notifier.supported()) return 'unsupported';
    return Notification.requestPermission();
  }

  /** soundOn reports whether notifications play a sound (a setting of this browser). */
  static soundOn() {
    try {
      return localStorage.getItem(SOUND_KEY) !== 'off';
    } catch {
      return true;
    }
  }

  static setSound(on) {
    try {
      localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
    } catch {
      // not kept: the default (on) applies next time
    }
  }

  /** level is how conversation id notifies: 'all', 'mentions' or 'none' (muted: 'none'). */
  level(id) {
    const { state } = this.ctx;
    const p = (state.prefs.conversations || {})[id] || {};
    if (p.muted) return 'none';
    if (p.level) return p.level;
    return id.startsWith('d:') ? 'all' : 'mentions';
  }

  /** looking reports whether id is open in this window and the window has the focus. */
  looking(id) {
    return this.ctx.state.currentId === id && document.visibilityState === 'visible' && document.hasFocus();
  }

  /**
   * onMessage notifies of msg (from someone else) when the settings say so. participants
   * are, for a thread reply, the thread's people as the server named them.
   */
  onMessage(msg, participants) {
    const { state } = this.ctx;
    const id = msg.conversation;
    if (state.prefs.dnd || msg.sender === state.myName || this.looking(id)) return;
    const level = this.level(id);
    if (level === 'none') return;
    const m = msg.mentions || [];
    if (level === 'mentions' && !m.includes(state.myName) && !m.some((x) => x === 'here' || x === 'channel' || x === 'all')
      && !(msg.thread_root && (participants || []).includes(state.myName))) return;
    const c = state.conversation(id);
    const where = c ? (c.kind === 'dm' ? '' : ` in ${c.kind === 'channel' ? '#' : ''}${state.title(c)}`) : '';
    const text = msg.body || (msg.attachment ? `📎 ${msg.attachment.name}` : '');
    this.show(`${state.name(msg.sender)}${where}`, text.length > 200 ? `${text.slice(0, 200)}…` : text, id, `msg:${msg.id}`);
  }

  /** onCall notifies of an incoming call. */
  onCall({ conversation, from, video }) {
    const { state } = this.ctx;
    if (state.prefs.dnd || this.level(conversation) === 'none' || this.looking(conversation)) return;
    const c = state.conversation(conversation);
    this.show(`${state.name(from)} is calling`, `${video ? 'Video' : 'Voice'} call${c && c.kind !== 'dm' ? ` in ${state.title(c)}` : ''}`, conversation, `call:${conversation}`);
  }

  show(title, body, convId, tag) {
    if (Notifier.permission() === 'granted') {
      try {
        const n = new Notification(title, { body, tag, icon: '/img/logo.svg' });
        n.onclick = () => {
          window.focus();
          this.ctx.openConversation(convId);
          n.close();
        };
      } catch {
        // some browsers allow notifications only from a service worker: the sound still plays
      }
    }
    if (Notifier.soundOn()) {
      if (!this.audio) this.audio = new Audio('/sound/notify.wav');
      this.audio.currentTime = 0;
      this.audio.play().catch(() => {}); // no sound before the page was interacted with
    }
  }
}
