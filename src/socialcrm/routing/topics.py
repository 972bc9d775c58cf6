"""Topics of conversations beyond their words: Stack Exchange tags into ``conversation_topics``.

Tags are not part of the canonical interaction contract (DESIGN.md), yet they are the
best evidence of what a question is about and who has answered that before (tag
expertise; seed 001's "expert in the topic"). The Stack Exchange adapter returns them
with :func:`socialcrm.ingest.stackexchange.read_post_meta`; this module stores them once
per dump, keyed by conversation, for routing to read.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from socialcrm.ingest.stackexchange import read_post_meta


def store_topics(con: duckdb.DuckDBPyConnection, topics: pa.Table, origin: str) -> int:
    """Insert ``(conversation_id, topic)`` rows not stored yet; returns how many were new."""
    con.register("_rt_topics", topics)
    try:
        return int(
            con.execute(
                """INSERT INTO conversation_topics (conversation_id, topic, origin)
                SELECT DISTINCT conversation_id, topic, ? FROM _rt_topics t
                WHERE topic IS NOT NULL AND topic <> '' AND NOT EXISTS (
                    SELECT 1 FROM conversation_topics c
                    WHERE c.conversation_id = t.conversation_id AND c.topic = t.topic)""",
                [origin],
            ).fetchall()[0][0]
        )
    finally:
        con.unregister("_rt_topics")


def stackexchange_tags(
    con: duckdb.DuckDBPyConnection, dump: str | Path, source: str | None = None
) -> int:
    """Store the tags of every question of a Stack Exchange dump as its topics."""
    meta = read_post_meta(Path(dump), source)
    questions = meta.filter(pa.compute.equal(meta["post_type"], "question"))
    flat = questions.select(["conversation_id", "tags"]).to_pandas().explode("tags")
    flat = flat.rename(columns={"tags": "topic"}).dropna()
    return store_topics(con, pa.Table.from_pandas(flat, preserve_index=False), "tag")


def tags_from_imports(con: duckdb.DuckDBPyConnection) -> int:
    """Store tags for every imported Stack Exchange dump whose directory is still there.

    Routing calls this before it reads topics, so a workspace built with
    ``socialcrm ingest stackexchange DIR`` routes by tag without another step.
    Dumps whose tags are already stored are skipped.
    """
    rows = con.execute(
        """SELECT DISTINCT m.path FROM imports m
           WHERE m.format = 'stackexchange' AND m.rows_inserted > 0"""
    ).fetchall()
    added = 0
    for (path,) in rows:
        dump = Path(path)
        if not (dump / "Posts.xml").is_file():
            continue
        source = con.execute(
            "SELECT any_value(source) FROM interactions i JOIN imports m USING (import_id)"
            " WHERE m.path = ?",
            [path],
        ).fetchall()[0][0]
        if source is None:
            continue
        done = con.execute(
            "SELECT count(*) FROM conversation_topics WHERE origin = 'tag'"
            " AND starts_with(conversation_id, ?)",
            [f"{source}:q:"],
        ).fetchall()[0][0]
        if done:
            continue
        added += stackexchange_tags(con, dump, source)
    return added
