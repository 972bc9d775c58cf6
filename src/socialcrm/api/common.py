"""Shared pieces of the service: errors a user can act on, pages, filters."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from fastapi.responses import JSONResponse


class ApiError(Exception):
    """An error with an HTTP status and a message that says what to do.

    ``stage`` carries the note of a stage table that is not there yet
    (:func:`socialcrm.api.stages.missing_note`).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        stage: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            409: "conflict",
            413: "too_large",
            422: "invalid",
        }.get(status, "error")
        self.stage = stage

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"status": self.status, "code": self.code, "message": self.message}
        if self.stage is not None:
            err["stage"] = self.stage
        return {"error": err}


def page(items: list[dict[str, Any]], limit: int, offset: int, **extra: Any) -> dict[str, Any]:
    """A page of a list; ``items`` holds up to ``limit + 1`` rows (the extra says more exist)."""
    more = len(items) > limit
    out: dict[str, Any] = {
        "items": items[:limit],
        "limit": limit,
        "offset": offset,
        "has_more": more,
        "next_offset": offset + limit if more else None,
    }
    out.update(extra)
    return out


def like_pattern(text: str) -> str:
    """``%text%`` for ILIKE with ``\\`` escaping the wildcards a user typed."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def naive_utc(value: datetime | None) -> datetime | None:
    """Timestamps are stored as naive UTC; an aware bound is converted, a naive one is UTC."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def arrow_filter(table: pa.Table, **equals: Any) -> pa.Table:
    """Rows of ``table`` whose columns equal the given values (``None`` = no filter)."""
    mask = None
    for column, value in equals.items():
        if value is None:
            continue
        m = pc.equal(table.column(column), pa.scalar(value, table.schema.field(column).type))
        mask = m if mask is None else pc.and_(mask, m)
    return table if mask is None else table.filter(pc.fill_null(mask, False))


def arrow_between(table: pa.Table, column: str, since: str | None, until: str | None) -> pa.Table:
    """Rows whose ISO-string ``column`` lies in [since, until) (ISO strings sort as time)."""
    if since is not None:
        table = table.filter(pc.fill_null(pc.greater_equal(table.column(column), since), False))
    if until is not None:
        table = table.filter(pc.fill_null(pc.less(table.column(column), until), False))
    return table


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "as_py"):  # Arrow scalars
        return value.as_py()
    if hasattr(value, "tolist"):  # NumPy arrays and scalars (a scalar's tolist is a number)
        return value.tolist()
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


class ApiJSONResponse(JSONResponse):
    """JSON that is always valid: NaN and infinities become null, dates ISO strings.

    orjson writes the same text as ``json.dumps`` with those rules, several times faster
    (a 50-row queue page is most of a request's cost); ``json`` is the fallback for what
    orjson refuses (integers beyond 64 bits).
    """

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else dumps(content)


def dumps(content: Any) -> bytes:
    """JSON text of ``content`` as :class:`ApiJSONResponse` writes it."""
    try:
        return orjson.dumps(content, default=_default, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        text = json.dumps(_finite(content), default=_default, ensure_ascii=False)
        return text.encode("utf-8")
