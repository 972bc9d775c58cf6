"""Claiming on real threads: exactly one winner (threads and processes), caps, staff only."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from socialcrm.routing import api
from socialcrm.workspace import Workspace

from .agents import AGENTS, latest, queued_unassigned, with_agents


def test_two_threads_claiming_at_once_exactly_one_wins(twcs_db: Path, copy_db) -> None:
    with with_agents(Workspace(copy_db(twcs_db))) as ws:
        now = latest(ws)
        convs = queued_unassigned(ws, now, 12)
        for conv in convs:
            barrier = threading.Barrier(2)
            results: dict[str, object] = {}

            def go(
                agent: str,
                conv: str = conv,
                barrier: threading.Barrier = barrier,
                results: dict[str, object] = results,
            ) -> None:
                barrier.wait()
                try:
                    results[agent] = api.claim(ws, conv, agent, now)
                except api.ClaimConflict as exc:
                    results[agent] = exc

            threads = [threading.Thread(target=go, args=(a,)) for a in AGENTS[:2]]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            winners = [a for a, r in results.items() if isinstance(r, dict)]
            assert len(winners) == 1, results
            loser = next(r for r in results.values() if not isinstance(r, dict))
            assert isinstance(loser, api.ClaimConflict)
            holder = ws.con.execute(
                "SELECT assignee FROM routing_queue WHERE conversation_id = ?", [conv]
            ).fetchall()[0][0]
            assert holder == winners[0]
        loads = dict(
            ws.con.execute("SELECT agent, open_assignments FROM routing_agents").fetchall()
        )
        assert sum(loads.get(a, 0) for a in AGENTS[:2]) == len(convs)
        claimed = ws.con.execute(
            "SELECT count(*) FROM routing_events WHERE kind = 'claimed'"
        ).fetchall()[0][0]
        assert claimed == len(convs)


def test_two_processes_claiming_at_once_exactly_one_wins(twcs_db: Path, copy_db) -> None:
    path = copy_db(twcs_db)
    with with_agents(Workspace(path)) as ws:
        now = latest(ws)
        (conv,) = queued_unassigned(ws, now, 1)
    cli = [
        sys.executable,
        "-c",
        "import sys; from socialcrm.cli import app; sys.argv[0] = 'socialcrm'; app()",
        *("claim", conv, "--db", str(path), "--at", now.isoformat()),
    ]
    procs = [
        subprocess.Popen(
            [*cli, "--agent", agent], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for agent in AGENTS[:2]
    ]
    outs = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in outs)
    assert codes == [0, 1], outs
    loser_err = next(err for code, _, err in outs if code == 1)
    assert "already assigned to" in loser_err
    with Workspace(path) as ws:
        (holder,) = ws.con.execute(
            "SELECT assignee FROM routing_queue WHERE conversation_id = ?", [conv]
        ).fetchall()[0]
        winner = AGENTS[[code for code, _, _ in outs].index(0)]
        assert holder == winner


def test_per_agent_cap_holds_even_under_concurrent_claims(
    twcs_db: Path, copy_db, tmp_path: Path
) -> None:
    path = copy_db(twcs_db)
    (tmp_path / "socialcrm.toml").write_text("[routing.assignment]\nper_agent_cap = 2\n")
    with with_agents(Workspace(path)) as ws:
        assert api.policy(ws).per_agent_cap == 2
        now = latest(ws)
        convs = queued_unassigned(ws, now, 5)
        barrier = threading.Barrier(4)
        won: list[str] = []

        def go(conv: str) -> None:
            barrier.wait()
            try:
                api.claim(ws, conv, AGENTS[0], now)
                won.append(conv)
            except api.ClaimConflict:
                pass

        threads = [threading.Thread(target=go, args=(c,)) for c in convs[:4]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) <= 2
        # sequentially: the agent fills up to the cap, then is refused with the reason
        for conv in convs:
            try:
                api.claim(ws, conv, AGENTS[0], now)
            except api.ClaimConflict as exc:
                last = str(exc)
        assert "per-agent cap" in last
        (load,) = ws.con.execute(
            "SELECT open_assignments FROM routing_agents WHERE agent = ?", [AGENTS[0]]
        ).fetchall()[0]
        held = ws.con.execute(
            "SELECT count(*) FROM routing_queue WHERE assignee = ?", [AGENTS[0]]
        ).fetchall()[0][0]
        assert load == held == 2
        # resolving frees a slot
        api.resolve(ws, won[0] if won else convs[0], AGENTS[0], "done", now)
        api.claim(ws, convs[-1], AGENTS[0], now)


def test_claims_need_staff(twcs_db: Path, copy_db) -> None:
    with Workspace(copy_db(twcs_db)) as ws:
        now = latest(ws)
        (conv,) = queued_unassigned(ws, now, 1)
        customer = ws.con.execute(
            "SELECT entity_id FROM entities WHERE role = 'customer' LIMIT 1"
        ).fetchall()[0][0]
        with pytest.raises(PermissionError, match="only employee, brand"):
            api.claim(ws, conv, customer, now)


def test_two_first_replies_from_one_new_handle_at_once_add_it_once(
    twcs_db: Path, copy_db, at_once
) -> None:
    """No index keeps handles unique: a reply takes the identities write lock
    (store.locks), so two first replies from one new handle at once (threads, each with
    its own cursor) store the handle once and both replies."""
    from socialcrm.routing import state

    with with_agents(Workspace(copy_db(twcs_db))) as ws:
        now = latest(ws)
        convs = queued_unassigned(ws, now, 2)
        agent = AGENTS[0]
        for conv in convs:
            api.claim(ws, conv, agent, now)
        rows = [api._queued(ws, conv, now) for conv in convs]
        handle = "chat:ann-new-desk"
        results = at_once(
            ws.con, lambda cur, row: state.record_reply(cur, row, agent, handle, "on it", now), rows
        )
        assert all(isinstance(r, str) for r in results), results
        (n,) = ws.con.execute(
            "SELECT count(*) FROM identities WHERE handle = ?", [handle]
        ).fetchall()[0]
        assert n == 1
        stored = ws.con.execute(
            "SELECT count(*) FROM interactions WHERE actor = ?", [handle]
        ).fetchall()[0][0]
        assert stored == 2
