"""Entities: search, one entity with its identities, its timeline, merges."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from socialcrm.api.auth import Caller
from socialcrm.api.common import ApiError, arrow_between, arrow_filter, like_pattern, page
from socialcrm.api.readmodel import ReadModel, Rows
from socialcrm.api.service import Service
from socialcrm.ingest.identities import IdentityError


def resolve_entity(svc: Service, entity_or_handle: str) -> str:
    """The entity id for an entity id or any of its handles; 404 when neither exists."""
    m = svc.model
    if entity_or_handle in m.entities:
        return entity_or_handle
    found = svc.scalar(
        "SELECT entity_id FROM identities WHERE handle = ? LIMIT 1", [entity_or_handle]
    )
    if found is not None:
        return str(found)
    raise ApiError(
        404,
        f"no entity or handle {entity_or_handle!r}; search with GET /api/v1/entities?q=...",
    )


def search(
    svc: Service,
    q: str | None,
    role: str | None,
    kind: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Entities whose id, name or any handle contains ``q``; exact matches first, then the
    most active."""
    m = svc.model
    params: list[Any] = []
    where = ["TRUE"]
    exact = ""
    if q:
        pattern = like_pattern(q)
        where.append(
            "(e.entity_id ILIKE ? ESCAPE '\\' OR e.display_name ILIKE ? ESCAPE '\\'"
            " OR e.entity_id IN (SELECT entity_id FROM identities WHERE handle ILIKE ? ESCAPE '\\'))"
        )
        params += [pattern, pattern, pattern]
        exact = "(lower(e.entity_id) = lower(?) OR e.entity_id IN (SELECT entity_id FROM identities WHERE lower(handle) = lower(?)))"
    if role:
        where.append("e.role = ?")
        params.append(role)
    if kind:
        where.append("e.kind = ?")
        params.append(kind)
    activity_join, activity_col = "", "0"
    if m.usable("entity_activity"):
        activity_join = (
            "LEFT JOIN (SELECT entity_id, sum(sent + received) AS n FROM entity_activity"
            " GROUP BY entity_id) a ON a.entity_id = e.entity_id"
        )
        activity_col = "coalesce(a.n, 0)"
    exact_params = [q, q] if q else []
    rows = svc.rows(
        f"""SELECT e.entity_id, e.kind, e.role, e.display_name,
                   {activity_col}::BIGINT AS activity,
                   (SELECT count(*) FROM identities i WHERE i.entity_id = e.entity_id) AS handles
            FROM entities e {activity_join}
            WHERE {" AND ".join(where)}
            ORDER BY {exact + " DESC, " if q else ""}activity DESC, e.entity_id
            LIMIT ? OFFSET ?""",
        [*params, *exact_params, limit + 1, offset],
    )
    return page(rows, limit, offset, q=q)


def identities_of(m: ReadModel, entity_id: str) -> list[dict[str, Any]]:
    """The entity's handles, with the channel a handle's prefix names (``twitter:``...)."""
    return m.identities.rows(entity_id)


def entity(svc: Service, entity_or_handle: str) -> dict[str, Any]:
    m = svc.model
    eid = resolve_entity(svc, entity_or_handle)
    row = m.entities.first(eid) or {"entity_id": eid}
    row["identities"] = identities_of(m, eid)
    return row


def visible_timeline(m: ReadModel, caller: Caller, entity_id: str) -> Rows:
    """The entity's interactions, newest first, without private ones the caller may not see."""
    t = m.timeline.get(entity_id)
    if not caller.sees_private and t.num_rows:
        t = t.filter(pc.equal(t.column("visibility"), "public"))
    return t


def interaction_rows(t: Rows, caller: Caller) -> list[dict[str, Any]]:
    """Timeline rows as dicts; references into private conversations hidden from others."""
    rows = t.drop_columns(["entity_id"]).to_pylist()
    for r in rows:
        if r.pop("conv_private", False) and not caller.sees_private:
            r["conversation_id"] = None
            r["in_reply_to"] = None
    return rows  # the response encoder turns NaN into null


def timeline(
    svc: Service,
    caller: Caller,
    entity_or_handle: str,
    *,
    channel: str | None,
    kind: str | None,
    direction: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Every interaction the entity sent or received (all channels), newest first."""
    m = svc.model
    eid = resolve_entity(svc, entity_or_handle)
    t = visible_timeline(m, caller, eid)
    t = arrow_filter(t, channel=channel, kind=kind, direction=direction)
    t = arrow_between(t, "ts", since, until)
    items = interaction_rows(t.slice(offset, limit + 1), caller)
    return page(items, limit, offset, entity_id=eid)


def merge(svc: Service, keep: str, other: str, reason: str) -> dict[str, Any]:
    try:
        merge_id = svc.write(lambda ws: ws.merge(keep, other, reason))
    except IdentityError as exc:
        status = 404 if str(exc).startswith("no entity") else 409
        raise ApiError(status, str(exc)) from None
    return {
        "merge_id": merge_id,
        "kept": resolve_entity(svc, keep),
        "undo": f"POST /api/v1/entities/unmerge with merge_id {merge_id}",
    }


def unmerge(svc: Service, merge_id: int) -> dict[str, Any]:
    try:
        handles = svc.write(lambda ws: ws.unmerge(merge_id))
    except IdentityError as exc:
        status = 404 if str(exc).startswith("no merge") else 409
        raise ApiError(status, str(exc)) from None
    return {"merge_id": merge_id, "handles": handles}


def merges(svc: Service, entity_id: str | None, limit: int, offset: int) -> dict[str, Any]:
    where, params = "TRUE", []
    if entity_id:
        where = "(kept_entity = ? OR merged_entity = ?)"
        params = [entity_id, entity_id]
    rows = svc.rows(
        f"""SELECT merge_id, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, kept_entity,
                   merged_entity, CAST(moved AS VARCHAR) AS moved, reason,
                   strftime(undone_at, '%Y-%m-%dT%H:%M:%SZ') AS undone_at
            FROM identity_merges WHERE {where} ORDER BY merge_id DESC LIMIT ? OFFSET ?""",
        [*params, limit + 1, offset],
    )
    return page(rows, limit, offset)
