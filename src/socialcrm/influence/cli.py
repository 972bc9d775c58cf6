"""CLI commands of the influence stage: ``influencers``, ``communities``, ``advocates``, ``tiers``.

Registered on the main app by :func:`register` (``socialcrm.cli`` calls it), so each
command stays a thin call into the Workspace like every other command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from socialcrm.settings import DEFAULT_DB

console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="SOCIALCRM_DB", help="Workspace file (DuckDB)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _workspace(db: Path):
    from socialcrm.workspace import Workspace

    return Workspace(db)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value)


def influencers(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many to show.")] = 20,
    db: DbOption = Path(DEFAULT_DB),
    as_json: JsonOption = False,
) -> None:
    """The most influential people: tie-weighted influence, reach over strong ties,
    k-core, participation tier and community (leaders marked).

    Example: `socialcrm influencers --limit 10`
    """
    from socialcrm.influence.api import StageNotRunError

    with _workspace(db) as ws:
        try:
            rows = ws.influencers(limit).to_pylist()
        except StageNotRunError as exc:
            _fail(str(exc))
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    t = Table(title="influencers", show_edge=False)
    for r in rows:
        r["who"] = r["display_name"] or r["entity_id"]
    cols = [
        ("who", "who"),
        ("influence", "influence"),
        ("reach_1hop", "reach 1"),
        ("reach_2hop", "reach 2"),
        ("kcore", "k-core"),
        ("tier", "tier"),
        ("community", "community"),
        ("is_leader", "leader"),
    ]
    for _, title in cols:
        t.add_column(title, justify="left" if title in ("who", "tier") else "right")
    for r in rows:
        t.add_row(*(_fmt(r[key]) for key, _ in cols))
    console.print(t)


def communities(
    min_size: Annotated[int, typer.Option(help="Smallest community to list.")] = 3,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 20,
    db: DbOption = Path(DEFAULT_DB),
    as_json: JsonOption = False,
) -> None:
    """Communities found on the tie graph (Leiden) and each one's natural leader.

    Example: `socialcrm communities --min-size 5`
    """
    from socialcrm.influence.api import StageNotRunError

    with _workspace(db) as ws:
        try:
            rows = ws.communities(min_size).to_pylist()
        except StageNotRunError as exc:
            _fail(str(exc))
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    console.print(f"{len(rows):,} communities of {min_size}+ members")
    t = Table(show_edge=False)
    for title in ("community", "size", "internal ties", "ties out", "natural leader"):
        t.add_column(title)
    for r in rows[:limit]:
        t.add_row(
            str(r["community"]),
            str(r["size"]),
            str(r["internal_ties"]),
            str(r["ties_out"]),
            r["leader_name"] or r["leader"] or "",
        )
    console.print(t)


def advocates(
    k: Annotated[int, typer.Option("--k", "-k", help="Number of advocates.")] = 10,
    hops: Annotated[int, typer.Option(help="1: direct network; 2: within two steps.")] = 1,
    db: DbOption = Path(DEFAULT_DB),
    as_json: JsonOption = False,
) -> None:
    """Choose k advocates whose networks together reach the most distinct people
    (greedy, within 1 - 1/e of the best), against the k best-connected people,
    and list the product feedback each advocate started.

    Example: `socialcrm advocates --k 50`
    """
    from socialcrm.influence.stage import MissingTiesError

    with _workspace(db) as ws:
        try:
            report = ws.advocates(k, hops=hops)
        except MissingTiesError as exc:
            _fail(str(exc))
    if as_json:
        console.print_json(json.dumps(report.as_dict(), default=str))
        return
    console.print(f"[bold]{report.greedy.summary()}[/]")
    console.print(f"top {k} by degree instead: {report.by_degree.summary()}")
    t = Table(show_edge=False)
    for title in ("#", "advocate", "personal network", "adds", "total"):
        t.add_column(title, justify="right" if title != "advocate" else "left")
    for r in report.table().to_pylist():
        t.add_row(
            str(r["rank"]),
            r["display_name"] or r["entity_id"],
            str(r["personal_network"]),
            str(r["added_reach"]),
            str(r["cumulative_reach"]),
        )
    console.print(t)
    if report.feedback is None:
        console.print(
            "[dim]feedback: no intent labels yet (the conversation stage labels"
            " product feedback); nothing to list[/]"
        )
    else:
        rows = report.feedback.to_pylist()
        started = sum(r["started"] for r in rows)
        console.print(
            f"product feedback from advocates: {started} conversation(s) they started,"
            f" {len(rows) - started} where they gave feedback in others' threads"
        )
        for r in rows[:20]:
            mark = "started" if r["started"] else "replied"
            console.print(
                f"  {r['entity_id']}  {mark}  {r['first_feedback']}  {(r['text'] or '')[:70]}"
            )


def tiers(db: DbOption = Path(DEFAULT_DB), as_json: JsonOption = False) -> None:
    """Participation tiers (lurker / contributor / superuser) beside Nielsen's 90-9-1.

    Example: `socialcrm tiers`
    """
    from socialcrm.influence.api import StageNotRunError

    with _workspace(db) as ws:
        try:
            s = ws.tiers()
        except StageNotRunError as exc:
            _fail(str(exc))
    if as_json:
        console.print_json(json.dumps(s, default=str))
        return
    t = Table(title=f"participation tiers ({s['population']:,} people)", show_edge=False)
    for title in ("tier", "people", "share", "Nielsen", "share of contribution"):
        t.add_column(title, justify="right" if title != "tier" else "left")
    for tier in ("lurker", "contributor", "superuser"):
        r = s[tier]
        t.add_row(
            tier,
            f"{r['count']:,}",
            f"{r['share']:.1%}",
            f"{r['nielsen']:.0%}",
            f"{r['score_share']:.1%}",
        )
    console.print(t)
    if s["anonymous_views"]:
        console.print(
            f"plus {s['anonymous_views']:,} anonymous page views (readers without accounts)"
        )


def register(app: typer.Typer) -> None:
    """Add the influence commands to the main ``socialcrm`` app."""
    app.command("influencers")(influencers)
    app.command("communities")(communities)
    app.command("advocates")(advocates)
    app.command("tiers")(tiers)
