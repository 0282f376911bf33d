-- auth.db: accounts, their settings, sessions and password-reset tokens.
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_ts    INTEGER NOT NULL
);

CREATE TABLE user_settings (
    username     TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    avatar_file  TEXT,
    theme        TEXT NOT NULL DEFAULT 'light'
);

-- token_hash is the SHA-256 of the token (hex); the token itself is never stored.
CREATE TABLE password_reset_tokens (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    expires_ts INTEGER NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
);
CREATE INDEX password_reset_tokens_username ON password_reset_tokens(username);

-- id_hash is the SHA-256 of the session id in the signed cookie.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    username     TEXT NOT NULL,
    created_ts   INTEGER NOT NULL,
    last_seen_ts INTEGER NOT NULL,
    expires_ts   INTEGER NOT NULL,
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_username ON sessions(username);

-- An account deletion in progress; finished at the next start if the daemon died mid-way.
CREATE TABLE pending_deletions (
    username   TEXT PRIMARY KEY,
    mode       TEXT NOT NULL CHECK (mode IN ('soft', 'hard')),
    avatar_file TEXT,
    started_ts INTEGER NOT NULL
);
