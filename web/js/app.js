// app.js: the entry point. It boots the app (config, session), switches between the login
// page and the chat, wires the socket to the state, and holds the actions the views share:
// open a conversation, send, mark read, log out.

import { EV } from './events.js';
import { $, icon, replace } from './dom.js';
import * as api from './api.js';
import { enc } from './api.js';
import { State } from './state.js';
import { Socket } from './socket.js';
import { Calls } from './call.js';
import { applyTheme, savedTheme, forgetTheme } from './theme.js';
import { initAuth, showAuth } from './views/auth.js';
import { initSidebar, setDrawer, convHref } from './views/sidebar.js';
import { ConversationView } from './views/conversation.js';
import { Composer } from './views/composer.js';
import { SettingsView } from './views/settings.js';
import { PeopleDialogs } from './views/people.js';
import { Shell } from './views/shell.js';
import { CallPanel } from './views/callpanel.js';
import { toast, wireDialog } from './views/ui.js';
import { Notifier } from './notify.js';
import { NotifyMenu } from './views/notifymenu.js';
import { Commands, WebhooksDialog, ephemeralNote } from './views/integrations.js';
import { ThreadView } from './views/thread.js';
import { ThreadsView } from './views/threadsview.js';

const SEND_TIMEOUT = 15000;
// How long the first read waits for the socket's hello, and the longest that live events wait
// for a read (see holdingEvents).
const HELLO_WAIT = 3000;
const HOLD_MAX = 15000;

const state = new State();
const socket = new Socket('/ws');
const calls = new Calls({ sendFrame: (f) => socket.send(f), me: () => state.myName, conn: () => socket.conn });
const notifier = new Notifier({ state, openConversation: (id) => openConversation(id) });
calls.on('incoming', (call) => notifier.onCall(call));
let config = { registration: 'open', max_upload_mb: 50 };
let views = null;
let running = false;
const lastReadSent = new Map();
const sendTimers = new Map();
// Conversations marked unread while shown: no read receipt goes out for them until their
// reader leaves them (or writes there).
const readHold = new Set();
let readTimer = 0;

const ctx = {
  state,
  calls,
  openConversation,
  send,
  retrySend,
  sendTyping: (id) => { if (!socket.send({ type: 'typing', conversation: id })) api.post(`/api/conversations/${enc(id)}/typing`).catch(() => {}); },
  editLast: () => views.conversation.editLast(),
  maxUploadMb: () => config.max_upload_mb,
  maybeMarkRead,
  markUnread,
  openThread: (convId, rootId) => views.thread.open(convId, rootId),
  threadRead: (rootId) => views.threads.read(rootId),
  refreshUsers,
  setMe: (user) => state.setMe({ ...state.me, ...user, ...(user.avatar_url ? {} : { avatar_url: undefined }) }),
  openSettings: () => views.settings.open(),
  logout,
  afterAccountDeleted,
  afterLogoutEverywhere: () => stopSession('You were logged out everywhere.'),
  commands: new Commands({ onAction: commandAction, showEphemeral }),
};

// ---- integrations ----

// Answers only this user sees (slash commands'), per conversation, until reload. They sit
// below the message list, which the conversation view redraws as it likes.
const ephemeral = new Map();

/** showEphemeral shows an answer only this user sees in its conversation. */
function showEphemeral(convId, html) {
  if (!ephemeral.has(convId)) ephemeral.set(convId, []);
  ephemeral.get(convId).push(html);
  if (state.currentId === convId && views) {
    drawEphemeral(convId);
    $('#ephemeral-notes').lastElementChild.scrollIntoView({ block: 'end' });
  } else {
    const c = state.conversation(convId);
    toast(`A command answered you in ${c ? state.title(c) : 'another conversation'}.`, {
      actions: c ? [{ label: 'Show', run: () => openConversation(convId) }] : [],
    });
  }
}

