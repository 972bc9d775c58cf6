"""Serialise the transactions that add handles or entities.

No index keeps ``identities.handle`` or ``entities.entity_id`` unique (an ART index over
the strings costs a tenth of a large import: store.schema, migration 4). Each writer adds
only keys it does not find, which is safe one at a time; two open transactions on
different cursors would not see each other's keys. So each such transaction starts by
writing one row of ``write_locks``: DuckDB refuses a second transaction's write to a row
another open transaction has written, and :func:`begin_identity_write` waits for it.
"""

from __future__ import annotations

import time

import duckdb

IDENTITIES = "identities"


def begin_identity_write(con: duckdb.DuckDBPyConnection, *, wait_s: float = 600.0) -> None:
    """``BEGIN`` a transaction that holds the identities write lock, waiting (up to
    ``wait_s``) while another open transaction holds it."""
    deadline = time.monotonic() + wait_s
    pause = 0.01
    while True:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("UPDATE write_locks SET writes = writes + 1 WHERE name = ?", [IDENTITIES])
            return
        except duckdb.TransactionException:
            con.execute("ROLLBACK")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"another import or identity change held the workspace for {wait_s:g} s;"
                    " try again when it has finished"
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
