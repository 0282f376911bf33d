-- How this user wants to be notified: per conversation (level and mute) and overall
-- (do not disturb); and which thread replies they have read. Numbered 0003: 0002 belongs to another change; the runner applies the
-- files present in order.
CREATE TABLE notification_prefs (
    conversation TEXT PRIMARY KEY,
    level        TEXT NOT NULL DEFAULT '' CHECK (level IN ('', 'all', 'mentions', 'none')),  -- '' : the default for its kind
    muted        INTEGER NOT NULL DEFAULT 0 CHECK (muted IN (0, 1))
);
CREATE TABLE user_prefs (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- The newest reply of each thread this user has read (the Threads view's unread counts).
CREATE TABLE thread_reads (
    root      TEXT PRIMARY KEY,
    last_read TEXT NOT NULL
);
