// views/threadsview.js: "Threads" in the sidebar — the threads you started, replied in or
// were mentioned in, with the replies you have not read; one opens in the thread panel.

import { h, $, icon, replace } from '../dom.js';
import * as api from '../api.js';
import { formatTime } from '../format.js';
import { avatar, wireDialog, openDialog } from './ui.js';

export class ThreadsView {
  /** ctx: { state, openConversation(id), openThread(convId, rootId) } */
  constructor(ctx) {
    this.ctx = ctx;
    this.state = ctx.state;
    this.items = [];
    // Replies to threads not in items (started or joined since the list was read), unread:
    // root id -> count. The badge counts them until the list is read again.
    this.extra = new Map();
    this.seen = new Set(); // replies applied, so the echo of my own is applied once
    this.timer = 0;
    this.gen = 0; // counts the replies applied, so a list read meanwhile is known stale
    this.dlg = $('#threads-dialog');
    wireDialog(this.dlg);
    $('#threads-icon').append(icon('reply', 15));
    $('#threads-btn').addEventListener('click', () => this.open());
  }

  /** refreshSoon reloads the list shortly (after a burst of replies, once). */
  refreshSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 400);
  }

  async refresh() {
    clearTimeout(this.timer);
    const gen = this.gen;
    const list = $('#threads-list');
    list.setAttribute('aria-busy', 'true');
    try {
      const res = await api.get('/api/threads');
      this.items = res.threads || [];
      this.extra.clear();
    } catch {
      return; // the next opening tries again
    } finally {
      list.removeAttribute('aria-busy');
    }
    // A reply applied while the answer was on its way may be missing from it: read again.
    if (gen !== this.gen) this.refreshSoon();
    this.update();
  }

  /**
   * onReply applies a new thread reply (a message.new event) without asking the server:
   * participants are the thread's people the event names. A thread already listed moves to
   * the top with its count, last reply and unread count; one that concerns me but is not
   * listed counts in the badge, and the list is read again only if it is open.
   */
  onReply(msg, participants, showing) {
    if (this.seen.has(msg.id)) return;
    if (this.seen.size > 2000) this.seen.clear();
    this.seen.add(msg.id);
    this.gen++;
    const me = this.state.myName;
    const unread = msg.sender !== me && !showing;
    const i = this.items.findIndex((it) => it.root.id === msg.thread_root);
    if (i >= 0) {
      const it = this.items[i];
      const th = it.root.thread || { replies: 0, last_reply_ms: 0, participants: [] };
      it.root.thread = {
        replies: th.replies + 1,
        last_reply_ms: Math.max(th.last_reply_ms || 0, msg.sent_ms || 0),
        participants: (th.participants || []).includes(msg.sender) ? th.participants : [...(th.participants || []), msg.sender],
      };
      if (unread) it.unread = (it.unread || 0) + 1;
      this.items.splice(i, 1);
      this.items.unshift(it);
    } else if ((participants || []).includes(me) || (msg.mentions || []).includes(me)) {
      if (unread) this.extra.set(msg.thread_root, (this.extra.get(msg.thread_root) || 0) + 1);
      // Its root is not here to show: only an open list needs it now.
      if (this.dlg.open) this.refreshSoon();
    } else {
      return;
    }
    this.update();
  }

  /** read records that I read thread rootId (its panel marked it read). */
  read(rootId) {
    const it = this.items.find((x) => x.root.id === rootId);
    const had = (it && it.unread) || this.extra.has(rootId);
    if (it) it.unread = 0;
    this.extra.delete(rootId);
    if (had) this.update();
  }

  /** update draws the badge, and the list when it is open. */
  update() {
    let unread = this.items.reduce((n, it) => n + (it.unread || 0), 0);
    for (const n of this.extra.values()) unread += n;
    const badge = $('#threads-unread');
    replace(badge, unread ? String(unread) : '');
    badge.hidden = !unread;
    $('#threads-btn').classList.toggle('unread', !!unread);
    replace($('#threads-sr'), unread ? `, ${unread} unread ${unread === 1 ? 'reply' : 'replies'}` : '');
    if (this.dlg.open) this.draw();
  }

  async open() {
    this.draw();
    openDialog(this.dlg, this.dlg.querySelector('.thread-item') || undefined);
    await this.refresh();
  }

  draw() {
    const st = this.state;
    const list = this.items.map((it) => {
      const m = it.root;
      const c = st.conversation(m.conversation);
      const where = c ? `${c.kind === 'channel' ? '#' : ''}${st.title(c)}` : m.conversation;
      const th = m.thread || { replies: 0 };
      return h('li', null, h('button', {
        type: 'button', class: ['thread-item', it.unread && 'unread'], dataset: { root: m.id, conversation: m.conversation },
        on: { click: () => this.pick(m.conversation, m.id) },
      },
      avatar(st.user(m.sender), { size: 'sm' }),
      h('span', { class: 'person-name' },
        h('span', { class: 'thread-item-text' }, `${st.name(m.sender)}: ${m.body || (m.attachment ? m.attachment.name : '')}`),
        h('span', { class: 'muted' }, `${where} · ${th.replies} ${th.replies === 1 ? 'reply' : 'replies'}${th.last_reply_ms ? ` · last ${formatTime(th.last_reply_ms)}` : ''}`)),
      it.unread ? h('span', { class: 'badge mention-count', title: 'Unread replies' }, String(it.unread)) : null));
    });
    replace($('#threads-list'), list.length ? list : h('li', { class: 'empty' }, 'No threads yet: reply in thread from any message.'));
  }

  pick(convId, rootId) {
    this.dlg.close();
    this.ctx.openConversation(convId);
    this.ctx.openThread(convId, rootId);
  }
}
