-- A counter that every change to private channels or their members bumps, whoever makes it
-- (the daemon, or an administrator with the sqlite3 shell, as in the manual account
-- deletion): the daemon keeps private channels in memory and reads them again only when the
-- counter has moved. Private channels are read on every sidebar, history page and post to
-- one, and change rarely.
CREATE TABLE private_channels_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO private_channels_version(id, n) VALUES (1, 0);
CREATE TRIGGER private_channels_insert AFTER INSERT ON private_channels
BEGIN UPDATE private_channels_version SET n = n + 1; END;
CREATE TRIGGER private_channels_update AFTER UPDATE ON private_channels
BEGIN UPDATE private_channels_version SET n = n + 1; END;
CREATE TRIGGER private_channels_delete AFTER DELETE ON private_channels
BEGIN UPDATE private_channels_version SET n = n + 1; END;
CREATE TRIGGER private_channel_members_insert AFTER INSERT ON private_channel_members
BEGIN UPDATE private_channels_version SET n = n + 1; END;
CREATE TRIGGER private_channel_members_update AFTER UPDATE ON private_channel_members
BEGIN UPDATE private_channels_version SET n = n + 1; END;
CREATE TRIGGER private_channel_members_delete AFTER DELETE ON private_channel_members
BEGIN UPDATE private_channels_version SET n = n + 1; END;
