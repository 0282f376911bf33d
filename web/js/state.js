// state.js: what the app knows — the current user, users and presence, conversations with
// unread counts, messages per conversation, typing and read receipts. It applies server
// events and emits what changed; views listen and redraw. No DOM, no network.
//
// Events emitted: me, users, conversations, messages(convId), typing(convId),
// receipts(convId), removed(convId), unread(convId), prefs.

import { EV } from './events.js';
import { Emitter } from './emitter.js';

const TYPING_MS = 5000;
const KIND_ORDER = { channel: 0, private: 1, dm: 2 };

/** alsoChannel reports whether a thread reply was also sent to its conversation's list. */
export function alsoChannel(msg) {
  return !!(msg.thread_root && msg.props && msg.props.also_channel);
}

/** byId orders messages by their sortable id; pending (unsent) messages go last. */
export function compareMessages(a, b) {
  if (!!a.pending !== !!b.pending) return a.pending ? 1 : -1;
  if (a.pending) return a.pending_ts - b.pending_ts;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function newHistory() {
  return { items: [], hasMore: true, loaded: false, loading: false };
}

export class State extends Emitter {
  constructor() {
    super();
    this.reset();
  }

  /** reset forgets everything (logout, account deletion). */
  reset() {
    this.me = null;
    this.users = new Map();
    this.conversations = new Map();
    this.histories = new Map();
    this.typing = new Map();
    this.receipts = new Map();
    this.threads = new Map(); // root id -> { conversation, root, replies } of threads opened
    this.gone = new Set(); // ids of messages deleted (applied once)
    this.currentId = '';
    this.prefs = { dnd: false, conversations: {} }; // notification settings (GET /api/me/notifications)
    this.viewing = false; // the current conversation is on screen and the tab is visible
  }

  // ---- user and users ----

  setMe(user) {
    this.me = user;
    if (user) this._mergeUser(user);
    this.emit('me', user);
    this.emit('users');
  }

  get myName() {
    return this.me ? this.me.username : '';
  }

  setUsers(list) {
    const next = new Map();
    for (const u of list) next.set(u.username, { ...u });
    if (this.me && next.has(this.me.username)) {
      this.me = { ...this.me, ...next.get(this.me.username) };
      delete this.me.presence;
    }
    this.users = next;
    this.emit('users');
  }

  _mergeUser(user) {
    const old = this.users.get(user.username) || {};
    const merged = { ...old, ...user };
    if (!user.avatar_url) delete merged.avatar_url;
    this.users.set(user.username, merged);
  }

  /** user gives the known user object for a name (or a stub). */
  user(name) {
    return this.users.get(name) || { username: name, display_name: '' };
  }

  /** name gives the display name for a username. */
  name(username) {
    if (username === 'system') return 'System';
    const u = this.users.get(username);
    return (u && u.display_name) || username;
  }

  presence(username) {
    return (this.users.get(username) || {}).presence || 'offline';
  }

  // ---- notification settings ----

  /** setPrefs replaces the notification settings. Emits prefs and conversations. */
  setPrefs(prefs) {
    this.prefs = { dnd: !!(prefs && prefs.dnd), conversations: (prefs && prefs.conversations) || {} };
    this.emit('prefs');
    this.emit('conversations');
  }

  /** muted reports whether conversation id is muted. */
  muted(id) {
    return !!(this.prefs.conversations[id] || {}).muted;
  }

  // ---- conversations ----

  setConversations(list) {
    const next = new Map();
    for (const c of list) next.set(c.id, { ...c });
    this.conversations = next;
    for (const id of [...this.histories.keys()]) if (!next.has(id)) this.histories.delete(id);
    this.emit('conversations');
  }

  upsertConversation(c) {
    const old = this.conversations.get(c.id);
    this.conversations.set(c.id, { ...(old || {}), ...c });
    this.emit('conversations');
  }

  removeConversation(id) {
    if (!this.conversations.delete(id)) return;
    this.histories.delete(id);
    this.typing.delete(id);
    this.receipts.delete(id);
    this.emit('conversations');
    this.emit('removed', id);
  }

  conversation(id) {
    return this.conversations.get(id) || null;
  }

  /** sortedConversations groups by kind: channels and private by name, DMs most recent first. */
  sortedConversations() {
    return [...this.conversations.values()].sort((a, b) => {
      const k = (KIND_ORDER[a.kind] ?? 3) - (KIND_ORDER[b.kind] ?? 3);
      if (k) return k;
      if (a.kind === 'dm') {
        const la = a.last_message_id || '';
        const lb = b.last_message_id || '';
        if (la !== lb) return la < lb ? 1 : -1;
      }
      return this.title(a).localeCompare(this.title(b));
    });
  }

  /** others gives the members of a DM other than me. */
  others(c) {
    const me = this.myName;
    const members = c.members || (c.id.startsWith('d:') ? c.id.slice(2).split(',') : []);
    const rest = members.filter((m) => m !== me);
    return rest.length ? rest : members;
  }

  /** title is the sidebar and header name of a conversation (display names for DMs). */
  title(c) {
    if (!c) return '';
    if (c.kind === 'dm') return this.others(c).map((u) => this.name(u)).join(', ');
    return c.name || c.id.replace(/^[cp]:/, '');
  }

  setCurrent(id) {
    this.currentId = id;
    this.emit('conversations');
  }

  /**
   * markUnread applies a conversation marked unread (here or on another tab or device):
   * { last_read, unread, mentions }. Emits unread(convId).
   */
  markUnread(id, { last_read: lastRead, unread, mentions }) {
    const c = this.conversations.get(id);
    if (!c) return;
    c.last_read = lastRead || '';
    c.unread = unread || 0;
    c.mentions = mentions || 0;
    this.emit('conversations');
    this.emit('unread', id);
  }

  /** markRead clears the unread counts of a conversation locally (read up to lastId). */
  markRead(id, lastId) {
    const c = this.conversations.get(id);
    if (c && lastId && (c.last_read || '') < lastId) c.last_read = lastId;
    if (!c || (!c.unread && !c.mentions)) return;
    c.unread = 0;
    c.mentions = 0;
    this.emit('conversations');
  }

  totalUnread() {
    let n = 0;
    for (const c of this.conversations.values()) n += c.kind === 'dm' ? c.unread || 0 : c.mentions || 0;
    return n;
  }

  // ---- messages ----

  history(id) {
    if (!this.histories.has(id)) this.histories.set(id, newHistory());
    return this.histories.get(id);
  }

  /** forgetHistories drops every loaded history and thread (after resync). */
  forgetHistories() {
    this.histories.clear();
    this.threads.clear();
  }

  /** setNewest replaces a history with the newest page, keeping unsent messages. */
  setNewest(id, messages, hasMore) {
    const h = this.history(id);
    const pending = h.items.filter((m) => m.pending);
    h.items = [...messages.filter((m) => !m.deleted), ...pending].sort(compareMessages);
    h.hasMore = !!hasMore;
    h.loaded = true;
    this.emit('messages', id, { kind: 'reset' });
  }

  /** prependOlder adds an older page above what is loaded. */
  prependOlder(id, messages, hasMore) {
    const h = this.history(id);
    const have = new Set(h.items.map((m) => m.id));
    const add = messages.filter((m) => !have.has(m.id) && !m.deleted);
    h.items = [...add, ...h.items].sort(compareMessages);
    h.hasMore = !!hasMore;
    this.emit('messages', id, { kind: 'older', count: add.length });
  }

  /**
   * upsertMessage adds or replaces one message; answers true when it was new. A thread reply
   * goes to its thread, and also to the conversation's list when it was also sent there.
   */
  upsertMessage(msg) {
    if (msg.thread_root) {
      const isNew = this.upsertReply(msg);
      if (alsoChannel(msg)) this.upsertInList(msg);
      return isNew;
    }
    const t = this.threads.get(msg.id);
    if (t) {
      // The root of a thread that is loaded: the panel shows it too.
      t.root = { ...msg, thread: msg.thread || t.root.thread, reactions: msg.reactions === undefined ? t.root.reactions : msg.reactions };
      this.emit('thread', msg.id);
    }
    return this.upsertInList(msg);
  }

  /** editedMessage applies a message after an edit (here or a `message.edited` event). */
  editedMessage(msg) {
    if (!msg.thread_root) {
      this.upsertMessage(msg);
      return;
    }
    this.upsertReply(msg, true);
    const h = this.histories.get(msg.conversation);
    if (alsoChannel(msg) && h && h.items.some((m) => m.id === msg.id)) this.upsertInList(msg);
  }

  /**
   * deletedMessage applies a deleted message: out of its thread and out of the list.
   * threadRoot, for a reply, counts the root's summary down when the thread is not loaded.
   */
  deletedMessage(convId, msgId, threadRoot = '') {
    // Deleted here and then told by the server's event: applied once.
    if (this.gone.has(msgId)) return;
    if (this.gone.size > 1000) this.gone.clear();
    this.gone.add(msgId);
    if (!this.removeReply(convId, msgId) && threadRoot) {
      this.bumpSummary(convId, threadRoot, (th) => { th.replies = Math.max(0, th.replies - 1); });
    }
    this.removeMessage(convId, msgId);
    if (this.threads.delete(msgId)) this.emit('thread', msgId);
  }

  upsertInList(msg) {
    const id = msg.conversation;
    const h = this.history(id);
    if (msg.deleted) {
      this.removeMessage(id, msg.id);
      return false;
    }
    const i = h.items.findIndex((m) => m.id === msg.id);
    if (i >= 0) {
      // Reactions and the thread summary change through their own events; an edit that
      // leaves them out keeps them.
      const old = h.items[i];
      msg = { ...msg, reactions: msg.reactions === undefined ? old.reactions : msg.reactions, thread: msg.thread || old.thread };
      h.items[i] = msg;
      this.emit('messages', id, { kind: 'update', id: msg.id });
      return false;
    }
    if (msg.client_id) h.items = h.items.filter((m) => !(m.pending && m.client_id === msg.client_id));
    if (!h.loaded) {
      // Not loaded yet: the next fetch brings it; keep nothing partial.
      return true;
    }
    h.items.push(msg);
    h.items.sort(compareMessages);
    this.emit('messages', id, { kind: 'new', id: msg.id, mine: msg.sender === this.myName });
    return true;
  }

  removeMessage(convId, msgId) {
    const h = this.histories.get(convId);
    if (!h) return;
    const n = h.items.length;
    h.items = h.items.filter((m) => m.id !== msgId);
    if (h.items.length !== n) this.emit('messages', convId, { kind: 'delete', id: msgId });
  }

  setReactions(convId, msgId, reactions) {
    for (const [rootId, t] of this.threads) {
      const r = t.root.id === msgId ? t.root : t.replies.find((x) => x.id === msgId);
      if (!r) continue;
      r.reactions = reactions || [];
      this.emit('thread', rootId);
    }
    const h = this.histories.get(convId);
    const m = h && h.items.find((x) => x.id === msgId);
    if (!m) return;
    m.reactions = reactions || [];
    this.emit('messages', convId, { kind: 'update', id: msgId });
  }

  /** reactions gives the reactions of a loaded message (in a thread or a history). */
  reactionsOf(convId, msgId) {
    for (const t of this.threads.values()) {
      const r = t.root.id === msgId ? t.root : t.replies.find((x) => x.id === msgId);
      if (r) return r.reactions || [];
    }
    const h = this.histories.get(convId);
    const m = h && h.items.find((x) => x.id === msgId);
    return (m && m.reactions) || [];
  }

  /** applyReaction applies one reaction change (a `reaction` event) to a loaded message. */
  // ---- threads ----

  /** setThread stores a thread read from the server ({ root, replies }). Emits thread(rootId). */
  setThread(convId, root, replies) {
    this.threads.set(root.id, { conversation: convId, root, replies: replies || [] });
    this.emit('thread', root.id);
  }

  thread(rootId) {
    return this.threads.get(rootId) || null;
  }

  /** rootMessage finds a thread's root in what is loaded (history or thread). */
  rootMessage(convId, rootId) {
    const t = this.threads.get(rootId);
    if (t) return t.root;
    const h = this.histories.get(convId);
    return (h && h.items.find((m) => m.id === rootId)) || null;
  }

  /**
   * upsertReply adds or updates a thread reply: in its thread when loaded, and in the
   * root's summary (count, last reply, participants). Answers whether it was new.
   */
  upsertReply(msg, edited = false) {
    const t = this.threads.get(msg.thread_root);
    let isNew = !edited;
    if (t) {
      const i = t.replies.findIndex((m) => m.id === msg.id);
      if (i >= 0) {
        if (msg.reactions === undefined) msg = { ...msg, reactions: t.replies[i].reactions };
        t.replies[i] = msg;
        isNew = false;
      } else if (!edited) {
        t.replies.push(msg);
        t.replies.sort(compareMessages);
      }
      this.emit('thread', msg.thread_root);
    }
    if (isNew) {
      this.bumpSummary(msg.conversation, msg.thread_root, (th) => {
        th.replies += 1;
        th.last_reply_ms = Math.max(th.last_reply_ms || 0, msg.sent_ms || Date.now());
        if (!th.participants.includes(msg.sender)) th.participants.push(msg.sender);
      });
    }
    return isNew;
  }

  bumpSummary(convId, rootId, fn) {
    const update = (root) => {
      if (!root) return;
      const th = root.thread ? { ...root.thread, participants: [...(root.thread.participants || [])] } : { replies: 0, last_reply_ms: 0, participants: [] };
      fn(th);
      root.thread = th.replies > 0 ? th : undefined;
    };
    const h = this.histories.get(convId);
    const inList = h && h.items.find((m) => m.id === rootId);
    update(inList);
    const t = this.threads.get(rootId);
    if (t && t.root !== inList) update(t.root);
    if (inList) this.emit('messages', convId, { kind: 'update', id: rootId });
    if (t) this.emit('thread', rootId);
  }

  /** removeReply takes a deleted reply out of its thread; answers whether one was found. */
  removeReply(convId, msgId) {
    for (const [rootId, t] of this.threads) {
      const n = t.replies.length;
      t.replies = t.replies.filter((m) => m.id !== msgId);
      if (t.replies.length !== n) {
        this.emit('thread', rootId);
        this.bumpSummary(convId, rootId, (th) => { th.replies = Math.max(0, th.replies - 1); });
        return true;
      }
    }
    return false;
  }

  applyReaction(convId, msgId, emoji, user, added) {
    for (const [rootId, t] of this.threads) {
      const r = t.root.id === msgId ? t.root : t.replies.find((x) => x.id === msgId);
      if (!r) continue;
      const rl = (r.reactions || []).map((x) => ({ emoji: x.emoji, users: [...x.users] }));
      let x = rl.find((y) => y.emoji === emoji);
      if (added) {
        if (!x) rl.push((x = { emoji, users: [] }));
        if (!x.users.includes(user)) x.users.push(user);
      } else if (x) {
        x.users = x.users.filter((u) => u !== user);
      }
      r.reactions = rl.filter((y) => y.users.length);
      this.emit('thread', rootId);
    }
    const h = this.histories.get(convId);
    const m = h && h.items.find((x) => x.id === msgId);
    if (!m) return;
    const list = (m.reactions || []).map((r) => ({ emoji: r.emoji, users: [...r.users] }));
    let r = list.find((x) => x.emoji === emoji);
    if (added) {
      if (!r) list.push((r = { emoji, users: [] }));
      if (!r.users.includes(user)) r.users.push(user);
    } else if (r) {
      r.users = r.users.filter((u) => u !== user);
    }
    m.reactions = list.filter((x) => x.users.length);
    this.emit('messages', convId, { kind: 'update', id: msgId });
  }

  /** addPending shows a message being sent; resolvePending replaces it with the real one. */
  addPending(convId, clientId, body) {
    const h = this.history(convId);
    h.items.push({
      id: `pending:${clientId}`, client_id: clientId, pending: true, pending_ts: Date.now(),
      conversation: convId, sender: this.myName, body, html: '', sent_ms: Date.now(),
      reactions: [],
    });
    this.emit('messages', convId, { kind: 'new', id: `pending:${clientId}`, mine: true });
  }

  resolvePending(clientId, msg) {
    for (const [convId, h] of this.histories) {
      const n = h.items.length;
      h.items = h.items.filter((m) => !(m.pending && m.client_id === clientId));
      if (h.items.length !== n && !msg) this.emit('messages', convId, { kind: 'delete' });
    }
    if (msg) {
      const c = this.conversations.get(msg.conversation);
      if (c) c.last_message_id = msg.id;
      this.upsertMessage(msg);
    }
  }

  failPending(clientId, error) {
    for (const [convId, h] of this.histories) {
      const m = h.items.find((x) => x.pending && x.client_id === clientId);
      if (m) {
        m.failed = error || 'Not sent';
        this.emit('messages', convId, { kind: 'update', id: m.id });
      }
    }
  }

  pending(clientId) {
    for (const h of this.histories.values()) {
      const m = h.items.find((x) => x.pending && x.client_id === clientId);
      if (m) return m;
    }
    return null;
  }

  /** lastMessage gives the newest sent message of a loaded history. */
  lastMessage(convId) {
    const h = this.histories.get(convId);
    if (!h) return null;
    for (let i = h.items.length - 1; i >= 0; i--) if (!h.items[i].pending) return h.items[i];
    return null;
  }

  // ---- typing and receipts ----

  setTyping(convId, user, now = Date.now()) {
    if (user === this.myName) return;
    if (!this.typing.has(convId)) this.typing.set(convId, new Map());
    this.typing.get(convId).set(user, now + TYPING_MS);
    this.emit('typing', convId);
  }

  clearTyping(convId, user) {
    const t = this.typing.get(convId);
    if (t && t.delete(user)) this.emit('typing', convId);
  }

  /** typingUsers gives who is typing now, dropping expired entries. */
  typingUsers(convId, now = Date.now()) {
    const t = this.typing.get(convId);
    if (!t) return [];
    for (const [u, exp] of t) if (exp <= now) t.delete(u);
    return [...t.keys()];
  }

  setReceipts(convId, list) {
    const m = new Map();
    for (const r of list) {
      const old = m.get(r.reader);
      if (!old || r.message_id > old) m.set(r.reader, r.message_id);
    }
    this.receipts.set(convId, m);
    this.emit('receipts', convId);
  }

  setRead(convId, reader, msgId) {
    if (!this.receipts.has(convId)) this.receipts.set(convId, new Map());
    const m = this.receipts.get(convId);
    const old = m.get(reader);
    if (!old || msgId > old) m.set(reader, msgId);
    this.emit('receipts', convId);
  }

  /** seenBy gives who (other than me) has read up to my newest message, and that message. */
  seenBy(convId) {
    const h = this.histories.get(convId);
    if (!h) return { message: null, readers: [] };
    let mine = null;
    for (let i = h.items.length - 1; i >= 0; i--) {
      const m = h.items[i];
      if (m.pending) continue;
      if (m.sender === this.myName) {
        mine = m;
        break;
      }
    }
    if (!mine) return { message: null, readers: [] };
    const readers = [];
    for (const [reader, id] of this.receipts.get(convId) || []) {
      if (reader !== this.myName && id >= mine.id) readers.push(reader);
    }
    readers.sort();
    return { message: mine, readers };
  }

  // ---- server events ----

  /**
   * apply updates the state for one server event. It answers what the app may want to react
   * to: { notify: message } for a new message from someone else in a conversation that is
   * not on screen. afterRead says the event waited for a read of the conversations: one
   * that read already counts (its id is not past the conversation's newest) counts no more.
   */
  apply(ev, afterRead = false) {
    switch (ev.type) {
      case EV.MESSAGE_NEW: {
        const msg = ev.message;
        const c = this.conversations.get(msg.conversation);
        const fromMe = msg.sender === this.myName;
        const isNew = this.upsertMessage(msg);
        if (c) {
          const counted = afterRead && !!c.last_message_id && msg.id <= c.last_message_id;
          if (!c.last_message_id || msg.id > c.last_message_id) c.last_message_id = msg.id;
          if (isNew && !fromMe) {
            this.clearTyping(msg.conversation, msg.sender);
            const onScreen = this.viewing && this.currentId === msg.conversation;
            if (!onScreen && !counted) {
              // A thread reply is not in the conversation's list: it counts when it mentions.
              const mentioned = (msg.mentions || []).includes(this.myName);
              const inList = !msg.thread_root || alsoChannel(msg);
              if (inList) c.unread = (c.unread || 0) + 1;
              if (mentioned || (c.kind === 'dm' && inList)) c.mentions = (c.mentions || 0) + 1;
            }
          }
          this.emit('conversations');
        }
        return { newMessage: isNew && !fromMe ? msg : null };
      }
      case EV.MESSAGE_EDITED:
        this.editedMessage(ev.message);
        return {};
      case EV.MESSAGE_DELETED:
        this.deletedMessage(ev.conversation, ev.id, ev.thread_root);
        return {};
      case EV.REACTION:
        this.applyReaction(ev.conversation, ev.id, ev.emoji, ev.user, ev.added);
        return {};
      case EV.TYPING:
        this.setTyping(ev.conversation, ev.user);
        return {};
      case EV.PRESENCE: {
        // One event carries every change of the last second; the roster came from
        // GET /api/users, so one 'users' notification redraws them all.
        for (const c of ev.changes || []) {
          const u = this.users.get(c.user);
          if (u) u.presence = c.presence;
          else this.users.set(c.user, { username: c.user, display_name: '', presence: c.presence });
        }
        this.emit('users');
        return {};
      }
      case EV.READ:
        if (ev.reader === this.myName) this.markRead(ev.conversation, ev.message_id);
        else this.setRead(ev.conversation, ev.reader, ev.message_id);
        return {};
      case EV.NOTIFICATIONS:
        this.setPrefs(ev.prefs);
        return {};
      case EV.UNREAD:
        this.markUnread(ev.conversation, ev);
        return {};
      case EV.CONVERSATION:
        this.upsertConversation(ev.conversation);
        return {};
      case EV.CONVERSATION_REMOVED:
        this.removeConversation(ev.id);
        return {};
      case EV.USER:
        this._mergeUser(ev.user);
        if (this.me && ev.user.username === this.me.username) {
          this.me = { ...this.me, ...ev.user };
          if (!ev.user.avatar_url) delete this.me.avatar_url;
          this.emit('me', this.me);
        }
        this.emit('users');
        this.emit('conversations');
        return {};
      case EV.ACK:
        this.resolvePending(ev.client_id, ev.message);
        return {};
      case EV.ERROR:
        if (ev.client_id) this.failPending(ev.client_id, ev.message || ev.code);
        return {};
      default:
        return {};
    }
  }
}
