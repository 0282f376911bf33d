// views/composer.js: the message box — Enter sends, Shift+Enter adds a line, typing events
// (at most one every 3 s), drafts per conversation, and file upload by button, drag and
// drop or paste, with a progress bar.

import { $, icon } from '../dom.js';
import * as api from '../api.js';
import { enc } from '../api.js';
import { formatSize } from '../format.js';
import { showError, onEnter } from './ui.js';

const TYPING_EVERY = 3000;

export class Composer {
  /** ctx: { state, send(convId, body), sendTyping(convId), editLast(), maxUploadMb() } */
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

    onEnter(this.ta, () => this.submit());
    this.ta.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowUp' && !this.ta.value && this.ctx.editLast()) e.preventDefault();
    });
    this.ta.addEventListener('input', () => {
      this.grow();
      this.error('');
      if (this.ta.value.trim() && this.convId && Date.now() - this.lastTyping > TYPING_EVERY) {
        this.lastTyping = Date.now();
        this.ctx.sendTyping(this.convId);
      }
    });
    this.ta.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files || [])];
      if (files.length) {
        e.preventDefault();
        this.upload(files[0]);
      }
    });
    $('#composer-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    $('#file-input').addEventListener('change', (e) => {
      const f = e.target.files && e.target.files[0];
      e.target.value = '';
      if (f) this.upload(f);
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
  }

  /** setConversation saves the draft of the old conversation and shows the new one's. */
  setConversation(id) {
    if (this.convId) this.drafts.set(this.convId, this.ta.value);
    this.convId = id;
    this.ta.value = this.drafts.get(id) || '';
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
    const body = this.ta.value.trim();
    if (!body || !this.convId) return;
    if (new TextEncoder().encode(body).length > 16000) {
      this.error('That message is too long (16,000 bytes at most).');
      return;
    }
    this.ta.value = '';
    this.drafts.delete(this.convId);
    this.grow();
    this.lastTyping = 0;
    this.ctx.send(this.convId, body);
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
      const f = e.dataTransfer.files[0];
      if (f) this.upload(f);
    });
  }

  /** upload sends file to the open conversation, with the composer text as its caption. */
  async upload(file) {
    if (!this.convId) return;
    if (this.uploading) {
      this.error('Wait for the current upload to finish.');
      return;
    }
    const max = this.ctx.maxUploadMb();
    if (max && file.size > max * 1024 * 1024) {
      this.error(`${file.name} is ${formatSize(file.size)}; the limit is ${max} MB.`);
      return;
    }
    const convId = this.convId;
    const fd = new FormData();
    fd.append('file', file, file.name);
    const body = this.ta.value.trim();
    if (body) fd.append('body', body);
    fd.append('client_id', crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2));
    const bar = $('#upload-progress');
    bar.value = 0;
    $('#upload-name').textContent = `Uploading ${file.name} (${formatSize(file.size)})`;
    $('#upload').hidden = false;
    this.error('');
    this.uploading = api.upload(`/api/conversations/${enc(convId)}/files`, fd, (f) => { bar.value = f; });
    try {
      const res = await this.uploading;
      if (body && this.convId === convId && this.ta.value.trim() === body) {
        this.ta.value = '';
        this.grow();
      }
      if (res && res.message) this.ctx.state.upsertMessage(res.message);
    } catch (err) {
      if (err.code !== 'aborted') this.error(`Upload failed: ${api.errorText(err)}`);
    } finally {
      this.uploading = null;
      $('#upload').hidden = true;
    }
  }
}
