"""``socialcrm predict loyalty|churn``, ``socialcrm alerts``, ``socialcrm actions``.

Registered on the main CLI by::

    app.add_typer(predict_app, name="predict")
    app.command("alerts")(alerts_command)
    app.command("actions")(actions_command)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from socialcrm.settings import DEFAULT_DB

console = Console()
err = Console(stderr=True)

predict_app = typer.Typer(
    help="Loyalty (PLS against confounders) and churn risk.", no_args_is_help=True
)

DbOption = Annotated[
    Path, typer.Option("--db", envvar="SOCIALCRM_DB", help="Workspace file (DuckDB).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
LimitOption = Annotated[int, typer.Option(help="Rows to show.")]


def _open(db: Path):
    from socialcrm.workspace import Workspace

    return Workspace(db)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def _records(df: pd.DataFrame, limit: int) -> list[dict[str, Any]]:
    return json.loads(df.head(limit).to_json(orient="records", date_format="iso"))


@predict_app.command("loyalty")
def loyalty_command(
    outcome: Annotated[str, typer.Option(help="Outcome column in the data file.")],
    data: Annotated[
        Path, typer.Option(help="CSV, Parquet or JSON Lines: entity, outcome, confounders.")
    ],
    confounders: Annotated[
        str, typer.Option(help="Comma-separated confounder columns (price,tenure,region...).")
    ] = "",
    entity_column: Annotated[
        str | None,
        typer.Option(help="Column naming the entity (default: entity_id, entity or handle)."),
    ] = None,
    bootstrap: Annotated[
        int | None, typer.Option(help="Bootstrap resamples (default 200).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Relationship features only from before this date (YYYY-MM-DD), e.g. the"
            " date the outcome starts being measured; default: the whole history."
        ),
    ] = None,
    db: DbOption = Path(DEFAULT_DB),
    as_json: JsonOption = False,
) -> None:
    """How much of an outcome goes with relationships, and how much with confounders (PLS).

    You provide the outcome: one row per entity in a CSV/Parquet/JSON Lines file with an
    entity column (entity id or handle, e.g. `twitter:@ann`), the outcome column (0/1 or a
    number) and any confounder columns; relationship features (tie strength, strong ties,
    reciprocity, trust, tier) come from the workspace after `socialcrm analyze`.

    renewals.csv, header then one row per entity: `entity,renewed,price,tenure,region` ·
    `twitter:@ann,1,49,24,north` · `twitter:@bob,0,99,3,south`

    Example: `socialcrm predict loyalty --outcome renewed --data renewals.csv --confounders price,tenure,region`
    """
    from socialcrm.prediction.api import PredictionError, predict_loyalty

    conf = [c.strip() for c in confounders.split(",") if c.strip()]
    with _open(db) as ws:
        try:
            r = predict_loyalty(
                ws,
                outcome,
                data,
                conf,
                entity_col=entity_column,
                n_bootstrap=bootstrap,
                as_of=pd.Timestamp(as_of).to_pydatetime() if as_of else None,
            )
        except (PredictionError, ValueError) as exc:
            _fail(str(exc))
    if as_json:
        m = r.model
        console.print_json(
            json.dumps(
                {
                    "outcome": outcome,
                    "entities": m.n_entities_,
                    "n_components": m.n_components_,
                    "r2": m.r2_,
                    "q2": m.q2_,
                    "block_share": m.block_share_,
                    "block_r2": m.block_r2_,
                    "unique_r2": m.unique_r2_,
                    "variables": json.loads(m.summary().to_json(orient="records")),
                    "intervals": json.loads(m.intervals_.to_json(orient="records")),
                    "counts": r.counts,
                    "not_used": r.dropped,
                }
            )
        )
        return
    console.print(r.report())


@predict_app.command("churn")
def churn_command(
    db: DbOption = Path(DEFAULT_DB),
    limit: LimitOption = 20,
    as_json: JsonOption = False,
) -> None:
    """Calibrated churn risk of each current member, riskiest first, with its main driver.

    Example: `socialcrm predict churn --limit 10`
    """
    from socialcrm.prediction.api import PredictionError, churn

    with _open(db) as ws:
        try:
            df = churn(ws)
        except PredictionError as exc:
            _fail(str(exc))
    cols = ["entity_id", "display_name", "churn_risk", "top_driver", "drivers"]
    if as_json:
        console.print_json(
            json.dumps({"model": df.attrs, "people": _records(df[cols], limit)}, default=str)
        )
        return
    a = df.attrs
    console.print(
        f"churn = no activity for {a['horizon_days']:g} days; learned from {a['train_rows']:,}"
        f" people active before {a['cutoff'][:10]} ({a['train_churn_rate']:.0%} went quiet)"
    )
    t = Table(show_edge=False)
    for c, j in (("entity", "left"), ("name", "left"), ("risk", "right"), ("main driver", "left")):
        t.add_column(c, justify=j)
    for r in df.head(limit).itertuples():
        t.add_row(r.entity_id, str(r.display_name or ""), f"{r.churn_risk:.0%}", r.top_driver or "")
    console.print(t)


def alerts_command(
    db: DbOption = Path(DEFAULT_DB),
    window: Annotated[int | None, typer.Option(help="Months between before and after.")] = None,
    drop: Annotated[
        float | None, typer.Option(help="Alert when strength fell by more than this share.")
    ] = None,
    limit: LimitOption = 20,
    as_json: JsonOption = False,
) -> None:
    """Ties and brand relationships that weakened, most at stake first, with the evidence.

    Example: `socialcrm alerts --window 3 --drop 0.3`
    """
    from socialcrm.prediction.api import PredictionError, alerts

    with _open(db) as ws:
        try:
            df = alerts(ws, window=window, drop_share=drop)
        except PredictionError as exc:
            _fail(str(exc))
    if as_json:
        console.print_json(
            json.dumps({"note": df.attrs.get("note"), "alerts": _records(df, limit)})
        )
        return
    if "note" in df.attrs:
        err.print(f"[yellow]{df.attrs['note']}[/]")
    if df.empty:
        console.print("no weakening ties")
        return
    for r in df.head(limit).itertuples():
        console.print(f"[bold]{r.alert_id}[/] {r.kind} · {r.person} · at stake {r.at_stake:.2f}")
        console.print(f"  {r.evidence}")


def actions_command(
    db: DbOption = Path(DEFAULT_DB),
    limit: LimitOption = 20,
    as_json: JsonOption = False,
) -> None:
    """The next best action for each alert and each person at risk, with its reason.

    Example: `socialcrm actions --limit 10`
    """
    from socialcrm.prediction.api import PredictionError, actions

    with _open(db) as ws:
        try:
            df = actions(ws)
        except PredictionError as exc:
            _fail(str(exc))
    if as_json:
        console.print_json(
            json.dumps({"notes": df.attrs.get("notes", []), "actions": _records(df, limit)})
        )
        return
    for note in df.attrs.get("notes", []):
        err.print(f"[yellow]{note}[/]")
    if df.empty:
        console.print("no action needed")
        return
    for r in df.head(limit).itertuples():
        who = r.display_name if isinstance(r.display_name, str) else r.entity_id
        console.print(f"[bold]{r.action}[/] — {who} [dim]({r.rule}; by {r.by})[/]")
        console.print(f"  why: {r.reason}")
