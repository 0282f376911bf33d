// views/auth.js: the login and registration forms (one card, toggled).

import { $ } from '../dom.js';
import * as api from '../api.js';
import { showError } from './ui.js';

let countdown = 0;

/**
 * initAuth wires the forms. onLoggedIn(user) runs after a successful login or registration.
 */
export function initAuth({ onLoggedIn }) {
  $('#show-register').addEventListener('click', () => showMode('register'));
  $('#show-login').addEventListener('click', () => showMode('login'));

  $('#login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    submit('/api/login', $('#login-username'), $('#login-password'), $('#login-submit'), onLoggedIn);
  });
  $('#register-form').addEventListener('submit', (e) => {
    e.preventDefault();
    submit('/api/register', $('#register-username'), $('#register-password'), $('#register-submit'), onLoggedIn);
  });
}

async function submit(path, userEl, passEl, button, onLoggedIn) {
  const username = userEl.value.trim().toLowerCase();
  const password = passEl.value;
  if (!username || !password) {
    setError('Enter a username and a password.');
    (username ? passEl : userEl).focus();
    return;
  }
  setError('');
  button.disabled = true;
  try {
    const res = await api.post(path, { username, password }, { quiet401: true });
    passEl.value = '';
    showNotice('');
    onLoggedIn(res.user);
  } catch (err) {
    if (err.status === 429) {
      startCountdown(Number(err.retryAfter) || 1);
    } else if (err.status === 401) {
      setError(err.message || 'Wrong username or password.');
    } else if (path === '/api/register' && err.status === 403) {
      // Registration was closed after this page loaded: back to the login form, which says
      // so and no longer offers registration.
      $('#register-switch').hidden = true;
      $('#registration-closed').hidden = false;
      showMode('login');
      setError(err.message || 'Registration is closed. Ask your administrator for an account.');
      return;
    } else {
      setError(api.errorText(err));
    }
    passEl.focus();
  } finally {
    button.disabled = false;
  }
}

function startCountdown(seconds) {
  clearInterval(countdown);
  let left = Math.max(1, Math.ceil(seconds));
  const show = () => setError(`Too many attempts, try again in ${left} s.`);
  show();
  countdown = setInterval(() => {
    left--;
    if (left <= 0) {
      clearInterval(countdown);
      setError('You can try again now.');
      return;
    }
    show();
  }, 1000);
}

function setError(text) {
  if (!text) clearInterval(countdown);
  showError($('#auth-error'), text);
}

function showNotice(text) {
  const el = $('#auth-notice');
  el.textContent = text || '';
  el.hidden = !text;
}

/** showMode switches between the 'login' and 'register' forms. */
export function showMode(mode) {
  const reg = mode === 'register';
  $('#login-form').hidden = reg;
  $('#register-form').hidden = !reg;
  setError('');
  (reg ? $('#register-username') : $('#login-username')).focus();
}

/**
 * showAuth shows the login page. notice: a sentence above the form (session ended, account
 * deleted). registration: 'open' or 'closed' from /api/config.
 */
export function showAuth({ notice = '', registration = 'open' } = {}) {
  $('#boot').hidden = true;
  $('#app').hidden = true;
  $('#auth').hidden = false;
  const closed = registration === 'closed';
  $('#register-switch').hidden = closed;
  $('#registration-closed').hidden = !closed;
  showNotice(notice);
  $('#login-form').hidden = false;
  $('#register-form').hidden = true;
  setError('');
  $('#login-username').focus();
}
