"""The routing queue (issue 6; seed 001): list it, and claim, answer, resolve through it.

The queue, its state and the atomic claim belong to the routing stage. This module only
reads ``routing_queue`` and calls the Workspace's routing operations; until the stage
exists, the list is empty and the actions answer ``404`` saying what is missing.

The operations are the routing stage's: ``claim(conversation_id, agent)``,
``reply(conversation_id, agent, text=...)``, ``resolve(conversation_id, agent, note=...)``,
taken from :class:`~socialcrm.workspace.Workspace` when it offers them, else from
:mod:`socialcrm.routing.api` (``op(ws, conversation_id, agent, ...)``). The agent is the
token's staff entity (``socialcrm tokens create --entity``), else the token's name. A
claim that loses a race, a conversation held by someone else, or an agent who is not
staff are answered ``409`` with the stage's message; an unknown conversation ``404``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from socialcrm.api.auth import Caller
from socialcrm.api.common import ApiError, dumps, page
from socialcrm.api.readmodel import QueueView
from socialcrm.api.service import Service
from socialcrm.api.stages import missing_note, present_note

OPERATIONS = ("claim", "reply", "resolve")
CLOSED_STATUSES = frozenset({"resolved", "closed", "done"})
MAX_CACHED_PAGES = 32  # first pages kept per queue version (see :func:`queue_json`)


def _text_equal(table: pa.Table, column: str, value: str) -> pa.Array:
    return pc.fill_null(pc.equal(pc.cast(table.column(column), pa.string()), value), False)


def queue(
    svc: Service,
    caller: Caller,
    *,
    status: str | None,
    assignee: str | None,
    limit: int,
    offset: int,
    include_resolved: bool = False,
    unassigned: bool = False,
) -> dict[str, Any]:
    """Conversations in the queue by priority, each with its reasons, SLA and assignee
    (resolved ones only when asked for; only those nobody holds with ``unassigned``)."""
    view = svc.queue_view()
    if view is None:
        m = svc.model
        return page([], limit, offset, stage=missing_note("routing_queue", m.columns))
    with_closed = include_resolved or status is not None
    t = _listable(view, caller.sees_private, with_closed)
    for column, value in (("status", status), ("assignee", assignee)):
        if value is not None:
            if column not in t.column_names:
                return page([], limit, offset, stage=present_note("routing_queue"))
            t = t.filter(_text_equal(t, column, value))
    if unassigned and "assignee" in t.column_names:
        t = t.filter(pc.is_null(t.column("assignee")))
    rows = view.rows(t.slice(offset, limit + 1))
    stage = present_note("routing_queue")
    if view.ordered.num_rows == 0:
        stage = {
            "table": "routing_queue",
            "available": True,
            "detail": "the routing queue is empty: routing has not run, or nothing is waiting",
            "how_to_fill": "run `socialcrm analyze` (the routing stage queues open conversations)",
        }
    return page(rows, limit, offset, total=t.num_rows, stage=stage)


def queue_json(
    svc: Service,
    caller: Caller,
    *,
    status: str | None,
    assignee: str | None,
    limit: int,
    offset: int,
    include_resolved: bool = False,
    unassigned: bool = False,
) -> bytes:
    """:func:`queue` as JSON text. A page of one queue version never changes, so the first
    pages agents poll are kept rendered (a few per version): encoding a 50-row page costs
    more than the rest of the request."""
    view = svc.queue_view()
    key = ("json", caller.sees_private, include_resolved, status, assignee, unassigned, limit)
    cached = view.derived.get(key) if view is not None and offset == 0 else None
    if cached is not None:
        return cached
    body = dumps(
        queue(
            svc,
            caller,
            status=status,
            assignee=assignee,
            limit=limit,
            offset=offset,
            include_resolved=include_resolved,
            unassigned=unassigned,
        )
    )
    if view is not None and offset == 0 and len(view.derived) < MAX_CACHED_PAGES:
        view.derived[key] = body
    return body


def _listable(view: QueueView, sees_private: bool, with_closed: bool) -> pa.Table:
    """The queue in priority order as a caller may list it, filtered once per queue version:
    a filter copies every column (about 1 ms per 10,000 rows), too much for every request."""
    key = ("listable", sees_private, with_closed)
    t = view.derived.get(key)
    if t is None:
        t = view.ordered
        if not sees_private:
            t = t.filter(pc.invert(t.column("_private")))
        if not with_closed:
            closed = pc.is_in(
                pc.utf8_lower(pc.cast(t.column("status"), pa.string())),
                pa.array(sorted(CLOSED_STATUSES)),
            )
            t = t.filter(pc.invert(pc.fill_null(closed, False)))
        view.derived[key] = t
    return t


def queue_row(svc: Service, caller: Caller, conversation_id: str) -> dict[str, Any] | None:
    """The queue row of a conversation the caller may see, if it is queued."""
    view = svc.queue_view()
    if view is None:
        return None
    row = view.row(conversation_id)
    if row is None or (row.pop("_private") and not caller.sees_private):
        return None
    return row


def act(
    svc: Service, caller: Caller, operation: str, conversation_id: str, **fields: Any
) -> dict[str, Any]:
    """Claim, reply to or resolve a conversation through the routing stage."""
    m = svc.model
    op = routing_operation(svc.ws, operation)
    if not m.usable("routing_queue"):
        raise ApiError(
            404,
            f"the routing queue is not in this workspace yet, so there is nothing to {operation}",
            stage=missing_note("routing_queue", m.columns),
        )
    if op is None:
        raise ApiError(
            404, f"this installation's routing stage offers no `{operation}` operation yet"
        )
    conv = m.conversations.first(conversation_id)
    if conv is None or (conv["private"] and not caller.sees_private):
        raise ApiError(404, f"no conversation with that id visible to role {caller.role!r}")
    if queue_row(svc, caller, conversation_id) is None:
        raise ApiError(404, "that conversation is not in the routing queue")
    agent = caller.entity_id or caller.name
    try:
        result = svc.write(lambda ws: op(conversation_id, agent, **fields))
    except LookupError as exc:
        raise ApiError(404, str(exc)) from None
    except (ValueError, PermissionError, *_routing_errors()) as exc:
        raise ApiError(409, str(exc)) from None
    return {
        "conversation_id": conversation_id,
        "operation": operation,
        "agent": agent,
        "result": result,
    }


def routing_operation(ws: Any, operation: str) -> Callable[..., Any] | None:
    """``claim``/``reply``/``resolve`` as ``op(conversation_id, agent, **fields)``, or None."""
    method = getattr(ws, operation, None)
    if callable(method):
        return method
    try:
        from socialcrm.routing import api as routing_api
    except ImportError:
        return None
    function = getattr(routing_api, operation, None)
    if not callable(function):
        return None
    return lambda conversation_id, agent, **fields: function(ws, conversation_id, agent, **fields)


def _routing_errors() -> tuple[type[Exception], ...]:
    try:
        from socialcrm.routing.state import RoutingError
    except ImportError:
        return ()
    return (RoutingError,)
