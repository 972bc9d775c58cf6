"""``socialcrm conversations``: one thread with every label and reason, or the summary.

Registered on the main CLI by ``app.command("conversations")(conversations_command)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from socialcrm.settings import DEFAULT_DB

console = Console()
err = Console(stderr=True)


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def print_conversation(data: dict[str, Any], out: Console = console) -> None:
    """The thread, turn by turn with its scores and cues, then every label with its reason."""
    lab, feats = data["labels"], data["features"]
    out.print(
        f"[bold]{data['conversation_id']}[/] · {lab['channel']} · {lab['visibility']} ·"
        f" brand {lab['brand'] or '—'} · started by {lab['initiator']} ({lab['initiator_role']})"
    )
    for turn in data["turns"]:
        cues = [
            name
            for name, on in (
                ("question", turn["is_question"]),
                ("demand", turn["is_demand"]),
                ("escalation", turn["is_escalation"]),
                (f"private: {turn['private_cue']}", turn["private_cue"]),
                (f"call to action: {turn['cta_cue']}", turn["cta_cue"]),
                (f"template ×{turn['template_uses']}", turn["is_template"]),
                (f"brand move: {turn['brand_move']}", turn["brand_move"]),
            )
            if on
        ]
        what = turn["intent"] or turn["action"]
        why = turn["intent_reason"] or turn["action_reason"]
        out.print(
            f"[bold]#{turn['seq']}[/] {str(turn['ts'])[:16]} [cyan]{turn['actor']}[/]"
            f" ({turn['role']}, {turn['side']} side)"
            + (f" → {turn['parent_party']}" if turn["parent_party"] else "")
        )
        out.print("   " + (turn["text"] or "").replace("\n", " ")[:500], markup=False)
        scores = f"sentiment {_fmt(turn['sentiment'])} {turn['sentiment_label'] or ''}"
        if what:
            scores += f" · {'intent' if turn['intent'] else 'action'} {what}"
            if why:
                scores += f" ({why})"
        if cues:
            scores += " · " + ", ".join(cues)
        out.print("   [dim]" + scores.replace("[", "\\[") + "[/]")
    rows = [
        ("pattern", lab["pattern"], lab["pattern_reason"]),
        ("transparent", lab["transparent"], lab["transparent_reason"]),
        ("moved_private", lab["moved_private"], lab["moved_private_reason"]),
        ("customer_degree", lab["customer_degree"], lab["customer_reason"]),
        ("business_degree", lab["business_degree"], lab["business_reason"]),
        ("urgency", lab["urgency"], lab["urgency_reason"]),
        (
            "sentiment",
            f"{_fmt(lab['sentiment_start'])} → {_fmt(lab['sentiment_end'])}",
            f"trajectory {_fmt(lab['sentiment_trajectory'])}, slope {_fmt(lab['sentiment_slope'])}"
            " per turn",
        ),
        (
            "response",
            _duration(feats["first_response_s"]),
            f"first answer after {_duration(feats['first_response_s'])}; median between turns"
            f" {_duration(feats['latency_median_s'])}; brand answered: {feats['brand_answered']}",
        ),
    ]
    lt = Table(title="labels and reasons", show_edge=False)
    lt.add_column("label")
    lt.add_column("value")
    lt.add_column("reason", overflow="fold")
    for name, value, reason in rows:
        lt.add_row(name, _fmt(value), reason or "")
    out.print(lt)


def print_summary(data: dict[str, Any], out: Console = console) -> None:
    """Distributions by channel and by brand, then each brand's habit."""
    for kind, table in data.items():
        if kind == "brand_habit":
            continue
        rows = table.to_pylist()
        t = Table(title=f"{kind} by channel and brand", show_edge=False)
        for col in ("by", "group", kind, "n", "share"):
            t.add_column(col)
        for r in rows:
            t.add_row(r["grouping"], r["group"], r["label"], str(r["n"]), f"{r['share']:.2f}")
        out.print(t)
    habit = data["brand_habit"].to_pylist()
    t = Table(title="brand habit: business degree distribution", show_edge=False)
    for col in ("brand", "business degree", "n", "share"):
        t.add_column(col)
    for r in habit:
        t.add_row(r["brand"], _fmt(r["business_degree"]), str(r["n"]), f"{r['share']:.2f}")
    out.print(t)


def conversations_command(
    show: Annotated[
        str | None, typer.Option("--show", help="A conversation id (or any of its turns' ids).")
    ] = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="Distributions by channel and by brand.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    db: Annotated[
        Path, typer.Option("--db", envvar="SOCIALCRM_DB", help="Workspace file (DuckDB).")
    ] = Path(DEFAULT_DB),
) -> None:
    """A conversation with every label and its reason, or the summary of all of them
    (run `socialcrm analyze` first).

    Example: `socialcrm conversations --show twcs:2298` · `socialcrm conversations --summary`
    """
    from socialcrm.conversations import api
    from socialcrm.workspace import Workspace

    if not show and not summary:
        err.print("[bold red]error:[/] give --show ID or --summary")
        raise typer.Exit(2)
    with Workspace(db) as ws:
        try:
            if show:
                data = api.conversation(ws, show)
                if as_json:
                    console.print_json(json.dumps(data, default=str))
                else:
                    print_conversation(data)
            if summary:
                s = api.conversation_summary(ws)
                if as_json:
                    console.print_json(
                        json.dumps({k: v.to_pylist() for k, v in s.items()}, default=str)
                    )
                else:
                    print_summary(s)
        except LookupError as exc:
            err.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(1) from None
