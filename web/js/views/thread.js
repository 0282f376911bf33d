// views/thread.js: the thread panel beside the conversation (the whole screen on a phone) —
// the root message, its replies as they come, and a box to reply.

import { h, $, icon, replace } from '../dom.js';
import * as api from '../api.js';
import { enc } from '../api.js';
import { renderMessage } from './message.js';
import { onEnter, showError, toast } from './ui.js';
import { openPicker } from './emoji.js';
import { toggleReaction, editBox, deleteMessage } from './msgactions.js';
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
    // The toolbar's actions on the root and the replies, as in the conversation.
    this.editing = '';
    this.els = new Map(); // message id -> element drawn last
    $('#thread-body').addEventListener('click', (e) => this.onClick(e));
    this.state.on('thread', (id) => {
      if (id !== this.rootId) return;
      // The root was deleted: nothing is left to show.
      if (!this.state.thread(id) && !this.panel.hidden) this.close();
      else this.render();
    });
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
    if (convId !== this.alsoFor) {
      $('#thread-also').checked = false;
      this.alsoFor = convId;
    }
    replace($('#thread-also-text'), !c || c.kind === 'dm' ? 'Also send to the conversation' : `Also send to ${c.kind === 'channel' ? '#' : ''}${this.state.title(c)}`);
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

  /** showing reports whether the panel shows thread rootId in a visible tab. */
  showing(rootId) {
    return !this.panel.hidden && this.rootId === rootId && document.visibilityState === 'visible';
  }

  /** reload reads the open thread again (after a resync, when events were lost). */
  reload() {
    if (this.panel.hidden || !this.rootId) return;
    if (!this.state.conversation(this.convId)) {
      this.close();
      return;
    }
    this.readSent = '';
    this.open(this.convId, this.rootId);
  }

  close() {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    document.body.classList.remove('thread-open');
    this.rootId = '';
    this.editing = '';
    this.els = new Map();
    replace($('#thread-root'));
    replace($('#thread-replies'));
    $('#composer').focus();
  }

  render() {
    const t = this.state.thread(this.rootId);
    if (!t) return;
    const me = this.state.myName;
    const els = new Map();
    const draw = (m, continued) => {
      // The message being edited keeps its editor across redraws.
      const el = m.id === this.editing && this.els.get(m.id) ? this.els.get(m.id) : renderMessage(m, {
        continued, me, user: this.state.user(m.sender), name: m.sender === 'Deleted User' ? 'Deleted User' : this.state.name(m.sender),
        nameOf: (u) => this.state.name(u), userOf: (u) => this.state.user(u), inThread: true,
      });
      els.set(m.id, el);
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
    if (this.editing && !els.has(this.editing)) this.editing = '';
    this.els = els;
    this.markRead(t);
  }

  /** message finds a message of the open thread (the root or a reply). */
  message(id) {
    const t = this.state.thread(this.rootId);
    if (!t) return null;
    return t.root.id === id ? t.root : t.replies.find((m) => m.id === id) || null;
  }

  onClick(e) {
    const btn = e.target.closest('[data-action]');
    const el = btn && btn.closest('.message');
    const msg = el && this.message(el.dataset.id);
    if (!msg) return;
    switch (btn.dataset.action) {
      case 'react':
        openPicker(btn, (emoji) => toggleReaction(this.state, msg, emoji));
        break;
      case 'toggle-reaction':
        toggleReaction(this.state, msg, btn.dataset.emoji);
        break;
      case 'edit':
        if (this.editing) this.endEdit();
        this.editing = msg.id;
        editBox(this.state, this.els.get(msg.id) || el, msg, () => this.endEdit());
        break;
      case 'delete':
        deleteMessage(this.state, msg);
        break;
      default:
    }
  }

  endEdit() {
    this.editing = '';
    this.render();
    this.ta.focus();
  }

  // markRead records the newest reply as read while the panel shows it in a visible tab.
  markRead(t) {
    const last = t.replies.filter((m) => !m.pending).pop();
    if (!last || this.panel.hidden || document.visibilityState !== 'visible' || this.readSent === last.id) return;
    this.readSent = last.id;
    api.post(`/api/conversations/${enc(t.conversation)}/threads/${enc(t.root.id)}/read`, { message_id: last.id })
      .then(() => this.ctx.threadRead && this.ctx.threadRead(t.root.id))
      .catch(() => { this.readSent = ''; });
  }

  async send() {
    const body = this.ta.value.trim();
    if (!body || !this.rootId) return;
    const convId = this.convId;
    const rootId = this.rootId;
    const also = $('#thread-also');
    const alsoChannel = also.checked;
    also.checked = false; // as in Slack: each reply is asked again
    this.ta.value = '';
    this.ta.style.height = 'auto';
    showError($('#thread-error'), '');
    try {
      const req = { body, thread_root: rootId };
      if (alsoChannel) req.also_channel = true;
      const res = await api.post(`/api/conversations/${enc(convId)}/messages`, req);
      this.state.upsertMessage(res.message);
      const b = $('#thread-body');
      b.scrollTop = b.scrollHeight;
    } catch (err) {
      if (!this.ta.value) {
        this.ta.value = body;
        also.checked = alsoChannel;
      }
      showError($('#thread-error'), `Not sent: ${api.errorText(err)}`);
    }
  }
}
