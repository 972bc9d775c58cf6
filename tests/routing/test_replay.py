"""Replay decides each arrival with what was known then: cutting or poisoning the future
changes nothing before the cut."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from socialcrm.routing.policy import load_policy
from socialcrm.routing.replay import ReplayResult, load_events, replay
from socialcrm.workspace import Workspace

SOURCE = "stackexchange_quantumcomputing_2018"
CUT = datetime(2018, 4, 5)
LATER = datetime(2018, 4, 14)
DECIDED = [
    "priority",
    "reason_text",
    "route",
    "route_reason",
    "window_minutes",
    "urgency",
    "intent",
    "top_candidates",
    "invited",
    "queue_depth",
]


def decided_before(result, cut: datetime) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    d = result.decisions
    d = d[d.arrived_at <= cut].set_index("conversation_id").sort_index()
    return d[DECIDED].map(lambda v: tuple(v) if isinstance(v, list) else v)


@pytest.fixture(scope="module")
def long(se_db: Path) -> ReplayResult:
    with Workspace(se_db, read_only=True) as ws:
        return replay(ws.con, SOURCE, load_policy(), until=LATER, keep_rankings=True)


def test_cutting_the_future_changes_no_earlier_decision(se_db: Path, long: ReplayResult) -> None:
    p = load_policy()
    with Workspace(se_db, read_only=True) as ws:
        short = replay(ws.con, SOURCE, p, until=CUT, keep_rankings=True)
    a, b = decided_before(short, CUT), decided_before(long, CUT)
    assert len(a) > 40
    pd.testing.assert_frame_equal(a, b)
    for cid in a.index:  # every candidate's place, not just the top
        assert short.rankings["policy"][cid] == long.rankings["policy"][cid]
    # and the later replay did decide later arrivals, with knowledge that grew
    assert len(long.decisions) > len(short.decisions)


def test_a_poisoned_future_is_never_seen(se_db: Path, copy_db, long: ReplayResult) -> None:
    """A made-up answerer who answers everything *after* the cut must not rank before it.

    The rows are synthetic on purpose: they test leakage, not quality.
    """
    p = load_policy()
    path = copy_db(se_db)
    clean = long
    with Workspace(path) as ws:
        questions = ws.con.execute(
            "SELECT interaction_id, conversation_id, actor FROM interactions"
            " WHERE source = ? AND kind = 'question' AND ts <= ?",
            [SOURCE, CUT],
        ).fetchall()
        later = CUT + timedelta(days=3)
        ws.con.executemany(
            """INSERT INTO interactions (interaction_id, source, channel, ts, actor, targets,
                   conversation_id, in_reply_to, kind, visibility, text)
               VALUES (?, ?, 'forum', ?, 'oracle', [?], ?, ?, 'answer', 'public', ?)""",
            [
                (
                    f"poison:{i}",
                    SOURCE,
                    later + timedelta(minutes=i),
                    asker,
                    conv,
                    qid,
                    "entanglement qubit gate measurement circuit hamiltonian",
                )
                for i, (qid, conv, asker) in enumerate(questions)
            ],
        )
        assert len(load_events(ws.con, SOURCE, p)) > len(load_events(ws.con, SOURCE, p, until=CUT))
        poisoned = replay(ws.con, SOURCE, p, until=LATER, keep_rankings=True)
    pd.testing.assert_frame_equal(decided_before(clean, CUT), decided_before(poisoned, CUT))
    before = [
        c
        for c, t in zip(
            poisoned.decisions.conversation_id, poisoned.decisions.arrived_at, strict=True
        )
        if t <= CUT
    ]
    assert all("oracle" not in poisoned.rankings["policy"][c] for c in before)
    after = [
        c
        for c, t in zip(
            poisoned.decisions.conversation_id, poisoned.decisions.arrived_at, strict=True
        )
        if t > later
    ]
    assert after and all(poisoned.rankings["policy"][c][0] == "oracle" for c in after[:5])


def test_replay_on_brand_threads(twcs_db: Path) -> None:
    with Workspace(twcs_db, read_only=True) as ws:
        r = replay(ws.con, "twcs", load_policy())
    d, s = r.decisions, r.summary
    assert s["conversations"] > 200
    # complaints at high urgency go straight to the brand's staff; questions get a window
    staff = d[d.route == "staff"]
    assert len(staff) and set(staff.route_reason) <= {
        "private channel",
        "high complaint",
        "critical complaint",
    } | {x for x in staff.route_reason if x.startswith("asked for staff")}
    assert (d[d.route == "community"].window_minutes > 0).all()
    # brands answer: most threads get a first answer, mostly from the brand (role brand)
    answered = d[d.first_answer_at.notna()]
    assert len(answered) / len(d) > 0.8
    assert (answered.first_answer_role == "brand").mean() > 0.8
    # the replay knows SLAs and satisfaction
    assert set(d.first_response_sla) <= {"hit", "missed"}
    assert s["satisfied"] > 0 and "acknowledged" in s["satisfaction"]
