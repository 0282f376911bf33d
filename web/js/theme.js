// theme.js: applies the light or dark theme (data-theme on <html>). With no choice made the
// CSS follows the system's prefers-color-scheme. The last choice is remembered in
// localStorage so that the next page load starts in the right colours.

const KEY = 'mm_theme';

/** applyTheme sets 'light' or 'dark', or follows the system for anything else. */
export function applyTheme(theme, remember = true) {
  const root = document.documentElement;
  if (theme === 'light' || theme === 'dark') {
    root.dataset.theme = theme;
    if (remember) try { localStorage.setItem(KEY, theme); } catch { /* private mode */ }
  } else {
    delete root.dataset.theme;
  }
}

/** savedTheme is the theme chosen last on this browser ('' when never). */
export function savedTheme() {
  try {
    return localStorage.getItem(KEY) || '';
  } catch {
    return '';
  }
}

/** forgetTheme drops the remembered choice (logout, account deletion). */
export function forgetTheme() {
  try { localStorage.removeItem(KEY); } catch { /* private mode */ }
}

/** currentTheme is the theme on screen now. */
export function currentTheme() {
  const t = document.documentElement.dataset.theme;
  if (t) return t;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
