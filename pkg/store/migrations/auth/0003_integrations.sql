-- Integrations: bot accounts, personal access tokens, incoming and outgoing webhooks and
-- slash commands. Secrets that callers present (tokens, incoming webhook URLs) are stored as
-- their SHA-256 (hex) only.
ALTER TABLE users ADD COLUMN bot INTEGER NOT NULL DEFAULT 0 CHECK (bot IN (0, 1));

-- A personal access token: "Authorization: Bearer <token>" acts as the account.
CREATE TABLE access_tokens (
    id           TEXT PRIMARY KEY,      -- public id, shown in lists
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL,
    username     TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    created_ts   INTEGER NOT NULL,
    expires_ts   INTEGER NOT NULL DEFAULT 0,  -- 0: never
    last_used_ts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX access_tokens_username ON access_tokens(username);

-- An incoming webhook: a POST to /hooks/<secret> posts into channels (conversation ids,
-- space-separated; the first is the default).
CREATE TABLE incoming_webhooks (
    id           TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL UNIQUE,
    channels     TEXT NOT NULL,
    username     TEXT NOT NULL DEFAULT '',
    icon_url     TEXT NOT NULL DEFAULT '',
    creator_id   TEXT NOT NULL DEFAULT '',
    creator      TEXT NOT NULL DEFAULT '',
    created_ts   INTEGER NOT NULL
);
CREATE INDEX incoming_webhooks_creator ON incoming_webhooks(creator);

-- An outgoing webhook: a message in channel starting with a trigger word is sent to url.
CREATE TABLE outgoing_webhooks (
    id            TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    trigger_words TEXT NOT NULL,  -- space-separated
    url           TEXT NOT NULL,
    token         TEXT NOT NULL,  -- sent to the receiver, which checks it
    username      TEXT NOT NULL DEFAULT '',
    created_ts    INTEGER NOT NULL
);

-- A server-wide slash command: "/trigger text" is sent to url.
CREATE TABLE slash_commands (
    trigger     TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    token       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    hint        TEXT NOT NULL DEFAULT '',
    username    TEXT NOT NULL DEFAULT '',
    created_ts  INTEGER NOT NULL
);
