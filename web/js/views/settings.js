// views/settings.js: the settings dialog — profile (display name, avatar), theme, password
// change and the Danger Zone (account deletion, soft or hard).

import { $, replace } from '../dom.js';
import * as api from '../api.js';
import { applyTheme } from '../theme.js';
import { avatar, wireDialog, openDialog, confirmAction } from './ui.js';
import { TokensSection } from './integrations.js';
import { Notifier } from '../notify.js';

const AVATAR_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

export class SettingsView {
  /** ctx: { state, setMe(user), afterAccountDeleted() } */
  constructor(ctx) {
    this.ctx = ctx;
    this.dlg = $('#settings-dialog');
    this.previewUrl = '';
    wireDialog(this.dlg);
    this.dlg.addEventListener('close', () => this.dropPreview());

    $('#profile-form').addEventListener('submit', (e) => { e.preventDefault(); this.saveProfile(); });
    $('#settings-avatar-input').addEventListener('change', (e) => {
      const f = e.target.files && e.target.files[0];
      e.target.value = '';
      if (f) this.uploadAvatar(f);
    });
    $('#settings-avatar-remove').addEventListener('click', () => this.removeAvatar());
    for (const r of this.dlg.querySelectorAll('input[name=theme]')) {
      r.addEventListener('change', () => { if (r.checked) this.setTheme(r.value); });
    }
    $('#password-form').addEventListener('submit', (e) => { e.preventDefault(); this.changePassword(); });
    $('#logout-all').addEventListener('click', () => this.logoutAll());
    $('#danger-form').addEventListener('submit', (e) => { e.preventDefault(); this.deleteAccount(); });
    ctx.state.on('me', () => { if (this.dlg.open) this.drawAvatar(); });
    this.tokens = new TokensSection($('#settings-tokens'));
    $('#notify-permission').addEventListener('click', () => this.askPermission());
    $('#notify-dnd').addEventListener('change', (e) => this.setDnd(e.target.checked));
    $('#notify-sound').addEventListener('change', (e) => {
      Notifier.setSound(e.target.checked);
      this.status('notify', e.target.checked ? 'Sound on.' : 'Sound off.');
    });
    ctx.state.on('prefs', () => { if (this.dlg.open) this.drawNotify(); });
  }

  open() {
    const me = this.ctx.state.me;
    for (const el of this.dlg.querySelectorAll('.status')) this.show(el, '');
    $('#settings-display-name').value = me.display_name || '';
    for (const id of ['#settings-current-password', '#settings-new-password', '#settings-confirm-password', '#danger-password']) $(id).value = '';
    $('#danger-mode-soft').checked = true;
    const theme = document.documentElement.dataset.theme || me.theme || 'light';
    $('#settings-theme-dark').checked = theme === 'dark';
    $('#settings-theme-light').checked = theme !== 'dark';
    this.drawAvatar();
    this.drawNotify();
    this.tokens.refresh();
    openDialog(this.dlg, $('#settings-display-name'));
  }

  /**
   * status shows text next to the control it is about: section is 'avatar', 'profile',
   * 'theme', 'password', 'sessions' or 'danger' (#status-<section>). A refusal is an alert,
   * scrolled into view.
   */
  status(section, text, ok = true) {
    const el = $(`#status-${section}`);
    this.show(el, text, ok);
    if (text && !ok) el.scrollIntoView({ block: 'nearest' });
  }

  show(el, text, ok = true) {
    el.textContent = text;
    el.className = `status ${text ? (ok ? 'ok' : 'bad') : ''}`;
    el.setAttribute('role', text && !ok ? 'alert' : 'status');
  }

  drawAvatar() {
    const me = this.ctx.state.me;
    const el = $('#settings-avatar-preview');
    if (this.previewUrl) {
      replace(el, avatar({ ...me, avatar_url: this.previewUrl }, { size: 'lg' }));
    } else {
      replace(el, avatar(me, { size: 'lg' }));
    }
    $('#settings-avatar-remove').hidden = !me.avatar_url;
  }

  dropPreview() {
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    this.previewUrl = '';
  }

  drawNotify() {
    const perm = Notifier.permission();
    const text = {
      granted: 'Desktop notifications are on for this browser.',
      denied: 'This browser blocks notifications from MiniMost: allow them in the site settings of your browser.',
      default: 'Get a desktop notification for direct messages, mentions and calls.',
      unsupported: 'This browser has no desktop notifications; you still get a sound and the unread badges.',
    }[perm];
    $('#notify-permission-text').textContent = text;
    $('#notify-permission').hidden = perm !== 'default';
    $('#notify-dnd').checked = !!this.ctx.state.prefs.dnd;
    $('#notify-sound').checked = Notifier.soundOn();
  }

  async askPermission() {
    const perm = await Notifier.request();
    this.drawNotify();
    this.status('notify', perm === 'granted' ? 'Desktop notifications enabled.' : 'Desktop notifications were not allowed.', perm === 'granted');
  }

