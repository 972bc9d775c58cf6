"""Interactions: list with filters, one by id, batch upload through the canonical importer."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from socialcrm.api.auth import Caller
from socialcrm.api.common import ApiError, like_pattern, page
from socialcrm.api.service import Service
from socialcrm.ingest.base import InputError
from socialcrm.ingest.loader import ImportReport

COLUMNS = (
    "i.interaction_id, i.source, i.channel, strftime(i.ts, '%Y-%m-%dT%H:%M:%SZ') AS ts,"
    " i.actor, i.targets, coalesce(i.conversation_id, i.interaction_id) AS conversation_id,"
    " i.in_reply_to, i.kind, i.visibility, i.text, i.value"
)
UPLOAD_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet", ".pq")
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_JSON_ROWS = 50_000


def _mask(svc: Service, caller: Caller, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hide references into private conversations from callers who may not see them."""
    if caller.sees_private or not rows:
        return rows
    conv_ids = list({r["conversation_id"] for r in rows if r.get("conversation_id")})
    private = {
        r["conversation_id"]
        for r in svc.rows(
            f"SELECT conversation_id FROM {svc.model.cache_db}.conv"
            " WHERE private AND conversation_id IN (SELECT unnest(?))",
            [conv_ids],
        )
    }
    for r in rows:
        if r.get("conversation_id") in private:
            r["conversation_id"] = None
            r["in_reply_to"] = None
    return rows


