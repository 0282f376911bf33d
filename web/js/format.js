// format.js: pure formatting helpers (times, sizes, names, initials). No DOM.

/** displayName is the name to show for a user object or a bare username. */
export function displayName(user, username) {
  if (user && user.display_name) return user.display_name;
  return (user && user.username) || username || '';
}

/** initials gives up to two letters for an avatar circle. */
export function initials(name) {
  const parts = String(name || '?').trim().split(/[\s._-]+/).filter(Boolean);
  if (parts.length === 0) return '?';
  if (parts.length === 1) return [...parts[0]].slice(0, 2).join('').toUpperCase();
  return ([...parts[0]][0] + [...parts[1]][0]).toUpperCase();
}

/** colorIndex maps a name to one of n avatar colours, stable across sessions. */
export function colorIndex(name, n = 8) {
  let x = 0;
  for (const ch of String(name)) x = (x * 31 + ch.codePointAt(0)) >>> 0;
  return x % n;
}

/** formatSize gives a human file size. */
export function formatSize(bytes) {
  if (!(bytes >= 0)) return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function msOf(msg) {
  return msg.sent_ms || (msg.sent_ts || 0) * 1000;
}
export { msOf as messageTime };

/** formatTime gives "14:05" in the user's locale. */
export function formatTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** formatFull gives the full date and time for a tooltip. */
export function formatFull(ms) {
  return new Date(ms).toLocaleString([], {
    weekday: 'long', year: 'numeric', month: 'long', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
}

/** dayKey identifies the local calendar day of ms. */
export function dayKey(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** formatDay gives "Today", "Yesterday" or a date for a day separator. */
export function formatDay(ms, now = Date.now()) {
  if (dayKey(ms) === dayKey(now)) return 'Today';
  if (dayKey(ms) === dayKey(now - 86400000)) return 'Yesterday';
  const d = new Date(ms);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString([], {
    weekday: 'long', month: 'long', day: 'numeric', ...(sameYear ? {} : { year: 'numeric' }),
  });
}

/** joinNames gives "a", "a and b", "a, b and c". */
export function joinNames(names) {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** typingText gives the line under the messages for the users typing. */
export function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length <= 3) return `${joinNames(names)} are typing…`;
  return 'Several people are typing…';
}

/** retryText turns a 429 error into a sentence. */
export function retryText(seconds) {
  const s = Math.max(1, Math.ceil(Number(seconds) || 1));
  return `Too many attempts, try again in ${s} s.`;
}
