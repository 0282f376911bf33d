// views/callpanel.js: the call buttons in the header and the call panel (participants with
// their audio/video, mute, hang up), plus the "X started a call" prompt.

import { h, $, icon, replace } from '../dom.js';
import { Calls } from '../call.js';
import { avatar, toast } from './ui.js';
import { Notifier } from '../notify.js';

const RING_EVERY = 2500;

export class CallPanel {
  /** ctx: { state, calls, openConversation(id) } */
  constructor(ctx) {
    this.ctx = ctx;
    this.calls = ctx.calls;
    // '' (this tab) or a remote connection id -> its video element (kept so playback is not
    // interrupted)
    this.media = new Map();
    $('#call-audio').append(icon('phone', 18));
    $('#call-video').append(icon('video', 18));
    $('#call-audio').addEventListener('click', () => this.start(false));
    $('#call-video').addEventListener('click', () => this.start(true));
    // Calls ringing here: conversation id -> { from, video }. A call rings until it is
    // answered (here), declined, or everyone in it has left.
    this.ringing = new Map();
    this.ringTimer = 0;
    this.audio = null;
    this.calls.on('change', () => {
      this.draw();
      this.updateRinging();
    });
    this.calls.on('error', (msg) => toast(msg, { error: true, timeout: 8000 }));
    this.calls.on('incoming', ({ conversation, from, video }) => {
      if (!ctx.state.conversation(conversation) || this.calls.inCall) return;
      this.ringing.set(conversation, { from, video });
      this.updateRinging();
    });
  }

  /** updateRinging drops calls that ended or were answered (here or in another of my tabs),
   * then draws the banner and rings. */
  updateRinging() {
    const me = this.ctx.state.myName;
    for (const [conv] of this.ringing) {
      const users = [...(this.calls.active.get(conv) || new Map()).values()];
      const over = !users.some((u) => u !== me);
      if (over || users.includes(me) || (this.calls.inCall && this.calls.conv === conv)) this.ringing.delete(conv);
    }
    const banner = $('#call-ring');
    const st = this.ctx.state;
    const items = [...this.ringing].map(([conv, { from, video }]) => {
      const c = st.conversation(conv);
      const where = c && c.kind !== 'dm' ? ` in ${st.title(c)}` : '';
      return h('div', { class: 'call-ring-item', dataset: { conversation: conv } },
        avatar(st.user(from), { size: 'sm', round: true }),
        h('span', { class: 'call-ring-text' }, `${st.name(from)} is calling${where}`, h('span', { class: 'muted' }, video ? ' · video' : ' · voice')),
        h('button', { type: 'button', class: 'btn primary call-join', on: { click: () => this.answer(conv, video) } }, icon(video ? 'video' : 'phone', 16), 'Join'),
        h('button', { type: 'button', class: 'btn call-decline', on: { click: () => this.decline(conv) } }, icon('hangup', 16), 'Decline'));
    });
    replace(banner, items);
    banner.hidden = !items.length;
    this.ring(items.length > 0);
  }

  answer(conv, video) {
    this.ringing.delete(conv);
    this.ctx.openConversation(conv);
    this.calls.join(conv, { video });
    this.updateRinging();
  }

  decline(conv) {
    this.ringing.delete(conv);
    this.updateRinging();
  }

  // ring plays the chime every few seconds while a call rings (not under do not disturb, and
  // not for a muted conversation: its banner shows, silently).
  ring(on) {
    const prefs = this.ctx.state.prefs;
    const audible = [...this.ringing.keys()].some((c) => !((prefs.conversations || {})[c] || {}).muted);
    if (!on || !audible || prefs.dnd || !Notifier.soundOn()) {
      clearInterval(this.ringTimer);
      this.ringTimer = 0;
      return;
    }
    if (this.ringTimer) return;
    const play = () => {
      if (!this.audio) this.audio = new Audio('/sound/notify.wav');
      this.audio.currentTime = 0;
      this.audio.play().catch(() => {});
    };
    play();
    this.ringTimer = setInterval(play, RING_EVERY);
  }

  start(video) {
    const id = this.ctx.state.currentId;
    if (!id) return;
    if (!Calls.supported()) {
      toast('Calls need microphone access, which this browser does not allow here (it needs HTTPS and a WebRTC-capable browser).', { error: true, timeout: 8000 });
      return;
    }
    this.calls.join(id, { video });
  }

  draw() {
    const panel = $('#call-panel');
    const calls = this.calls;
    if (!calls.inCall) {
      for (const el of this.media.values()) el.srcObject = null;
      this.media.clear();
      panel.hidden = true;
      replace(panel);
      return;
    }
    const st = this.ctx.state;
    const c = st.conversation(calls.conv);
    // One tile per connection: a user in two tabs shows twice.
    const people = [this.person('', st.myName, calls.local, true)];
    for (const [conn, p] of calls.peers) people.push(this.person(conn, p.user, p.stream, false, p.state));
    for (const k of [...this.media.keys()]) if (k !== '' && !calls.peers.has(k)) this.media.delete(k);
    replace(panel,
      h('div', { class: 'call-title' }, icon(calls.video ? 'video' : 'phone', 18), `Call in ${c ? st.title(c) : calls.conv}`),
      h('div', { class: 'call-people', dataset: { count: String(calls.peers.size + 1) } }, people),
      h('div', { class: 'call-actions' },
        h('button', { type: 'button', id: 'call-mute', class: 'btn', 'aria-pressed': String(calls.muted), on: { click: () => calls.toggleMute() } }, icon('mic', 16), calls.muted ? 'Unmute' : 'Mute'),
        h('button', { type: 'button', id: 'call-hangup', class: 'btn call-hangup', on: { click: () => calls.leave() } }, icon('hangup', 16), 'Hang up')));
    panel.hidden = false;
  }

  /** person draws one participant: conn ('' for this tab) of user. */
  person(conn, name, stream, isMe, state) {
    let el = this.media.get(conn);
    const hasVideo = !!stream && stream.getVideoTracks().length > 0;
    if (!el) {
      el = h('video', { autoplay: true, playsinline: true });
      if (isMe) el.muted = true;
      this.media.set(conn, el);
    }
    if (el.srcObject !== stream) el.srcObject = stream || null;
    const label = isMe ? 'You' : this.ctx.state.name(name);
    return h('div', { class: ['call-person', !hasVideo && 'audio-only'], dataset: { username: name, conn } },
      el,
      hasVideo ? null : avatar(this.ctx.state.user(name), { round: true }),
      h('span', null, label + (state && state !== 'connected' ? ` (${state})` : '')));
  }
}
