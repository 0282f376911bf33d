// call.js: voice/video calls as a WebRTC mesh. Signalling goes over the WebSocket as `call`
// frames: join (I am in the call), offer/answer (SDP), candidate (ICE), leave. When A joins,
// each participant B answers: the one with the smaller username sends the offer, the other
// sends a directed join back, so two peers never offer to each other at once.
//
// Events: change() whenever participants, streams or state change; incoming({conversation,
// from, video}) when someone starts a call while we are not in one; error(message).

import { Emitter } from './emitter.js';

export class Calls extends Emitter {
  /** sendFrame(frame) writes to the socket; me() gives my username. */
  constructor({ sendFrame, me }) {
    super();
    this.sendFrame = sendFrame;
    this.me = me;
    this.conv = '';
    this.local = null;
    this.video = false;
    this.muted = false;
    this.peers = new Map(); // username -> { pc, stream, state }
    this.active = new Map(); // conversation -> Set of usernames seen in a call
  }

  get inCall() {
    return !!this.conv;
  }

  /** supported says whether this browser can place calls here (needs a secure context). */
  static supported() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.RTCPeerConnection);
  }

  /** join starts or joins the call of a conversation. */
  async join(conv, { video = false } = {}) {
    if (this.conv === conv) return;
    if (this.conv) this.leave();
    if (!Calls.supported()) {
      this.emit('error', 'Calls need microphone access, which this browser does not allow here (it needs HTTPS and a WebRTC-capable browser).');
      return;
    }
    try {
      this.local = await navigator.mediaDevices.getUserMedia({ audio: true, video });
    } catch (err) {
      const why = err && err.name === 'NotAllowedError' ? 'permission was denied'
        : err && err.name === 'NotFoundError' ? 'no microphone or camera was found' : (err && err.message) || 'unknown error';
      this.emit('error', `Cannot start the call: ${why}.`);
      return;
    }
    this.conv = conv;
    this.video = video;
    this.muted = false;
    this.signal('join', { video });
    this.emit('change');
  }

  /** leave hangs up. */
  leave() {
    if (!this.conv) return;
    this.signal('leave', {});
    for (const name of [...this.peers.keys()]) this.dropPeer(name);
    if (this.local) for (const t of this.local.getTracks()) t.stop();
    this.local = null;
    this.conv = '';
    this.emit('change');
  }

  toggleMute() {
    if (!this.local) return;
    this.muted = !this.muted;
    for (const t of this.local.getAudioTracks()) t.enabled = !this.muted;
    this.emit('change');
  }

  signal(signal, data, to) {
    const frame = { type: 'call', conversation: this.conv, signal, data };
    if (to) frame.to = to;
    this.sendFrame(frame);
  }

  /** handle processes one `call` frame from the server. */
  async handle(ev) {
    const from = ev.from;
    if (!from || from === this.me()) return;
    if (ev.to && ev.to !== this.me()) return;
    const conv = ev.conversation;
    if (!this.active.has(conv)) this.active.set(conv, new Set());
    const act = this.active.get(conv);
    if (ev.signal === 'join') act.add(from);
    if (ev.signal === 'leave') act.delete(from);

    if (conv !== this.conv) {
      if (ev.signal === 'join' && !ev.to) this.emit('incoming', { conversation: conv, from, video: !!(ev.data && ev.data.video) });
      this.emit('change');
      return;
    }
    try {
      switch (ev.signal) {
        case 'join':
          if (this.peers.has(from)) this.dropPeer(from); // they rejoined
          if (this.me() < from) await this.offer(from);
          else if (!ev.to) this.signal('join', { video: this.video }, from);
          break;
        case 'offer': {
          const p = this.peer(from);
          await p.pc.setRemoteDescription(ev.data);
          const answer = await p.pc.createAnswer();
          await p.pc.setLocalDescription(answer);
          this.signal('answer', { type: answer.type, sdp: answer.sdp }, from);
          await this.flushCandidates(p);
          break;
        }
        case 'answer': {
          const p = this.peers.get(from);
          if (p) {
            await p.pc.setRemoteDescription(ev.data);
            await this.flushCandidates(p);
          }
          break;
        }
        case 'candidate': {
          const p = this.peers.get(from) || this.peer(from);
          if (!ev.data) break;
          if (p.pc.remoteDescription) await p.pc.addIceCandidate(ev.data);
          else p.queued.push(ev.data);
          break;
        }
        case 'leave':
          this.dropPeer(from);
          break;
        default:
      }
    } catch (err) {
      console.warn('call signal', ev.signal, err);
    }
    this.emit('change');
  }

  async flushCandidates(p) {
    const q = p.queued.splice(0);
    for (const c of q) {
      try { await p.pc.addIceCandidate(c); } catch (err) { console.warn('candidate', err); }
    }
  }

  peer(name) {
    let p = this.peers.get(name);
    if (p) return p;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers || [] });
    p = { pc, stream: new MediaStream(), state: 'connecting', queued: [] };
    this.peers.set(name, p);
    if (this.local) for (const t of this.local.getTracks()) pc.addTrack(t, this.local);
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate) this.signal('candidate', e.candidate.toJSON(), name);
    });
    pc.addEventListener('track', (e) => {
      p.stream.addTrack(e.track);
      this.emit('change');
    });
    pc.addEventListener('connectionstatechange', () => {
      p.state = pc.connectionState;
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.dropPeer(name);
      this.emit('change');
    });
    return p;
  }

  async offer(name) {
    const p = this.peer(name);
    const offer = await p.pc.createOffer();
    await p.pc.setLocalDescription(offer);
    this.signal('offer', { type: offer.type, sdp: offer.sdp }, name);
  }

  dropPeer(name) {
    const p = this.peers.get(name);
    if (!p) return;
    this.peers.delete(name);
    try { p.pc.close(); } catch { /* already closed */ }
    this.emit('change');
  }

  /** activeIn gives who was last seen in the call of a conversation (not counting me). */
  activeIn(conv) {
    return [...(this.active.get(conv) || [])];
  }
}
