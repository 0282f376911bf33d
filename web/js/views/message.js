// views/message.js: builds the element of one message (sender, time, body, attachment,
// reactions, hover actions). Actions are buttons with data-action; the conversation view
// handles the clicks.

import { h, icon, setTrustedHTML } from '../dom.js';
import { formatTime, formatFull, formatSize, messageTime } from '../format.js';
import { avatar } from './ui.js';

/**
 * renderMessage gives the <article> for msg. opts: continued (same sender just before),
 * me (my username), user (the sender's user object), name (display name).
 */
export function renderMessage(msg, { continued, me, user, name, nameOf, userOf, inThread = false }) {
  const mine = msg.sender === me;
  // An integration's message shows the name it chose, always with a "webhook" tag: it is
  // never shown as an account. A bot account's messages carry a "bot" tag.
  const hook = !!(msg.props && msg.props.from_webhook);
  if (hook) {
    name = msg.props.username || 'webhook';
    user = { username: name, display_name: name };
  }
  const tag = hook ? h('span', { class: 'tag tag-webhook', title: 'Posted by an integration' }, 'webhook')
    : (user && user.bot ? h('span', { class: 'tag tag-bot', title: 'A bot account' }, 'bot') : null);
  const ms = messageTime(msg);
  // In a channel the system's messages are notices of membership ("alice added carol"): one
  // quiet line, no avatar and no actions.
  if (msg.sender === 'system' && !String(msg.conversation).startsWith('d:') && !msg.pending) {
    return h('article', { class: 'message system-line', dataset: { id: msg.id, sender: msg.sender }, 'aria-label': `${msg.body}, ${formatFull(ms)}` },
      h('span', { class: 'system-text' }, msg.body),
      h('time', { class: 'message-time', datetime: new Date(ms).toISOString(), title: formatFull(ms) }, formatTime(ms)));
  }
  const mentionsMe = !mine && (msg.mentions || []).includes(me);
  const time = h('time', { class: 'message-time', datetime: new Date(ms).toISOString(), title: formatFull(ms) }, formatTime(ms));

  const body = h('div', { class: 'message-body' });
  if (msg.pending) body.textContent = msg.body;
  else if (msg.html) {
    setTrustedHTML(body, msg.html);
    for (const m of body.querySelectorAll('.mention')) {
      if (m.dataset.user === me) m.classList.add('me');
    }
  } else if (msg.body) body.textContent = msg.body;

  // "(edited)" ends the text's last line, as in Slack, rather than sitting on a line of its own.
  const edited = msg.edited_ts ? h('span', { class: 'edited', title: `Edited ${formatFull(msg.edited_ts * 1000)}` }, '(edited)') : null;
  if (edited) {
    const last = body.lastElementChild;
    if (last && /^(P|LI|H[1-6])$/.test(last.tagName)) last.append(' ', edited);
    else if (last && /^(UL|OL)$/.test(last.tagName) && last.lastElementChild) last.lastElementChild.append(' ', edited);
    else if (!last) body.append(' ', edited);
  }

  // A thread reply also sent to the channel says which thread it answers, and opens it.
  const context = !inThread && msg.thread_root ? h('button', { type: 'button', class: 'thread-context', dataset: { action: 'thread' } },
    icon('reply', 14), h('span', null, 'replied to a thread: '),
    h('span', { class: 'thread-context-text' }, msg.root_preview || 'a deleted message')) : null;

  const main = h('div', { class: 'message-main' },
    context,
    h('div', { class: ['message-head', continued && 'visually-hidden'] },
      h('span', { class: ['message-sender', msg.sender === 'system' && 'system'], title: hook ? name : msg.sender }, name),
      tag,
      time),
    body,
    edited && !body.contains(edited) ? edited : null,
    msg.attachment ? attachment(msg.attachment) : null,
    msg.failed ? h('div', { class: 'send-failed', role: 'alert' }, `Not sent: ${msg.failed}`,
      h('button', { type: 'button', class: 'link', dataset: { action: 'retry' } }, 'Retry'),
      h('button', { type: 'button', class: 'link', dataset: { action: 'discard' } }, 'Discard')) : null,
    reactions(msg, me, nameOf),
    !inThread && msg.thread && msg.thread.replies ? threadSummary(msg.thread, nameOf, userOf) : null);

  const gutter = h('div', { class: 'message-gutter' },
    continued ? h('span', { class: 'gutter-time', title: formatFull(ms) }, formatTime(ms)) : avatar(user));

  const actions = msg.pending ? null : h('div', { class: 'message-actions', role: 'toolbar', 'aria-label': 'Message actions' },
    h('button', { type: 'button', class: 'icon-btn message-react-btn', dataset: { action: 'react' }, 'aria-label': 'Add reaction', title: 'Add reaction' }, icon('smile', 16)),
    inThread ? null : h('button', { type: 'button', class: 'icon-btn message-thread-btn', dataset: { action: 'thread' }, 'aria-label': 'Reply in thread', title: 'Reply in thread' }, icon('reply', 16)),
    inThread ? null : h('button', { type: 'button', class: 'icon-btn message-unread-btn', dataset: { action: 'unread' }, 'aria-label': 'Mark unread from here', title: 'Mark unread' }, icon('unread', 16)),
    mine ? h('button', { type: 'button', class: 'icon-btn message-edit-btn', dataset: { action: 'edit' }, 'aria-label': 'Edit message', title: 'Edit' }, icon('edit', 16)) : null,
    mine ? h('button', { type: 'button', class: 'icon-btn message-delete-btn', dataset: { action: 'delete' }, 'aria-label': 'Delete message', title: 'Delete' }, icon('trash', 16)) : null);

  return h('article', {
    class: ['message', continued && 'continued', mine && 'mine', hook && 'from-webhook', msg.props && msg.props.emote && 'emote', mentionsMe && 'mentions-me', msg.pending && 'pending', msg.failed && 'failed'],
    dataset: { id: msg.id, sender: msg.sender },
    'aria-label': `${name}, ${formatFull(ms)}`,
  }, gutter, main, actions);
}

