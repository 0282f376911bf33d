// views/people.js: the dialogs that pick people — new direct message, new private channel —
// and the members dialog of the open conversation (invite, leave).

import { h, $, replace } from '../dom.js';
import * as api from '../api.js';
import { enc } from '../api.js';
import { avatar, presenceDot, wireDialog, openDialog, confirmAction, showError, toast } from './ui.js';

/** PeopleDialogs wires #new-dm-dialog, #new-private-dialog and #members-dialog. */
export class PeopleDialogs {
  /** ctx: { state, openConversation(id), refreshUsers() } */
  constructor(ctx) {
    this.ctx = ctx;
    this.state = ctx.state;
    for (const id of ['#new-dm-dialog', '#new-private-dialog', '#members-dialog']) wireDialog($(id));

    $('#new-dm').addEventListener('click', () => this.openNewDm());
    $('#new-private').addEventListener('click', () => this.openNewPrivate());
    $('#members-btn').addEventListener('click', () => this.openMembers());

    $('#new-dm-filter').addEventListener('input', () => this.drawPicker('#new-dm-users', '#new-dm-filter', 'dm'));
    $('#new-private-filter').addEventListener('input', () => this.drawPicker('#new-private-users', '#new-private-filter', 'private'));
    $('#new-dm-form').addEventListener('submit', (e) => { e.preventDefault(); this.createDm(); });
    $('#new-private-form').addEventListener('submit', (e) => { e.preventDefault(); this.createPrivate(); });
    // A channel name is a slug: shown as one while it is typed, never refused after submit.
    $('#new-private-name').addEventListener('input', (e) => {
      const el = e.target;
      const slug = slugify(el.value, e.inputType !== 'insertText' || !/[\s_-]$/.test(el.value));
      if (slug !== el.value) el.value = slug;
    });
    $('#invite-form').addEventListener('submit', (e) => { e.preventDefault(); this.invite(); });
    $('#leave-channel').addEventListener('click', () => this.leave());
    this.state.on('users', () => { if ($('#members-dialog').open) this.drawMembers(); });
    this.state.on('conversations', () => { if ($('#members-dialog').open) this.drawMembers(); });
    this.selected = { dm: new Set(), private: new Set() };
  }

  others() {
    return [...this.state.users.values()]
      .filter((u) => u.username !== this.state.myName)
      .sort((a, b) => this.state.name(a.username).localeCompare(this.state.name(b.username)));
  }

  drawPicker(listSel, filterSel, kind) {
    const q = $(filterSel).value.trim().toLowerCase();
    const sel = this.selected[kind];
    const people = this.others().filter((u) => !q || u.username.includes(q) || (u.display_name || '').toLowerCase().includes(q));
    const items = people.map((u) => {
      const box = h('input', { type: 'checkbox', value: u.username, checked: sel.has(u.username), dataset: { username: u.username } });
      box.addEventListener('change', () => { if (box.checked) sel.add(u.username); else sel.delete(u.username); });
      return h('li', null, h('label', null, box,
        avatar(u, { size: 'sm', round: true }),
        h('span', { class: 'person-name' }, h('span', null, this.state.name(u.username)), h('span', { class: 'muted' }, `@${u.username}`)),
        presenceDot(u.presence)));
    });
    replace($(listSel), items.length ? items : h('li', { class: 'empty' }, q ? 'Nobody matches.' : 'There is nobody else here yet.'));
  }

  async openNewDm() {
    this.selected.dm.clear();
    $('#new-dm-filter').value = '';
    showError($('#new-dm-error'), '');
    await this.ctx.refreshUsers();
    this.drawPicker('#new-dm-users', '#new-dm-filter', 'dm');
    openDialog($('#new-dm-dialog'), $('#new-dm-filter'));
  }

  async openNewPrivate() {
    this.selected.private.clear();
    $('#new-private-name').value = '';
    $('#new-private-filter').value = '';
    showError($('#new-private-error'), '');
    await this.ctx.refreshUsers();
    this.drawPicker('#new-private-users', '#new-private-filter', 'private');
    openDialog($('#new-private-dialog'), $('#new-private-name'));
  }

  async createDm() {
    const members = [...this.selected.dm];
    const err = $('#new-dm-error');
    if (!members.length) return showError(err, 'Pick at least one person.');
    if (members.length > 7) return showError(err, 'A group message has at most 8 people (you and 7 others).');
    const btn = $('#new-dm-submit');
    btn.disabled = true;
    try {
      const res = await api.post('/api/dms', { members });
      this.state.upsertConversation(res.conversation);
      $('#new-dm-dialog').close();
      this.ctx.openConversation(res.conversation.id);
    } catch (e) {
      showError(err, api.errorText(e));
    } finally {
      btn.disabled = false;
    }
  }

