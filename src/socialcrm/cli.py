"""The ``socialcrm`` command line: every command is a thin call into :class:`Workspace`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from socialcrm.api.commands import serve as serve_command
from socialcrm.api.commands import tokens_app
from socialcrm.conversations.cli import conversations_command
from socialcrm.influence.cli import register as register_influence
from socialcrm.ingest.base import InputError
from socialcrm.ingest.identities import IdentityError
from socialcrm.ingest.loader import ImportReport
from socialcrm.ingest.registry import FORMATS
from socialcrm.prediction.cli import actions_command, alerts_command, predict_app
from socialcrm.relationships.cli import ties_command
from socialcrm.routing.cli import register as register_routing
from socialcrm.settings import DEFAULT_DB
from socialcrm.workspace import Workspace

app = typer.Typer(
    help="socialcrm — a Social CRM engine: the R in CRM is Relationship, not Record.\n\n"
    "Example: `socialcrm init --db crm.duckdb` · `socialcrm ingest canonical calls.csv"
    " --db crm.duckdb` · `socialcrm status --db crm.duckdb` · `socialcrm demo`",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
identities_app = typer.Typer(
    help="Inspect, merge and unmerge identities.\n\n"
    "Example: `socialcrm identities show email:ann@example.com`",
    no_args_is_help=True,
)
app.add_typer(identities_app, name="identities")
app.command("conversations")(conversations_command)  # socialcrm.conversations.cli
app.add_typer(tokens_app, name="tokens")  # the service's commands (issue 7)
app.command("serve")(serve_command)
app.add_typer(predict_app, name="predict")  # socialcrm.prediction.cli
app.command("alerts")(alerts_command)
app.command("actions")(actions_command)
app.command("ties")(ties_command)  # socialcrm.relationships.cli
register_influence(app)  # influencers, communities, advocates, tiers (socialcrm.influence.cli)
register_routing(app)  # queue, route, replay, claim, reply, resolve (socialcrm.routing.cli)
# soft_wrap: messages name files and lines; a path broken across lines cannot be pasted back
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="SOCIALCRM_DB", help="Workspace file (DuckDB)."),
]


def _open(db: Path) -> Workspace:
    return Workspace(db)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@app.command()
def init(db: DbOption = Path(DEFAULT_DB)) -> None:
    """Create (or upgrade) a workspace.

    Example: `socialcrm init --db crm.duckdb`
    """
    with _open(db) as ws:
        console.print(f"workspace [bold]{ws.path}[/] at schema version {ws.schema_version}")


def _print_report(r: ImportReport) -> None:
    console.print(
        f"[bold]{escape(r.path)}[/] ({r.format}): read {r.rows_read:,}, stored {r.rows_inserted:,},"
        f" already there {r.rows_duplicate:,}, rejected {r.rows_rejected:,}"
        f" [dim]({r.seconds:.1f} s, import {r.import_id})[/]"
    )
    for rej in r.rejects[:10]:
        where = f"{rej.file}:{rej.line}" if rej.line is not None else rej.file
        err.print(f"  [yellow]rejected[/] {escape(where)}: {escape(rej.reason)}")
    if r.rows_rejected > len(r.rejects[:10]):
        err.print(f"  … {r.rows_rejected - len(r.rejects[:10])} more in `socialcrm quarantine`")


@app.command()
def ingest(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="One of: " + ", ".join(FORMATS))],
    paths: Annotated[list[Path], typer.Argument(help="Files (or dump directories) to import.")],
    db: DbOption = Path(DEFAULT_DB),
    metadata: Annotated[
        Path | None, typer.Option(help="sociopatterns only: 'id class gender' file.")
    ] = None,
) -> None:
    """Import files into the workspace. Each file is one atomic, idempotent import:
    bad rows are reported (file, line, reason) and quarantined, good rows are kept,
    and importing the same file again adds nothing.

    Example: `socialcrm ingest twcs twcs.csv` · `socialcrm ingest canonical calls.csv notes.jsonl`
    """
    if fmt not in FORMATS:
        _fail(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    options = {"metadata": metadata} if metadata else {}
    failed = False
    with (
        _open(db) as ws,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} files"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task(f"importing {fmt}", total=len(paths))
        for path in paths:
            progress.update(task, description=f"importing {path.name}")
            try:
                (report,) = ws.ingest(fmt, [path], **options)
            except InputError as exc:
                err.print(f"[bold red]error:[/] {escape(str(exc))}")
                failed = True
            else:
                progress.console.print("", end="")
                _print_report(report)
            progress.advance(task)
    if failed:
        raise typer.Exit(1)


@app.command()
def status(
    db: DbOption = Path(DEFAULT_DB),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Counts by source, channel and kind, entities by role, imports and quarantined rows.

    Example: `socialcrm status --json`
    """
    with _open(db) as ws:
        s = ws.status()
    if as_json:
        console.print_json(json.dumps(s, default=str))
        return
    console.print(
        f"[bold]{s['path']}[/] schema v{s['schema_version']}: {s['interactions']:,} interactions"
        f" in {s['conversations']:,} conversations, {s['entities']:,} entities,"
        f" {s['identities']:,} identities, {s['quarantined']:,} quarantined rows"
    )
    for title, key in (
        ("source", "by_source"),
        ("channel", "by_channel"),
        ("kind", "by_kind"),
        ("role", "by_role"),
    ):
        t = Table(title=f"by {title}", show_edge=False)
        t.add_column(title)
        t.add_column("count", justify="right")
        for name, n in s[key]:
            t.add_row(str(name), f"{n:,}")
        console.print(t)