  async setDnd(on) {
    try {
      const res = await api.patch('/api/me/notifications', { dnd: on });
      this.ctx.state.setPrefs(res.prefs);
      this.status('notify', on ? 'Do not disturb is on.' : 'Do not disturb is off.');
    } catch (err) {
      $('#notify-dnd').checked = !on;
      this.status('notify', api.errorText(err), false);
    }
  }

  async saveProfile() {
    const name = $('#settings-display-name').value.trim();
    if ([...name].length > 64) return this.status('profile', 'A display name has at most 64 characters.', false);
    const btn = $('#settings-save-profile');
    btn.disabled = true;
    try {
      const res = await api.patch('/api/me', { display_name: name });
      this.ctx.setMe(res.user);
      this.status('profile', 'Profile saved.');
    } catch (err) {
      this.status('profile', api.errorText(err), false);
    } finally {
      btn.disabled = false;
    }
  }

  async uploadAvatar(file) {
    if (!AVATAR_TYPES.includes(file.type)) {
      return this.status('avatar', 'An avatar must be a PNG, JPEG, GIF or WebP image.', false);
    }
    this.dropPreview();
    this.previewUrl = URL.createObjectURL(file);
    this.drawAvatar();
    this.status('avatar', 'Uploading avatar…');
    const fd = new FormData();
    fd.append('avatar', file, file.name);
    try {
      const res = await api.upload('/api/me/avatar', fd);
      this.dropPreview();
      this.ctx.setMe(res.user);
      this.drawAvatar();
      this.status('avatar', 'Avatar updated.');
    } catch (err) {
      this.dropPreview();
      this.drawAvatar();
      this.status('avatar', `Avatar upload failed: ${api.errorText(err)}`, false);
    }
  }

  async removeAvatar() {
    try {
      const res = await api.del('/api/me/avatar');
      this.ctx.setMe(res.user);
      this.drawAvatar();
      this.status('avatar', 'Avatar removed.');
    } catch (err) {
      this.status('avatar', api.errorText(err), false);
    }
  }

  async setTheme(theme) {
    applyTheme(theme);
    try {
      const res = await api.patch('/api/me', { theme });
      this.ctx.setMe(res.user);
      this.status('theme', `${theme === 'dark' ? 'Dark' : 'Light'} theme saved.`);
    } catch (err) {
      this.status('theme', `Theme not saved: ${api.errorText(err)}`, false);
    }
  }

  async changePassword() {
    const cur = $('#settings-current-password');
    const next = $('#settings-new-password');
    const conf = $('#settings-confirm-password');
    if (!cur.value) { cur.focus(); return this.status('password', 'Enter your current password.', false); }
    if (next.value.length < 8) { next.focus(); return this.status('password', 'The new password needs at least 8 characters.', false); }
    if (next.value !== conf.value) { conf.focus(); return this.status('password', 'The new passwords do not match.', false); }
    const btn = $('#settings-change-password');
    btn.disabled = true;
    try {
      await api.post('/api/me/password', { current_password: cur.value, new_password: next.value }, { quiet401: true });
      cur.value = next.value = conf.value = '';
      this.status('password', 'Password changed. Your other sessions were logged out.');
    } catch (err) {
      this.status('password', err.status === 401 || err.status === 403 ? (err.message || 'The current password is wrong.') : api.errorText(err), false);
    } finally {
      btn.disabled = false;
    }
  }

  async logoutAll() {
    const ok = await confirmAction({
      title: 'Log out everywhere?',
      text: 'Every session of your account ends, on every device, this one included.',
      ok: 'Log out everywhere',
    });
    if (!ok) return;
    try {
      await api.post('/api/me/logout-all', undefined, { quiet401: true });
      this.dlg.close();
      this.ctx.afterLogoutEverywhere();
    } catch (err) {
      this.status('sessions', api.errorText(err), false);
    }
  }

  async deleteAccount() {
    const pw = $('#danger-password');
    const mode = $('#danger-mode-hard').checked ? 'hard' : 'soft';
    if (!pw.value) { pw.focus(); return this.status('danger', 'Enter your current password to delete your account.', false); }
    const ok = await confirmAction({
      title: 'Delete your account?',
      text: mode === 'hard'
        ? 'Your account and every message you sent will be permanently deleted for everyone. This cannot be undone.'
        : 'Your account will be permanently deleted. Your messages stay, shown as sent by “Deleted User”. This cannot be undone.',
      ok: mode === 'hard' ? 'Delete account and messages' : 'Delete account',
    });
    if (!ok) return;
    const btn = $('#danger-delete');
    btn.disabled = true;
    try {
      await api.post('/api/me/delete', { password: pw.value, mode }, { quiet401: true });
      pw.value = '';
      this.dlg.close();
      this.ctx.afterAccountDeleted();
    } catch (err) {
      this.status('danger', err.status === 401 ? (err.message || 'The password is wrong.') : api.errorText(err), false);
    } finally {
      btn.disabled = false;
    }
  }
}