  async createPrivate() {
    const name = slugify($('#new-private-name').value, true);
    $('#new-private-name').value = name;
    const err = $('#new-private-error');
    if (!name) {
      $('#new-private-name').focus();
      return showError(err, 'Give the channel a name.');
    }
    const btn = $('#new-private-submit');
    btn.disabled = true;
    try {
      const res = await api.post('/api/private-channels', { name, members: [...this.selected.private] });
      this.state.upsertConversation(res.conversation);
      $('#new-private-dialog').close();
      this.ctx.openConversation(res.conversation.id);
    } catch (e) {
      showError(err, api.errorText(e));
    } finally {
      btn.disabled = false;
    }
  }

  async openMembers() {
    const c = this.state.conversation(this.state.currentId);
    if (!c) return;
    showError($('#members-error'), '');
    this.drawMembers();
    openDialog($('#members-dialog'), c.kind === 'private' ? $('#invite-user') : null);
    try {
      await this.ctx.refreshUsers();
      if (c.kind !== 'channel') {
        const res = await api.get(`/api/conversations/${enc(c.id)}/members`);
        const cur = this.state.conversation(c.id);
        if (cur) this.state.upsertConversation({ ...cur, members: res.members || [] });
      }
      this.drawMembers();
    } catch (e) {
      showError($('#members-error'), api.errorText(e));
    }
  }

  drawMembers() {
    const c = this.state.conversation(this.state.currentId);
    if (!c) {
      $('#members-dialog').close();
      return;
    }
    replace($('#members-title'), `Members of ${c.kind === 'channel' ? '#' : ''}${this.state.title(c)}`);
    const names = c.kind === 'channel' ? [...this.state.users.keys()] : (c.members || []);
    const sorted = [...names].sort((a, b) => this.state.name(a).localeCompare(this.state.name(b)));
    replace($('#members-list'), sorted.map((u) => h('li', { dataset: { username: u } },
      avatar(this.state.user(u), { size: 'sm', round: true }),
      h('span', { class: 'person-name' },
        h('span', null, this.state.name(u) + (u === this.state.myName ? ' (you)' : '') + (c.creator === u ? ' · creator' : '')),
        h('span', { class: 'muted' }, `@${u}`)),
      presenceDot(this.state.presence(u)))));
    const isPrivate = c.kind === 'private';
    $('#invite-form').hidden = !isPrivate;
    $('#leave-channel').hidden = !isPrivate;
    if (isPrivate) {
      const candidates = this.others().filter((u) => !names.includes(u.username));
      replace($('#invite-user'), candidates.length
        ? candidates.map((u) => h('option', { value: u.username }, `${this.state.name(u.username)} (@${u.username})`))
        : h('option', { value: '' }, 'Everyone is already a member'));
      $('#invite-user').disabled = !candidates.length;
      $('#invite-submit').disabled = !candidates.length;
    }
  }

  async invite() {
    const c = this.state.conversation(this.state.currentId);
    const username = $('#invite-user').value;
    if (!c || !username) return;
    try {
      await api.post(`/api/conversations/${enc(c.id)}/members`, { username });
      const members = [...new Set([...(c.members || []), username])];
      this.state.upsertConversation({ ...c, members });
      toast(`${this.state.name(username)} was added to ${this.state.title(c)}.`);
    } catch (e) {
      showError($('#members-error'), api.errorText(e));
    }
  }

  async leave() {
    const c = this.state.conversation(this.state.currentId);
    if (!c) return;
    const ok = await confirmAction({
      title: `Leave ${this.state.title(c)}?`,
      text: 'You will no longer see this private channel. A member can invite you back.',
      ok: 'Leave channel',
    });
    if (!ok) return;
    try {
      await api.post(`/api/conversations/${enc(c.id)}/leave`);
      $('#members-dialog').close();
      this.state.removeConversation(c.id);
    } catch (e) {
      showError($('#members-error'), api.errorText(e));
      if (!$('#members-dialog').open) toast(api.errorText(e), { error: true });
    }
  }
}

/**
 * slugify turns text into a channel name: lowercase letters, digits, '-' and '_', starting
 * with a letter or digit, at most 40 characters ("Launch Plans!" → "launch-plans"). Accents
 * are dropped (é → e). finished: also trim a trailing separator (not while typing).
 */
export function slugify(text, finished) {
  let s = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-').replace(/-{2,}/g, '-').replace(/^[-_]+/, '').slice(0, 40);
  if (finished) s = s.replace(/[-_]+$/, '');
  return s;
}
