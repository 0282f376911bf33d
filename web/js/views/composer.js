// views/composer.js: the message box — Enter sends, Shift+Enter adds a line, typing events
// (at most one every 3 s), drafts per conversation, and file upload by button, drag and
// drop or paste, with a progress bar.

import { h, $, icon, replace } from '../dom.js';
import * as api from '../api.js';
import { enc, errorText } from '../api.js';
import { formatSize } from '../format.js';
import { showError, onEnter, avatar } from './ui.js';
import { openPicker } from './emoji.js';
import { Commands } from './integrations.js';
import { loadEmoji, searchEmoji, replaceShortcodes, useEmoji } from '../emoji-data.js';

const TYPING_EVERY = 3000;

export class Composer {
  /** ctx: { state, send(convId, body), sendTyping(convId), editLast(), maxUploadMb(), commands (slash commands) } */
  constructor(ctx) {
    this.ctx = ctx;
    this.convId = '';
    this.drafts = new Map();
    this.lastTyping = 0;
    this.uploading = null;
    this.ta = $('#composer');
    this.ctx.state.on('conversations', () => this.showWritable());
    $('#attach').prepend(icon('attach', 20));
    $('#send').append(icon('send', 20));
    $('#emoji-btn').append(icon('smile', 20));
    $('#emoji-btn').addEventListener('click', () => openPicker($('#emoji-btn'), (u) => this.insert(u), 'Insert an emoji'));

    // Suggestions (@mentions, :shortcodes:) take Enter, Tab and the arrows while shown: this
    // listener comes before the one that sends on Enter.
    this.acEl = $('#autocomplete');
    this.ac = null; // { items, index, start }
    this.emoji = null; // the emoji data, once loaded
    this.ta.addEventListener('keydown', (e) => this.acKeys(e));
    // A key taken by the suggestions may still arrive as input after its keydown (synthesized
    // key events do that): drop the line break or tab it would insert.
    this.acTookAt = 0;
    this.ta.addEventListener('beforeinput', (e) => {
      const brk = e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph' || (e.inputType === 'insertText' && e.data === '\t');
      if (brk && Date.now() - this.acTookAt < 500) {
        e.preventDefault();
        e.stopImmediatePropagation();
        this.acTookAt = 0;
      }
    });
    this.ta.addEventListener('blur', () => this.closeAc());
    this.ta.addEventListener('click', () => this.suggest());
    // The emoji data is needed for :shortcode: as soon as one is typed: fetch it on first use.
    this.ta.addEventListener('focus', () => {
      if (!this.emoji) loadEmoji().then((d) => { this.emoji = d; }).catch(() => {});
    });

    onEnter(this.ta, () => this.submit());
    this.ta.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowUp' && !this.ta.value && this.ctx.editLast()) e.preventDefault();
    });
    this.ta.addEventListener('input', (e) => {
      if (e.data === ':') this.convertShortcode();
      this.grow();
      this.error('');
      this.saveDraft();
      this.suggest();
      if (this.ta.value.trim() && this.convId && Date.now() - this.lastTyping > TYPING_EVERY) {
        this.lastTyping = Date.now();
        this.ctx.sendTyping(this.convId);
      }
    });
    this.ta.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files || [])];
      if (files.length) {
        e.preventDefault();
        this.addFiles(files);
      }
    });
    $('#composer-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    $('#file-input').addEventListener('change', (e) => {
      const files = [...(e.target.files || [])];
      e.target.value = '';
      this.addFiles(files);
    });
    $('#attach').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        $('#file-input').click();
      }
    });
    $('#attach').tabIndex = 0;
    $('#attach').setAttribute('role', 'button');
    $('#upload-cancel').addEventListener('click', () => this.uploading && this.uploading.abort());
    this.wireDrop();
    this.tray = []; // { file, url } waiting to be sent with the next message
    $('#file-input').multiple = true;
  }

  /** draftKey is where the draft of conversation id is kept in localStorage. */
  draftKey(id) {
    return `mm_draft:${this.ctx.state.myName}:${id}`;
  }

  /** saveDraft keeps what is typed, per conversation, across reloads (localStorage). */
  saveDraft() {
    if (!this.convId || !this.ctx.state.myName) return;
    try {
      if (this.ta.value.trim()) localStorage.setItem(this.draftKey(this.convId), this.ta.value);
      else localStorage.removeItem(this.draftKey(this.convId));
    } catch {
      // storage full or disabled: the draft lives as long as the page
    }
    this.drafts.set(this.convId, this.ta.value);
  }

  draft(id) {
    if (this.drafts.has(id)) return this.drafts.get(id);
    try {
      return localStorage.getItem(this.draftKey(id)) || '';
    } catch {
      return '';
    }
  }

  /** forgetDrafts removes the drafts of user from this browser (logout, account deletion). */
  forgetDrafts(user) {
    this.drafts.clear();
    try {
      for (const k of Object.keys(localStorage)) if (k.startsWith(`mm_draft:${user}:`)) localStorage.removeItem(k);
    } catch {
      // nothing stored
    }
  }

  /** setConversation saves the draft of the old conversation and shows the new one's. */
  setConversation(id) {
    if (this.convId) this.saveDraft();
    if (id !== this.convId) this.clearTray();
    this.convId = id;
    this.ta.value = id ? this.draft(id) : '';
    this.lastTyping = 0;
    this.error('');
    this.grow();
    this.showWritable();
  }

  /** showWritable hides the box where nobody is left to read a reply (read_only). */
  showWritable() {
    const c = this.convId && this.ctx.state.conversation(this.convId);
    const readOnly = !!(c && c.read_only);
    $('#composer-form').hidden = !this.convId || readOnly;
    $('#readonly-note').hidden = !readOnly;
  }

  focus() {
    this.ta.focus();
  }

  grow() {
    this.ta.style.height = 'auto';
    this.ta.style.height = `${Math.min(this.ta.scrollHeight, 240)}px`;
  }

  error(text) {
    showError($('#composer-error'), text);
  }

  submit() {
    let body = this.ta.value.trim();
    if (this.emoji) body = replaceShortcodes(this.emoji, body);
    if (this.tray.length && this.convId) {
      this.sendTray(body);
      return;
    }
    if (!body || !this.convId) return;
    if (new TextEncoder().encode(body).length > 16000) {
      this.error('That message is too long (16,000 bytes at most).');
      return;
    }
    this.ta.value = '';
    this.saveDraft();
    this.grow();
    this.lastTyping = 0;
    if (this.ctx.commands && Commands.isCommand(body)) {
      this.runCommand(this.convId, body);
      return;
    }
    this.ctx.send(this.convId, body);
  }

  /** runCommand runs a slash command; on failure the text comes back with the reason. */
  async runCommand(convId, body) {
    this.closeAc();
    try {
      await this.ctx.commands.run(convId, body);
    } catch (err) {
      if (this.convId === convId && !this.ta.value) {
        this.ta.value = body;
        this.grow();
      }
      this.error(errorText(err));
    }
  }

  /** insert puts text at the caret (an emoji from the picker). */
  insert(text) {
    const { selectionStart: a, selectionEnd: b, value } = this.ta;
    this.ta.value = value.slice(0, a) + text + value.slice(b);
    this.ta.focus();
    this.ta.setSelectionRange(a + text.length, a + text.length);
    this.grow();
    this.saveDraft();
  }

  // ---- :shortcode: conversion and suggestions ----

  /** convertShortcode turns a :shortcode: just closed by the typed ':' into its emoji. */
  convertShortcode() {
    const pos = this.ta.selectionStart;
    const m = this.ta.value.slice(0, pos).match(/(^|[^\w`]):([a-z0-9_+-]+):$/i);
    if (!m || !this.emoji) return;
    const e = this.emoji.byCode.get(m[2].toLowerCase());
    if (!e) return;
    const start = pos - m[2].length - 2;
    this.ta.value = this.ta.value.slice(0, start) + e.u + this.ta.value.slice(pos);
    this.ta.setSelectionRange(start + e.u.length, start + e.u.length);
    useEmoji(e.u);
  }

  /** suggest shows what the word at the caret may become: a person (@…) or an emoji (:…). */
  suggest() {
    const pos = this.ta.selectionStart;
    if (pos !== this.ta.selectionEnd || !this.convId) return this.closeAc();
    const before = this.ta.value.slice(0, pos);
    let m = before.match(/^\/([a-z0-9_-]*)$/i);
    if (m && this.ctx.commands) return this.suggestCommands(m[1]);
    m = before.match(/(?:^|[\s(])@([\w.-]*)$/);
    if (m) return this.suggestPeople(m[1], pos - m[1].length - 1);
    m = before.match(/(?:^|[\s(]):([a-z0-9_+-]{2,})$/i);
    if (m) return this.suggestEmoji(m[1], pos - m[1].length - 1);
    return this.closeAc();
  }

  async suggestCommands(q) {
    const ql = q.toLowerCase();
    const cmds = await this.ctx.commands.load();
    if (!/^\/[a-z0-9_-]*$/i.test(this.ta.value.slice(0, this.ta.selectionStart))) return this.closeAc(); // typed on meanwhile
    const items = cmds.filter((c) => c.trigger.startsWith(ql)).slice(0, 10).map((c) => ({
      insert: `/${c.trigger} `, key: c.trigger,
      node: [h('span', { class: 'ac-icon' }, '/'), h('span', { class: 'ac-main' }, `/${c.trigger}${c.hint ? ` ${c.hint}` : ''}`), h('span', { class: 'ac-sub' }, c.description)],
    }));
    this.showAc(items, 0, 'commands');
  }

  suggestPeople(q, start) {
    const { state } = this.ctx;
    const c = state.conversation(this.convId);
    if (!c) return this.closeAc();
    const ql = q.toLowerCase();
    const members = new Set(c.kind === 'channel' ? [...state.users.keys()] : c.members || []);
    const words = (u) => (u.display_name || '').toLowerCase().split(/\s+/);
    const people = [...state.users.values()]
      .filter((u) => u.username !== state.myName && u.username !== 'system'
        && (u.username.startsWith(ql) || words(u).some((w) => w.startsWith(ql)) || (u.display_name || '').toLowerCase().startsWith(ql)))
      .sort((a, b) => (members.has(b.username) - members.has(a.username)) || a.username.localeCompare(b.username))
      .slice(0, 8)
      .map((u) => ({
        insert: `@${u.username} `,
        key: u.username,
        node: [avatar(u, { size: 'xs' }), h('span', { class: 'ac-main' }, state.name(u.username)),
          h('span', { class: 'ac-sub' }, members.has(u.username) ? `@${u.username}` : `@${u.username} · not in this conversation`)],
      }));
    const groups = c.kind === 'dm' && (c.members || []).length <= 2 ? [] : [
      ['here', 'Notify everyone here who is online'],
      ['channel', 'Notify every member'],
    ];
    const special = groups.filter(([n]) => n.startsWith(ql)).map(([n, what]) => ({
      insert: `@${n} `, key: n, node: [h('span', { class: 'ac-icon' }, '@'), h('span', { class: 'ac-main' }, `@${n}`), h('span', { class: 'ac-sub' }, what)],
    }));
    this.showAc([...people, ...special], start, 'people');
  }

  async suggestEmoji(q, start) {
    if (!this.emoji) {
      try {
        this.emoji = await loadEmoji();
      } catch {
        return this.closeAc();
      }
      return this.suggest(); // the text may have changed meanwhile
    }
    const ql = q.toLowerCase();
    const items = searchEmoji(this.emoji, ql, 40).filter((e) => e.codes.some((c) => c.startsWith(ql)) || e.codes.length).slice(0, 8)
      .map((e) => {
        const code = e.codes.find((c) => c.startsWith(ql)) || e.codes[0];
        return { insert: e.u, key: code, emoji: e.u, node: [h('span', { class: 'ac-icon ac-emoji' }, e.u), h('span', { class: 'ac-main' }, `:${code}:`), h('span', { class: 'ac-sub' }, e.label)] };
      });
    this.showAc(items, start, 'emoji');
  }

  showAc(items, start, kind) {
    if (!items.length) return this.closeAc();
    const keep = this.ac && this.ac.kind === kind ? items.findIndex((x) => x.key === this.ac.items[this.ac.index]?.key) : -1;
    this.ac = { items, start, kind, index: Math.max(0, keep) };
    replace(this.acEl, items.map((it, i) => h('li', {
      id: `ac-${i}`, role: 'option', class: 'ac-item', dataset: { key: it.key },
      on: { mousedown: (e) => { e.preventDefault(); this.pickAc(i); } },
    }, it.node)));
    this.acEl.setAttribute('aria-label', { people: 'People to mention', emoji: 'Emoji', commands: 'Commands' }[kind]);
    this.acEl.hidden = false;
    this.markAc();
  }

  markAc() {
    [...this.acEl.children].forEach((li, i) => li.setAttribute('aria-selected', String(i === this.ac.index)));
    this.ta.setAttribute('aria-activedescendant', `ac-${this.ac.index}`);
    this.acEl.children[this.ac.index]?.scrollIntoView({ block: 'nearest' });
  }

  closeAc() {
    if (!this.ac) return;
    this.ac = null;
    this.acEl.hidden = true;
    replace(this.acEl);
    this.ta.removeAttribute('aria-activedescendant');
  }

  pickAc(i) {
    const it = this.ac && this.ac.items[i];
    if (!it) return;
    const pos = this.ta.selectionStart;
    const { start } = this.ac;
    this.ta.value = this.ta.value.slice(0, start) + it.insert + this.ta.value.slice(pos);
    this.ta.setSelectionRange(start + it.insert.length, start + it.insert.length);
    if (it.emoji) useEmoji(it.emoji);
    this.closeAc();
    this.grow();
    this.saveDraft();
  }

  acKeys(e) {
    if (!this.ac || e.isComposing) return;
    const n = this.ac.items.length;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      this.ac.index = (this.ac.index + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.markAc();
    } else if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
      this.acTookAt = Date.now();
      this.pickAc(this.ac.index);
    } else if (e.key === 'Escape') {
      this.closeAc();
    } else {
      return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
  }

  wireDrop() {
    const zone = $('#conversation');
    const overlay = $('#drop-overlay');
    let depth = 0;
    const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
    zone.addEventListener('dragenter', (e) => {
      if (!hasFiles(e) || !this.convId) return;
      e.preventDefault();
      depth++;
      overlay.hidden = false;
    });
    zone.addEventListener('dragover', (e) => {
      if (!hasFiles(e) || !this.convId) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    zone.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (!depth) overlay.hidden = true;
    });
    zone.addEventListener('drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      overlay.hidden = true;
      this.addFiles([...e.dataTransfer.files]);
    });
  }

  // ---- files: a tray of what will be sent, then uploads with progress ----

  /** addFiles puts files (picked, pasted or dropped) in the tray, to go with the next send. */
  addFiles(files) {
    if (!this.convId || !files.length) return;
    const max = this.ctx.maxUploadMb();
    for (const file of files) {
      if (max && file.size > max * 1024 * 1024) {
        this.error(`${file.name} is ${formatSize(file.size)}; the limit is ${max} MB.`);
        continue;
      }
      if (this.tray.length >= 10) {
        this.error('Ten files at most in one go.');
        break;
      }
      const image = /^image\/(png|jpeg|gif|webp)$/.test(file.type);
      this.tray.push({ file, url: image ? URL.createObjectURL(file) : '' });
    }
    this.drawTray();
    this.ta.focus();
  }

  removeFromTray(i) {
    const [t] = this.tray.splice(i, 1);
    if (t && t.url) URL.revokeObjectURL(t.url);
    this.drawTray();
    this.ta.focus();
  }

  clearTray() {
    for (const t of this.tray || []) if (t.url) URL.revokeObjectURL(t.url);
    this.tray = [];
    this.drawTray();
  }

  drawTray() {
    const el = $('#upload-tray');
    el.hidden = !this.tray.length;
    replace(el, this.tray.map((t, i) => h('li', { class: 'tray-item', dataset: { name: t.file.name } },
      t.url ? h('img', { class: 'tray-thumb', src: t.url, alt: '' }) : h('span', { class: 'tray-thumb tray-file' }, icon('file', 22)),
      h('span', { class: 'tray-name', title: t.file.name }, t.file.name),
      h('span', { class: 'tray-size' }, formatSize(t.file.size)),
      h('button', {
        type: 'button', class: 'icon-btn small tray-remove', 'aria-label': `Remove ${t.file.name}`, title: 'Remove',
        disabled: !!this.uploading, on: { click: () => this.removeFromTray(i) },
      }, icon('close', 14)))));
  }

  /**
   * sendTray uploads the tray's files one after the other, the text going with the first as
   * its caption. Cancel stops the upload in progress; it and the ones after stay in the tray.
   */
  async sendTray(body) {
    if (this.uploading) return;
    const convId = this.convId;
    const typed = this.ta.value.trim(); // the caption as typed, before :shortcode: conversion
    let caption = body;
    if (caption && new TextEncoder().encode(caption).length > 16000) {
      this.error('That message is too long (16,000 bytes at most).');
      return;
    }
    this.error('');
    while (this.tray.length && this.convId === convId) {
      const { file } = this.tray[0];
      const fd = new FormData();
      fd.append('file', file, file.name);
      if (caption) fd.append('body', caption);
      fd.append('client_id', crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2));
      const bar = $('#upload-progress');
      bar.value = 0;
      $('#upload-name').textContent = `Uploading ${file.name} (${formatSize(file.size)})`;
      $('#upload').hidden = false;
      this.uploading = api.upload(`/api/conversations/${enc(convId)}/files`, fd, (f) => { bar.value = f; });
      this.drawTray();
      try {
        const res = await this.uploading;
        if (res && res.message) this.ctx.state.upsertMessage(res.message);
        if (caption && this.ta.value.trim() === typed) {
          this.ta.value = '';
          this.grow();
          this.saveDraft();
        }
        caption = '';
        const [t] = this.tray.splice(0, 1);
        if (t && t.url) URL.revokeObjectURL(t.url);
      } catch (err) {
        if (err.code !== 'aborted') this.error(`Upload of ${file.name} failed: ${api.errorText(err)}`);
        break;
      } finally {
        this.uploading = null;
        $('#upload').hidden = true;
        this.drawTray();
      }
    }
  }
}
