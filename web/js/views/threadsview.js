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
    this.timer = 0;
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
    try {
      const res = await api.get('/api/threads');
      this.items = res.threads || [];
    } catch {
      return; // the next reply or opening tries again
    }
    const unread = this.items.reduce((n, it) => n + (it.unread || 0), 0);
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