@app.command()
def quarantine(db: DbOption = Path(DEFAULT_DB), limit: int = 50) -> None:
    """Rows that were rejected, with file, line and reason.

    Example: `socialcrm quarantine --limit 20`
    """
    with _open(db) as ws:
        rows = ws.quarantine(limit).to_pylist()
    for r in rows:
        where = f"{r['file']}:{r['line']}" if r["line"] is not None else r["file"]
        console.print(escape(f"{where}: {r['reason']}"))
    if not rows:
        console.print("no rejected rows")


@app.command()
def analyze(db: DbOption = Path(DEFAULT_DB)) -> None:
    """Run every analysis stage and store its tables.

    Example: `socialcrm analyze`
    """
    with _open(db) as ws:
        run_analysis(ws, console)


def run_analysis(ws: Workspace, out: Console, prefix: str = "") -> None:
    """``ws.analyze()`` with each table's row count, and a stage's skip notes (Python
    warnings such as "churn risk skipped: ...") printed as notes, not tracebacks."""
    import warnings

    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("ignore")  # library deprecations are for developers, not here
        warnings.simplefilter("always", UserWarning)  # what the stages say about the data
        counts = ws.analyze()
    for table, n in counts.items():
        out.print(f"{prefix}{table}: {n:,} rows")
    for note in notes:
        out.print(f"[yellow]note:[/] {escape(str(note.message))}")


@identities_app.command("show")
def identities_show(entity: str, db: DbOption = Path(DEFAULT_DB)) -> None:
    """Every handle of an entity and how it was linked.

    Example: `socialcrm identities show email:ann@example.com`
    """
    with _open(db) as ws:
        try:
            rows = ws.identities_of(entity).to_pylist()
        except IdentityError as exc:
            _fail(str(exc))
    for r in rows:
        # escape: user text, and [rule] would otherwise be read as Rich markup and vanish
        console.print(
            escape(f"{r['handle']} → {r['entity_id']} [{r['link_rule']}] {r['evidence'] or ''}")
        )


@identities_app.command("merge")
def identities_merge(
    keep: str, other: str, reason: str = "", db: DbOption = Path(DEFAULT_DB)
) -> None:
    """Merge entity OTHER into KEEP (handles move; the old links are kept to undo it).

    Example: `socialcrm identities merge email:ann@example.com twitter:@ann --reason "same person"`
    """
    with _open(db) as ws:
        try:
            merge_id = ws.merge(keep, other, reason)
        except IdentityError as exc:
            _fail(str(exc))
    console.print(
        f"merged {escape(other)} into {escape(keep)} (merge {merge_id}; undo with"
        f" `socialcrm identities unmerge {merge_id}`)"
    )


@identities_app.command("unmerge")
def identities_unmerge(merge_id: int, db: DbOption = Path(DEFAULT_DB)) -> None:
    """Undo a merge: the handles return to their entity with their original link rule.

    Example: `socialcrm identities unmerge 3`
    """
    with _open(db) as ws:
        try:
            handles = ws.unmerge(merge_id)
        except IdentityError as exc:
            _fail(str(exc))
    console.print(escape(f"unmerged {len(handles)} handle(s): {', '.join(handles)}"))


@identities_app.command("declare")
def identities_declare(mapping: Path, db: DbOption = Path(DEFAULT_DB)) -> None:
    """Link handles to entities from a `handle,entity` CSV file.

    Example: `socialcrm identities declare crm-contacts.csv`
    """
    with _open(db) as ws:
        try:
            n = ws.declare_identities(mapping)
        except (IdentityError, OSError) as exc:
            _fail(str(exc))
    console.print(f"declared {n} handle(s)")


@identities_app.command("role")
def identities_role(entity: str, role: str, db: DbOption = Path(DEFAULT_DB)) -> None:
    """Set an entity's role (customer, prospect, employee, superuser, brand, partner, system).

    Example: `socialcrm identities role twitter:AppleSupport brand`
    """
    with _open(db) as ws:
        try:
            ws.set_role(entity, role)
        except IdentityError as exc:
            _fail(str(exc))
    console.print(f"{entity} is now {role}")


@app.command()
def demo(
    db: Annotated[Path, typer.Option("--db", help="Workspace file for the demo.")] = Path(
        DEFAULT_DB
    ),
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the dashboard at the end.")
    ] = True,
    host: Annotated[str, typer.Option(help="Dashboard address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Dashboard port (a free one if taken).")] = 8000,
) -> None:
    """Build a workspace from the bundled real sample data, run every stage, print the result,
    then serve the dashboard on it and print its address and an admin token.

    Example: `socialcrm demo` · `socialcrm demo --no-serve`
    """
    from socialcrm.demo import run_demo

    ws = run_demo(db, console)
    if serve:
        from socialcrm.api.commands import serve_demo

        serve_demo(ws, console, host, port)
    ws.close()


def main() -> None:  # pragma: no cover - console script entry
    app()
