"""Schema and migrations. ``PRAGMA user_version`` is the schema version; each migration runs in
one transaction, so a crash mid-migration leaves the previous version intact."""

from __future__ import annotations

from typing import Final

#: Marks a database as ours; a SQLite file without it is refused, never altered.
APPLICATION_ID: Final = 0x41554443  # "AUDC"

MIGRATIONS: Final[list[str]] = [
    # 1: the spine. Ids are snowflakes everywhere (time order); times are Unix ms.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    CREATE TABLE audit_entries (
        id           INTEGER PRIMARY KEY,      -- Discord's entry id (snowflake)
        guild_id     INTEGER NOT NULL,
        action_type  INTEGER NOT NULL,
        actor_id     INTEGER,                  -- user_id
        target_id    INTEGER,
        reason       TEXT,
        created_at   INTEGER NOT NULL,         -- from the snowflake
        received_at  INTEGER NOT NULL,
        source       TEXT NOT NULL CHECK (source IN ('gateway', 'backfill')),
        raw          TEXT NOT NULL,            -- the entry's JSON as Discord sent it
        content_hash BLOB NOT NULL,
        revision     INTEGER NOT NULL DEFAULT 0 -- bumped when Discord changed it in place
    );
    CREATE INDEX audit_guild ON audit_entries (guild_id, id);
    CREATE INDEX audit_actor_action ON audit_entries (actor_id, action_type, id);
    CREATE INDEX audit_action ON audit_entries (action_type, id);
    CREATE INDEX audit_target ON audit_entries (target_id, id);

    -- Earlier contents of entries Discord updated in place (counts of message deletes, moves).
    CREATE TABLE audit_revisions (
        entry_id     INTEGER NOT NULL,
        revision     INTEGER NOT NULL,
        raw          TEXT NOT NULL,
        content_hash BLOB NOT NULL,
        replaced_at  INTEGER NOT NULL,
        PRIMARY KEY (entry_id, revision)
    );

    -- Filled in the same transaction as audit_entries (never by a trigger: it halves ingest).
    CREATE VIRTUAL TABLE audit_fts USING fts5 (
        reason, names, changes, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
    );

    -- Payloads we could not key; kept so nothing Discord sent is lost.
    CREATE TABLE parse_failures (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        guild_id    INTEGER,
        received_at INTEGER NOT NULL,
        source      TEXT NOT NULL,
        error       TEXT NOT NULL,
        raw         TEXT NOT NULL
    );

    -- hwm: every entry id <= hwm is known to be stored (moved only after a backfill commits).
    CREATE TABLE sync_state (
        guild_id    INTEGER PRIMARY KEY,
        hwm         INTEGER,
        live_until  INTEGER,                   -- last time we know the gateway was delivering
        updated_at  INTEGER NOT NULL
    );

    CREATE TABLE gaps (
        id                  INTEGER PRIMARY KEY,   -- snowflake of when it was detected
        guild_id            INTEGER NOT NULL,
        reason              TEXT NOT NULL,         -- first-sync | start | reconnect | manual
        from_id             INTEGER,               -- hwm when detected (NULL: nothing stored yet)
        started_at          INTEGER,               -- entries after this may be missing
        detected_at         INTEGER NOT NULL,
        ended_at            INTEGER,               -- backfill finished
        status              TEXT NOT NULL,         -- open | recovered | partial | failed
        recovered           INTEGER NOT NULL DEFAULT 0,
        refreshed           INTEGER NOT NULL DEFAULT 0,
        beyond_retention_ms INTEGER NOT NULL DEFAULT 0, -- part older than Discord's 45 days
        error               TEXT
    );
    CREATE INDEX gaps_guild ON gaps (guild_id, id);

    -- Display names (users, roles, channels) seen on the gateway and in REST pages.
    CREATE TABLE names (
        kind        TEXT NOT NULL CHECK (kind IN ('user', 'role', 'channel', 'guild')),
        id          INTEGER NOT NULL,
        guild_id    INTEGER,
        name        TEXT NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
    );

    -- The last guild snapshot (guild, channels, members) for explain and the policy gate.
    CREATE TABLE guild_state (
        guild_id    INTEGER PRIMARY KEY,
        snapshot    TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    );

    CREATE TABLE decisions (
        id             INTEGER PRIMARY KEY,
        guild_id       INTEGER NOT NULL,
        created_at     INTEGER NOT NULL,
        actor_id       INTEGER NOT NULL,
        actor_name     TEXT,
        actor_roles    TEXT NOT NULL,           -- JSON list of role ids
        actor_admin    INTEGER NOT NULL,
        actor_owner    INTEGER NOT NULL,
        capability     TEXT NOT NULL,
        resource_type  TEXT NOT NULL,
        resource_id    INTEGER,
        source         TEXT NOT NULL CHECK (source IN ('TUI', 'CLI', 'BOT')),
        result         TEXT NOT NULL CHECK (result IN ('ALLOW', 'DENY')),
        reason_code    TEXT NOT NULL,
        path           TEXT NOT NULL,           -- JSON list of steps
        policy_version TEXT NOT NULL
    );
    CREATE INDEX decisions_actor ON decisions (actor_id, id);
    CREATE INDEX decisions_result ON decisions (result, reason_code, id);

    CREATE TABLE role_changes (
        id               INTEGER PRIMARY KEY,
        guild_id         INTEGER NOT NULL,
        member_id        INTEGER NOT NULL,
        role_id          INTEGER NOT NULL,
        op               TEXT NOT NULL CHECK (op IN ('grant', 'revoke')),
        reason           TEXT,
        requested_by     INTEGER,
        source           TEXT NOT NULL,
        decision_id      INTEGER,
        state            TEXT NOT NULL,         -- pending | confirmed | reverted | failed | expired | cancelled
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        next_attempt_at  INTEGER,
        deadline_at      INTEGER,
        attempts         INTEGER NOT NULL DEFAULT 0,
        observed_at      INTEGER,
        error            TEXT,
        linked_entry_id  INTEGER,
        message_id       TEXT,
        cancelled_by     INTEGER
    );
    CREATE INDEX role_changes_state ON role_changes (state, id);
    CREATE INDEX role_changes_member ON role_changes (member_id, id);

    CREATE TABLE role_change_attempts (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        change_id    INTEGER NOT NULL REFERENCES role_changes (id),
        at           INTEGER NOT NULL,
        http_status  INTEGER,
        latency_ms   INTEGER,
        observed     TEXT,
        error        TEXT
    );
    CREATE INDEX attempts_change ON role_change_attempts (change_id, id);
    """,
    # 2: the actor-only feed filter pages by keyset on (actor_id, id); with only
    # (actor_id, action_type, id) SQLite sorted every entry of a busy moderator, a cost that
    # grows with the store and broke the newest-page budget on a big one (docs/performance.md, Q1).
    """
    CREATE INDEX IF NOT EXISTS audit_actor ON audit_entries (actor_id, id);
    """,
    # 3: break-glass sessions. The policy engine asks "is one active for this person now?";
    # activation, use and the end are decisions in the feed, this table holds the window.
    """
    CREATE TABLE break_glass (
        id           INTEGER PRIMARY KEY,      -- snowflake (our own)
        guild_id     INTEGER NOT NULL,
        user_id      INTEGER NOT NULL,
        started_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        ended_at     INTEGER,                  -- turned off early (NULL: ran to expiry or still on)
        ended_by     INTEGER,
        decision_id  INTEGER                   -- the decision that allowed the activation
    );
    CREATE INDEX break_glass_user ON break_glass (guild_id, user_id, id);
    """,
    # 4: the audit message a final role change posts, retried until it is posted (never silent).
    """
    ALTER TABLE role_changes ADD COLUMN message_state TEXT;
    ALTER TABLE role_changes ADD COLUMN message_error TEXT;
    CREATE INDEX role_changes_message ON role_changes (message_state, id);
    """,
    # 5: the integrity chain (console/store/integrity.py). Per guild, every stored record (an
    # audit entry and each of its in-place revisions, a decision, a role change's final state)
    # and every retention prune is one link: link = sha256(previous link ‖ seq, kind, record id,
    # revision, time, content hash). ``chain_heads`` holds each guild's last link, so a chain cut
    # short at its end is found too. Written in the same transaction as the records themselves.
    """
    CREATE TABLE chain (
        guild_id     INTEGER NOT NULL,
        seq          INTEGER NOT NULL,         -- 1, 2, 3, ... per guild
        kind         INTEGER NOT NULL,         -- 0 entry, 1 decision, 2 role change, 9 prune
        record_id    INTEGER NOT NULL,         -- the record's id (prune: the cut-off id)
        revision     INTEGER NOT NULL,
        at           INTEGER NOT NULL,         -- when linked (Unix ms)
        content_hash BLOB NOT NULL,            -- sha256 of the record's canonical content (16 bytes)
        link         BLOB NOT NULL,            -- sha256 (32 bytes)
        note         TEXT,                     -- prune: JSON {cutoff_ms, days, links_before, base, removed}
        PRIMARY KEY (guild_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX chain_record ON chain (kind, record_id, seq);

    CREATE TABLE chain_heads (
        guild_id INTEGER PRIMARY KEY,
        seq      INTEGER NOT NULL,
        link     BLOB NOT NULL
    );
    """,
    # 6: alerts raised by the rules in console/alerts (the list on `!`, reports count them).
    """
    CREATE TABLE alerts (
        id          INTEGER PRIMARY KEY,       -- snowflake (our own): time order
        guild_id    INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        rule        TEXT NOT NULL,             -- ban_wave | dangerous_permission | bot_added | ...
        severity    TEXT NOT NULL CHECK (severity IN ('warning', 'error')),
        summary     TEXT NOT NULL,             -- plain text, sanitised
        record_ids  TEXT NOT NULL,             -- JSON list of the entry/decision ids behind it
        posted      TEXT                       -- channel message: NULL none, 'posted', or the error
    );
    CREATE INDEX alerts_guild ON alerts (guild_id, id);
    """,
    # 7: members' display names (nick, else global name) beside their usernames: the console
    # names a person "Display (username)" everywhere (console/model/naming.py). SQLite cannot
    # change a CHECK in place, so the table is copied.
    """
    CREATE TABLE names_new (
        kind        TEXT NOT NULL CHECK (kind IN ('user', 'member', 'role', 'channel', 'guild')),
        id          INTEGER NOT NULL,
        guild_id    INTEGER,
        name        TEXT NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
    );
    INSERT INTO names_new (kind, id, guild_id, name, updated_at)
        SELECT kind, id, guild_id, name, updated_at FROM names;
    DROP TABLE names;
    ALTER TABLE names_new RENAME TO names;
    """,
    # 8: which leadership epoch made each role-change attempt (issue #20). Always NULL here (one
    # collector per file, no epochs); the column is kept for parity with the PostgreSQL store, so
    # a store moved between the two (``migrate``, which copies the columns both have) keeps it.
    """
    ALTER TABLE role_change_attempts ADD COLUMN epoch INTEGER;
    """,
    # 9: the names a person went by, each with when it was first and last seen (the member view,
    # issue #21): ``names`` keeps only the newest. Seeded with today's names, seen when last
    # written. role_changes (requested_by, id): the member view's "role changes they asked for".
    """
    CREATE TABLE name_history (
        kind        TEXT NOT NULL,
        id          INTEGER NOT NULL,
        name        TEXT NOT NULL,
        first_seen  INTEGER NOT NULL,
        last_seen   INTEGER NOT NULL,
        PRIMARY KEY (kind, id, name)
    );
    CREATE INDEX name_history_id ON name_history (id);
    INSERT INTO name_history (kind, id, name, first_seen, last_seen)
        SELECT kind, id, name, updated_at, updated_at FROM names WHERE kind IN ('user', 'member');
    CREATE INDEX role_changes_requested ON role_changes (requested_by, id);
    """,
    # 10: notes (issue 21): what moderators write on a record, append-only. An edit is a new row
    # that supersedes the old one, a removal a row that names the note it removes and keeps its
    # text (console/model/notes.py); each row is linked into the chain as it is written.
    """
    CREATE TABLE notes (
        id           INTEGER PRIMARY KEY,      -- snowflake (our own): time order
        guild_id     INTEGER NOT NULL,
        record_kind  TEXT NOT NULL CHECK (record_kind IN ('audit', 'decision', 'role_change')),
        record_id    INTEGER NOT NULL,
        member_id    INTEGER,                  -- written from a member's view: the member
        actor_id     INTEGER NOT NULL,         -- who wrote it
        actor_name   TEXT,
        created_at   INTEGER NOT NULL,
        action       TEXT NOT NULL CHECK (action IN ('add', 'edit', 'remove')),
        supersedes   INTEGER,                  -- edit, remove: the note it supersedes
        text         TEXT NOT NULL,
        decision_id  INTEGER                   -- the policy decision that allowed it
    );
    CREATE INDEX notes_record ON notes (record_id, id);
    CREATE INDEX notes_member ON notes (member_id, id);
    CREATE INDEX notes_supersedes ON notes (supersedes);
    -- Full text of notes (rowid = the note's id; removals have none): free text in the query
    -- finds a record by its notes too.
    CREATE VIRTUAL TABLE notes_fts USING fts5 (text, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
    """,
]

SCHEMA_VERSION: Final = len(MIGRATIONS)
