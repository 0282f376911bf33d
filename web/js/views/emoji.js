// views/emoji.js: the emoji picker popover — search by name, shortcode or keyword, "Recently
// used", then every emoji of the set by group. Arrow keys move in the grid, Enter picks, Esc
// closes. Used for reactions and by the composer's emoji button.

import { h, replace } from '../dom.js';
import { loadEmoji, searchEmoji, recentEmoji, useEmoji } from '../emoji-data.js';

const COLS = 8;

let open = null;

/** closePicker removes the open picker, if any. */
export function closePicker() {
  if (!open) return;
  open.el.remove();
  document.removeEventListener('mousedown', open.outside, true);
  document.removeEventListener('keydown', open.key, true);
  const back = open.anchor;
  open = null;
  if (back && back.isConnected) back.focus();
}

/**
 * openPicker shows the picker next to anchor; onPick(emoji) runs for a choice. label names
 * the picker for screen readers ("Pick a reaction", "Insert an emoji").
 */
export function openPicker(anchor, onPick, label = 'Pick a reaction') {
  closePicker();
  const search = h('input', { type: 'search', class: 'emoji-search', placeholder: 'Search emoji', 'aria-label': 'Search emoji', autocomplete: 'off' });
  const body = h('div', { class: 'emoji-body' }, h('div', { class: 'emoji-loading' }, 'Loading emoji…'));
  const el = h('div', { class: 'emoji-picker popover', role: 'dialog', 'aria-label': label }, search, body);
  document.body.append(el);
  const place = () => {
    const r = anchor.getBoundingClientRect();
    const w = el.offsetWidth;
    const ht = el.offsetHeight;
    const left = Math.min(window.innerWidth - w - 8, Math.max(8, r.right - w));
    let top = r.top - ht - 6;
    if (top < 8) top = Math.min(window.innerHeight - ht - 8, r.bottom + 6);
    el.style.left = `${Math.max(8, left)}px`;
    el.style.top = `${Math.max(8, top)}px`;
  };
  place();
  const pick = (u) => {
    useEmoji(u);
    closePicker();
    onPick(u);
  };
  const button = (e) => h('button', {
    type: 'button', class: 'emoji-btn', title: e.codes.length ? `${e.label} :${e.codes[0]}:` : e.label,
    'aria-label': e.label, dataset: { emoji: e.u }, on: { click: () => pick(e.u) },
  }, e.u);

  let data = null;
  const draw = () => {
    if (!data) return;
    const q = search.value.trim();
    const parts = [];
    if (q) {
      const found = searchEmoji(data, q);
      parts.push(found.length ? grid('Search results', found.map(button)) : h('div', { class: 'emoji-empty' }, `No emoji match “${q}”.`));
    } else {
      const byU = new Map(data.list.map((e) => [e.u, e]));
      const recent = recentEmoji().map((u) => byU.get(u)).filter(Boolean);
      if (recent.length) parts.push(grid('Recently used', recent.map(button)));
      const groups = new Map();
      for (const e of data.list) {
        if (!groups.has(e.group)) groups.set(e.group, []);
        groups.get(e.group).push(e);
      }
      for (const [g, list] of groups) parts.push(grid(data.groups[g] || 'Other', list.map(button)));
    }
    replace(body, parts);
  };
  search.addEventListener('input', draw);
  loadEmoji().then((d) => {
    data = d;
    if (open && open.el === el) {
      draw();
      place();
    }
  }).catch((err) => replace(body, h('div', { class: 'emoji-empty' }, `Could not load the emoji: ${err.message}`)));

  const outside = (e) => { if (!el.contains(e.target) && e.target !== anchor && !anchor.contains(e.target)) closePicker(); };
  const key = (e) => {
    if (!el.contains(document.activeElement) && e.key !== 'Escape') return;
    if (e.key === 'Escape') {
      e.stopPropagation();
      e.preventDefault();
      closePicker();
      return;
    }
    const buttons = [...body.querySelectorAll('.emoji-btn')];
    const i = buttons.indexOf(document.activeElement);
    const move = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLS, ArrowUp: -COLS }[e.key];
    if (document.activeElement === search) {
      if (e.key === 'ArrowDown' && buttons.length) {
        e.preventDefault();
        buttons[0].focus();
      } else if (e.key === 'Enter' && buttons.length) {
        e.preventDefault();
        pick(buttons[0].dataset.emoji);
      }
      return;
    }
    if (move && i >= 0) {
      e.preventDefault();
      const j = i + move;
      if (j < 0) search.focus();
      else buttons[Math.min(j, buttons.length - 1)].focus();
    }
  };
  open = { el, anchor, outside, key };
  document.addEventListener('mousedown', outside, true);
  document.addEventListener('keydown', key, true);
  search.focus();
}

function grid(title, buttons) {
  return h('section', { class: 'emoji-group', 'aria-label': title },
    h('h3', null, title),
    h('div', { class: 'emoji-grid' }, buttons));
}
