"""``socialcrm demo``: a workspace from the bundled real sample, every stage run, a summary printed."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rich.console import Console

from socialcrm.settings import SETTINGS_FILE
from socialcrm.workspace import Workspace

DEMO_SETTINGS = """\
# socialcrm settings for this workspace (every key: socialcrm/settings.py).
# The bundled sample is a finished history, so routing's SLA clocks run as of its newest
# interaction; delete this line (or set clock = "now") for a live workspace.
clock = "latest"

[prediction]
# The forum's history ends 2018-09-02; the customer-care tweets run on, sparsely, to 2020.
# Churn is learned and scored as of the forum's end, where there are current members.
as_of = "2018-09-02"
"""

SAMPLES = (
    ("stackexchange", "stackexchange_quantumcomputing_2018"),
    ("ibm", "ibm_twitter_customer_care/dev.json"),
)


def sample_path(relative: str) -> Path:
    """Path of a bundled sample file or directory inside the installed package."""
    return Path(str(resources.files("socialcrm") / "sample" / relative))


def run_demo(db: Path, console: Console) -> Workspace:
    """Ingest the bundled samples (idempotent), run every stage, print what was found."""
    settings_file = Path(db).parent / SETTINGS_FILE
    if not settings_file.exists():  # the sample is history: work it as of its newest message
        settings_file.write_text(DEMO_SETTINGS)
        console.print(
            f'wrote {settings_file} (clock = "latest": routing runs as of the sample\'s end)'
        )
    ws = Workspace(db)
    for fmt, rel in SAMPLES:
        for r in ws.ingest(fmt, [sample_path(rel)]):
            console.print(
                f"ingested {rel}: {r.rows_inserted:,} new, {r.rows_duplicate:,} already there,"
                f" {r.rows_rejected:,} rejected"
            )
    from socialcrm.cli import run_analysis

    run_analysis(ws, console, prefix="stage ")
    s = ws.status()
    console.print(
        f"\n[bold]{s['path']}[/]: {s['interactions']:,} interactions, {s['conversations']:,}"
        f" conversations, {s['entities']:,} entities"
    )
    for channel, n in s["by_channel"]:
        console.print(f"  {channel:<10} {n:>8,}")
    top = ws.query(
        "SELECT a.entity_id, sum(sent) AS sent, sum(received) AS received FROM entity_activity a"
        " JOIN entities e USING (entity_id) WHERE e.role <> 'system'"
        " GROUP BY 1 ORDER BY sum(sent) + sum(received) DESC LIMIT 5"
    ).to_pylist()
    console.print("\nmost active entities:")
    for row in top:
        console.print(
            f"  {row['entity_id']:<40} sent {row['sent']:>5}  received {row['received']:>5}"
        )
    return ws
