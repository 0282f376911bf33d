-- presence.db: who is online, typing, what was read, reactions, private channels, calls, and
-- the fan-out journal.
CREATE TABLE presence (
    user       TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    updated_ts INTEGER NOT NULL
);

CREATE TABLE typing (
    user         TEXT NOT NULL,
    conversation TEXT NOT NULL,
    updated_ts   INTEGER NOT NULL,
    PRIMARY KEY (user, conversation)
);

CREATE TABLE read_receipts (
    reader       TEXT NOT NULL,
    conversation TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    read_ts      INTEGER NOT NULL,
    PRIMARY KEY (reader, conversation)
);
CREATE INDEX read_receipts_conversation ON read_receipts(conversation);

CREATE TABLE message_reactions (
    message_id   TEXT NOT NULL,
    conversation TEXT NOT NULL,
    reactor      TEXT NOT NULL,
    emoji        TEXT NOT NULL,
    created_ts   INTEGER NOT NULL,
    PRIMARY KEY (message_id, reactor, emoji)
);
CREATE INDEX message_reactions_reactor ON message_reactions(reactor);

CREATE TABLE private_channels (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    creator    TEXT NOT NULL,
    created_ts INTEGER NOT NULL
);

CREATE TABLE private_channel_members (
    channel_id TEXT NOT NULL,
    username   TEXT NOT NULL,
    added_ts   INTEGER NOT NULL,
    PRIMARY KEY (channel_id, username)
);
CREATE INDEX private_channel_members_username ON private_channel_members(username);

CREATE TABLE call_participants (
    conversation TEXT NOT NULL,
    username     TEXT NOT NULL,
    joined_ts    INTEGER NOT NULL,
    PRIMARY KEY (conversation, username)
);

-- The fan-out journal: an operation is committed here before it is acknowledged, applied to
-- every recipient's users/<name>.db, then deleted. Rows still here at start are replayed;
-- every operation is idempotent by message id.
CREATE TABLE journal (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    op         TEXT NOT NULL,
    payload    TEXT NOT NULL,
    recipients TEXT NOT NULL,
    created_ts INTEGER NOT NULL
);
