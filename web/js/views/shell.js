// views/shell.js: the frame around the conversation — the account menu (avatar, Settings,
// Log out), the reconnect banner, the search box with its results, and keyboard shortcuts.

import { h, $, icon, replace, setTrustedHTML } from '../dom.js';
import * as api from '../api.js';
import { formatFull, formatTime, messageTime } from '../format.js';
import { avatar } from './ui.js';

export class Shell {
  /** ctx: { state, openSettings(), logout(), openConversation(id, msgId) } */
  constructor(ctx) {
    this.ctx = ctx;
    this.state = ctx.state;
    this.searchSeq = 0;
    this.searchTimer = 0;
    this.bannerTimer = 0;

    const menuBtn = $('#me-avatar');
    menuBtn.addEventListener('click', () => this.toggleMenu());
    $('#menu-settings').addEventListener('click', () => { this.toggleMenu(false); ctx.openSettings(); });
    $('#menu-logout').addEventListener('click', () => { this.toggleMenu(false); ctx.logout(); });
    $('#user-menu').addEventListener('keydown', (e) => this.menuKeys(e));
    document.addEventListener('mousedown', (e) => {
      if (!$('#user-menu').hidden && !e.target.closest('.me-menu-wrap')) this.toggleMenu(false);
      if (!$('#search-results').hidden && !e.target.closest('.search')) this.hideResults();
    });

    const input = $('#search-input');
    $('.search-icon').append(icon('search', 16));
    input.addEventListener('input', () => this.onSearchInput());
    input.addEventListener('focus', () => { if (input.value.trim()) this.onSearchInput(); });
    input.addEventListener('keydown', (e) => this.searchKeys(e));
    $('#search-results').addEventListener('keydown', (e) => this.searchKeys(e));

    document.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k' && !$('#app').hidden) {
        e.preventDefault();
        input.focus();
        input.select();
      }
    });

    this.state.on('me', () => this.drawMe());
  }

  drawMe() {
    const me = this.state.me;
    if (!me) return;
    const name = me.display_name || me.username;
    replace($('#me-avatar'), avatar(me, { size: 'sm', round: true }), h('span', { class: 'visually-hidden' }, `Account menu for ${name}`));
    $('#me-avatar').title = name;
    replace($('#me-name'), name);
    replace($('#me-username'), `@${me.username}`);
    replace($('#menu-name'), name);
    replace($('#menu-username'), `@${me.username}`);
    replace($('#me-foot-avatar'), avatar(me, { size: 'sm', round: true, presence: 'online' }));
  }

  toggleMenu(open) {
    const menu = $('#user-menu');
    const show = open === undefined ? menu.hidden : open;
    menu.hidden = !show;
    $('#me-avatar').setAttribute('aria-expanded', String(show));
    if (show) $('#menu-settings').focus();
  }

  menuKeys(e) {
    const items = [...$('#user-menu').querySelectorAll('[role=menuitem]')];
    const i = items.indexOf(document.activeElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      this.toggleMenu(false);
      $('#me-avatar').focus();
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      items[(i + 1) % items.length].focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length].focus();
    }
  }

  /** setConnected shows the reconnect banner while the socket is down (after a short grace). */
  setConnected(up) {
    clearTimeout(this.bannerTimer);
    const banner = $('#conn-banner');
    banner.dataset.state = up ? 'connected' : 'reconnecting';
    if (up) banner.hidden = true;
    else this.bannerTimer = setTimeout(() => { banner.hidden = false; }, 800);
  }

  // ---- search ----

  onSearchInput() {
    clearTimeout(this.searchTimer);
    const q = $('#search-input').value.trim();
    if (!q) return this.hideResults();
    this.drawResults(q, null);
    this.searchTimer = setTimeout(() => this.runSearch(q), 250);
  }

  async runSearch(q) {
    const seq = ++this.searchSeq;
    try {
      const res = await api.get(`/api/search?q=${encodeURIComponent(q)}&limit=30`);
      if (seq !== this.searchSeq) return;
      this.drawResults(q, res.messages || []);
    } catch (err) {
      if (seq !== this.searchSeq) return;
      this.drawResults(q, [], api.errorText(err));
    }
  }

  drawResults(q, messages, error) {
    const box = $('#search-results');
    const ql = q.toLowerCase();
    const convs = this.state.sortedConversations().filter((c) => this.state.title(c).toLowerCase().includes(ql) || c.id.toLowerCase().includes(ql)).slice(0, 6);
    const parts = [];
    if (convs.length) {
      parts.push(h('h3', null, 'Conversations'));
      for (const c of convs) {
        parts.push(h('button', { type: 'button', class: 'search-item', dataset: { convId: c.id }, on: { click: () => this.pick(c.id) } },
          h('span', null, `${c.kind === 'channel' ? '#' : c.kind === 'private' ? '🔒 ' : ''}${this.state.title(c)}`)));
      }
    }
    parts.push(h('h3', null, 'Messages'));
    if (messages === null) parts.push(h('div', { class: 'search-empty' }, 'Searching…'));
    else if (error) parts.push(h('div', { class: 'search-empty' }, error));
    else if (!messages.length) parts.push(h('div', { class: 'search-empty' }, `No messages match “${q}”.`));
    else {
      for (const m of messages) {
        const c = this.state.conversation(m.conversation);
        const where = c ? `${c.kind === 'channel' ? '#' : ''}${this.state.title(c)}` : m.conversation;
        const ms = messageTime(m);
        parts.push(h('button', { type: 'button', class: 'search-item search-result', dataset: { convId: m.conversation, messageId: m.id }, on: { click: () => this.pick(m.conversation, m.thread_root ? '' : m.id, m.thread_root) } },
          h('span', { class: 'meta' }, `${this.state.name(m.sender)} in ${where} · `, h('time', { title: formatFull(ms) }, `${new Date(ms).toLocaleDateString()} ${formatTime(ms)}`)),
          snippet(m)));
      }
    }
    replace(box, parts);
    box.hidden = false;
    $('#search-input').setAttribute('aria-expanded', 'true');
  }

  hideResults() {
    $('#search-results').hidden = true;
    $('#search-input').setAttribute('aria-expanded', 'false');
  }

  /** pick opens a result: its conversation at the message, or, for a reply, its thread. */
  pick(convId, msgId, threadRoot) {
    this.hideResults();
    $('#search-input').value = '';
    this.ctx.openConversation(convId, msgId);
    if (threadRoot) this.ctx.openThread(convId, threadRoot);
  }

  searchKeys(e) {
    const box = $('#search-results');
    const items = [...box.querySelectorAll('.search-item')];
    const i = items.indexOf(document.activeElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      this.hideResults();
      $('#search-input').value = '';
      $('#composer').focus();
    } else if (e.key === 'ArrowDown' && items.length) {
      e.preventDefault();
      items[Math.min(i + 1, items.length - 1)].focus();
    } else if (e.key === 'ArrowUp' && items.length) {
      e.preventDefault();
      if (i <= 0) $('#search-input').focus();
      else items[i - 1].focus();
    } else if (e.key === 'Enter' && e.target === $('#search-input')) {
      e.preventDefault();
      clearTimeout(this.searchTimer);
      const q = $('#search-input').value.trim();
      if (q) this.runSearch(q);
    }
  }
}

// snippet shows a found message as it reads in the conversation: its server-rendered
// markdown (laid out on a line or two by the stylesheet), or the attachment's name.
function snippet(m) {
  const el = h('span', { class: 'snippet' });
  if (m.html) setTrustedHTML(el, m.html);
  else el.textContent = m.body || (m.attachment ? `📎 ${m.attachment.name}` : '');
  // Links inside a result are not separate stops: the whole result is the button.
  for (const a of el.querySelectorAll('a')) a.tabIndex = -1;
  return el;
}
