"""Canonical tables and their versioned migrations.

The canonical model follows DESIGN.md: one ``interactions`` table for every channel,
``entities`` for people and organisations, and ``identities`` mapping each channel
handle to one entity with the rule that linked it, so a wrong merge can be undone.
Derived stages add their own tables through later migrations; a migration never
rewrites an earlier one, so a workspace created by any release can be opened by the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

CHANNELS: tuple[str, ...] = (
    "email",
    "phone",
    "ivr",
    "chat",
    "sms",
    "meeting",
    "forum",
    "twitter",
    "facebook",
    "blog",
    "review",
    "other",
)
PUBLIC_CHANNELS: tuple[str, ...] = ("forum", "twitter", "facebook", "blog", "review")
VISIBILITIES: tuple[str, ...] = ("public", "private")

# Columns of the canonical interaction, in storage order (DESIGN.md "Canonical data").
INTERACTION_COLUMNS: tuple[str, ...] = (
    "interaction_id",
    "source",
    "channel",
    "ts",
    "actor",
    "targets",
    "conversation_id",
    "in_reply_to",
    "kind",
    "visibility",
    "text",
    "value",
)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "canonical interactions, entities, identities, imports and quarantine",
        """
        CREATE TABLE interactions (
            interaction_id  VARCHAR NOT NULL,
            source          VARCHAR NOT NULL,
            channel         VARCHAR NOT NULL,
            ts              TIMESTAMP NOT NULL,   -- UTC
            actor           VARCHAR NOT NULL,     -- identity handle
            targets         VARCHAR[],            -- identity handles addressed
            conversation_id VARCHAR,
            in_reply_to     VARCHAR,
            kind            VARCHAR NOT NULL,
            visibility      VARCHAR NOT NULL,
            text            VARCHAR,
            value           DOUBLE,
            thread_derived  BOOLEAN DEFAULT FALSE, -- conversation_id computed from reply chains
            import_id       BIGINT
        );
        CREATE TABLE entities (
            entity_id    VARCHAR PRIMARY KEY,
            kind         VARCHAR NOT NULL DEFAULT 'person',  -- person, brand, company, system
            role         VARCHAR NOT NULL DEFAULT 'customer', -- customer, prospect, employee,
                                                              -- superuser, brand, partner
            display_name VARCHAR,
            attrs        JSON,
            created_at   TIMESTAMP DEFAULT current_timestamp
        );
        CREATE TABLE identities (
            handle     VARCHAR PRIMARY KEY,
            entity_id  VARCHAR NOT NULL,
            source     VARCHAR,
            link_rule  VARCHAR NOT NULL,  -- self, declared, same_email, same_handle, manual_merge
            evidence   VARCHAR,
            created_at TIMESTAMP DEFAULT current_timestamp
        );
        CREATE TABLE identity_merges (
            merge_id      BIGINT PRIMARY KEY,
            ts            TIMESTAMP DEFAULT current_timestamp,
            kept_entity   VARCHAR NOT NULL,
            merged_entity VARCHAR NOT NULL,
            moved         JSON NOT NULL,   -- [{handle, link_rule, evidence}] before the merge
            merged_row    JSON,            -- the merged entity's row, restored by unmerge
            reason        VARCHAR,
            undone_at     TIMESTAMP
        );
        CREATE SEQUENCE import_seq START 1;
        CREATE TABLE imports (
            import_id     BIGINT PRIMARY KEY,
            format        VARCHAR NOT NULL,
            path          VARCHAR NOT NULL,
            started_at    TIMESTAMP,
            finished_at   TIMESTAMP,
            rows_read     BIGINT,
            rows_inserted BIGINT,
            rows_duplicate BIGINT,
            rows_rejected BIGINT
        );
        CREATE TABLE quarantine (
            import_id BIGINT,
            file      VARCHAR NOT NULL,
            line      BIGINT,
            reason    VARCHAR NOT NULL,
            raw       VARCHAR
        );
        """,
    ),
    Migration(
        2,
        "API tokens (hashed, per-token salt) for the REST API and dashboard",
        """
        CREATE SEQUENCE api_token_seq START 1;
        CREATE TABLE api_tokens (
            token_id   BIGINT PRIMARY KEY,
            name       VARCHAR NOT NULL,
            role       VARCHAR NOT NULL,      -- admin, analyst, agent (api/permissions.py)
            entity_id  VARCHAR,               -- the staff entity an agent acts as, if any
            salt       VARCHAR NOT NULL,      -- per token, hex
            token_hash VARCHAR NOT NULL,      -- hex HMAC-SHA256(salt, secret); the secret is never stored
            created_at TIMESTAMP DEFAULT current_timestamp,
            revoked_at TIMESTAMP
        );
        """,
    ),
    Migration(
        3,
        "routing state: queue, invitations, agents, event log, conversation topics",
        """
        -- One row per conversation routing has seen (socialcrm.routing.state).
        CREATE TABLE routing_queue (
            conversation_id    VARCHAR PRIMARY KEY,
            source             VARCHAR,
            channel            VARCHAR,
            visibility         VARCHAR,
            author             VARCHAR NOT NULL,   -- entity
            author_handle      VARCHAR,
            brands             VARCHAR[],          -- brand entities the conversation addresses
            arrived_at         TIMESTAMP NOT NULL,
            waiting_since      TIMESTAMP,
            last_author_id     VARCHAR,            -- the author's latest turn (reply target)
            urgency            VARCHAR,            -- level (policy urgency.levels)
            intent             VARCHAR,
            topics             VARCHAR[],
            sentiment          DOUBLE,
            priority           DOUBLE,
            reasons            JSON,               -- [{term, value, weight, contribution, text}]
            route              VARCHAR NOT NULL,   -- community | staff
            route_reason       VARCHAR,
            window_ends_at     TIMESTAMP,
            status             VARCHAR NOT NULL,   -- open, escalated, assigned, answered, resolved
            assignee           VARCHAR,            -- staff entity
            assigned_at        TIMESTAMP,
            first_response_at  TIMESTAMP,
            first_response_by  VARCHAR,
            first_response_due TIMESTAMP,
            resolution_due     TIMESTAMP,
            resolved_at        TIMESTAMP,
            resolved_by        VARCHAR,
            resolution         VARCHAR,            -- accepted, acknowledged, quiet, agent
            reassignments      INTEGER NOT NULL DEFAULT 0,
            updated_at         TIMESTAMP NOT NULL
        );
        CREATE TABLE routing_invitations (
            conversation_id VARCHAR NOT NULL,
            candidate       VARCHAR NOT NULL,      -- entity
            score           DOUBLE,
            reasons         JSON,
            invited_at      TIMESTAMP NOT NULL,
            expires_at      TIMESTAMP,
            status          VARCHAR NOT NULL,      -- pending, answered, expired
            PRIMARY KEY (conversation_id, candidate)
        );
        -- Agents' open load: the row each claim locks, so a per-agent cap holds under races.
        CREATE TABLE routing_agents (
            agent            VARCHAR PRIMARY KEY,  -- staff entity
            open_assignments INTEGER NOT NULL DEFAULT 0,
            last_assigned_at TIMESTAMP
        );
        CREATE SEQUENCE routing_event_seq START 1;
        CREATE TABLE routing_events (
            event_id        BIGINT PRIMARY KEY,
            ts              TIMESTAMP NOT NULL,    -- the routing clock (may be a replayed time)
            recorded_at     TIMESTAMP DEFAULT current_timestamp,
            conversation_id VARCHAR NOT NULL,
            kind            VARCHAR NOT NULL,      -- queued, invited, escalated, assigned, claimed,
                                                   -- replied, reassigned, resolved, reopened
            actor           VARCHAR,
            detail          JSON
        );
        -- Topics of a conversation beyond its text (Stack Exchange tags, CRM categories).
        CREATE TABLE conversation_topics (
            conversation_id VARCHAR NOT NULL,
            topic           VARCHAR NOT NULL,
            origin          VARCHAR NOT NULL,      -- tag, category, ...
            PRIMARY KEY (conversation_id, topic)
        );
        """,
    ),
    Migration(
        4,
        "entities and identities without primary-key indexes (keys kept unique by their writers)",
        # DuckDB keeps a primary key as an ART index over the strings: for the ~1M new
        # handles of a 10M-row import it cost ~1.2 s of 11 s (inserts and the index
        # written at commit), a tenth of the import. Every writer of these two tables
        # adds only keys that are not there (ingest.identities, routing.state's reply),
        # one transaction at a time (store.locks, migration 5); lookups by key read the
        # few row groups whose min/max can hold it, since new keys are inserted sorted.
        """
        CREATE TABLE entities_v4 (
            entity_id    VARCHAR NOT NULL,
            kind         VARCHAR NOT NULL DEFAULT 'person',
            role         VARCHAR NOT NULL DEFAULT 'customer',
            display_name VARCHAR,
            attrs        JSON,
            created_at   TIMESTAMP DEFAULT current_timestamp
        );
        INSERT INTO entities_v4 SELECT entity_id, kind, role, display_name, attrs, created_at
            FROM entities ORDER BY entity_id;
        DROP TABLE entities;
        ALTER TABLE entities_v4 RENAME TO entities;
        CREATE TABLE identities_v4 (
            handle     VARCHAR NOT NULL,
            entity_id  VARCHAR NOT NULL,
            source     VARCHAR,
            link_rule  VARCHAR NOT NULL,
            evidence   VARCHAR,
            created_at TIMESTAMP DEFAULT current_timestamp
        );
        INSERT INTO identities_v4 SELECT handle, entity_id, source, link_rule, evidence,
            created_at FROM identities ORDER BY handle;
        DROP TABLE identities;
        ALTER TABLE identities_v4 RENAME TO identities;
        """,
    ),
    Migration(
        5,
        "write_locks: the row that serialises writers of identities and entities",
        # See store.locks: without unique indexes, two transactions adding the same handle
        # must not both be open; each writer first updates this row.
        """
        CREATE TABLE write_locks (
            name   VARCHAR PRIMARY KEY,
            writes BIGINT NOT NULL DEFAULT 0
        );
        INSERT INTO write_locks (name) VALUES ('identities');
        """,
    ),
)


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the schema version a workspace is at (0 for an empty file)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description VARCHAR,"
        " applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0]
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Apply every migration newer than the workspace, each in its own transaction.

    Returns the version reached. A failing migration rolls back and leaves the
    workspace at the previous version.
    """
    version = current_version(con)
    for m in sorted(migrations, key=lambda m: m.version):
        if m.version <= version:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(m.sql)
            con.execute(
                "INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
                [m.version, m.description],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        version = m.version
    return version