// threadSummary is the line under a message with replies: who replied, how many, when last.
function threadSummary(th, nameOf, userOf) {
  const n = th.replies;
  const people = (th.participants || []).slice(0, 3);
  return h('button', { type: 'button', class: 'thread-summary', dataset: { action: 'thread' } },
    h('span', { class: 'thread-avatars', 'aria-hidden': 'true' }, people.map((u) => avatar(userOf ? userOf(u) : { username: u }, { size: 'xs' }))),
    h('span', { class: 'thread-count' }, `${n} ${n === 1 ? 'reply' : 'replies'}`),
    th.last_reply_ms ? h('span', { class: 'thread-last' }, `Last reply ${formatTime(th.last_reply_ms)}`) : null,
    h('span', { class: 'visually-hidden' }, `, from ${people.map((u) => (nameOf ? nameOf(u) : u)).join(', ')}. Open the thread`));
}

function attachment(a) {
  if (a.deleted || !a.url) {
    return h('div', { class: 'attachment' },
      h('span', { class: 'attachment-deleted', title: a.name || '' }, icon('file', 16), 'File deleted'));
  }
  if (a.image) {
    return h('div', { class: 'attachment' },
      h('a', { class: 'attachment-image', href: a.url, target: '_blank', rel: 'noopener', title: `${a.name} (${formatSize(a.size)})` },
        h('img', { src: a.url, alt: a.name || 'image', loading: 'lazy' })));
  }
  return h('div', { class: 'attachment' },
    h('a', { class: 'attachment-file', href: a.url, download: a.name || '', rel: 'noopener' },
      icon('file', 22),
      h('span', { class: 'person-name' },
        h('span', { class: 'file-name' }, a.name || 'file'),
        h('span', { class: 'file-size' }, [formatSize(a.size), a.type].filter(Boolean).join(' · ')))));
}

function reactions(msg, me, nameOf) {
  const list = msg.reactions || [];
  const row = h('div', { class: 'reactions' });
  if (msg.pending) return row;
  for (const r of list) {
    if (!r.users || r.users.length === 0) continue;
    const mineR = r.users.includes(me);
    const who = r.users.map((u) => (u === me ? 'you' : nameOf(u))).join(', ');
    row.append(h('button', {
      type: 'button', class: 'reaction', dataset: { action: 'toggle-reaction', emoji: r.emoji },
      'aria-pressed': String(mineR), title: `${who} reacted with ${r.emoji}`,
      'aria-label': `${r.emoji} ${r.users.length}, ${mineR ? 'remove your reaction' : 'add your reaction'}`,
    }, h('span', { class: 'reaction-emoji' }, r.emoji), h('span', { class: 'reaction-count' }, String(r.users.length))));
  }
  if (row.childElementCount) {
    row.append(h('button', { type: 'button', class: 'icon-btn reaction-add', dataset: { action: 'react' }, 'aria-label': 'Add reaction', title: 'Add reaction' }, icon('plus', 14)));
  }
  return row;
}

/** signature changes whenever what renderMessage draws for msg changes. */
export function signature(msg, continued, name, avatarUrl) {
  return JSON.stringify([msg.id, msg.html, msg.body, msg.edited_ts, msg.attachment, msg.reactions, msg.pending, msg.failed, msg.props, continued, name, avatarUrl, msg.thread, msg.root_preview]);
}
