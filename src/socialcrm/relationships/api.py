"""Relationships as functions of a :class:`~socialcrm.workspace.Workspace`.

* :func:`analyze_ties` — runs :func:`socialcrm.relationships.stage.run` on the workspace's DuckDB
  engine and stores ``tie_features``, ``ties``, ``tie_tradeoff`` and ``tie_history``;
* :func:`ties_of` — an entity's ego network, strongest first;
* :func:`tie` — one tie explained: features, each component's contribution, relative strengths,
  layer, and a sentence saying why;
* :func:`export_ties` — the whole ``ties`` table to CSV or Parquet.

Settings: ``tie_half_life_days`` and the ``[relationships]`` section of ``socialcrm.toml``
(:class:`~socialcrm.relationships.stage.TieParams`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from socialcrm.ingest.identities import entity_of
from socialcrm.relationships.stage import TieParams, run
from socialcrm.relationships.strength import COMPONENTS

if TYPE_CHECKING:
    from socialcrm.workspace import Workspace

EGO_COLUMNS: tuple[str, ...] = (
    "target_entity",
    "strength",
    *COMPONENTS,
    "layer",
    "rank_in_source",
    "percentile_in_source",
    "percentile_in_target",
    "n_ab",
    "n_ba",
    "recency_days",
)


def analyze_ties(ws: Workspace, **overrides: Any) -> dict[str, int]:
    """Run the relationship stage and store its tables; returns table → row count."""
    params = TieParams.from_settings(ws.settings, **overrides)
    return run(ws.engine, params)


def _require(ws: Workspace) -> None:
    ws.con.complete()
    if "ties" not in {r[0] for r in ws.con.execute("SHOW TABLES").fetchall()}:
        raise LookupError("no ties table: run `socialcrm analyze` (or Workspace.analyze_ties())")


def ties_of(ws: Workspace, entity: str, limit: int = 20) -> pa.Table:
    """``entity``'s ties (entity id or handle), strongest first, with components and layer."""
    _require(ws)
    ego = entity_of(ws.con, entity)
    cols = ", ".join(f'"{c}"' for c in EGO_COLUMNS)
    return ws.query(
        f"SELECT {cols} FROM ties WHERE source_entity = ? ORDER BY rank_in_source LIMIT ?",
        [ego, int(limit)],
    )


def _why(row: dict[str, Any]) -> str:
    comps = sorted(COMPONENTS, key=lambda c: -abs(row[c]))
    parts = [f"{c} {'raises' if row[c] > 0 else 'lowers'} it ({row[c]:+.2f})" for c in comps[:2]]
    return (
        f"strength {row['strength']:.2f}: {parts[0]}, {parts[1]} (log-odds against an average"
        f" tie). It is #{int(row['rank_in_source'])} of {int(row['source_ties'])} in"
        f" {row['source_entity']}'s ties (layer {row['layer']});"
        + (
            f" the reverse tie is #{int(row['rank_in_target'])} in {row['target_entity']}'s."
            if row.get("rank_in_target") is not None
            else f" {row['target_entity']} has no tie back."
        )
    )


def tie(ws: Workspace, a: str, b: str) -> dict[str, Any]:
    """One tie a→b explained (entity ids or handles): every column of ``ties``, the reverse
    tie's strength, and ``why`` — a sentence naming the components that matter most."""
    _require(ws)
    ea, eb = entity_of(ws.con, a), entity_of(ws.con, b)
    rows = ws.query(
        "SELECT * FROM ties WHERE source_entity = ? AND target_entity = ?", [ea, eb]
    ).to_pylist()
    if not rows:
        raise LookupError(f"{ea} and {eb} never interacted (no tie in either direction)")
    row = rows[0]
    rev = ws.query(
        "SELECT strength FROM ties WHERE source_entity = ? AND target_entity = ?", [eb, ea]
    ).to_pylist()
    row["reverse_strength"] = rev[0]["strength"] if rev else None
    row["why"] = _why(row)
    return row


def export_ties(ws: Workspace, path: str | Path) -> int:
    """Write the whole ``ties`` table to ``path`` (``.csv`` or ``.parquet``); returns rows."""
    _require(ws)
    p = Path(path)
    fmt = {".csv": "csv", ".parquet": "parquet"}.get(p.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: export to .csv or .parquet (got {p.suffix or 'no extension'!r})")
    p.parent.mkdir(parents=True, exist_ok=True)
    target = str(p).replace("'", "''")
    opts = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet"
    ws.con.execute(
        f"COPY (SELECT * FROM ties ORDER BY source_entity, rank_in_source) TO '{target}' ({opts})"
    ).fetchall()
    return int(ws.con.execute("SELECT count(*) FROM ties").fetchall()[0][0])
