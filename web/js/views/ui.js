// views/ui.js: shared view pieces — avatars, dialogs, the confirmation dialog, toasts.

import { h, $, icon, replace } from '../dom.js';
import { displayName, initials, colorIndex } from '../format.js';

/**
 * avatar gives an <img> for a user with an avatar, or an initials circle.
 * size: '' (36px), 'sm', 'xs', 'lg'. presence: add a dot ('online'|'away'|'offline').
 */
export function avatar(user, { size = '', round = false, presence = '' } = {}) {
  const name = displayName(user);
  const cls = ['avatar', size, round && 'round'];
  let el;
  if (user && user.avatar_url) {
    el = h('img', { class: cls, src: user.avatar_url, alt: '', loading: 'lazy', decoding: 'async' });
  } else if (user && user.username === 'system') {
    el = h('img', { class: [...cls, 'system'], src: '/img/logo.svg', alt: '' });
  } else if (user && user.username === 'Deleted User') {
    el = h('span', { class: [...cls, 'ghost'], 'aria-hidden': 'true' }, '?');
  } else {
    el = h('span', { class: [...cls, `c${colorIndex((user && user.username) || name)}`], 'aria-hidden': 'true' }, initials(name));
  }
  if (!presence) return el;
  return h('span', { class: 'avatar-wrap' }, el, presenceDot(presence));
}

/** presenceDot is the small online/away/offline circle. */
export function presenceDot(presence) {
  return h('span', { class: ['presence-dot', presence || 'offline'], title: presence || 'offline', role: 'img', 'aria-label': presence || 'offline' });
}

/**
 * wireDialog makes a <dialog> close on its [data-close] buttons and on a click on the
 * backdrop. Esc closing comes with showModal().
 */
export function wireDialog(dlg) {
  for (const b of dlg.querySelectorAll('[data-close]')) b.addEventListener('click', () => dlg.close());
  // The close button in the dialog's head is an icon (the cross), sized like every icon button.
  for (const b of dlg.querySelectorAll('.dialog-close')) if (!b.querySelector('svg')) b.append(icon('close', 20));
  dlg.addEventListener('mousedown', (e) => {
    if (e.target !== dlg) return;
    const r = dlg.getBoundingClientRect();
    const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
    if (!inside) dlg.close();
  });
}

/** openDialog shows a dialog as a modal and focuses the first field (or a given one). */
export function openDialog(dlg, focus) {
  if (!dlg.open) dlg.showModal();
  const el = focus || dlg.querySelector('input:not([type=hidden]):not([type=radio]):not(.visually-hidden), textarea, select, button:not([data-close])');
  if (el) setTimeout(() => el.focus(), 0);
}

/**
 * confirmAction asks in the confirmation dialog (#confirm-dialog) and resolves true when the
 * user confirms with #confirm-ok.
 */
export function confirmAction({ title = 'Are you sure?', text = '', ok = 'Delete', danger = true } = {}) {
  const dlg = $('#confirm-dialog');
  const okBtn = $('#confirm-ok');
  const cancel = $('#confirm-cancel');
  replace($('#confirm-title'), title);
  replace($('#confirm-text'), text);
  replace(okBtn, ok);
  okBtn.className = danger ? 'btn danger' : 'btn primary';
  return new Promise((resolve) => {
    let answer = false;
    const done = () => {
      okBtn.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dlg.removeEventListener('close', done);
      resolve(answer);
    };
    const onOk = () => { answer = true; dlg.close(); };
    const onCancel = () => dlg.close();
    okBtn.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dlg.addEventListener('close', done);
    if (dlg.open) dlg.close();
    dlg.showModal();
    setTimeout(() => cancel.focus(), 0);
  });
}

/**
 * toast shows a short message at the bottom right. actions: [{label, run}].
 * Returns a function that removes it.
 */
export function toast(text, { error = false, timeout = 5000, actions = [] } = {}) {
  const box = $('#toasts');
  const el = h('div', { class: ['toast', error && 'error'], role: error ? 'alert' : 'status' },
    h('span', { class: 'toast-text' }, text),
    actions.map((a) => h('button', { type: 'button', class: 'btn', on: { click: () => { remove(); a.run(); } } }, a.label)),
    h('button', { type: 'button', class: 'icon-btn small', 'aria-label': 'Dismiss', on: { click: () => remove() } }, '×'));
  let timer = 0;
  function remove() {
    clearTimeout(timer);
    el.remove();
  }
  box.append(el);
  if (timeout) timer = setTimeout(remove, timeout);
  return remove;
}

/** showError fills an error paragraph (or hides it when text is empty). */
export function showError(el, text) {
  replace(el, text || '');
  el.hidden = !text;
}

/**
 * onEnter runs fn when Enter (without Shift) is pressed in a textarea, and keeps that Enter
 * from also inserting a line break (some input paths, such as synthesized key events, send
 * the character separately from the keydown).
 */
export function onEnter(ta, fn) {
  let handledAt = 0;
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      handledAt = Date.now();
      fn();
    }
  });
  ta.addEventListener('beforeinput', (e) => {
    if ((e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph') && Date.now() - handledAt < 500) {
      e.preventDefault();
      handledAt = 0;
    }
  });
}
