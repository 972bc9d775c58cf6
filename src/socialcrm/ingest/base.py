"""The contract every ingest adapter fulfils.

An adapter reads one real export format and returns canonical rows (DESIGN.md
"Canonical data") as an Arrow table, hints about the entities behind handles
(a brand, an employee), and the rows it could not read. It never touches the
store: :mod:`socialcrm.ingest.loader` validates, deduplicates and commits what
it returns in one transaction, so every adapter gets the same guarantees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

INTERACTION_SCHEMA = pa.schema(
    [
        ("interaction_id", pa.string()),  # stable: "<source>:<native id>"
        ("source", pa.string()),
        ("channel", pa.string()),
        ("ts", pa.timestamp("us")),  # UTC, naive
        ("actor", pa.string()),  # handle, e.g. "twitter:alice", "email:ann@example.com"
        ("targets", pa.list_(pa.string())),
        ("conversation_id", pa.string()),  # null: derived from in_reply_to chains
        ("in_reply_to", pa.string()),  # interaction_id of the parent
        ("kind", pa.string()),
        ("visibility", pa.string()),
        ("text", pa.string()),
        ("value", pa.float64()),
    ]
)

ENTITY_HINT_SCHEMA = pa.schema(
    [
        ("handle", pa.string()),
        ("kind", pa.string()),  # person, brand, company, system
        ("role", pa.string()),  # customer, employee, superuser, brand, partner, ...
        ("display_name", pa.string()),
        ("attrs", pa.string()),  # JSON object
    ]
)

# Interaction kinds used by the adapters; the canonical format accepts any string.
KINDS: tuple[str, ...] = (
    "message",
    "post",
    "question",
    "answer",
    "comment",
    "email",
    "call",
    "meeting",
    "chat",
    "endorse",
    "accept",
    "rating",
    "share",
    "view",
    "purchase",
)


@dataclass(frozen=True)
class Reject:
    """A row an adapter could not use: where it was and why."""

    file: str
    line: int | None
    reason: str
    raw: str = ""


@dataclass
class AdapterOutput:
    interactions: pa.Table
    entities: pa.Table = field(default_factory=ENTITY_HINT_SCHEMA.empty_table)
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0


class InputError(Exception):
    """A whole input cannot be read (missing file, wrong format): a message for the user."""


def require_path(path: Path, *, directory: bool = False) -> Path:
    """Fail with a message a user can act on when an input path is missing or the wrong kind."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if directory and not path.is_dir():
        raise InputError(f"{path}: expected a directory (the unpacked dump)")
    if not directory and path.is_dir():
        raise InputError(f"{path}: expected a file, found a directory")
    return path


def interactions_table(columns: dict[str, list]) -> pa.Table:
    """Build the canonical Arrow table from column lists; missing columns become nulls."""
    n = len(next(iter(columns.values()))) if columns else 0
    arrays = [
        pa.array(columns[f.name], type=f.type) if f.name in columns else pa.nulls(n, f.type)
        for f in INTERACTION_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=INTERACTION_SCHEMA)


def entity_hints(columns: dict[str, list]) -> pa.Table:
    n = len(next(iter(columns.values()))) if columns else 0
    arrays = [
        pa.array(columns[f.name], type=f.type) if f.name in columns else pa.nulls(n, f.type)
        for f in ENTITY_HINT_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=ENTITY_HINT_SCHEMA)
