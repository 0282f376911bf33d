// views/sidebar.js: the conversation lists (channels, private channels, direct messages)
// with unread and mention badges and presence dots, and the narrow-screen drawer.

import { h, $, icon, replace } from '../dom.js';
import { presenceDot } from './ui.js';

/** convHref is the address of a conversation inside the app. */
export function convHref(id) {
  return `#${encodeURIComponent(id)}`;
}

/** initSidebar draws the lists now and whenever conversations or users change. */
export function initSidebar(ctx) {
  const { state } = ctx;
  $('#new-private').append(icon('plus', 16));
  $('#new-dm').append(icon('plus', 16));
  $('#open-drawer').append(icon('menu', 20));
  $('#close-drawer').append(icon('close', 18));

  const draw = () => render(state, ctx.calls);
  state.on('conversations', draw);
  state.on('users', draw);
  ctx.calls.on('change', draw);

  $('#open-drawer').addEventListener('click', () => setDrawer(true));
  $('#close-drawer').addEventListener('click', () => setDrawer(false));
  $('#drawer-backdrop').addEventListener('click', () => setDrawer(false));
  $('#conv-nav').addEventListener('click', (e) => {
    if (e.target.closest('[data-conv-id]')) setDrawer(false);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && $('#app').classList.contains('drawer-open')) setDrawer(false);
  });
}

/** setDrawer opens or closes the sidebar drawer on narrow screens. */
export function setDrawer(open) {
  $('#app').classList.toggle('drawer-open', open);
  $('#drawer-backdrop').hidden = !open;
  $('#open-drawer').setAttribute('aria-expanded', String(open));
  if (open) {
    const cur = $('.conv-item[aria-current="page"]') || $('.conv-item');
    if (cur) cur.focus();
  }
}

function render(state, calls) {
  const lists = { channel: [], private: [], dm: [] };
  for (const c of state.sortedConversations()) {
    const active = calls.active.get(c.id);
    const inCall = (active && active.size > 0) || (calls.inCall && calls.conv === c.id);
    (lists[c.kind] || lists.channel).push(item(state, c, inCall));
  }
  replace($('#list-channels'), lists.channel.length ? lists.channel : empty('No channels'));
  replace($('#list-private'), lists.private.length ? lists.private : empty('None yet'));
  replace($('#list-dms'), lists.dm.length ? lists.dm : empty('None yet'));
  const total = state.totalUnread();
  document.title = total ? `(${total}) MiniMost` : 'MiniMost';
}

function empty(text) {
  return h('li', { class: 'conv-empty' }, h('span', { class: 'conv-item', 'aria-disabled': 'true' }, h('span', { class: 'conv-name' }, text)));
}

function item(state, c, inCall) {
  const unread = c.unread || 0;
  const mentions = c.mentions || 0;
  const current = c.id === state.currentId;
  let lead;
  if (c.kind === 'channel') lead = h('span', { class: 'conv-icon' }, icon('hash', 15));
  else if (c.kind === 'private') lead = h('span', { class: 'conv-icon' }, icon('lock', 15));
  else {
    const others = state.others(c);
    // A group's icon is a people glyph with its size in small type: never a filled pill that
    // reads as an unread count.
    lead = h('span', { class: 'conv-icon' },
      others.length === 1 ? presenceDot(state.presence(others[0]))
        : h('span', { class: 'group-size', title: `${others.length + 1} people` }, icon('users', 14), h('span', { class: 'group-size-n' }, String(others.length + 1))));
  }
  const title = state.title(c);
  // What the badges say, for screen readers (the badges themselves are hidden from them).
  let extra = '';
  if (unread) extra += `, ${unread} unread`;
  if (mentions) extra += `, ${mentions} mention${mentions === 1 ? '' : 's'}`;
  const muted = state.muted(c.id);
  if (muted) extra += ', muted';
  if (inCall) extra += ', a call is on';
  return h('li', null,
    h('a', {
      class: ['conv-item', unread && 'unread', muted && 'muted', inCall && 'in-call'],
      href: convHref(c.id),
      dataset: { convId: c.id, unread: String(unread), mentions: String(mentions) },
      'aria-current': current ? 'page' : false,
      title,
    },
    lead,
    h('span', { class: 'conv-name' }, title),
    extra ? h('span', { class: 'visually-hidden' }, extra) : null,
    inCall ? h('span', { class: 'conv-call', title: 'A call is on', 'aria-hidden': 'true' }, icon('phone', 14)) : null,
    mentions && c.kind !== 'dm' ? h('span', { class: 'badge mention-count', 'aria-hidden': 'true', title: 'Mentions' }, `@${mentions}`) : null,
    unread ? h('span', { class: ['badge unread-count', c.kind === 'dm' && 'dm-unread'], 'aria-hidden': 'true', title: 'Unread' }, String(unread)) : null));
}
