"""The serving index: built in bulk from the store it scores like the replay's incremental
one, and a decision for a new conversation is a small lookup."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import numpy as np

from socialcrm.routing.index import build_context, build_index, decide
from socialcrm.routing.policy import load_policy
from socialcrm.routing.replay import replay
from socialcrm.workspace import Workspace

SOURCE = "stackexchange_quantumcomputing_2018"
AT = datetime(2018, 4, 20)


def test_bulk_index_scores_like_the_incremental_one(se_db: Path) -> None:
    # accepts are known only at the end of their day in a replay, so leave them out here
    p = load_policy({"responders": {"accepted_bonus": 0.0}})
    with Workspace(se_db, read_only=True) as ws:
        incremental = replay(ws.con, SOURCE, p, until=AT).index
        bulk = build_index(ws.con, p, AT)
        asks = ws.con.execute(
            "SELECT actor, text FROM interactions WHERE kind = 'question' AND ts > ?"
            " ORDER BY ts LIMIT 15",
            [AT],
        ).fetchall()
    assert incremental is not None
    assert set(incremental.ids) <= set(bulk.ids)
    assert incremental.n_docs == bulk.n_docs
    for author, text in asks:
        request = {"author": author, "text": text, "topics": ["qiskit", "quantum-gate"]}
        a = incremental.components(request, AT)
        b = bulk.components(request, AT)
        order = [bulk.pos[e] for e in incremental.ids]
        for k in ("activity", "topic", "text", "similar"):
            assert np.allclose(a[k][: len(order)], b[k][order], atol=1e-9), k


def test_decision_for_a_new_conversation(twcs_db: Path) -> None:
    p = load_policy()
    with Workspace(twcs_db, read_only=True) as ws:
        now = ws.con.execute("SELECT max(ts) FROM interactions").fetchall()[0][0]
        ctx = build_context(ws.con, p, now)
    conv = {
        "conversation_id": "new:1",
        "author": "twitter:999999",
        "text": "@AppleSupport my iPhone is stuck on the apple logo after the update, please help",
        "channel": "twitter",
        "visibility": "public",
        "arrived_at": now,
        "n_tagged": 1,
        "brands": ["twitter:AppleSupport"],
    }
    decide(ctx, conv, now)  # warm up
    t0 = time.perf_counter()
    d = decide(ctx, conv, now)
    took = time.perf_counter() - t0
    assert d.route in ("community", "staff") and d.priority > 0 and d.reasons
    assert d.reason_text and d.queue_position >= 1
    staff = d.candidates[d.candidates.kind == "staff"].candidate.tolist()
    assert staff == [
        "twitter:AppleSupport"
    ]  # other brands' accounts do not answer Apple's customers
    assert took < 0.5
