// views/emoji.js: a small emoji picker popover (a dozen common reactions).

import { h } from '../dom.js';

export const EMOJI = ['👍', '👎', '😄', '🎉', '❤️', '😂', '😮', '😢', '🙏', '👀', '🚀', '✅'];

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

/** openPicker shows the picker next to anchor; onPick(emoji) runs for a choice. */
export function openPicker(anchor, onPick) {
  closePicker();
  const el = h('div', { class: 'emoji-picker popover', role: 'dialog', 'aria-label': 'Pick a reaction' },
    EMOJI.map((e) => h('button', { type: 'button', 'aria-label': `React with ${e}`, title: e, on: { click: () => { closePicker(); onPick(e); } } }, e)));
  document.body.append(el);
  const r = anchor.getBoundingClientRect();
  const w = el.offsetWidth;
  const ht = el.offsetHeight;
  let left = Math.min(window.innerWidth - w - 8, Math.max(8, r.right - w));
  let top = r.top - ht - 6;
  if (top < 8) top = r.bottom + 6;
  el.style.left = `${left}px`;
  el.style.top = `${top}px`;
  const outside = (e) => { if (!el.contains(e.target) && e.target !== anchor) closePicker(); };
  const key = (e) => {
    if (e.key === 'Escape') { e.stopPropagation(); e.preventDefault(); closePicker(); }
  };
  open = { el, anchor, outside, key };
  document.addEventListener('mousedown', outside, true);
  document.addEventListener('keydown', key, true);
  el.querySelector('button').focus();
}
