"""Routing state on real threads: reassignment, windows, satisfaction, restarts."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from socialcrm.routing import api, state
from socialcrm.routing import refresh as rq
from socialcrm.routing.policy import load_policy
from socialcrm.workspace import Workspace

from .agents import AGENTS, latest, queued_unassigned, with_agents


def test_reassignment_after_timeout(twcs_db: Path, copy_db) -> None:
    with with_agents(Workspace(copy_db(twcs_db))) as ws:
        now = latest(ws)
        convs = queued_unassigned(ws, now, 2)
        for conv in convs:
            api.claim(ws, conv, AGENTS[0], now)
        # the agent answers the second one in time; the first gets no answer
        api.reply(
            ws, convs[1], AGENTS[0], "We're on it, sorry for the wait.", now + timedelta(minutes=5)
        )
        timeout = api.policy(ws).reassign_after_minutes
        early = api.refresh(ws, now + timedelta(minutes=timeout - 1))
        assert early["reassigned"] == 0
        later = now + timedelta(minutes=timeout + 1)
        report = api.refresh(ws, later)
        assert report["reassigned"] == 1
        rows = dict(
            ws.con.execute(
                "SELECT conversation_id, assignee FROM routing_queue WHERE list_contains(?, conversation_id)",
                [convs],
            ).fetchall()
        )
        assert rows[convs[1]] == AGENTS[0]  # answered in time: kept
        assert rows[convs[0]] not in (None, AGENTS[0])  # silent: moved to another staff member
        # ... and never back to the agent who let it lapse, even at the next refresh
        api.refresh(ws, later + timedelta(minutes=timeout + 1))
        back = ws.con.execute(
            "SELECT count(*) FROM routing_events WHERE conversation_id = ? AND actor = ?"
            " AND kind = 'assigned'",
            [convs[0], AGENTS[0]],
        ).fetchall()[0][0]
        assert back == 0
        kinds = [
            r[0]
            for r in ws.con.execute(
                "SELECT kind FROM routing_events WHERE conversation_id = ? ORDER BY event_id",
                [convs[0]],
            ).fetchall()
        ]
        assert kinds[-2:] == ["reassigned", "assigned"]
        # loads follow assignments (the router also gave the agents other escalated threads)
        loads = dict(
            ws.con.execute("SELECT agent, open_assignments FROM routing_agents").fetchall()
        )
        held = dict(
            ws.con.execute(
                "SELECT assignee, count(*) FROM routing_queue WHERE assignee IS NOT NULL"
                " AND status <> 'resolved' GROUP BY 1"
            ).fetchall()
        )
        assert {a: loads.get(a, 0) for a in AGENTS} == {a: held.get(a, 0) for a in AGENTS}


def test_window_expiry_escalates_and_invites_during_it(
    se_db: Path, copy_db, tmp_path: Path
) -> None:
    # older unanswered questions outrank this one; room enough for all of them
    (tmp_path / "socialcrm.toml").write_text("[routing.assignment]\nper_agent_cap = 500\n")
    with Workspace(copy_db(se_db)) as ws:
        # make two prolific answerers staff, and two others superusers (invitable)
        top = [
            r[0]
            for r in ws.con.execute(
                "SELECT actor FROM interactions WHERE kind = 'answer' GROUP BY 1 ORDER BY count(*) DESC LIMIT 4"
            ).fetchall()
        ]
        for ent in top[:2]:
            ws.set_role(ent, "employee")
        for ent in top[2:]:
            ws.set_role(ent, "superuser")
        # a question nobody ever answered
        conv, arrived = ws.con.execute(
            """SELECT q.conversation_id, q.ts FROM interactions q
               WHERE q.kind = 'question' AND q.ts > TIMESTAMP '2018-06-01' AND NOT EXISTS (
                 SELECT 1 FROM interactions a WHERE a.conversation_id = q.conversation_id
                   AND a.kind IN ('answer', 'comment'))
               ORDER BY q.ts LIMIT 1"""
        ).fetchall()[0]
        during = arrived + timedelta(minutes=1)
        api.refresh(ws, during)
        row = state.queue_row(ws.con, conv)
        assert row["route"] == "community" and row["status"] == "open"
        window = (row["window_ends_at"] - row["arrived_at"]).total_seconds() / 60
        assert window > 60
        invited = ws.con.execute(
            "SELECT candidate FROM routing_invitations WHERE conversation_id = ? AND status = 'pending'",
            [conv],
        ).fetchall()
        invited = {c for (c,) in invited}
        assert invited and not invited & set(top[:2])  # staff are never invited
        assert set(top[2:]) & invited  # the superusers who know the topic are
        after = row["window_ends_at"] + timedelta(minutes=1)
        api.refresh(ws, after)
        row = state.queue_row(ws.con, conv)
        assert row["status"] == "assigned" and row["assignee"] in top[:2]
        why = ws.con.execute(
            "SELECT detail->>'why' FROM routing_events WHERE conversation_id = ? AND kind = 'escalated'",
            [conv],
        ).fetchall()
        assert why == [("window ended without an answer",)]
        expired = ws.con.execute(
            "SELECT count(*) FROM routing_invitations WHERE conversation_id = ? AND status = 'expired'",
            [conv],
        ).fetchall()[0][0]
        assert expired == len(invited)


def test_satisfactory_answers_resolve_on_real_threads(se_db: Path, copy_db) -> None:
    with Workspace(copy_db(se_db)) as ws:
        p = load_policy()
        # the first accepted question: open before its answer, resolved once accepted
        conv, asked, accepted = ws.con.execute(
            """SELECT q.conversation_id, q.ts, a.ts FROM interactions q
               JOIN interactions a ON a.conversation_id = q.conversation_id AND a.kind = 'accept'
               WHERE q.kind = 'question' ORDER BY q.ts LIMIT 1"""
        ).fetchall()[0]
        rq.refresh(ws.con, p, asked + timedelta(seconds=1), None)
        assert state.queue_row(ws.con, conv)["status"] == "open"
        rq.refresh(ws.con, p, accepted + timedelta(seconds=1), None)
        row = state.queue_row(ws.con, conv)
        assert row["status"] == "resolved" and row["resolution"] in ("accepted", "acknowledged")
        # a quiet answer: answered, then satisfied after quiet_hours without a new question
        facts = rq.conversation_facts(
            ws.con, datetime(2018, 9, 2), p, where="WHERE satisfaction = 'quiet'"
        )
        assert len(facts) > 50
        f = facts.iloc[0]
        assert f.first_satisfied_at == f.first_response_at + timedelta(hours=p.quiet_hours) or (
            f.first_satisfied_at > f.first_response_at
        )
        ack = rq.conversation_facts(
            ws.con, datetime(2018, 9, 2), p, where="WHERE satisfaction = 'acknowledged'"
        )
        assert len(ack) > 0


def test_state_survives_restart(twcs_db: Path, copy_db) -> None:
    path = copy_db(twcs_db)
    with with_agents(Workspace(path)) as ws:
        now = latest(ws)
        api.refresh(ws, now)
        convs = queued_unassigned(ws, now, 2)
        api.claim(ws, convs[0], AGENTS[2], now)
        reply = api.reply(ws, convs[0], AGENTS[2], "Can you DM us your account email?", now)
        api.claim(ws, convs[1], AGENTS[2], now)
        api.resolve(ws, convs[1], AGENTS[2], "duplicate", now)
        before = {
            t: ws.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("routing_queue", "routing_agents", "routing_events", "routing_invitations")
        }
    with Workspace(path) as ws:  # a new process would see the same
        after = {t: ws.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in before}
        assert after == before
        row = state.queue_row(ws.con, convs[0])
        assert row["status"] == "answered" and row["assignee"] == AGENTS[2]
        replied = ws.con.execute(
            "SELECT actor FROM routing_events WHERE conversation_id = ? AND kind = 'replied'",
            [convs[0]],
        ).fetchall()
        assert replied == [(AGENTS[2],)]
        stored = ws.con.execute(
            "SELECT conversation_id, actor, text FROM interactions WHERE interaction_id = ?",
            [reply["interaction_id"]],
        ).fetchall()
        assert stored == [(convs[0], "twitter:CareCy", "Can you DM us your account email?")]
        assert state.queue_row(ws.con, convs[1])["status"] == "resolved"
        # the next refresh after a restart keeps the agents' work
        api.refresh(ws, now + timedelta(minutes=1))
        assert state.queue_row(ws.con, convs[0])["assignee"] == AGENTS[2]
        assert state.queue_row(ws.con, convs[1])["status"] == "resolved"
