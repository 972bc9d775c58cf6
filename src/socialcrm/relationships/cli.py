"""``socialcrm ties``: an ego network, one tie explained, or the whole tie table exported.

A thin call into :class:`~socialcrm.workspace.Workspace` (``ties_of``, ``tie``,
``export_ties``); registered on the main app in ``socialcrm.cli`` with one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from socialcrm.ingest.identities import IdentityError
from socialcrm.relationships.strength import COMPONENTS
from socialcrm.settings import DEFAULT_DB

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def ties_command(
    entity: Annotated[
        str | None, typer.Argument(help="Entity id or handle whose ties to show.")
    ] = None,
    pair: Annotated[
        tuple[str, str] | None,
        typer.Option("--pair", metavar="A B", help="Explain the tie A→B (ids or handles)."),
    ] = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="Write every tie to a .csv or .parquet file.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many ties of ENTITY to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    db: Annotated[
        Path, typer.Option("--db", envvar="SOCIALCRM_DB", help="Workspace file (DuckDB).")
    ] = Path(DEFAULT_DB),
) -> None:
    """Tie strength: an entity's ego network (strongest first, with each component's
    contribution and Dunbar layer), one tie explained, or the whole table exported.

    Example: `socialcrm ties twitter:@alice` · `socialcrm ties --pair twitter:@alice
    twitter:@bob` · `socialcrm ties --export ties.parquet`
    """
    if sum(x is not None for x in (entity, pair, export)) != 1:
        _fail("give one of ENTITY, --pair A B or --export PATH (see `socialcrm ties --help`)")
    from socialcrm.workspace import Workspace

    with Workspace(db) as ws:
        try:
            if export is not None:
                n = ws.export_ties(export)
                console.print(f"wrote {n:,} ties to {escape(str(export))}")
            elif pair is not None:
                _print_tie(ws.tie(*pair), as_json)
            else:
                _print_ego(entity or "", ws.ties_of(entity or "", limit).to_pylist(), as_json)
        except (IdentityError, LookupError, ValueError) as exc:
            _fail(str(exc))


def _print_ego(entity: str, rows: list[dict], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    table = Table(title=f"ties of {escape(entity)} (strongest first)")
    for col in ("#", "alter", "strength", *COMPONENTS, "layer", "a→b", "b→a", "pct in b"):
        table.add_column(col, justify="left" if col == "alter" else "right")
    for r in rows:
        table.add_row(
            str(r["rank_in_source"]),
            escape(str(r["target_entity"])),
            f"{r['strength']:.3f}",
            *[f"{r[c]:+.2f}" for c in COMPONENTS],
            str(r["layer"]),
            str(r["n_ab"]),
            str(r["n_ba"]),
            "-" if r["percentile_in_target"] is None else f"{r['percentile_in_target']:.2f}",
        )
    console.print(table)


FEATURES_SHOWN: tuple[str, ...] = (
    "n_ab",
    "n_ba",
    "first_ts",
    "last_ts",
    "recency_days",
    "active_days",
    "active_weeks",
    "channels",
    "private_share",
    "balance",
    "answered_by_b_share",
    "b_latency_s",
    "endorse_ab",
    "endorse_ba",
    "sentiment_ab",
    "sentiment_ba",
    "shared_neighbours",
)


def _print_tie(row: dict, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(row, default=str))
        return
    console.print(
        f"[bold]{escape(row['source_entity'])} → {escape(row['target_entity'])}[/]:"
        f" strength {row['strength']:.3f} (reverse {_num(row['reverse_strength'])}),"
        f" layer {row['layer']}, rank {row['rank_in_source']} of {row['source_ties']}"
        f" (percentile {row['percentile_in_source']:.2f}; in the other's network"
        f" {_num(row['percentile_in_target'])})"
    )
    for c in COMPONENTS:
        console.print(f"  {c:<12} {row[c]:+.3f}")
    console.print("  features: " + ", ".join(f"{f}={_num(row.get(f))}" for f in FEATURES_SHOWN))
    console.print(escape(row["why"]))


def _num(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
