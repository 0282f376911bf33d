-- The replies of a thread, found without reading the whole conversation: a thread's replies
-- and the summaries under its root (who replied, how many) are read on every thread reply and
-- history page. Only replies are indexed (channel messages have thread_root '').
CREATE INDEX messages_thread_root ON messages(thread_root, id) WHERE thread_root != '';
