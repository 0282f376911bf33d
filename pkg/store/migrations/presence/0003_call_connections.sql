-- A call's participants are connections, not accounts: one account with two tabs in a call is
-- two participants, and closing one tab leaves only that one. conn is the connection's id
-- (random, sent in its hello); username stays, so "SELECT username FROM call_participants
-- WHERE conversation = ?" still lists who is in a call (an account once per tab). Calls do not
-- survive a restart, so the rows of the old table are not carried over.
DROP TABLE call_participants;
CREATE TABLE call_participants (
    conversation TEXT NOT NULL,
    username     TEXT NOT NULL,
    conn         TEXT NOT NULL,
    joined_ts    INTEGER NOT NULL,
    PRIMARY KEY (conversation, conn)
);
CREATE INDEX call_participants_username ON call_participants(username);
CREATE INDEX call_participants_conn ON call_participants(conn);
