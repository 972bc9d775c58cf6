"""Thread interactions into conversations from reply chains.

A conversation is a first message and everything that replies to it, directly or not
(SOCIABILITY.md). Adapters that know the thread (an IBM dialogue, a Stack Exchange
question, an e-mail's ``References``) set ``conversation_id`` themselves; for the rest
the root is found by following ``in_reply_to`` upwards:

* a missing parent (not imported, deleted) ends the chain: the earliest message that
  is present is the root;
* a cycle (corrupt exports do contain them) gets the smallest id on the cycle as root;
* a chain reaching a message whose thread is native joins that thread.

Roots are found by pointer jumping over the reply links (each round doubles the
distance jumped), so threading costs O(log depth) set operations, not a walk per row.
A message that replies to nothing keeps ``conversation_id`` NULL and is read as its own
conversation (``coalesce(conversation_id, interaction_id)`` in the views): no write is
spent on the common case.
"""

from __future__ import annotations

import duckdb

MAX_ROUNDS = 64


def assign_conversations(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)derive ``conversation_id`` for every reply without a native thread id.

    Returns the number of interactions whose conversation was derived.
    """
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _links AS
        SELECT c.interaction_id AS id,
               CASE WHEN p.interaction_id IS NULL THEN c.interaction_id
                    ELSE p.interaction_id END AS ptr,
               least(c.interaction_id, coalesce(p.interaction_id, c.interaction_id)) AS mn
        FROM interactions c
        LEFT JOIN interactions p ON p.interaction_id = c.in_reply_to
        WHERE c.in_reply_to IS NOT NULL AND (c.conversation_id IS NULL OR c.thread_derived)"""
    )
    n = con.execute("SELECT count(*) FROM _links").fetchall()[0][0]
    if n == 0:
        con.execute("DROP TABLE _links")
        return 0
    # Parents that are not themselves replies-to-be-derived are fixed points. ``root`` marks
    # the true roots (a message pointing at itself from the start): after the jumps a
    # cycle of 2, 4, 8... messages also points at itself, and must not pass for a root.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _nodes AS
        SELECT id, ptr, mn, id = ptr AS root FROM _links
        UNION ALL
        SELECT DISTINCT ptr, ptr, ptr, TRUE FROM _links WHERE ptr NOT IN (SELECT id FROM _links)"""
    )
    # After r rounds ``ptr`` is 2^r steps up the chain and ``mn`` the smallest id on the
    # way. Chains to a root settle first (the count of moving nodes then stops falling);
    # what still moves is on or leads into a cycle, no longer than the count of moving
    # nodes, so rounds go on until 2^r covers that length.
    previous, rounds, settled = -1, 0, False
    while rounds < MAX_ROUNDS:
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _next AS
            SELECT a.id, b.ptr, least(a.mn, b.mn) AS mn, a.root, a.ptr <> b.ptr AS moved
            FROM _nodes a JOIN _nodes b ON b.id = a.ptr"""
        )
        moved = con.execute("SELECT count(*) FROM _next WHERE moved").fetchall()[0][0]
        con.execute("CREATE OR REPLACE TEMP TABLE _nodes AS SELECT id, ptr, mn, root FROM _next")
        rounds += 1
        settled = settled or moved == previous
        if moved == 0 or (settled and 2**rounds > moved):
            break
        previous = moved
    con.execute(
        """UPDATE interactions i SET
            conversation_id = r.conversation_id, thread_derived = TRUE
        FROM (
            SELECT n.id,
                   CASE WHEN p.root  -- the chain ends at a root: its native thread, or itself
                        THEN coalesce(CASE WHEN NOT coalesce(ri.thread_derived, FALSE)
                                           THEN ri.conversation_id END, n.ptr)
                        ELSE p.mn END AS conversation_id  -- on or into a cycle: its smallest id
            FROM _nodes n JOIN _nodes p ON p.id = n.ptr
            LEFT JOIN interactions ri ON ri.interaction_id = n.ptr
        ) r
        WHERE i.interaction_id = r.id AND i.in_reply_to IS NOT NULL
          AND (i.conversation_id IS NULL OR i.thread_derived)
          AND i.conversation_id IS DISTINCT FROM r.conversation_id"""
    )
    for t in ("_links", "_nodes", "_next"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return int(n)
