// views/thread.js: the thread panel beside the conversation (the whole screen on a phone) —
// the root message, its replies as they come, and a box to reply.

import { h, $, icon, replace } from '../dom.js';
import * as api from '../api.js';
import { enc } from '../api.js';
import { renderMessage } from './message.js';
import { onEnter, showError, toast } from './ui.js';
import { messageTime } from '../format.js';

const GROUP_MS = 5 * 60 * 1000;

export class ThreadView {
  /** ctx: { state } */
  constructor(ctx) {
    this.ctx = ctx;
    this.state = ctx.state;
    this.convId = '';
    this.rootId = '';
    this.panel = $('#thread-panel');
    this.ta = $('#thread-composer');
    $('#thread-close').append(icon('close', 18));
    $('#thread-send').append(icon('send', 18));
    $('#thread-close').addEventListener('click', () => this.close());
    this.panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !e.defaultPrevented) {
        e.preventDefault();
        this.close();
      }
    });
    onEnter(this.ta, () => this.send());
    $('#thread-form').addEventListener('submit', (e) => { e.preventDefault(); this.send(); });
    this.ta.addEventListener('input', () => {
      this.ta.style.height = 'auto';
      this.ta.style.height = `${Math.min(this.ta.scrollHeight, 200)}px`;
    });
    this.state.on('thread', (id) => { if (id === this.rootId) this.render(); });
    this.state.on('users', () => { if (this.rootId) this.render(); });
    this.state.on('removed', (id) => { if (id === this.convId) this.close(); });
  }

  /** open shows the thread of message rootId in conversation convId. */
  async open(convId, rootId) {
    this.convId = convId;
    this.rootId = rootId;
    this.panel.hidden = false;
    document.body.classList.add('thread-open');
    showError($('#thread-error'), '');
    const c = this.state.conversation(convId);
    replace($('#thread-where'), c ? `${c.kind === 'channel' ? '#' : ''}${this.state.title(c)}` : '');
    const known = this.state.rootMessage(convId, rootId);
    if (known) this.state.setThread(convId, known, (this.state.thread(rootId) || {}).replies || []);
    this.ta.focus();
    try {
      const res = await api.get(`/api/conversations/${enc(convId)}/threads/${enc(rootId)}`);
      if (this.rootId !== rootId && this.rootId !== res.root.id) return;
      this.rootId = res.root.id;
      this.state.setThread(convId, res.root, res.replies);
    } catch (err) {
      toast(`Could not open the thread: ${api.errorText(err)}`, { error: true });
      this.close();
    }
  }

  close() {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    document.body.classList.remove('thread-open');
    this.rootId = '';
    replace($('#thread-root'));
    replace($('#thread-replies'));
    $('#composer').focus();
  }

  render() {
    const t = this.state.thread(this.rootId);
    if (!t) return;
    const me = this.state.myName;
    const draw = (m, continued) => {
      const el = renderMessage(m, {
        continued, me, user: this.state.user(m.sender), name: m.sender === 'Deleted User' ? 'Deleted User' : this.state.name(m.sender),
        nameOf: (u) => this.state.name(u), userOf: (u) => this.state.user(u), inThread: true,
      });
      // The panel reads and replies; reacting, editing and deleting happen in the conversation.
      el.querySelector('.message-actions')?.remove();
      for (const b of el.querySelectorAll('.reaction, .reaction-add')) b.disabled = true;
      return el;
    };
    replace($('#thread-root'), draw(t.root, false));
    const n = t.replies.length;
    replace($('#thread-count'), h('span', null, n ? `${n} ${n === 1 ? 'reply' : 'replies'}` : 'No replies yet'));
    let prev = null;
    const body = $('#thread-body');
    const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 60;
    replace($('#thread-replies'), t.replies.map((m) => {
      const continued = !!prev && prev.sender === m.sender && messageTime(m) - messageTime(prev) < GROUP_MS;
      prev = m;
      return draw(m, continued);
    }));
    if (atBottom) body.scrollTop = body.scrollHeight;
    this.markRead(t);
  }

  // markRead records the newest reply as read while the panel shows it in a visible tab.
  markRead(t) {
    const last = t.replies.filter((m) => !m.pending).pop();
    if (!last || this.panel.hidden || document.visibilityState !== 'visible' || this.readSent === last.id) return;
    this.readSent = last.id;
    api.post(`/api/conversations/${enc(t.conversation)}/threads/${enc(t.root.id)}/read`, { message_id: last.id })
      .then(() => this.ctx.threadsChanged && this.ctx.threadsChanged())
      .catch(() => { this.readSent = ''; });
  }

  async send() {
    const body = this.ta.value.trim();
    if (!body || !this.rootId) return;
    const convId = this.convId;
    const rootId = this.rootId;
    this.ta.value = '';
    this.ta.style.height = 'auto';
    showError($('#thread-error'), '');
    try {
      const res = await api.post(`/api/conversations/${enc(convId)}/messages`, { body, thread_root: rootId });
      this.state.upsertReply(res.message);
      const b = $('#thread-body');
      b.scrollTop = b.scrollHeight;
    } catch (err) {
      if (!this.ta.value) this.ta.value = body;
      showError($('#thread-error'), `Not sent: ${api.errorText(err)}`);
    }
  }
}
