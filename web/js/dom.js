// dom.js: a tiny element builder. User text is always inserted as text (textContent);
// the only place that sets innerHTML is setTrustedHTML, used for the server-rendered and
// server-sanitized message html.

/**
 * h builds an element. attrs: class, id, dataset (object), on (object of listeners),
 * text, hidden, boolean attributes, and any other attribute set with setAttribute.
 * Children may be strings (inserted as text nodes), nodes, arrays, null or false.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'style') throw new Error('h: use el.style from script, not a style attribute');
      else if (k.startsWith('on')) throw new Error('h: use the "on" object for listeners');
      else if (k in PROPS) el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

// Properties set directly rather than as attributes.
const PROPS = { value: 1, checked: 1, disabled: 1, selected: 1, hidden: 1, multiple: 1, tabIndex: 1 };

/** append adds children (strings become text nodes). */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** clear removes every child of el. */
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** replace clears el and appends children. */
export function replace(el, ...children) {
  return append(clear(el), children);
}

/** $ is querySelector on document (or a root). */
export function $(sel, root = document) {
  return root.querySelector(sel);
}

/**
 * setTrustedHTML sets html the server rendered and sanitized (message.html). Nothing else
 * in the app may use innerHTML.
 */
export function setTrustedHTML(el, html) {
  el.innerHTML = html;
  // Links in messages open in a new tab and never leak the opener.
  for (const a of el.querySelectorAll('a[href]')) {
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
  }
  return el;
}

/** icon returns an inline SVG icon from a small built-in set (no user data involved). */
export function icon(name, size = 18) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', size);
  svg.setAttribute('height', size);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.classList.add('icon');
  for (const d of ICONS[name] || []) {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

const ICONS = {
  plus: ['M12 5v14M5 12h14'],
  menu: ['M4 6h16M4 12h16M4 18h16'],
  close: ['M6 6l12 12M18 6L6 18'],
  search: ['M11 4a7 7 0 1 0 0 14a7 7 0 1 0 0-14zM16.5 16.5L21 21'],
  users: ['M9 11a4 4 0 1 0 0-8a4 4 0 0 0 0 8zM2 21v-1a6 6 0 0 1 12 0v1M16 3.5a4 4 0 0 1 0 7.5M22 21v-1a6 6 0 0 0-4-5.6'],
  phone: ['M5 4h4l2 5l-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2'],
  video: ['M3 7h12v10H3zM15 10l6-3v10l-6-3'],
  hangup: ['M3 14c5-5 13-5 18 0l-2.5 3l-3.5-1.5v-2.5a9 9 0 0 0-6 0v2.5L5.5 17z'],
  mic: ['M12 3a3 3 0 0 1 3 3v5a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM5 11a7 7 0 0 0 14 0M12 18v3'],
  attach: ['M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7'],
  send: ['M4 12l16-8l-6 16l-3-7z'],
  edit: ['M4 20h4L19 9l-4-4L4 16zM14 6l4 4'],
  trash: ['M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13'],
  smile: ['M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18zM8 14a5 5 0 0 0 8 0M9 9.5h.01M15 9.5h.01'],
  hash: ['M9 4L7 20M17 4l-2 16M4 9h16M3 15h16'],
  lock: ['M6 11h12v9H6zM8 11V8a4 4 0 0 1 8 0v3'],
  gear: ['M12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6zM12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1L7 17M17 7l2.1-2.1'],
  logout: ['M15 4h4v16h-4M10 8l-4 4l4 4M6 12h11'],
  file: ['M6 3h8l5 5v13H6zM14 3v5h5'],
  leave: ['M10 4H5v16h5M14 8l4 4l-4 4M18 12H9'],
  hook: ['M9 7a3 3 0 1 1 3 3l-3 6M15 17a3 3 0 1 1-3-3h6a3 3 0 1 1-1 5.8M6 17a3 3 0 1 0 3-3'],
  unread: ['M14 6H4v13h16v-7M4 6l8 6l3-2.2', 'M19 3.5a2.5 2.5 0 1 0 0 5a2.5 2.5 0 1 0 0-5z'],
  down: ['M12 5v14M6 13l6 6l6-6'],
  reply: ['M4 5h16v11H9l-5 4z', 'M8 9h8M8 12h5'],
  bell: ['M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0'],
  bellOff: ['M6 16V11a6 6 0 0 1 9.5-4.9M18 11v5l2 2H8M10 20a2 2 0 0 0 4 0M3 3l18 18'],
};
