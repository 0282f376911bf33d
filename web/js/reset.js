// reset.js: the password-reset page (/reset?token=…). The token is read once and removed
// from the address bar, then the form posts it with the new password.

import { $ } from './dom.js';
import * as api from './api.js';
import { applyTheme, savedTheme } from './theme.js';

applyTheme(savedTheme(), false);

const params = new URLSearchParams(location.search);
const token = params.get('token') || '';
// Keep the token out of the address bar, the history and any later Referer.
history.replaceState(null, '', location.pathname);

const form = $('#reset-form');
const statusEl = $('#reset-status');

function status(text, ok) {
  statusEl.textContent = text;
  statusEl.className = `status ${text ? (ok ? 'ok' : 'bad') : ''}`;
  statusEl.dataset.result = text ? (ok ? 'ok' : 'error') : '';
}

if (!token) {
  status('This reset link is incomplete. Ask your administrator for a new one.', false);
  $('#reset-submit').disabled = true;
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const pw = $('#reset-password');
  const confirm = $('#reset-confirm');
  if (pw.value.length < 8) {
    pw.focus();
    return status('The new password needs at least 8 characters.', false);
  }
  if (pw.value !== confirm.value) {
    confirm.focus();
    return status('The two passwords do not match.', false);
  }
  const btn = $('#reset-submit');
  btn.disabled = true;
  try {
    await api.post('/api/reset-password', { token, new_password: pw.value }, { quiet401: true });
    pw.value = '';
    confirm.value = '';
    for (const el of form.querySelectorAll('input')) el.disabled = true;
    status('Your password was changed. You can log in with it now.', true);
    $('#reset-login').focus();
  } catch (err) {
    btn.disabled = false;
    if (err.status === 400) status(err.message || 'This reset link is invalid, used or expired. Ask your administrator for a new one.', false);
    else status(api.errorText(err), false);
  }
});
