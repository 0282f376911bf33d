-- A private channel's members are accounts: user_id is the member's account id (see auth.db's
-- users.id), so a new account that reuses a deleted member's name is not a member.
ALTER TABLE private_channel_members ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
UPDATE private_channel_members SET user_id = username;
