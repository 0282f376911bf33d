// call.js: voice/video calls as a WebRTC mesh. Signalling goes over the WebSocket as `call`
// frames: join (I am in the call), offer/answer (SDP), candidate (ICE), leave. A participant
// is a connection (a tab), named by the `conn` id of its hello: one user in two tabs is two
// peers, and each of the two tabs a peer of the other. When A joins, each participant B
// answers: the one with the smaller connection id sends the offer, the other sends a directed
// join back, so two peers never offer to each other at once.
//
// Events: change() whenever participants, streams or state change; incoming({conversation,
// from, video}) when someone else starts a call while we are not in one; error(message).

import { Emitter } from './emitter.js';

export class Calls extends Emitter {
  /** sendFrame(frame) writes to the socket; me() gives my username, conn() this tab's connection id. */
  constructor({ sendFrame, me, conn }) {
    super();
    this.sendFrame = sendFrame;
    this.me = me;
    this.conn = conn;
    this.conv = '';
    this.local = null;
    this.video = false;
    this.muted = false;
    this.peers = new Map(); // remote connection id -> { user, pc, stream, state, queued }
    this.active = new Map(); // conversation -> Map of connection id -> username seen in its call
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

  /** rejoin enters the call again as this tab's new connection (after the socket reconnected:
   * the old connection left every call as it closed, and its peers dropped it). */
  rejoin() {
    if (!this.conv) return;
    for (const c of [...this.peers.keys()]) this.dropPeer(c);
    this.signal('join', { video: this.video });
    this.emit('change');
  }

  /** signal sends a call frame; with to and toConn, to that connection only. */
  signal(signal, data, to, toConn) {
    const frame = { type: 'call', conversation: this.conv, signal, data };
    if (to) frame.to = to;
    if (toConn) frame.to_conn = toConn;
    this.sendFrame(frame);
  }

  /** handle processes one `call` frame from the server. */
  async handle(ev) {
    const from = ev.from;
    const fromConn = ev.from_conn;
    const mine = this.conn();
    if (!from || !fromConn || fromConn === mine) return;
    if (ev.to_conn && ev.to_conn !== mine) return;
    const conv = ev.conversation;
    if (!this.active.has(conv)) this.active.set(conv, new Map());
    const act = this.active.get(conv);
    if (Array.isArray(ev.participants) && (ev.signal === 'join' || ev.signal === 'leave')) {
      act.clear();
      for (const p of ev.participants) if (p.conn !== mine) act.set(p.conn, p.user);
    } else if (ev.signal === 'join') act.set(fromConn, from);
    else if (ev.signal === 'leave') act.delete(fromConn);

    if (conv !== this.conv) {
      // My own other tab starting a call does not ring here.
      if (ev.signal === 'join' && !ev.to && from !== this.me()) this.emit('incoming', { conversation: conv, from, video: !!(ev.data && ev.data.video) });
      this.emit('change');
      return;
    }
    try {
      switch (ev.signal) {
        case 'join':
          if (this.peers.has(fromConn)) this.dropPeer(fromConn); // it rejoined
          if (mine < fromConn) await this.offer(fromConn, from);
          else if (!ev.to) this.signal('join', { video: this.video }, from, fromConn);
          break;
        case 'offer': {
          const p = this.peer(fromConn, from);
          await p.pc.setRemoteDescription(ev.data);
          const answer = await p.pc.createAnswer();
          await p.pc.setLocalDescription(answer);
          this.signal('answer', { type: answer.type, sdp: answer.sdp }, from, fromConn);
          await this.flushCandidates(p);
          break;
        }
        case 'answer': {
          const p = this.peers.get(fromConn);
          if (p) {
            await p.pc.setRemoteDescription(ev.data);
            await this.flushCandidates(p);
          }
          break;
        }
        case 'candidate': {
          const p = this.peers.get(fromConn) || this.peer(fromConn, from);
          if (!ev.data) break;
          if (p.pc.remoteDescription) await p.pc.addIceCandidate(ev.data);
          else p.queued.push(ev.data);
          break;
        }
        case 'leave':
          this.dropPeer(fromConn);
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

  /** peer gives the peer connection to remote connection conn (of user), made on first use. */
  peer(conn, user) {
    let p = this.peers.get(conn);
    if (p) return p;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers || [] });
    p = { user, pc, stream: new MediaStream(), state: 'connecting', queued: [] };
    this.peers.set(conn, p);
    if (this.local) for (const t of this.local.getTracks()) pc.addTrack(t, this.local);
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate) this.signal('candidate', e.candidate.toJSON(), user, conn);
    });
    pc.addEventListener('track', (e) => {
      p.stream.addTrack(e.track);
      this.emit('change');
    });
    pc.addEventListener('connectionstatechange', () => {
      p.state = pc.connectionState;
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.dropPeer(conn);
      this.emit('change');
    });
    return p;
  }

  async offer(conn, user) {
    const p = this.peer(conn, user);
    const offer = await p.pc.createOffer();
    await p.pc.setLocalDescription(offer);
    this.signal('offer', { type: offer.type, sdp: offer.sdp }, user, conn);
  }

  dropPeer(conn) {
    const p = this.peers.get(conn);
    if (!p) return;
    this.peers.delete(conn);
    try { p.pc.close(); } catch { /* already closed */ }
    this.emit('change');
  }

  /** activeIn gives who was last seen in the call of a conversation (not counting this tab),
   * each user once. */
  activeIn(conv) {
    return [...new Set((this.active.get(conv) || new Map()).values())];
  }
}
