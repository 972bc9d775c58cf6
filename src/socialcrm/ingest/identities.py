"""Identity resolution: every handle maps to exactly one entity, with the rule that linked it.

Rules, in the order they apply (DESIGN.md "entities ... identities"):

* ``declared`` — a mapping file ``handle,entity`` (:func:`declare`) wins over everything;
* ``same_email`` — any handle that contains an e-mail address (``email:Ann@X.com``,
  ``salesforce:ann@x.com``) belongs to the entity ``email:<lowercased address>``;
* ``self`` — otherwise a new handle becomes its own entity (``entity_id = handle``);
* ``manual_merge`` — :func:`merge` moves every handle of one entity to another and keeps
  the previous links as evidence, so :func:`unmerge` restores them exactly.

Interactions keep the raw handle; stages resolve handles through ``identities``, so a
merge or an unmerge never rewrites history. These functions are the only writers that add
handles or entities, and each adds only keys not yet stored, one transaction at a time
(store.locks): uniqueness is theirs to keep, not an index's (store.schema, migration 4).
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from socialcrm.store.locks import begin_identity_write

EMAIL_RE = r"([A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,})"
ROLES = ("customer", "prospect", "employee", "superuser", "brand", "partner", "system")


class IdentityError(Exception):
    """A merge, unmerge or declaration that cannot be done; the message says why."""


def link_new_handles(
    con: duckdb.DuckDBPyConnection, import_id: int, hints: pa.Table | None = None
) -> int:
    """Create identities (and entities) for handles first seen in ``import_id``.

    Entity hints from the adapter (a brand, an employee) fill in kind, role and name of
    entities that still carry the defaults; they never overwrite a role set by hand.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _new_handles AS
        WITH seen AS (  -- one hash table over actors and targets together
            SELECT handle, any_value(source) AS source FROM (
                SELECT actor AS handle, source FROM interactions WHERE import_id = ?
                UNION ALL
                SELECT unnest(targets) AS handle, source FROM interactions
                WHERE import_id = ? AND len(targets) > 0)
            GROUP BY handle
        )
        SELECT handle, source, email, coalesce('email:' || email, handle) AS entity
        FROM (
            SELECT handle, source,
                   CASE WHEN contains(handle, '@')  -- skip the regex for most handles
                        THEN nullif(lower(regexp_extract(handle, '{EMAIL_RE}', 1)), '') END AS email
            FROM seen WHERE handle IS NOT NULL AND handle <> ''
              AND handle NOT IN (SELECT handle FROM identities))""",
        [import_id, import_id],
    )
    if hints is not None and hints.num_rows:
        con.complete()  # DuckDB 2 refuses register() while a result is unfetched
        con.register("_hints_in", hints)
        con.execute(
            """INSERT INTO _new_handles
            SELECT handle, NULL, email, coalesce('email:' || email, handle) FROM (
                SELECT DISTINCT h.handle, nullif(lower(regexp_extract(h.handle, ?, 1)), '') AS email
                FROM _hints_in h WHERE h.handle NOT IN (SELECT handle FROM identities)
                  AND h.handle NOT IN (SELECT handle FROM _new_handles))""",
            [EMAIL_RE],
        )
    _follow_merges(con)
    con.execute(
        """INSERT INTO entities (entity_id, kind, role)
        SELECT DISTINCT entity, 'person', 'customer' FROM _new_handles
        WHERE entity NOT IN (SELECT entity_id FROM entities)
        ORDER BY entity  -- keys in order: a lookup by key reads few row groups"""
    )
    n = con.execute(
        """INSERT INTO identities (handle, entity_id, source, link_rule, evidence)
        SELECT handle, entity, source,
               CASE WHEN email IS NULL OR handle = 'email:' || email THEN 'self'
                    ELSE 'same_email' END,
               nullif(concat_ws('; ',
                   CASE WHEN email IS NOT NULL AND handle <> 'email:' || email
                        THEN 'handle contains the address ' || email END,
                   CASE WHEN entity <> coalesce('email:' || email, handle)
                        THEN coalesce('email:' || email, handle) || ' is merged into ' || entity
                   END), '')
        FROM _new_handles ORDER BY handle"""
    ).fetchall()[0][0]
    if hints is not None and hints.num_rows:
        _apply_hints(con)
        con.unregister("_hints_in")
    con.execute("DROP TABLE _new_handles")
    return int(n)


def _follow_merges(con: duckdb.DuckDBPyConnection) -> None:
    """Send new handles of a merged-away entity to the entity it was merged into.

    Without this, a handle first seen after ``merge(A, B)`` whose rule points at B (same
    e-mail address) would re-create B, splitting the person again, and a later unmerge
    would collide with the re-created row. Merges chain (B into A, A into C), so follow
    them to the end; :func:`unmerge` sends these handles back.
    """
    active = con.execute("SELECT count(*) FROM identity_merges WHERE undone_at IS NULL")
    if not active.fetchall()[0][0]:
        return
    con.execute(
        """UPDATE _new_handles n SET entity = r.dst
        FROM (
            WITH RECURSIVE active AS (
                SELECT merged_entity AS src, kept_entity AS dst FROM identity_merges
                WHERE undone_at IS NULL),
            walk(src, dst, depth) AS (
                SELECT src, dst, 1 FROM active
                UNION ALL
                SELECT w.src, a.dst, w.depth + 1 FROM walk w JOIN active a ON a.src = w.dst
                WHERE w.depth < 64)
            SELECT src, arg_max(dst, depth) AS dst FROM walk GROUP BY src
        ) r
        WHERE n.entity = r.src"""
    )


def _apply_hints(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """UPDATE entities e SET
            kind = CASE WHEN e.kind = 'person' THEN coalesce(h.kind, e.kind) ELSE e.kind END,
            role = CASE WHEN e.role = 'customer' THEN coalesce(h.role, e.role) ELSE e.role END,
            display_name = coalesce(e.display_name, h.display_name),
            attrs = coalesce(e.attrs, CAST(h.attrs AS JSON))
        FROM (SELECT i.entity_id, any_value(x.kind) AS kind, any_value(x.role) AS role,
                     any_value(x.display_name) AS display_name, any_value(x.attrs) AS attrs
              FROM _hints_in x JOIN identities i USING (handle) GROUP BY i.entity_id) h
        WHERE e.entity_id = h.entity_id"""
    )


def entity_of(con: duckdb.DuckDBPyConnection, handle_or_entity: str) -> str:
    """The entity a handle or entity id refers to; raises if unknown."""
    row = con.execute(
        "SELECT entity_id FROM entities WHERE entity_id = ?"
        " UNION ALL SELECT entity_id FROM identities WHERE handle = ? LIMIT 1",
        [handle_or_entity, handle_or_entity],
    ).fetchone()
    if row is None:
        raise IdentityError(f"no entity or handle named {handle_or_entity!r}")
    return str(row[0])


def merge(con: duckdb.DuckDBPyConnection, keep: str, other: str, reason: str = "") -> int:
    """Move every handle of ``other`` to ``keep``; return the merge id (for unmerge)."""
    a, b = entity_of(con, keep), entity_of(con, other)
    if a == b:
        raise IdentityError(f"{keep!r} and {other!r} are already the same entity ({a})")
    begin_identity_write(con)
    try:
        moved = con.execute(
            "SELECT handle, link_rule, evidence FROM identities WHERE entity_id = ? ORDER BY handle",
            [b],
        ).fetchall()
        row = con.execute("SELECT to_json(e) FROM entities e WHERE entity_id = ?", [b]).fetchone()
        merge_id = con.execute(
            "SELECT coalesce(max(merge_id), 0) + 1 FROM identity_merges"
        ).fetchall()[0][0]
        con.execute(
            "INSERT INTO identity_merges (merge_id, kept_entity, merged_entity, moved,"
            " merged_row, reason) VALUES (?, ?, ?, ?, ?, ?)",
            [
                merge_id,
                a,
                b,
                json.dumps([{"handle": h, "link_rule": r, "evidence": e} for h, r, e in moved]),
                row[0] if row else None,
                reason,
            ],
        )
        con.execute(
            "UPDATE identities SET entity_id = ?, link_rule = 'manual_merge', evidence = ?"
            " WHERE entity_id = ?",
            [a, f"merge {merge_id}: {reason or 'merged by hand'}", b],
        )
        con.execute("DELETE FROM entities WHERE entity_id = ?", [b])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(merge_id)


def unmerge(con: duckdb.DuckDBPyConnection, merge_id: int) -> list[str]:
    """Undo a merge: the moved handles go back with their original rule and evidence."""
    row = con.execute(
        "SELECT kept_entity, merged_entity, moved, merged_row, undone_at FROM identity_merges"
        " WHERE merge_id = ?",
        [merge_id],
    ).fetchone()
    if row is None:
        raise IdentityError(f"no merge with id {merge_id} (see `socialcrm identities merges`)")
    kept, merged, moved_json, merged_row, undone = row
    if undone is not None:
        raise IdentityError(f"merge {merge_id} was already undone at {undone}")
    moved = json.loads(moved_json)
    begin_identity_write(con)
    try:
        entity = json.loads(merged_row) if merged_row else {"entity_id": merged}
        con.execute(
            "INSERT INTO entities (entity_id, kind, role, display_name, attrs, created_at)"
            " SELECT ?, ?, ?, ?, ?, coalesce(CAST(? AS TIMESTAMP), current_timestamp)"
            " WHERE NOT EXISTS (SELECT 1 FROM entities WHERE entity_id = ?)",  # re-declared since
            [
                merged,
                entity.get("kind", "person"),
                entity.get("role", "customer"),
                entity.get("display_name"),
                json.dumps(entity["attrs"]) if entity.get("attrs") is not None else None,
                entity.get("created_at"),
                merged,
            ],
        )
        # Handles first seen after the merge that followed it (see _follow_merges) go
        # back to the entity their own rule names.
        followed = con.execute(
            f"""UPDATE identities SET entity_id = ?,
                evidence = nullif(regexp_replace(evidence, '(; )?\\S+ is merged into .*$', ''), '')
            WHERE entity_id = ? AND link_rule IN ('self', 'same_email')
              AND coalesce('email:' || nullif(lower(regexp_extract(handle, '{EMAIL_RE}', 1)), ''),
                           handle) = ?
            RETURNING handle""",
            [merged, kept, merged],
        ).fetchall()
        for m in moved:
            con.execute(
                "UPDATE identities SET entity_id = ?, link_rule = ?, evidence = ?"
                " WHERE handle = ? AND entity_id = ?",
                [merged, m["link_rule"], m["evidence"], m["handle"], kept],
            )
        con.execute("UPDATE identity_merges SET undone_at = now() WHERE merge_id = ?", [merge_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return [m["handle"] for m in moved] + sorted(h for (h,) in followed)


def declare(con: duckdb.DuckDBPyConnection, mapping: pa.Table) -> int:
    """Link handles to entities from a declared mapping (columns ``handle``, ``entity``)."""
    con.complete()  # DuckDB 2 refuses register() while a result is unfetched
    con.register("_declared", mapping)
    begin_identity_write(con)
    try:
        conflicts = con.execute(
            """SELECT handle, list(DISTINCT entity ORDER BY entity) FROM _declared
            GROUP BY handle HAVING count(DISTINCT entity) > 1 ORDER BY handle LIMIT 5"""
        ).fetchall()
        if conflicts:
            shown = "; ".join(f"{h} -> {', '.join(e)}" for h, e in conflicts)
            raise IdentityError(f"the mapping links a handle to more than one entity: {shown}")
        con.execute(
            """INSERT INTO entities (entity_id) SELECT DISTINCT entity FROM _declared
            WHERE entity NOT IN (SELECT entity_id FROM entities) ORDER BY 1"""
        )
        # A declared link replaces whatever rule linked the handle before.
        con.execute("DELETE FROM identities WHERE handle IN (SELECT handle FROM _declared)")
        n = con.execute(
            """INSERT INTO identities (handle, entity_id, source, link_rule, evidence)
            SELECT DISTINCT handle, entity, 'declared', 'declared', 'mapping file'
            FROM _declared ORDER BY handle"""
        ).fetchall()[0][0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_declared")
    return int(n)
