-- Where an integration's message came from (JSON: from_webhook, username, icon_url, emote);
-- '' for a person's message.
ALTER TABLE messages ADD COLUMN props TEXT NOT NULL DEFAULT '';