function drawEphemeral(convId) {
  const notes = ephemeral.get(convId) || [];
  replace($('#ephemeral-notes'), notes.map((html, i) => ephemeralNote(html, () => {
    notes.splice(i, 1);
    drawEphemeral(convId);
  })));
}

/** commandAction does what a built-in command asks of the app. */
function commandAction(action, convId) {
  if (action === 'call' && state.currentId === convId) views.calls.start(false);
}

let webhooks = null;

/** updateHeadActions shows the webhooks button for channels (not for direct messages). */
function updateHeadActions() {
  const c = state.conversation(state.currentId);
  $('#webhooks-btn').hidden = !c || c.kind === 'dm';
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

// ---- boot ----

async function boot() {
  applyTheme(savedTheme(), false);
  initAuth({ onLoggedIn: start });
  api.onUnauthorized(() => { if (running) stopSession('Your session ended. Please log in again.'); });
  try {
    config = { ...config, ...(await api.get('/api/config', { quiet401: true })) };
  } catch {
    // keep the defaults; login will say whether the server is reachable
  }
  try {
    const res = await api.get('/api/me', { quiet401: true });
    start(res.user);
  } catch (err) {
    showAuth({ registration: config.registration, notice: err.status === 401 ? '' : `Cannot reach the server: ${api.errorText(err)}` });
  }
}

function initViews() {
  if (views) return;
  initSidebar(ctx);
  wireDialog($('#confirm-dialog'));
  views = {
    shell: new Shell(ctx),
    conversation: new ConversationView(ctx),
    composer: new Composer(ctx),
    settings: new SettingsView(ctx),
    people: new PeopleDialogs(ctx),
    calls: new CallPanel(ctx),
    notifyMenu: new NotifyMenu(ctx),
    thread: new ThreadView(ctx),
    threads: new ThreadsView(ctx),
  };
  webhooks = new WebhooksDialog();
  $('#webhooks-btn').append(icon('hook', 18));
  $('#webhooks-btn').addEventListener('click', () => {
    const c = state.conversation(state.currentId);
    if (c) webhooks.open(c);
  });
  socket.on('status', (up) => {
    views.shell.setConnected(up);
    if (up) sendPresence();
  });
  socket.on('event', (ev) => {
    if (held) held.push(ev);
    else onEvent(ev);
  });
  socket.on('resync', () => refetchAll());
  state.on('conversations', updatePresenceWatch);
  watchPeopleDialogs();
  // A reconnected socket is a new connection: the old one left its calls as it closed.
  socket.on('reconnected', () => calls.rejoin());
  // A handshake refused for a lost session looks like any network failure to the browser:
  // after a couple of failed attempts, ask the API whether the session still exists.
  socket.on('retry', (attempt) => {
    if (attempt < 2 || attempt % 2) return;
    api.get('/api/me', { quiet401: true }).catch((err) => {
      if (err.status === 401 && running) stopSession('Your session ended. Please log in again.');
    });
  });
  socket.on('session-ended', () => stopSession('Your session ended. Please log in again.'));
  state.on('removed', (id) => {
    if (id !== state.currentId) return;
    toast('You are no longer in that conversation.');
    openDefault(true);
  });
  window.addEventListener('hashchange', () => { if (running) route(); });
  document.addEventListener('visibilitychange', () => {
    if (!running) return;
    updateViewing();
    sendPresence();
    maybeMarkRead();
  });
  window.addEventListener('focus', () => { if (running) maybeMarkRead(); });
  window.addEventListener('beforeunload', () => calls.leave());
}

/** start shows the chat for a logged-in user. */
async function start(user) {
  initViews();
  state.reset();
  ephemeral.clear();
  lastReadSent.clear();
  running = true;
  state.setMe(user);
  applyTheme((savedTheme() || user.theme === 'dark') ? user.theme : '', false);
  $('#boot').hidden = true;
  $('#auth').hidden = true;
  $('#app').hidden = false;
  views.shell.setConnected(true);
  socket.watch = null; // every account's presence until this user's DMs are known
  socket.start();
  // The conversations and the open history are read once this tab's socket is subscribed, so
  // that nothing posted meanwhile falls between the read and the subscription (it would show
  // only after a reload). A socket slow to connect does not hold the page: it is read now,
  // and again at its hello.
  if (!(await socket.firstHello(HELLO_WAIT))) {
    const off = socket.on('connected', () => {
      off();
      if (running) refetchAll();
    });
  }
  await holdingEvents(async () => {
    try {
      await loadAll();
    } catch (err) {
      toast(`Could not load your conversations: ${api.errorText(err)}`, { error: true });
    }
    await route();
  });
  // The STUN and TURN servers of settings.json, for the calls' peer connections.
  api.get('/api/calls/config').then((c) => { calls.iceServers = c.ice_servers || []; }).catch(() => {});
  views.threads.refresh();
  views.composer.focus();
}

// Live events that arrive while the conversations and the open history are read wait in
// held, and are applied in order once the read is in: applied before, the read would replace
// them (a new conversation, a count) with what it read, which may be older than they are.
let held = null;

/**
 * holdingEvents runs read with live events held, then applies them. Held at most HOLD_MAX:
 * a read that hangs does not stop the chat.
 */
async function holdingEvents(read) {
  if (held) {
    await read();
    return;
  }
  const mine = [];
  held = mine;
  const release = () => {
    if (held !== mine) return;
    held = null;
    for (const ev of mine) {
      if (!running) return;
      onEvent(ev, true);
    }
  };
  const timer = setTimeout(release, HOLD_MAX);
  try {
    await read();
  } finally {
    clearTimeout(timer);
    release();
  }
}

async function loadAll() {
  const [convs, users, prefs] = await Promise.all([api.get('/api/conversations'), api.get('/api/users'),
    api.get('/api/me/notifications').catch(() => ({ prefs: state.prefs }))]);
  state.setUsers(users.users || []);
  state.setConversations(convs.conversations || []);
  state.setPrefs(prefs.prefs);
}

async function refreshUsers() {
  try {
    const res = await api.get('/api/users');
    state.setUsers(res.users || []);
  } catch {
    // keep what we have
  }
}

/** refetchAll reloads everything after the server asked for a resync. */
async function refetchAll() {
  let ok = true;
  await holdingEvents(async () => {
    try {
      await loadAll();
    } catch (err) {
      toast(`Could not refresh: ${api.errorText(err)}`, { error: true });
      ok = false;
      return;
    }
    state.forgetHistories();
    if (state.currentId && state.conversation(state.currentId)) {
      await views.conversation.reload();
    } else {
      await openDefault(true);
    }
  });
  if (!ok) return;
  // Thread replies may have been lost too: the open thread and the Threads list are read again.
  views.thread.reload();
  views.threads.refresh();
}

// ---- navigation ----

function idFromHash() {
  try {
    return decodeURIComponent(location.hash.slice(1));
  } catch {
    return '';
  }
}

/** route shows the conversation of the address; it resolves once its history is read. */
function route() {
  const id = idFromHash();
  if (id && state.conversation(id)) return show(id);
  return openDefault(true);
}

function openDefault(replace) {
  const list = state.sortedConversations();
  const c = state.conversation('c:general') || list[0];
  if (!c) {
    state.setCurrent('');
    views.composer.setConversation('');
    views.conversation.close('No conversations yet. Start a direct message or create a private channel.');
    return Promise.resolve();
  }
  if (replace) history.replaceState(null, '', convHref(c.id));
  return show(c.id);
}

/** openConversation shows conversation id (and highlights msgId when given). */
function openConversation(id, msgId) {
  if (!state.conversation(id)) {
    toast('That conversation is not available.', { error: true });
    return;
  }
  const href = convHref(id);
  if (location.hash !== href) history.pushState(null, '', href);
  show(id, msgId);
}

async function show(id, msgId) {
  setDrawer(false);
  if (state.currentId !== id) {
    // Marked unread stays unread until its reader leaves the conversation and comes back.
    readHold.clear();
    state.setCurrent(id);
    updateHeadActions();
    drawEphemeral(id);
    views.composer.setConversation(id);
  }
  updateViewing();
  await views.conversation.open(id);
  if (msgId && !views.conversation.flash(msgId)) toast('That message is further back in the history.');
  if (!msgId && !document.activeElement?.closest('dialog')) views.composer.focus();
}

function updateViewing() {
  state.viewing = document.visibilityState === 'visible' && !!state.currentId;
}

// ---- live events ----

/** onEvent applies one live event; afterRead says it waited for a read (see holdingEvents). */
function onEvent(ev, afterRead = false) {
  if (ev.type === EV.CALL) {
    calls.handle(ev);
    return;
  }
  // An account was deleted (its messages now read "Deleted User", or are gone), or the
  // public channels changed: what is loaded is stale, so load it again.
  if (ev.type === EV.USER_DELETED || ev.type === EV.CHANNELS) {
    refetchAll();
    return;
  }
  // Marked unread on another tab or device: this tab keeps it unread too while it shows it.
  if (ev.type === EV.EPHEMERAL) {
    showEphemeral(ev.conversation, ev.html);
    return;
  }
  if (ev.type === EV.UNREAD) {
    readHold.add(ev.conversation);
    lastReadSent.delete(ev.conversation);
  }
  if ((ev.type === EV.ACK || ev.type === EV.ERROR) && ev.client_id) {
    clearTimeout(sendTimers.get(ev.client_id));
    sendTimers.delete(ev.client_id);
  }
  if (ev.type === EV.ERROR && !ev.client_id) {
    toast(ev.message || 'The server refused a request.', { error: true });
  }
  if (ev.type === EV.MESSAGE_NEW && ev.message && !state.conversation(ev.message.conversation)) {
    // A conversation we have not heard of yet (a new DM, a system notice): fetch it, with
    // its unread counts, from the server.
    fetchConversation(ev.message.conversation).then(() => { if (running) notifier.onMessage(ev.message, ev.thread_participants); });
    return;
  }
  const { newMessage } = state.apply(ev, afterRead);
  if (newMessage) notifier.onMessage(newMessage, ev.thread_participants);
  if (ev.type === EV.MESSAGE_NEW && ev.message && ev.message.thread_root) {
    views.threads.onReply(ev.message, ev.thread_participants, views.thread.showing(ev.message.thread_root));
  }
}

const fetching = new Set();

async function fetchConversation(id) {
  if (fetching.has(id)) return;
  fetching.add(id);
  try {
    const res = await api.get(`/api/conversations/${enc(id)}`);
    if (running && res.conversation) state.upsertConversation(res.conversation);
  } catch {
    // not ours after all, or the server is away: the next resync brings it
  } finally {
    fetching.delete(id);
  }
}

// Presence shown: the DM partners in the sidebar, and everyone while a dialog that lists
// people is open (it reads the roster again as it opens). The server sends the presence of
// those only, so a thousand people connecting is not a thousand names to every browser.
const PEOPLE_DIALOGS = ['#new-dm-dialog', '#new-private-dialog', '#members-dialog'];

function updatePresenceWatch() {
  if (!running) return;
  if (PEOPLE_DIALOGS.some((sel) => $(sel)?.open)) {
    socket.setWatch(null);
    return;
  }
  const names = new Set();
  for (const c of state.conversations.values()) {
    if (c.kind === 'dm') for (const u of state.others(c)) if (u !== state.myName) names.add(u);
  }
  socket.setWatch([...names].sort().slice(0, 1000));
}

function watchPeopleDialogs() {
  const obs = new MutationObserver(() => updatePresenceWatch());
  for (const sel of PEOPLE_DIALOGS) {
    const dlg = $(sel);
    if (dlg) obs.observe(dlg, { attributes: true, attributeFilter: ['open'] });
  }
}

function sendPresence() {
  socket.send({ type: 'presence', presence: document.visibilityState === 'visible' ? 'online' : 'away' });
}

// ---- sending and reading ----

/** send posts a message: over the WebSocket when connected, else over HTTP. */
function send(convId, body) {
  const clientId = uuid();
  readHold.delete(convId);
  state.addPending(convId, clientId, body);
  if (socket.send({ type: 'send', conversation: convId, body, client_id: clientId })) {
    sendTimers.set(clientId, setTimeout(() => {
      sendTimers.delete(clientId);
      if (state.pending(clientId)) state.failPending(clientId, 'no answer from the server');
    }, SEND_TIMEOUT));
  } else {
    postMessage(convId, body, clientId);
  }
}

async function postMessage(convId, body, clientId) {
  try {
    const res = await api.post(`/api/conversations/${enc(convId)}/messages`, { body, client_id: clientId });
    state.resolvePending(clientId, res.message);
  } catch (err) {
    state.failPending(clientId, api.errorText(err));
  }
}

function retrySend(clientId) {
  const m = state.pending(clientId);
  if (!m) return;
  m.failed = '';
  state.emit('messages', m.conversation, { kind: 'update', id: m.id });
  postMessage(m.conversation, m.body, clientId);
}

/** maybeMarkRead sends a read receipt when the open conversation has something unread. */
function maybeMarkRead() {
  clearTimeout(readTimer);
  readTimer = setTimeout(markRead, 250);
}

function markRead() {
  const id = state.currentId;
  if (!running || !id || document.visibilityState !== 'visible' || readHold.has(id)) return;
  // Only what is in view is read: checked when the receipt goes, since a message may have
  // arrived, or the list scrolled, since it was asked for.
  if (views && !views.conversation.atBottom()) return;
  const c = state.conversation(id);
  const last = state.lastMessage(id);
  if (!c || !last) return;
  if ((lastReadSent.get(id) || '') >= last.id && !c.unread && !c.mentions) return;
  lastReadSent.set(id, last.id);
  state.markRead(id);
  api.post(`/api/conversations/${enc(id)}/read`, { message_id: last.id }).catch(() => lastReadSent.delete(id));
}

/** markUnread marks msg's conversation unread from msg on, for every tab and device. */
async function markUnread(msg) {
  const id = msg.conversation;
  readHold.add(id);
  try {
    const res = await api.post(`/api/conversations/${enc(id)}/unread`, { message_id: msg.id });
    lastReadSent.delete(id);
    state.markUnread(id, res.conversation);
  } catch (err) {
    readHold.delete(id);
    toast(`Could not mark as unread: ${api.errorText(err)}`, { error: true });
  }
}

// ---- leaving ----

async function logout() {
  try {
    await api.post('/api/logout');
  } catch {
    // the session is dropped locally either way
  }
  stopSession('');
}

function afterAccountDeleted() {
  forgetTheme();
  applyTheme('', false);
  stopSession('Your account was deleted.');
}

function stopSession(notice) {
  running = false;
  // Drafts stay across reloads, not after the session: the next person here must not see them.
  if (views && state.myName) views.composer.forgetDrafts(state.myName);
  socket.stop();
  calls.leave();
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  for (const t of sendTimers.values()) clearTimeout(t);
  sendTimers.clear();
  readHold.clear();
  // Events held for a read of this session are this session's: the read that held them, when
  // it ends, finds its hold gone and applies nothing (a next session holds its own).
  held = null;
  state.reset();
  ephemeral.clear();
  $('#toasts').replaceChildren();
  if (views) {
    views.thread.close();
    views.composer.setConversation('');
    views.conversation.close('');
  }
  history.replaceState(null, '', '/');
  showAuth({ notice, registration: config.registration });
}

boot();
