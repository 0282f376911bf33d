-- users/<name>.db: the user's own copy of every message they can see.
CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation    TEXT NOT NULL,
    sender          TEXT NOT NULL,
    body            TEXT NOT NULL,
    html            TEXT NOT NULL,
    sent_ts         INTEGER NOT NULL,  -- Unix seconds: what retention uses
    sent_ms         INTEGER NOT NULL,
    edited_ts       INTEGER NOT NULL DEFAULT 0,
    deleted         INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    mentions        TEXT NOT NULL DEFAULT '',  -- ' bob here ' style, for instr()
    thread_root     TEXT NOT NULL DEFAULT '',
    attachment_file TEXT,                      -- stored name in uploads/
    attachment_name TEXT,
    attachment_size INTEGER,
    attachment_type TEXT
);
CREATE INDEX messages_conversation_id ON messages(conversation, id);
-- Retention deletes by id range (ids are time-ordered), so sent_ts needs no index of its own.

-- The conversations this user has been part of, so the sidebar lists DMs.
CREATE TABLE conversations (
    id       TEXT PRIMARY KEY,
    added_ts INTEGER NOT NULL
);
