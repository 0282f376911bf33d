// events.js — every event the server sends over the WebSocket, by name. pkg/chat/events.go
// declares the same types (one Go type each, with its payload), and docs/api.md documents each;
// a Go test (pkg/chat/events_test.go) fails when the three disagree. Use these names, never
// string literals, when handling a frame.

export const EV = Object.freeze({
  // published to the members of a conversation, or to every account
  MESSAGE_NEW: 'message.new',
  MESSAGE_EDITED: 'message.edited',
  MESSAGE_DELETED: 'message.deleted',
  REACTION: 'reaction',
  READ: 'read',
  UNREAD: 'unread',
  NOTIFICATIONS: 'notifications',
  TYPING: 'typing',
  PRESENCE: 'presence',
  CALL: 'call',
  CONVERSATION: 'conversation',
  CONVERSATION_REMOVED: 'conversation.removed',
  CHANNELS: 'channels',
  USER: 'user',
  USER_DELETED: 'user.deleted',
  EPHEMERAL: 'ephemeral',
  // sent to one connection only
  HELLO: 'hello',
  RESYNC: 'resync',
  PONG: 'pong',
  ACK: 'ack',
  ERROR: 'error',
});
