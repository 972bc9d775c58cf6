"""The ``socialcrm`` command line: help with examples, and init → ingest → status →
quarantine end to end on a small call-centre export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from socialcrm.cli import app

SOCIALCRM = Path(sys.executable).with_name("socialcrm")

CALLS = """\
interaction_id,ts,channel,actor,targets,kind,value,text
1001,2024-03-04T09:15:00+01:00,phone,phone:+4512345678,agent:mette,call,312,Invoice question
1002,2024-03-04T09:40:00+01:00,ivr,phone:+4587654321,,message,45,
1003,2024-03-04T10:02:00+01:00,email,email:ann@example.com,email:support@acme.com,email,,Refund
1004,2024-03-04T10:30:00+01:00,telex,phone:+4512345678,,call,10,
1005,2024-03-04T11:00:00+01:00,meeting,agent:mette,email:ann@example.com,meeting,1800,Review
1006,not a time,phone,phone:+4512345678,,call,20,
"""


def flat(text: str) -> str:
    return " ".join(text.split())


def commands(group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command, as the words that invoke it."""
    out = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):  # a group (Typer vendors its own Click classes)
            out += commands(cmd, (*path, name))
        else:
            out.append((*path, name))
    return out


LEAVES = commands(typer.main.get_command(app))


def test_top_level_help_has_an_example() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    text = flat(result.output)
    assert "Example:" in text and "socialcrm ingest canonical calls.csv" in text
    for name in ("init", "ingest", "status", "quarantine", "identities", "demo"):
        assert name in text


@pytest.mark.parametrize("path", LEAVES, ids=lambda p: " ".join(p))
def test_every_command_help_has_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Example:" in text
    assert f"socialcrm {' '.join(path)}" in text  # the example runs this very command


def test_identities_group_help_has_an_example() -> None:
    result = CliRunner().invoke(app, ["identities", "--help"])
    assert "Example: socialcrm identities show" in flat(result.output)


def test_init_ingest_status_quarantine_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "crm.duckdb"
    calls = tmp_path / "calls.csv"
    calls.write_text(CALLS)
    run = CliRunner().invoke

    init = run(app, ["init", "--db", str(db)])
    assert init.exit_code == 0 and "schema version" in init.output and db.exists()

    ingest = run(app, ["ingest", "canonical", str(calls), "--db", str(db)])
    assert ingest.exit_code == 0, ingest.output
    text = flat(ingest.output)
    assert "read 6, stored 4, already there 0, rejected 2" in text
    assert f"{calls}:5: unknown channel 'telex'" in text
    assert f"{calls}:7: ts 'not a time' is neither ISO 8601 nor Unix seconds" in text

    again = run(app, ["ingest", "canonical", str(calls), "--db", str(db)])
    assert "stored 0, already there 4, rejected 2" in flat(again.output)

    status = run(app, ["status", "--db", str(db), "--json"])
    assert status.exit_code == 0
    s = json.loads(status.output)
    assert s["interactions"] == 4 and s["quarantined"] == 2
    assert s["by_source"] == [["calls", 4]]
    assert sorted(s["by_channel"]) == [["email", 1], ["ivr", 1], ["meeting", 1], ["phone", 1]]
    assert dict(s["by_kind"]) == {"call": 1, "message": 1, "email": 1, "meeting": 1}
    assert [(i[1], i[3], i[4], i[6]) for i in s["imports"]] == [
        ("canonical", 6, 4, 2),
        ("canonical", 6, 0, 2),
    ]
    assert s["entities"] == s["identities"] == 5  # 2 phones, 2 e-mail addresses, 1 agent

    human = run(app, ["status", "--db", str(db)])
    assert "4 interactions" in flat(human.output) and "2 quarantined rows" in flat(human.output)

    quarantine = run(app, ["quarantine", "--db", str(db)])
    text = flat(quarantine.output)
    assert f"{calls}:5: unknown channel 'telex'" in text
    assert f"{calls}:7: ts 'not a time' is neither ISO 8601 nor Unix seconds" in text


def test_console_script_bad_format_and_missing_file(tmp_path: Path) -> None:
    db = tmp_path / "crm.duckdb"
    env = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    bad = subprocess.run(
        [str(SOCIALCRM), "ingest", "excel", "x.xlsx", "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "unknown format 'excel'; choose one of canonical" in bad.stderr
    missing = subprocess.run(
        [str(SOCIALCRM), "ingest", "canonical", str(tmp_path / "nope.csv"), "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert missing.returncode == 1
    assert "no such file or directory" in missing.stderr
    assert "Traceback" not in bad.stderr + missing.stderr
