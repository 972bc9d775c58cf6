"""The stage tables the service reads, and what to tell a user when one is not there yet.

Every page and endpoint reads stage *output tables* (DESIGN.md: a stage never reaches into
another's internals). A table that does not exist yet is not an error: lists come back
empty and single objects ``404``, both with a ``stage`` note naming the table, what
fills it and the command to run. When the table appears (the stage landed and
``socialcrm analyze`` ran), the same endpoint picks it up: columns are read by name, so
extra columns a stage adds are passed through.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StageTable:
    table: str
    key_columns: tuple[str, ...]  # the columns the service needs to use the table
    what: str  # what the table holds, in the user's words
    command: str  # what fills it


STAGE_TABLES: dict[str, StageTable] = {
    s.table: s
    for s in (
        StageTable(
            "entity_activity",
            ("entity_id", "channel", "sent", "received"),
            "activity per person and channel",
            "socialcrm analyze",
        ),
        StageTable(
            "ties",
            ("source_entity", "target_entity", "strength"),
            "tie strength between people (relationships stage)",
            "socialcrm analyze",
        ),
        StageTable(
            "conversations",
            ("conversation_id",),
            "conversation labels: typology, sociability degrees, sentiment, reasons",
            "socialcrm analyze",
        ),
        StageTable(
            "message_labels",
            ("interaction_id",),
            "per-message sentiment, intent and urgency",
            "socialcrm analyze",
        ),
        StageTable(
            "entity_metrics",
            ("entity_id",),
            "influence, reach, participation tier and community per person",
            "socialcrm analyze",
        ),
        StageTable(
            "communities",
            ("community",),
            "communities and their natural leaders",
            "socialcrm analyze",
        ),
        StageTable(
            "advocates",
            ("entity_id",),
            "advocates chosen to maximise distinct reach",
            "socialcrm advocates --k N",
        ),
        StageTable(
            "routing_queue",
            ("conversation_id", "status"),
            "the routing queue: priority with reasons, assignee, SLA",
            "socialcrm analyze",
        ),
        StageTable(
            "next_actions",
            ("entity_id",),
            "alerts (weakening ties, churn risk) with the next best action and its reason",
            "socialcrm analyze",
        ),
    )
}


def missing_note(table: str, columns: dict[str, list[str]] | None = None) -> dict[str, object]:
    """The ``stage`` note for a table that is absent or lacks the columns the service needs."""
    s = STAGE_TABLES[table]
    have = (columns or {}).get(table)
    if have is None:
        detail = f"no `{table}` table in this workspace yet ({s.what})"
    else:
        lacking = [c for c in s.key_columns if c not in have]
        detail = f"`{table}` lacks column(s) {', '.join(lacking)} ({s.what})"
    return {
        "table": table,
        "available": False,
        "detail": detail,
        "how_to_fill": f"run `{s.command}` once the stage is installed",
    }


def present_note(table: str) -> dict[str, object]:
    return {"table": table, "available": True}


def usable(table: str, columns: dict[str, list[str]]) -> bool:
    """The table exists and has every key column the service relies on."""
    have = columns.get(table)
    return have is not None and all(c in have for c in STAGE_TABLES[table].key_columns)
