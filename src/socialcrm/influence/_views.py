"""The store's resolved views as SQL text, for the influence stages written in DuckDB SQL.

Velocity and tiers need window functions and an ASOF join that are clearest in SQL; they
read the same :mod:`socialcrm.store.views` definitions as every other stage (compiled by
Ibis), so identity resolution has one definition.
"""

from __future__ import annotations

import duckdb
import ibis
import pyarrow as pa

from socialcrm.store.views import edges, resolved_interactions


def view_sql(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """``{"resolved": SQL, "edges": SQL}`` over the workspace's canonical tables."""
    backend = ibis.duckdb.from_connection(con)
    interactions, identities = backend.table("interactions"), backend.table("identities")
    return {
        "resolved": str(backend.compile(resolved_interactions(interactions, identities))),
        "edges": str(backend.compile(edges(interactions, identities))),
    }


def arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """Run a query and return Arrow (finishing any pending result first, as DuckDB 2 needs)."""
    con.complete()
    return con.sql(sql).to_arrow_table()
