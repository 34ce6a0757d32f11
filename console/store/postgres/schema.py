"""The PostgreSQL store's schema: the same tables as the SQLite store's (``console/store/schema.py``,
version 7 there), typed for PostgreSQL. The version lives in ``meta`` (key ``schema_version``)
beside a marker (key ``application``) that tells our tables from another program's; migrations
run in one transaction (PostgreSQL's DDL is transactional), so an upgrade lands whole or not at all.

Types: ids and times are BIGINT (snowflakes and Unix ms), hashes BYTEA, JSON kept as TEXT exactly
as written (the export and the chain hash those bytes; jsonb would reorder keys). Flags that are
0/1 in SQLite stay INTEGER, so rows read back the same from both backends.
"""

from __future__ import annotations

from typing import Final

#: The value of ``meta.application``: a database holding tables without it is someone else's.
APPLICATION: Final = "audit-console"

#: Oldest server accepted (``server_version_num``); tested on 15 and 16.
MIN_SERVER_VERSION: Final = 140000

MIGRATIONS: Final[list[str]] = [
    # 1: everything the SQLite store has at its version 7.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    CREATE TABLE audit_entries (
        id           BIGINT PRIMARY KEY,
        guild_id     BIGINT NOT NULL,
        action_type  INTEGER NOT NULL,
        actor_id     BIGINT,
        target_id    BIGINT,
        reason       TEXT,
        created_at   BIGINT NOT NULL,
        received_at  BIGINT NOT NULL,
        source       TEXT NOT NULL CHECK (source IN ('gateway', 'backfill')),
        raw          TEXT NOT NULL,
        content_hash BYTEA NOT NULL,
        revision     INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX audit_guild ON audit_entries (guild_id, id);
    CREATE INDEX audit_actor_action ON audit_entries (actor_id, action_type, id);
    CREATE INDEX audit_actor ON audit_entries (actor_id, id);
    CREATE INDEX audit_action ON audit_entries (action_type, id);
    CREATE INDEX audit_target ON audit_entries (target_id, id);

    CREATE TABLE audit_revisions (
        entry_id     BIGINT NOT NULL,
        revision     INTEGER NOT NULL,
        raw          TEXT NOT NULL,
        content_hash BYTEA NOT NULL,
        replaced_at  BIGINT NOT NULL,
        PRIMARY KEY (entry_id, revision)
    );

    -- Full text, filled in the same transaction as audit_entries. The columns hold the text as
    -- the SQLite store's FTS table does; ``doc`` is what is searched: written by the store from
    -- FTS5's own tokens (postgres/fulltext.py), so both backends find the same entries.
    CREATE TABLE audit_fts (
        entry_id BIGINT PRIMARY KEY,
        reason   TEXT,
        names    TEXT,
        changes  TEXT,
        doc      TSVECTOR NOT NULL
    );
    CREATE INDEX audit_fts_doc ON audit_fts USING GIN (doc);

    CREATE TABLE parse_failures (
        id          BIGSERIAL PRIMARY KEY,
        guild_id    BIGINT,
        received_at BIGINT NOT NULL,
        source      TEXT NOT NULL,
        error       TEXT NOT NULL,
        raw         TEXT NOT NULL
    );

    CREATE TABLE sync_state (
        guild_id    BIGINT PRIMARY KEY,
        hwm         BIGINT,
        live_until  BIGINT,
        updated_at  BIGINT NOT NULL
    );

    CREATE TABLE gaps (
        id                  BIGINT PRIMARY KEY,
        guild_id            BIGINT NOT NULL,
        reason              TEXT NOT NULL,
        from_id             BIGINT,
        started_at          BIGINT,
        detected_at         BIGINT NOT NULL,
        ended_at            BIGINT,
        status              TEXT NOT NULL,
        recovered           INTEGER NOT NULL DEFAULT 0,
        refreshed           INTEGER NOT NULL DEFAULT 0,
        beyond_retention_ms BIGINT NOT NULL DEFAULT 0,
        error               TEXT
    );
    CREATE INDEX gaps_guild ON gaps (guild_id, id);

    CREATE TABLE names (
        kind        TEXT NOT NULL CHECK (kind IN ('user', 'member', 'role', 'channel', 'guild')),
        id          BIGINT NOT NULL,
        guild_id    BIGINT,
        name        TEXT NOT NULL,
        updated_at  BIGINT NOT NULL,
        PRIMARY KEY (kind, id)
    );

    CREATE TABLE guild_state (
        guild_id    BIGINT PRIMARY KEY,
        snapshot    TEXT NOT NULL,
        updated_at  BIGINT NOT NULL
    );

    CREATE TABLE decisions (
        id             BIGINT PRIMARY KEY,
        guild_id       BIGINT NOT NULL,
        created_at     BIGINT NOT NULL,
        actor_id       BIGINT NOT NULL,
        actor_name     TEXT,
        actor_roles    TEXT NOT NULL,
        actor_admin    INTEGER NOT NULL,
        actor_owner    INTEGER NOT NULL,
        capability     TEXT NOT NULL,
        resource_type  TEXT NOT NULL,
        resource_id    BIGINT,
        source         TEXT NOT NULL CHECK (source IN ('TUI', 'CLI', 'BOT')),
        result         TEXT NOT NULL CHECK (result IN ('ALLOW', 'DENY')),
        reason_code    TEXT NOT NULL,
        path           TEXT NOT NULL,
        policy_version TEXT NOT NULL
    );
    CREATE INDEX decisions_actor ON decisions (actor_id, id);
    CREATE INDEX decisions_result ON decisions (result, reason_code, id);

    CREATE TABLE role_changes (
        id               BIGINT PRIMARY KEY,
        guild_id         BIGINT NOT NULL,
        member_id        BIGINT NOT NULL,
        role_id          BIGINT NOT NULL,
        op               TEXT NOT NULL CHECK (op IN ('grant', 'revoke')),
        reason           TEXT,
        requested_by     BIGINT,
        source           TEXT NOT NULL,
        decision_id      BIGINT,
        state            TEXT NOT NULL,
        created_at       BIGINT NOT NULL,
        updated_at       BIGINT NOT NULL,
        next_attempt_at  BIGINT,
        deadline_at      BIGINT,
        attempts         INTEGER NOT NULL DEFAULT 0,
        observed_at      BIGINT,
        error            TEXT,
        linked_entry_id  BIGINT,
        message_id       TEXT,
        cancelled_by     BIGINT,
        message_state    TEXT,
        message_error    TEXT
    );
    CREATE INDEX role_changes_state ON role_changes (state, id);
    CREATE INDEX role_changes_member ON role_changes (member_id, id);
    CREATE INDEX role_changes_message ON role_changes (message_state, id);

    CREATE TABLE role_change_attempts (
        id           BIGSERIAL PRIMARY KEY,
        change_id    BIGINT NOT NULL REFERENCES role_changes (id),
        at           BIGINT NOT NULL,
        http_status  INTEGER,
        latency_ms   BIGINT,
        observed     TEXT,
        error        TEXT
    );
    CREATE INDEX attempts_change ON role_change_attempts (change_id, id);

    CREATE TABLE break_glass (
        id           BIGINT PRIMARY KEY,
        guild_id     BIGINT NOT NULL,
        user_id      BIGINT NOT NULL,
        started_at   BIGINT NOT NULL,
        expires_at   BIGINT NOT NULL,
        ended_at     BIGINT,
        ended_by     BIGINT,
        decision_id  BIGINT
    );
    CREATE INDEX break_glass_user ON break_glass (guild_id, user_id, id);

    CREATE TABLE chain (
        guild_id     BIGINT NOT NULL,
        seq          BIGINT NOT NULL,
        kind         INTEGER NOT NULL,
        record_id    BIGINT NOT NULL,
        revision     INTEGER NOT NULL,
        at           BIGINT NOT NULL,
        content_hash BYTEA NOT NULL,
        link         BYTEA NOT NULL,
        note         TEXT,
        PRIMARY KEY (guild_id, seq)
    );
    CREATE INDEX chain_record ON chain (kind, record_id, seq);

    CREATE TABLE chain_heads (
        guild_id BIGINT PRIMARY KEY,
        seq      BIGINT NOT NULL,
        link     BYTEA NOT NULL
    );

    CREATE TABLE alerts (
        id          BIGINT PRIMARY KEY,
        guild_id    BIGINT NOT NULL,
        created_at  BIGINT NOT NULL,
        rule        TEXT NOT NULL,
        severity    TEXT NOT NULL CHECK (severity IN ('warning', 'error')),
        summary     TEXT NOT NULL,
        record_ids  TEXT NOT NULL,
        posted      TEXT
    );
    CREATE INDEX alerts_guild ON alerts (guild_id, id);
    """,
    # 2: leadership with fencing (issue #20). One row: the epoch each new active collector bumps
    # when it takes the collector lock, who holds it, since when, its last heartbeat. Every write
    # transaction of a collecting store reads the epoch FOR SHARE and fails when it is not its own.
    """
    CREATE TABLE leadership (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        epoch     BIGINT NOT NULL,
        host      TEXT,
        pid       INTEGER,
        since     BIGINT,
        heartbeat BIGINT
    );
    INSERT INTO leadership (id, epoch) VALUES (1, 0);
    """,
    # 3: one leadership per shard group (issue #20, sharding): collectors that split a bot's
    # shards each lead their own group ("shards 0-1/4"), with a lock and an epoch of its own. The
    # unsharded collector keeps row 1 (scope ''), as before.
    """
    ALTER TABLE leadership DROP CONSTRAINT leadership_id_check;
    ALTER TABLE leadership ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (START WITH 2);
    ALTER TABLE leadership ADD COLUMN scope TEXT NOT NULL DEFAULT '' UNIQUE;
    """,
    # 4 (issue #20, identity and privileges): which
    # Discord user each PostgreSQL login acts as (``team add-moderator``), and the two functions
    # through which a moderator's login writes what it may (``team.py`` says why each exists).
    """
    CREATE TABLE team_members (
        login      TEXT PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('moderator', 'viewer', 'collector')),
        discord_id BIGINT,
        added_at   BIGINT NOT NULL,
        CHECK (kind <> 'moderator' OR discord_id IS NOT NULL)
    );

    -- A chain head moves only forward, onto a link that is in the chain: a login that may append
    -- links (a moderator's decision is linked in its own transaction) cannot rewind a head.
    CREATE FUNCTION audit_advance_head(g BIGINT, s BIGINT, l BYTEA) RETURNS VOID
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM chain WHERE guild_id = g AND seq = s AND link = l) THEN
            RAISE EXCEPTION 'chain head % of guild % names no link in the chain', s, g
                USING ERRCODE = '42501';
        END IF;
        INSERT INTO chain_heads (guild_id, seq, link) VALUES (g, s, l)
        ON CONFLICT (guild_id) DO UPDATE SET seq = excluded.seq, link = excluded.link
        WHERE chain_heads.seq < excluded.seq;
    END $$;

    -- On a team store (meta 'team'), a login that is not a collector writes decisions and new
    -- requests only as the Discord user it is mapped to: the server, not the console, vouches.
    CREATE FUNCTION audit_check_actor() RETURNS TRIGGER
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    DECLARE
        mapped BIGINT;
        actor BIGINT;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM meta WHERE key = 'team') OR to_regrole('audit_collector') IS NULL
           OR pg_has_role(session_user, 'audit_collector', 'MEMBER') THEN
            RETURN NEW;
        END IF;
        IF TG_TABLE_NAME = 'role_changes' THEN
            IF EXISTS (SELECT 1 FROM role_changes WHERE id = NEW.id) THEN
                RETURN NEW;  -- a request moving on (cancelled): its requester stays who it was
            END IF;
            actor := NEW.requested_by;
        ELSE
            actor := NEW.actor_id;
        END IF;
        SELECT discord_id INTO mapped FROM team_members WHERE login = session_user AND kind = 'moderator';
        IF mapped IS NULL THEN
            RAISE EXCEPTION 'login % is not a moderator of this team store', session_user
                USING ERRCODE = '42501';
        END IF;
        IF actor IS DISTINCT FROM mapped THEN
            RAISE EXCEPTION 'login % acts as Discord user %, not %', session_user, mapped, actor
                USING ERRCODE = '42501';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER decisions_actor BEFORE INSERT ON decisions
        FOR EACH ROW EXECUTE FUNCTION audit_check_actor();
    CREATE TRIGGER role_changes_actor BEFORE INSERT ON role_changes
        FOR EACH ROW EXECUTE FUNCTION audit_check_actor();
    """,
    # 5: the leadership epoch of the collector that made each role-change attempt (team.md: the
    # intent rows record which epoch sent which attempt), so a call made by a deposed collector
    # can be told from the current leader's. NULL when no collector wrote it (attempts copied
    # from a SQLite store). The SQLite store has the column too (its migration 8), always NULL.
    """
    ALTER TABLE role_change_attempts ADD COLUMN epoch BIGINT;
    """,
    # 6 (issue #20, privileges): a login that is not a collector may UPDATE a request only to
    # cancel its own while it is pending. Its table privilege (UPDATE, which the upsert of a new
    # request needs) covers every column; this trigger narrows it to that one transition, so a
    # moderator cannot rewrite a request's member, role, state or attempts, nor finish another's.
    """
    CREATE FUNCTION audit_check_request_update() RETURNS TRIGGER
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    DECLARE
        mapped BIGINT;
        moving CONSTANT TEXT[] := ARRAY['state', 'updated_at', 'next_attempt_at', 'cancelled_by', 'message_state'];
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM meta WHERE key = 'team') OR to_regrole('audit_collector') IS NULL
           OR pg_has_role(session_user, 'audit_collector', 'MEMBER') THEN
            RETURN NEW;
        END IF;
        SELECT discord_id INTO mapped FROM team_members WHERE login = session_user AND kind = 'moderator';
        IF mapped IS NULL OR OLD.state <> 'pending' OR NEW.state <> 'cancelled'
           OR OLD.requested_by IS DISTINCT FROM mapped OR NEW.cancelled_by IS DISTINCT FROM mapped
           OR (to_jsonb(OLD) - moving) <> (to_jsonb(NEW) - moving) THEN
            RAISE EXCEPTION 'login % may only cancel its own pending requests', session_user
                USING ERRCODE = '42501';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER role_changes_update BEFORE UPDATE ON role_changes
        FOR EACH ROW EXECUTE FUNCTION audit_check_request_update();
    """,
    # 7: the names a person went by, with when each was first and last seen, and role changes by
    # who asked for them (the member view, issue #21; the SQLite store's migration 9).
    """
    CREATE TABLE name_history (
        kind        TEXT NOT NULL,
        id          BIGINT NOT NULL,
        name        TEXT NOT NULL,
        first_seen  BIGINT NOT NULL,
        last_seen   BIGINT NOT NULL,
        PRIMARY KEY (kind, id, name)
    );
    CREATE INDEX name_history_id ON name_history (id);
    INSERT INTO name_history (kind, id, name, first_seen, last_seen)
        SELECT kind, id, name, updated_at, updated_at FROM names WHERE kind IN ('user', 'member');
    CREATE INDEX role_changes_requested ON role_changes (requested_by, id);
    """,
    # 8: notes (issue 21), as the SQLite store's migration 10: append-only, each row linked into
    # the chain as it is written. On a team store a moderator's login writes notes only as the
    # Discord user it is mapped to (the same trigger as decisions: ``actor_id``).
    """
    CREATE TABLE notes (
        id           BIGINT PRIMARY KEY,
        guild_id     BIGINT NOT NULL,
        record_kind  TEXT NOT NULL CHECK (record_kind IN ('audit', 'decision', 'role_change')),
        record_id    BIGINT NOT NULL,
        member_id    BIGINT,
        actor_id     BIGINT NOT NULL,
        actor_name   TEXT,
        created_at   BIGINT NOT NULL,
        action       TEXT NOT NULL CHECK (action IN ('add', 'edit', 'remove')),
        supersedes   BIGINT,
        text         TEXT NOT NULL,
        decision_id  BIGINT,
        doc          TSVECTOR                  -- full text, from FTS5's tokens (fulltext.py); NULL for a removal
    );
    CREATE INDEX notes_record ON notes (record_id, id);
    CREATE INDEX notes_doc ON notes USING GIN (doc);
    CREATE INDEX notes_member ON notes (member_id, id);
    CREATE INDEX notes_supersedes ON notes (supersedes);
    CREATE TRIGGER notes_actor BEFORE INSERT ON notes
        FOR EACH ROW EXECUTE FUNCTION audit_check_actor();
    """,
]

SCHEMA_VERSION: Final = len(MIGRATIONS)