def list_interactions(
    svc: Service,
    caller: Caller,
    *,
    channel: str | None = None,
    kind: str | None = None,
    source: str | None = None,
    visibility: str | None = None,
    actor: str | None = None,
    conversation_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: str | None = None,
    order: str = "desc",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Interactions, newest first, filtered; private ones only for private roles."""
    where, params = ["TRUE"], []
    for column, value in (
        ("channel", channel),
        ("kind", kind),
        ("source", source),
        ("visibility", visibility),
        ("actor", actor),
    ):
        if value is not None:
            where.append(f"i.{column} = ?")
            params.append(value)
    if conversation_id is not None:
        where.append("coalesce(i.conversation_id, i.interaction_id) = ?")
        params.append(conversation_id)
    if since is not None:
        where.append("i.ts >= ?")
        params.append(since)
    if until is not None:
        where.append("i.ts < ?")
        params.append(until)
    if q:
        where.append("i.text ILIKE ? ESCAPE '\\'")
        params.append(like_pattern(q))
    if not caller.sees_private:
        where.append("i.visibility = 'public'")
    direction = "ASC" if order == "asc" else "DESC"
    rows = svc.rows(
        f"SELECT {COLUMNS} FROM interactions i WHERE {' AND '.join(where)}"
        f" ORDER BY i.ts {direction}, i.interaction_id LIMIT ? OFFSET ?",
        [*params, limit + 1, offset],
    )
    if conversation_id is not None and not caller.sees_private and rows:
        conv = svc.model.conversations.first(conversation_id)
        if conv is not None and conv["private"]:
            rows = []  # a private conversation is not listed piecemeal either
    return page(_mask(svc, caller, rows), limit, offset)


def get_interaction(svc: Service, caller: Caller, interaction_id: str) -> dict[str, Any]:
    """One interaction with its resolved entities and its labels (if the stage ran)."""
    rows = svc.rows(
        f"""SELECT {COLUMNS},
                   (SELECT entity_id FROM identities WHERE handle = i.actor) AS actor_entity
            FROM interactions i WHERE i.interaction_id = ?""",
        [interaction_id],
    )
    if not rows or (rows[0]["visibility"] == "private" and not caller.sees_private):
        raise ApiError(404, f"no interaction with that id visible to role {caller.role!r}")
    row = _mask(svc, caller, rows)[0]
    m = svc.model
    if m.usable("message_labels"):
        labels = svc.rows(
            f"SELECT {svc.select_list('message_labels', 'l', exclude=('interaction_id',))}"
            " FROM message_labels l WHERE l.interaction_id = ?",
            [interaction_id],
        )
        row["labels"] = labels[0] if labels else None
    return row


# -- upload -----------------------------------------------------------------------------
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_source(name: str) -> str:
    """A source name from an uploaded file's name: letters, digits, ``._-`` only."""
    stem = _SAFE.sub("-", Path(name).name).strip("-.") or "upload"
    for suffix in sorted(UPLOAD_SUFFIXES, key=len, reverse=True):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return stem[:100] or "upload"


def report_dict(report: ImportReport, display_path: str, tmp_dir: str) -> dict[str, Any]:
    """The CLI's import report as JSON, with the upload's name in place of the temp path."""
    return {
        "import_id": report.import_id,
        "file": display_path,
        "rows_read": report.rows_read,
        "rows_stored": report.rows_inserted,
        "rows_duplicate": report.rows_duplicate,
        "rows_rejected": report.rows_rejected,
        "seconds": round(report.seconds, 3),
        "rejects": [
            {
                "line": r.line,
                "reason": r.reason.replace(tmp_dir, "").lstrip("/"),
                "raw": r.raw,
            }
            for r in report.rejects
        ],
        "more_rejects": f"GET /api/v1/quarantine?import_id={report.import_id}"
        if report.rows_rejected > len(report.rejects)
        else None,
    }


def upload_file(svc: Service, filename: str, fileobj: Any, source: str | None) -> dict[str, Any]:
    """Import an uploaded canonical CSV / JSON Lines / Parquet file, exactly as the CLI does."""
    name = Path(filename or "upload.csv").name
    lowered = name.lower()
    if not lowered.endswith(UPLOAD_SUFFIXES):
        raise ApiError(
            400,
            f"{name}: unknown extension; upload a canonical .csv, .jsonl or .parquet file"
            " (see the canonical format in the README)",
        )
    src = source or safe_source(name)
    tmp_dir = tempfile.mkdtemp(prefix="socialcrm-upload-")
    try:
        path = Path(tmp_dir) / (_SAFE.sub("-", name) or "upload.csv")
        with path.open("wb") as out:
            copied = 0
            while chunk := fileobj.read(1 << 20):
                copied += len(chunk)
                if copied > MAX_UPLOAD_BYTES:
                    raise ApiError(
                        413,
                        f"{name}: larger than {MAX_UPLOAD_BYTES // 2**20} MiB; import big files"
                        " with `socialcrm ingest canonical FILE`",
                    )
                out.write(chunk)
        return _ingest(svc, path, name, src, tmp_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def upload_rows(svc: Service, rows: list[dict[str, Any]], source: str) -> dict[str, Any]:
    """Import canonical rows sent as JSON; ``line`` in the report is the row's 1-based index."""
    if not rows:
        raise ApiError(400, 'no rows: send {"rows": [{"interaction_id": ..., ...}]}')
    if len(rows) > MAX_JSON_ROWS:
        raise ApiError(
            413, f"{len(rows):,} rows in one request; send at most {MAX_JSON_ROWS:,} or a file"
        )
    tmp_dir = tempfile.mkdtemp(prefix="socialcrm-upload-")
    try:
        path = Path(tmp_dir) / "rows.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return _ingest(svc, path, "rows", safe_source(source), tmp_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _ingest(svc: Service, path: Path, display: str, source: str, tmp_dir: str) -> dict[str, Any]:
    try:
        (report,) = svc.write(lambda ws: ws.ingest("canonical", [path], source=source))
    except InputError as exc:
        raise ApiError(400, str(exc).replace(str(path), display)) from None
    return report_dict(report, display, tmp_dir) | {"source": source}


def imports(svc: Service, limit: int, offset: int) -> dict[str, Any]:
    rows = svc.rows(
        """SELECT import_id, format, path, strftime(started_at, '%Y-%m-%dT%H:%M:%SZ') AS started_at,
                  strftime(finished_at, '%Y-%m-%dT%H:%M:%SZ') AS finished_at, rows_read,
                  rows_inserted AS rows_stored, rows_duplicate, rows_rejected
           FROM imports ORDER BY import_id DESC LIMIT ? OFFSET ?""",
        [limit + 1, offset],
    )
    return page(rows, limit, offset)


def quarantine(svc: Service, import_id: int | None, limit: int, offset: int) -> dict[str, Any]:
    where, params = "TRUE", []
    if import_id is not None:
        where, params = "import_id = ?", [import_id]
    rows = svc.rows(
        f"SELECT import_id, file, line, reason, raw FROM quarantine WHERE {where}"
        " ORDER BY import_id DESC, line LIMIT ? OFFSET ?",
        [*params, limit + 1, offset],
    )
    return page(rows, limit, offset)
