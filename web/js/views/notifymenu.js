// views/notifymenu.js: the bell beside the conversation's title — how this conversation
// notifies (the default, all messages, mentions only, nothing) and mute — and the muted look
// of the bell.

import { h, $, icon, replace } from '../dom.js';
import * as api from '../api.js';
import { enc } from '../api.js';
import { toast } from './ui.js';

const LEVELS = [
  ['', 'Default'],
  ['all', 'All messages'],
  ['mentions', 'Mentions only'],
  ['none', 'Nothing'],
];

export class NotifyMenu {
  /** ctx: { state } */
  constructor(ctx) {
    this.state = ctx.state;
    this.btn = $('#notify-btn');
    this.menu = $('#notify-menu');
    this.btn.addEventListener('click', () => this.toggle());
    this.menu.addEventListener('keydown', (e) => this.keys(e));
    document.addEventListener('mousedown', (e) => {
      if (!this.menu.hidden && !e.target.closest('.notify-menu-wrap')) this.toggle(false);
    });
    this.state.on('conversations', () => this.drawButton());
  }

  prefs() {
    return this.state.prefs.conversations[this.state.currentId] || { level: '', muted: false };
  }

  drawButton() {
    const id = this.state.currentId;
    const p = this.prefs();
    const quiet = p.muted || p.level === 'none';
    this.btn.hidden = !id;
    replace(this.btn, icon(quiet ? 'bellOff' : 'bell', 18),
      h('span', { class: 'visually-hidden' }, `Notifications for this conversation${p.muted ? ' (muted)' : ''}`));
    this.btn.classList.toggle('quiet', quiet);
    if (!this.menu.hidden) this.draw();
  }

  draw() {
    const id = this.state.currentId;
    const p = this.prefs();
    const def = id.startsWith('d:') ? 'all messages' : 'mentions only';
    replace(this.menu,
      LEVELS.map(([level, label]) => h('button', {
        type: 'button', role: 'menuitemradio', class: 'menu-item', 'aria-checked': String(p.level === level),
        dataset: { level }, on: { click: () => this.save({ level, muted: p.muted }) },
      }, level ? label : `${label} (${def})`)),
      h('div', { class: 'menu-sep', role: 'separator' }),
      h('button', {
        type: 'button', role: 'menuitemcheckbox', class: 'menu-item', id: 'notify-mute', 'aria-checked': String(!!p.muted),
        on: { click: () => this.save({ level: p.level, muted: !p.muted }) },
      }, p.muted ? 'Unmute' : 'Mute: no notifications, not even @here'));
  }

  toggle(open) {
    const show = open === undefined ? this.menu.hidden : open;
    if (show) this.draw();
    this.menu.hidden = !show;
    this.btn.setAttribute('aria-expanded', String(show));
    if (show) (this.menu.querySelector('[aria-checked=true]') || this.menu.querySelector('button')).focus();
  }

  keys(e) {
    const items = [...this.menu.querySelectorAll('button')];
    const i = items.indexOf(document.activeElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      this.toggle(false);
      this.btn.focus();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      items[(i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length].focus();
    }
  }

  async save(p) {
    const id = this.state.currentId;
    this.toggle(false);
    this.btn.focus();
    try {
      const res = await api.put(`/api/conversations/${enc(id)}/notifications`, p);
      this.state.setPrefs(res.prefs);
    } catch (err) {
      toast(`Notification setting not saved: ${api.errorText(err)}`, { error: true });
    }
  }
}
