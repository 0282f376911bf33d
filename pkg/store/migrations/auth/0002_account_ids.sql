-- Accounts are known by an id that no other account ever gets, even when a username is
-- registered again after its account was deleted: the first holder of a name has id = name,
-- later holders "name~2", "name~3". Sessions and reset tokens belong to an account id, so a
-- session or link of a deleted account (even one deleted by hand with sqlite3, which leaves
-- sessions behind) never works for a new account of the same name.
ALTER TABLE users ADD COLUMN id TEXT;
UPDATE users SET id = username;
CREATE UNIQUE INDEX users_id ON users(id);

-- Every account id ever issued, kept when the account is deleted (by the daemon or by hand),
-- so that an id is never issued twice.
CREATE TABLE account_ids (
    id         TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    created_ts INTEGER NOT NULL
);
CREATE INDEX account_ids_username ON account_ids(username);
INSERT OR IGNORE INTO account_ids(id, username, created_ts) SELECT username, username, created_ts FROM users;
INSERT OR IGNORE INTO account_ids(id, username, created_ts) SELECT username, username, started_ts FROM pending_deletions;

ALTER TABLE sessions ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
UPDATE sessions SET user_id = username;
ALTER TABLE password_reset_tokens ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
UPDATE password_reset_tokens SET user_id = username;
