-- What the sidebar counted of each conversation's unread messages, so that the next count
-- reads only the messages that arrived since (a member who never reads a busy channel has
-- thousands of unread messages in it, and the sidebar is drawn on every page load): the
-- messages after last_read, up to and including upto, of which unread are in the
-- conversation's own list and mentions mention the user. Any change to the messages an
-- entry counted drops the entry, and the next count starts again from last_read: the
-- triggers below drop it on an UPDATE or DELETE, whoever makes it (the daemon, or the
-- sqlite3 shell); the daemon drops it when it writes a message at or before upto (a
-- history copy, two posts written out of order), and all of them when it sees that another
-- process wrote to the file (PRAGMA data_version). An INSERT trigger would do the last two,
-- but it ran on every copy the fan-out writes and cost a quarter of its CPU. Deleting rows
-- of this table by hand is always safe.
CREATE TABLE unread_counts (
    conversation TEXT PRIMARY KEY,
    last_read    TEXT NOT NULL,
    upto         TEXT NOT NULL,
    unread       INTEGER NOT NULL,
    mentions     INTEGER NOT NULL
) WITHOUT ROWID;
-- An edit (its mentions), a deletion, a deleted account's messages handed to "deleted".
CREATE TRIGGER unread_counts_update AFTER UPDATE ON messages
BEGIN
    DELETE FROM unread_counts WHERE conversation IN (OLD.conversation, NEW.conversation);
END;
-- Cleanup of old messages, a deleted account's messages purged.
CREATE TRIGGER unread_counts_delete AFTER DELETE ON messages
BEGIN
    DELETE FROM unread_counts WHERE conversation = OLD.conversation;
END;
