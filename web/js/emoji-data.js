// emoji-data.js: the emoji set of the picker and of :shortcode: completion — emojibase-data's
// English compact data and GitHub's shortcodes (web/emoji/, vendored from the npm package
// emojibase-data; the server checks reactions against the same file). Loaded on first use.

const GROUPS = ['Smileys & emotion', 'People & body', '', 'Animals & nature', 'Food & drink', 'Travel & places', 'Activities', 'Objects', 'Symbols', 'Flags'];
const RECENT_KEY = 'mm_emoji_recent';
const RECENT_MAX = 24;

let loading = null;

/**
 * loadEmoji resolves to { list, groups, byCode }: list holds { u, label, tags, codes, group }
 * in the data's order (skin tones left out: the default yellow ones), groups the group names
 * by number, byCode maps a shortcode ("wave", "+1") to its emoji.
 */
export function loadEmoji() {
  if (!loading) {
    loading = Promise.all([
      fetch('/emoji/en-compact.json').then((r) => { if (!r.ok) throw new Error(`emoji data: ${r.status}`); return r.json(); }),
      fetch('/emoji/en-shortcodes-github.json').then((r) => { if (!r.ok) throw new Error(`emoji shortcodes: ${r.status}`); return r.json(); }),
    ]).then(([data, codes]) => {
      const list = [];
      const byCode = new Map();
      for (const e of data) {
        // Group 2 holds skin-tone and hair components; regional indicators have no group.
        if (e.group === undefined || e.group === 2) continue;
        const c = codes[e.hexcode];
        const names = c === undefined ? [] : Array.isArray(c) ? c : [c];
        const item = { u: e.unicode, label: e.label, tags: e.tags || [], codes: names, group: e.group, order: e.order ?? 0 };
        list.push(item);
        for (const n of names) if (!byCode.has(n)) byCode.set(n, item);
      }
      list.sort((a, b) => a.order - b.order);
      return { list, groups: GROUPS, byCode };
    }).catch((err) => {
      loading = null;
      throw err;
    });
  }
  return loading;
}

/** searchEmoji returns up to max emoji whose shortcode, name or tags match q, best first. */
export function searchEmoji(data, q, max = 200) {
  q = q.toLowerCase().trim();
  if (!q) return data.list.slice(0, max);
  const scored = [];
  for (const e of data.list) {
    let score = 0;
    if (e.codes.some((c) => c === q)) score = 5;
    else if (e.codes.some((c) => c.startsWith(q))) score = 4;
    else if (e.label.toLowerCase().startsWith(q)) score = 3;
    else if (e.tags.some((t) => t.startsWith(q))) score = 2;
    else if (e.label.toLowerCase().includes(q) || e.codes.some((c) => c.includes(q))) score = 1;
    if (score) scored.push([score, e]);
  }
  scored.sort((a, b) => b[0] - a[0] || a[1].order - b[1].order);
  return scored.slice(0, max).map((x) => x[1]);
}

/** recentEmoji is the emoji this browser used last, newest first. */
export function recentEmoji() {
  try {
    const v = JSON.parse(localStorage.getItem(RECENT_KEY) || '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string').slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

/** useEmoji records u as used now (for "Recently used"). */
export function useEmoji(u) {
  try {
    const next = [u, ...recentEmoji().filter((x) => x !== u)].slice(0, RECENT_MAX);
    localStorage.setItem(RECENT_KEY, JSON.stringify(next));
  } catch {
    // storage disabled: no recent list
  }
}

/**
 * replaceShortcodes turns every complete :shortcode: the set knows into its emoji, leaving
 * code spans and blocks (between backticks) alone.
 */
export function replaceShortcodes(data, text) {
  return text.split(/(```[\s\S]*?```|`[^`\n]*`)/).map((part, i) => (i % 2 ? part
    : part.replace(/:([a-z0-9_+-]+):/gi, (m, code) => {
      const e = data.byCode.get(code.toLowerCase());
      return e ? e.u : m;
    }))).join('');
}
