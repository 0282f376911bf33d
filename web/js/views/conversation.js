// views/conversation.js: the open conversation — header title, the message list (grouped by
// sender, day separators, infinite scroll up), inline editing, reactions, deletion,
// "Seen by …" and the typing line.

import { h, $, icon, replace } from '../dom.js';
import * as api from '../api.js';
import { enc } from '../api.js';
import { messageTime, dayKey, formatDay, typingText, joinNames } from '../format.js';
import { renderMessage, signature } from './message.js';
import { openPicker } from './emoji.js';
import { toast } from './ui.js';
import { toggleReaction, editBox, deleteMessage } from './msgactions.js';

const PAGE = 50;
const GROUP_MS = 5 * 60 * 1000;

/** ConversationView draws the open conversation from the state. */
export class ConversationView {
  constructor(ctx) {
    this.ctx = ctx;
    this.state = ctx.state;
    this.id = '';
    this.cache = new Map(); // message id -> { el, sig }
    this.days = new Map(); // day key -> separator element
    this.editing = '';
    this.stick = true;
    this.gen = 0;
    this.typingTimer = 0;
    this.scroller = $('#messages');
    this.list = $('#message-list');
    // The "New messages" line: before newFrom, the first message after readMark (what had
    // been read when the conversation opened, or where it was marked unread). readMark null:
    // no line.
    this.readMark = null;
    this.newFrom = '';
    this.newCount = 0; // messages from others that arrived while scrolled up
    this.divider = h('div', { class: 'new-divider', role: 'separator', 'aria-label': 'New messages' }, h('span', null, 'New messages'));
    this.pill = $('#jump-latest');
    this.pill.addEventListener('click', () => {
      this.toBottom();
      this.newCount = 0;
      this.updatePill();
      $('#composer').focus();
    });
    $('#members-btn').prepend(icon('users', 18));

    const s = this.state;
    s.on('messages', (id, change) => { if (id === this.id) this.onMessages(change || {}); });
    s.on('typing', (id) => { if (id === this.id) this.renderTyping(); });
    s.on('receipts', (id) => {
      if (id !== this.id) return;
      // "Seen by" is the last line of the list: when the bottom was in view, keep it in view.
      const bottom = this.atBottom();
      this.renderSeen();
      if (bottom || this.stick) this.toBottom();
    });
    s.on('users', () => { if (this.id) { this.renderHeader(); this.render(); } });
    s.on('conversations', () => { if (this.id) this.renderHeader(); });
    s.on('me', () => { if (this.id) this.render(); });
    s.on('unread', (id) => {
      if (id !== this.id) return;
      const c = this.state.conversation(id);
      this.readMark = c ? c.last_read || '' : null;
      this.newFrom = this.findNewFrom();
      this.render();
    });

    this.scroller.addEventListener('scroll', () => {
      this.stick = this.atBottom();
      if (this.scroller.scrollTop < 200) this.loadOlder();
      if (this.stick) {
        this.newCount = 0;
        this.ctx.maybeMarkRead();
      }
      this.updatePill();
    }, { passive: true });
    // Images change heights as they load: keep the bottom in view when it was.
    this.list.addEventListener('load', () => { if (this.stick) this.toBottom(); }, true);
    this.list.addEventListener('click', (e) => this.onClick(e));
  }

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 60;
  }

  toBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** open shows conversation id (loading its newest page when needed). */
  async open(id) {
    if (this.id !== id) {
      this.id = id;
      this.cache.clear();
      this.days.clear();
      this.editing = '';
      replace(this.list);
      this.stick = true;
      const c = this.state.conversation(id);
      this.readMark = c && c.unread ? c.last_read || '' : null;
      this.unreadAtOpen = c ? c.unread || 0 : 0;
      this.newFrom = '';
      this.newCount = 0;
      this.placed = false;
    }
    const gen = ++this.gen;
    $('#empty-state').hidden = true;
    this.renderHeader();
    this.renderTyping();
    const hist = this.state.history(id);
    this.render();
    this.toBottom();
    // Enough of the history to reach the first unread message (up to a few pages).
    if (!hist.loaded) await this.loadNewest(id, gen, Math.min(200, Math.max(PAGE, this.unreadAtOpen + 10)));
    await this.reachReadMark(id, gen);
    if (gen === this.gen && !this.placed) {
      this.placed = true;
      this.newFrom = this.findNewFrom();
      this.render();
      this.placeAtFirstUnread();
    }
    this.updatePill();
    this.ctx.maybeMarkRead();
    this.loadReceipts(id);
  }

  /** reachReadMark loads older pages until the last read message is loaded (8 at most). */
  async reachReadMark(id, gen) {
    for (let i = 0; i < 8 && this.readMark !== null && gen === this.gen; i++) {
      const hist = this.state.history(id);
      const first = hist.items.find((m) => !m.pending);
      if (!hist.loaded || !hist.hasMore || !first || first.id <= this.readMark) return;
      if (hist.loading) return;
      await this.loadOlder();
    }
  }

  /** findNewFrom is the first message from someone else after readMark ('' for none). */
  findNewFrom() {
    if (this.readMark === null || !this.id) return '';
    const me = this.state.myName;
    const m = this.state.history(this.id).items.find((x) => !x.pending && x.id > this.readMark && x.sender !== me);
    return m ? m.id : '';
  }

  /**
   * placeAtFirstUnread opens the conversation at its "New messages" line when what follows
   * it is more than a screen; otherwise at the bottom.
   */
  placeAtFirstUnread() {
    const s = this.scroller;
    if (!this.divider.isConnected) {
      this.toBottom();
      return;
    }
    const top = this.divider.getBoundingClientRect().top - s.getBoundingClientRect().top + s.scrollTop;
    if (s.scrollHeight - top > s.clientHeight) {
      s.scrollTop = Math.max(0, top - 8);
      this.stick = false;
    } else {
      this.toBottom();
      this.stick = true;
    }
  }

  /** updatePill shows "N new messages" or "Jump to latest" while scrolled up. */
  updatePill() {
    const s = this.scroller;
    const far = s.scrollHeight - s.scrollTop - s.clientHeight > s.clientHeight;
    const show = !!this.id && !this.atBottom() && (this.newCount > 0 || far);
    this.pill.hidden = !show;
    if (!show) return;
    const text = this.newCount ? `${this.newCount} new message${this.newCount === 1 ? '' : 's'}` : 'Jump to latest';
    if (this.pill.textContent !== text) replace(this.pill, icon('down', 16), text);
  }

  /** reload refetches the newest page (after a resync). */
  async reload() {
    if (!this.id) return;
    const gen = ++this.gen;
    await this.loadNewest(this.id, gen);
    this.loadReceipts(this.id);
  }

  /** close shows the empty state (no conversation). */
  close(text) {
    this.id = '';
    this.gen++;
    this.cache.clear();
    this.readMark = null;
    this.newFrom = '';
    this.newCount = 0;
    this.pill.hidden = true;
    replace(this.list);
    replace($('#conv-title'));
    replace($('#conv-sub'));
    replace($('#typing'));
    $('#seen-by').hidden = true;
    const es = $('#empty-state');
    replace(es, text || 'Pick a conversation on the left.');
    es.hidden = false;
  }

  async loadNewest(id, gen, limit = PAGE) {
    const hist = this.state.history(id);
    hist.loading = true;
    this.renderTop();
    try {
      const res = await api.get(`/api/conversations/${enc(id)}/messages?limit=${limit}`);
      if (gen !== this.gen && this.id !== id) return;
      this.state.setNewest(id, res.messages || [], res.has_more);
    } catch (err) {
      if (err.status === 404) {
        toast('That conversation does not exist or you are not a member.', { error: true });
        this.state.removeConversation(id);
        return;
      }
      toast(`Could not load messages: ${api.errorText(err)}`, { error: true });
    } finally {
      hist.loading = false;
      if (this.id === id) this.renderTop();
    }
  }

  async loadOlder() {
    const id = this.id;
    const hist = id && this.state.history(id);
    if (!hist || !hist.loaded || hist.loading || !hist.hasMore) return;
    const first = hist.items.find((m) => !m.pending);
    if (!first) return;
    hist.loading = true;
    this.renderTop();
    try {
      const res = await api.get(`/api/conversations/${enc(id)}/messages?before=${enc(first.id)}&limit=${PAGE}`);
      if (this.id !== id) return;
      this.state.prependOlder(id, res.messages || [], res.has_more);
    } catch (err) {
      toast(`Could not load older messages: ${api.errorText(err)}`, { error: true });
    } finally {
      hist.loading = false;
      if (this.id === id) this.renderTop();
    }
  }

  async loadReceipts(id) {
    try {
      const res = await api.get(`/api/conversations/${enc(id)}/receipts`);
      this.state.setReceipts(id, res.receipts || []);
    } catch {
      // receipts are a nicety; the read events still arrive
    }
  }

  onMessages(change) {
    const s = this.scroller;
    const wasBottom = this.atBottom();
    const fromBottom = s.scrollHeight - s.scrollTop;
    this.render();
    if (change.kind === 'older') {
      s.scrollTop = s.scrollHeight - fromBottom; // keep what the user was looking at in place
    } else if (change.kind === 'reset') {
      if (wasBottom || this.stick) this.toBottom();
      this.fillViewport();
    } else if (change.kind === 'new') {
      if (wasBottom || change.mine) this.toBottom();
      else this.newCount++;
      // Something new while nobody looks (another tab in front, or scrolled up): it starts
      // the "New messages" line unless one is shown already.
      if (!change.mine && !this.newFrom && (!wasBottom || !this.state.viewing)) {
        const before = this.state.history(this.id).items.filter((m) => !m.pending && m.id < change.id).pop();
        this.readMark = before ? before.id : '';
        this.newFrom = change.id;
        this.render();
        if (wasBottom) this.toBottom();
      }
    } else if (wasBottom) {
      this.toBottom();
    }
    this.stick = this.atBottom();
    if (this.stick) this.newCount = 0;
    this.updatePill();
    // Read receipts only for what is in view: not for a message that arrived above the fold.
    if (change.kind === 'reset' || (change.kind === 'new' && this.stick)) this.ctx.maybeMarkRead();
  }

  // A first page shorter than the screen leaves nothing to scroll: load more right away.
  fillViewport() {
    const hist = this.state.history(this.id);
    if (hist.hasMore && this.scroller.scrollHeight <= this.scroller.clientHeight + 10) {
      setTimeout(() => this.loadOlder(), 0);
    }
  }

  renderHeader() {
    const c = this.state.conversation(this.id);
    if (!c) return;
    const title = this.state.title(c);
    const lead = c.kind === 'channel' ? icon('hash', 18) : c.kind === 'private' ? icon('lock', 18) : null;
    replace($('#conv-title'), lead, h('span', null, title));
    let sub = '';
    const members = c.members || [];
    if (c.kind === 'channel') sub = 'Public channel · everyone is a member';
    else if (c.kind === 'private') sub = `Private channel · ${members.length} member${members.length === 1 ? '' : 's'}`;
    else {
      const others = this.state.others(c);
      sub = others.length === 1 ? presenceWord(this.state.presence(others[0])) : `${others.length + 1} people`;
      if (c.departed) sub += ` · ${c.departed} left (account deleted)`;
      if (c.read_only) sub = 'Read-only';
    }
    replace($('#conv-sub'), sub);
    const n = c.kind === 'channel' ? this.state.users.size : members.length;
    replace($('#members-count'), n ? String(n) : '');
    $('#composer').placeholder = c.kind === 'dm' ? `Message ${title}` : `Message ${c.kind === 'channel' ? '#' : ''}${title}`;
  }

  renderTop() {
    const top = $('#history-top');
    const hist = this.id && this.state.history(this.id);
    if (!hist) return replace(top);
    if (hist.loading) return replace(top, 'Loading messages…');
    if (hist.loaded && !hist.hasMore) {
      const c = this.state.conversation(this.id);
      const title = this.state.title(c);
      const what = !c ? '' : c.kind === 'dm' ? `your conversation with ${title}` : `${c.kind === 'channel' ? '#' : ''}${title}`;
      return replace(top, h('div', { class: 'intro' }, h('h2', null, title), h('p', null, `This is the very beginning of ${what}.`)));
    }
    return replace(top);
  }

  render() {
    if (!this.id) return;
    const hist = this.state.history(this.id);
    const me = this.state.myName;
    const nodes = [];
    const used = new Set();
    let prev = null;
    let prevDay = '';
    for (const m of hist.items) {
      const ms = messageTime(m);
      const day = dayKey(ms);
      if (day !== prevDay) {
        let sep = this.days.get(day);
        if (!sep) {
          sep = h('div', { class: 'day-sep', role: 'separator' }, h('span', null, formatDay(ms)));
          this.days.set(day, sep);
        }
        nodes.push(sep);
        prevDay = day;
        prev = null;
      }
      // The "New messages" line starts a new group.
      if (m.id === this.newFrom) prev = null;
      const continued = !!prev && prev.sender === m.sender && ms - messageTime(prev) < GROUP_MS && m.sender !== 'system' && !(m.props && m.props.from_webhook) && !m.thread_root;
      const user = this.state.user(m.sender);
      const name = m.sender === 'Deleted User' ? 'Deleted User' : this.state.name(m.sender);
      const sig = signature(m, continued, name, user.avatar_url || '');
      let entry = this.cache.get(m.id);
      if (!(entry && (entry.sig === sig || this.editing === m.id))) {
        entry = { el: renderMessage(m, { continued, me, user, name, nameOf: (u) => this.state.name(u), userOf: (u) => this.state.user(u) }), sig };
        this.cache.set(m.id, entry);
      }
      used.add(m.id);
      if (m.id === this.newFrom) nodes.push(this.divider);
      nodes.push(entry.el);
      prev = m;
    }
    for (const k of [...this.cache.keys()]) if (!used.has(k)) this.cache.delete(k);
    let cur = this.list.firstChild;
    for (const n of nodes) {
      if (n === cur) cur = cur.nextSibling;
      else this.list.insertBefore(n, cur);
    }
    while (cur) {
      const next = cur.nextSibling;
      cur.remove();
      cur = next;
    }
    if (this.editing && !used.has(this.editing)) this.editing = '';
    this.renderTop();
    this.renderSeen();
  }

  renderSeen() {
    const el = $('#seen-by');
    const { message, readers } = this.state.seenBy(this.id);
    const last = this.state.lastMessage(this.id);
    if (!message || !readers.length || !last || last.id !== message.id) {
      el.hidden = true;
      replace(el);
      return;
    }
    replace(el, `Seen by ${joinNames(readers.map((u) => this.state.name(u)))}`);
    el.dataset.messageId = message.id;
    el.hidden = false;
  }

  renderTyping() {
    clearTimeout(this.typingTimer);
    const users = this.id ? this.state.typingUsers(this.id) : [];
    replace($('#typing'), typingText(users.map((u) => this.state.name(u))));
    if (users.length) this.typingTimer = setTimeout(() => this.renderTyping(), 1000);
  }

  /** flash scrolls to a message (when loaded) and highlights it. */
  flash(msgId) {
    const el = this.list.querySelector(`.message[data-id="${CSS.escape(msgId)}"]`);
    if (!el) return false;
    el.scrollIntoView({ block: 'center' });
    el.classList.remove('flash');
    void el.offsetWidth;
    el.classList.add('flash');
    return true;
  }

  message(id) {
    return this.state.history(this.id).items.find((m) => m.id === id);
  }

  onClick(e) {
    const btn = e.target.closest('[data-action]');
    if (!btn) return;
    const el = btn.closest('.message');
    if (!el) return;
    const msg = this.message(el.dataset.id);
    if (!msg) return;
    switch (btn.dataset.action) {
      case 'react':
        openPicker(btn, (emoji) => this.toggleReaction(msg, emoji));
        break;
      case 'toggle-reaction':
        this.toggleReaction(msg, btn.dataset.emoji);
        break;
      case 'edit':
        this.startEdit(msg.id);
        break;
      case 'delete':
        this.deleteMessage(msg);
        break;
      case 'unread':
        this.ctx.markUnread(msg);
        break;
      case 'thread':
        this.ctx.openThread(msg.conversation, msg.thread_root || msg.id);
        break;
      case 'retry':
        this.ctx.retrySend(msg.client_id);
        break;
      case 'discard':
        this.state.resolvePending(msg.client_id, null);
        break;
      default:
    }
  }

  toggleReaction(msg, emoji) {
    return toggleReaction(this.state, msg, emoji);
  }

  /** editLast starts editing my newest message (↑ in an empty composer). */
  editLast() {
    const items = this.state.history(this.id).items;
    for (let i = items.length - 1; i >= 0; i--) {
      if (items[i].sender === this.state.myName && !items[i].pending) {
        this.startEdit(items[i].id);
        return true;
      }
    }
    return false;
  }

  startEdit(id) {
    if (this.editing && this.editing !== id) this.cancelEdit();
    const entry = this.cache.get(id);
    const msg = this.message(id);
    if (!entry || !msg) return;
    this.editing = id;
    editBox(this.state, entry.el, msg, () => this.cancelEdit());
  }

  /** cancelEdit ends editing (saved or not): the message is drawn again from the state. */
  cancelEdit() {
    const id = this.editing;
    this.editing = '';
    this.cache.delete(id);
    this.render();
    $('#composer').focus();
  }

  deleteMessage(msg) {
    return deleteMessage(this.state, msg);
  }
}

function presenceWord(p) {
  return { online: 'Online', away: 'Away', offline: 'Offline' }[p] || 'Offline';
}
