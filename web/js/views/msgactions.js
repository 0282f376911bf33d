// views/msgactions.js: what a message's toolbar does — react, edit, delete — shared by the
// conversation's list and the thread panel. The state applies the result; the server's
// events bring the same change to every other member and tab.

import { h } from '../dom.js';
import * as api from '../api.js';
import { enc } from '../api.js';
import { confirmAction, toast, onEnter } from './ui.js';

/** toggleReaction adds my reaction emoji to msg, or takes it back when it is mine. */
export async function toggleReaction(state, msg, emoji) {
  const me = state.myName;
  const current = state.reactionsOf(msg.conversation, msg.id);
  const r = current.find((x) => x.emoji === emoji);
  const mine = !!r && r.users.includes(me);
  const base = `/api/conversations/${enc(msg.conversation)}/messages/${enc(msg.id)}/reactions`;
  // Show it at once; the reaction event from the server brings the real list.
  const before = current.map((x) => ({ emoji: x.emoji, users: [...x.users] }));
  const next = before.map((x) => ({ ...x, users: [...x.users] }));
  const t = next.find((x) => x.emoji === emoji);
  if (mine) t.users = t.users.filter((u) => u !== me);
  else if (t) t.users.push(me);
  else next.push({ emoji, users: [me] });
  state.setReactions(msg.conversation, msg.id, next.filter((x) => x.users.length));
  try {
    if (mine) await api.del(`${base}/${enc(emoji)}`);
    else await api.post(base, { emoji });
  } catch (err) {
    state.setReactions(msg.conversation, msg.id, before);
    toast(`Reaction failed: ${api.errorText(err)}`, { error: true });
  }
}

/**
 * editBox puts an editor in place of msg's body inside its element el. done(saved) runs
 * when it is saved (the state has the edited message) or cancelled.
 */
export function editBox(state, el, msg, done) {
  const body = el.querySelector('.message-body');
  body.hidden = true;
  const edited = el.querySelector('.edited');
  if (edited) edited.hidden = true;
  const ta = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message', rows: '2' });
  ta.value = msg.body;
  const status = h('span', { class: 'error-text', role: 'alert' });
  const save = async () => {
    const text = ta.value.trim();
    if (!text) {
      status.textContent = 'A message cannot be empty. Delete it instead.';
      return;
    }
    if (text === msg.body) {
      done(false);
      return;
    }
    ta.disabled = true;
    try {
      const res = await api.patch(`/api/conversations/${enc(msg.conversation)}/messages/${enc(msg.id)}`, { body: text });
      state.editedMessage(res.message);
      done(true);
    } catch (err) {
      ta.disabled = false;
      status.textContent = api.errorText(err);
    }
  };
  const box = h('div', { class: 'edit-box' }, ta,
    h('div', { class: 'edit-hint' },
      h('span', null, 'Enter to save · Esc to cancel'),
      h('button', { type: 'button', class: 'btn primary edit-save', on: { click: save } }, 'Save'),
      h('button', { type: 'button', class: 'btn ghost edit-cancel', on: { click: () => done(false) } }, 'Cancel'),
      status));
  onEnter(ta, save);
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      done(false);
    }
  });
  body.after(box);
  ta.focus();
  ta.setSelectionRange(ta.value.length, ta.value.length);
  el.scrollIntoView({ block: 'nearest' });
}

/** deleteMessage asks, then deletes msg for everyone. */
export async function deleteMessage(state, msg) {
  const ok = await confirmAction({ title: 'Delete message?', text: 'This message will be deleted for everyone. This cannot be undone.', ok: 'Delete' });
  if (!ok) return;
  try {
    await api.del(`/api/conversations/${enc(msg.conversation)}/messages/${enc(msg.id)}`);
    state.deletedMessage(msg.conversation, msg.id, msg.thread_root);
  } catch (err) {
    toast(`Could not delete: ${api.errorText(err)}`, { error: true });
  }
}
