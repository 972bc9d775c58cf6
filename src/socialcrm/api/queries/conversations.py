"""Conversations: list with filters, one with its messages and labels (where stages ran)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from socialcrm.api.auth import Caller
from socialcrm.api.common import ApiError, page
from socialcrm.api.queries.entities import resolve_entity, visible_timeline
from socialcrm.api.queries.routing import queue_row
from socialcrm.api.service import Service
from socialcrm.api.stages import missing_note, present_note

LABEL_FILTERS = ("pattern", "customer_degree", "business_degree", "typology", "intent")
MAX_MESSAGES = 1000


def list_conversations(
    svc: Service,
    caller: Caller,
    *,
    channel: str | None = None,
    entity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    awaiting_reply: bool | None = None,
    labels: dict[str, str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Conversations, most recently active first; each with its labels once the
    conversation stage ran; private ones only for private roles."""
    m = svc.model
    labelled = m.usable("conversations")
    stage = present_note("conversations") if labelled else missing_note("conversations", m.columns)
    wanted = {k: v for k, v in (labels or {}).items() if v is not None}
    if wanted and not labelled:
        return page([], limit, offset, stage=stage)
    where, params = ["TRUE"], []
    if not caller.sees_private:
        where.append("NOT c.private")
    if channel is not None:
        where.append("list_contains(c.channels, ?)")
        params.append(channel)
    if since is not None:
        where.append("c.last_ts >= ?")
        params.append(since)
    if until is not None:
        where.append("c.first_ts < ?")
        params.append(until)
    if awaiting_reply is not None:
        where.append("(c.last_by = c.started_by) = ?")
        params.append(awaiting_reply)
    if entity is not None:
        eid = resolve_entity(svc, entity)
        ids = visible_timeline(m, caller, eid).column("conversation_id").unique().to_pylist()
        where.append("c.conversation_id IN (SELECT unnest(?))")
        params.append(ids)
    join, select = "", ""
    if labelled:
        cols = m.columns["conversations"]
        for key, value in wanted.items():
            if key not in cols:
                raise ApiError(
                    400,
                    f"conversations have no label {key!r} here; labels: {', '.join(cols)}",
                )
            where.append(f'CAST(l."{key}" AS VARCHAR) = ?')
            params.append(value)
        select = ", " + svc.select_list("conversations", "l", exclude=("conversation_id",))
        join = "LEFT JOIN conversations l ON l.conversation_id = c.conversation_id"
    rows = svc.rows(
        f"""SELECT c.conversation_id, c.messages, c.private_messages, c.private,
                   strftime(c.first_ts, '%Y-%m-%dT%H:%M:%SZ') AS first_ts,
                   strftime(c.last_ts, '%Y-%m-%dT%H:%M:%SZ') AS last_ts,
                   c.channels, c.participants, c.started_by, c.last_by,
                   c.first_text{select}
            FROM {m.cache_db}.conv c {join}
            WHERE {" AND ".join(where)}
            ORDER BY c.last_ts DESC, c.conversation_id LIMIT ? OFFSET ?""",
        [*params, limit + 1, offset],
    )
    return page(rows, limit, offset, stage=stage)


def get_conversation(
    svc: Service, caller: Caller, conversation_id: str, limit: int = MAX_MESSAGES
) -> dict[str, Any]:
    """A conversation: summary, labels with their reasons, messages with their labels,
    its place in the routing queue."""
    m = svc.model
    conv = m.conversations.first(conversation_id)
    if conv is None or (conv["private"] and not caller.sees_private):
        raise ApiError(404, f"no conversation with that id visible to role {caller.role!r}")
    out: dict[str, Any] = {"conversation": conv, "stages": {}}
    if m.usable("conversations"):
        labels = svc.rows(
            f"SELECT {svc.select_list('conversations', 'l')} FROM conversations l"
            " WHERE l.conversation_id = ?",
            [conversation_id],
        )
        out["labels"] = labels[0] if labels else None
    else:
        out["labels"] = None
        out["stages"]["conversations"] = missing_note("conversations", m.columns)
    out["messages"] = svc.rows(
        """SELECT i.interaction_id, strftime(i.ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, i.channel,
                  i.kind, i.visibility, i.actor,
                  (SELECT entity_id FROM identities WHERE handle = i.actor) AS actor_entity,
                  i.targets, i.in_reply_to, i.text, i.value
           FROM interactions i
           WHERE coalesce(i.conversation_id, i.interaction_id) = ?
           ORDER BY i.ts, i.interaction_id LIMIT ?""",
        [conversation_id, limit],
    )
    if m.usable("message_labels"):
        by_id = {
            r.pop("interaction_id"): r
            for r in svc.rows(
                f"SELECT {svc.select_list('message_labels', 'l')} FROM message_labels l"
                " WHERE l.interaction_id IN (SELECT unnest(?))",
                [[x["interaction_id"] for x in out["messages"]]],
            )
        }
        for msg in out["messages"]:
            msg["labels"] = by_id.get(msg["interaction_id"])
    else:
        out["stages"]["message_labels"] = missing_note("message_labels", m.columns)
    out["queue"] = queue_row(svc, caller, conversation_id)
    if not m.usable("routing_queue"):
        out["stages"]["routing_queue"] = missing_note("routing_queue", m.columns)
    return out
