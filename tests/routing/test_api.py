"""A conversation from arrival to resolution through the Workspace functions and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from socialcrm.cli import app
from socialcrm.routing import api, state
from socialcrm.workspace import Workspace

runner = CliRunner()


def test_arrival_to_resolution(twcs_db: Path, copy_db, tmp_path: Path) -> None:
    path = copy_db(twcs_db)
    with Workspace(path) as ws:
        mapping = tmp_path / "agents.csv"
        mapping.write_text("handle,entity\ntwitter:CareAnn,staff:ann\n")
        ws.declare_identities(mapping)
        ws.set_role("staff:ann", "employee")
        # a question on Twitter that the brand took a while to answer
        conv, arrived = ws.con.execute(
            """SELECT c.conversation_id, min(i.ts) FROM interactions i
               JOIN (SELECT coalesce(conversation_id, interaction_id) AS conversation_id
                     FROM interactions GROUP BY 1 HAVING count(*) >= 2) c
                 ON c.conversation_id = coalesce(i.conversation_id, i.interaction_id)
               WHERE i.text LIKE '%?%' GROUP BY 1 ORDER BY 2 LIMIT 1"""
        ).fetchall()[0]
        # 1. it arrives: queued with a priority, its reasons and a route
        api.refresh(ws, arrived + timedelta(seconds=30))
        q = {r["conversation_id"]: r for r in api.queue(ws, arrived + timedelta(seconds=30))}
        row = q[conv]
        assert row["priority"] > 0 and row["reasons"] and row["reason_text"]
        assert row["route"] in ("community", "staff")
        assert row["first_response_sla"] in ("on track", "at risk")
        # 2. the route explains its candidates
        r = api.route(ws, conv, arrived + timedelta(seconds=30))
        assert r["candidates"] and {"candidate", "score", "kind", "reasons"} <= set(
            r["candidates"][0]
        )
        # 3. an agent claims and answers
        api.claim(ws, conv, "staff:ann", arrived + timedelta(minutes=1))
        rep = api.reply(
            ws,
            conv,
            "staff:ann",
            "Hi! Could you tell us which model you use?",
            arrived + timedelta(minutes=2),
        )
        assert state.queue_row(ws.con, conv)["status"] == "answered"
        # 4. the customer thanks the agent, in the next export of the same source
        author = row["author_handle"]
        follow = tmp_path / "twcs_followup.jsonl"
        follow.write_text(
            json.dumps(
                {
                    "interaction_id": "twcs:followup-1",
                    "source": "twcs",
                    "ts": (arrived + timedelta(minutes=9)).isoformat() + "+00:00",
                    "channel": "twitter",
                    "actor": author,
                    "targets": ["twitter:CareAnn"],
                    "conversation_id": conv,
                    "in_reply_to": rep["interaction_id"],
                    "text": "Thanks, that worked!",
                }
            )
            + "\n"
        )
        ws.ingest("canonical", [follow])
        api.refresh(ws, arrived + timedelta(minutes=10))
        done = state.queue_row(ws.con, conv)
        assert done["status"] == "resolved" and done["resolution"] == "acknowledged"
        loads = dict(
            ws.con.execute("SELECT agent, open_assignments FROM routing_agents").fetchall()
        )
        assert loads["staff:ann"] == 0
        kinds = [
            k
            for (k,) in ws.con.execute(
                "SELECT kind FROM routing_events WHERE conversation_id = ? ORDER BY event_id",
                [conv],
            ).fetchall()
        ]
        assert kinds[0] == "queued" and kinds[-1] == "resolved"
        assert {"claimed", "replied"} <= set(kinds)


def test_cli_queue_route_replay(twcs_db: Path, copy_db) -> None:
    path = copy_db(twcs_db)
    got = runner.invoke(
        app, ["queue", "--db", str(path), "--at", "latest", "--json", "--limit", "5"]
    )
    assert got.exit_code == 0, got.output
    rows = json.loads(got.output)
    assert 0 < len(rows) <= 5
    assert rows == sorted(rows, key=lambda r: -r["priority"])
    assert all(r["reasons"] and r["first_response_sla"] for r in rows)
    text = runner.invoke(app, ["queue", "--db", str(path), "--at", "latest", "--limit", "3"])
    assert text.exit_code == 0 and rows[0]["conversation_id"] in text.output
    route = runner.invoke(
        app, ["route", rows[0]["conversation_id"], "--db", str(path), "--at", "latest"]
    )
    assert route.exit_code == 0 and "priority" in route.output and "route:" in route.output
    missing = runner.invoke(app, ["route", "twcs:does-not-exist", "--db", str(path)])
    assert missing.exit_code == 2 and "no customer conversation" in missing.output
    rep = runner.invoke(app, ["replay", "twcs", "--db", str(path), "--json"])
    assert rep.exit_code == 0, rep.output
    summary = json.loads(rep.output)
    assert summary["conversations"] > 200 and summary["answered"] > 0
    with Workspace(path, read_only=True) as ws:
        n = ws.con.execute("SELECT count(*) FROM routing_replay").fetchall()[0][0]
    assert n == summary["conversations"]
    bad = runner.invoke(app, ["replay", "nosuchsource", "--db", str(path)])
    assert bad.exit_code == 2 and "no source" in bad.output


def test_analyze_builds_the_queue_on_the_workspace_clock(twcs_db: Path, copy_db) -> None:
    """``clock = "latest"`` works a finished history as if live at its newest message:
    the queue built by ``analyze()`` then has SLAs still running, where the wall clock
    (years after the sample) would call every one of them missed."""
    from socialcrm.settings import Settings

    path = copy_db(twcs_db)
    with Workspace(path, settings=Settings(db_path=path, clock="latest")) as ws:
        counts = ws.analyze()
        latest = ws.con.execute("SELECT max(ts) FROM interactions").fetchall()[0][0]
        assert api.clock(ws) == latest
        assert counts["routing_queue"] == len(ws.queue(limit=None)) > 0
        as_of_end = [r["resolution_sla"] for r in ws.queue(limit=None)]
        years_later = [
            r["resolution_sla"] for r in ws.queue(now=latest + timedelta(days=3650), limit=None)
        ]
    assert set(as_of_end) - {"missed"}, as_of_end
    assert set(years_later) == {"missed"}, years_later
