"""Spread velocity: time to the first and k-th response, by hand; private chats without threads."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialcrm.influence.velocity import velocity
from socialcrm.workspace import Workspace

HEADER = "interaction_id,ts,channel,actor,targets,in_reply_to,kind\n"


def test_replies_by_hand(tmp_path: Path) -> None:
    # m1 by A: B replies after 1 h (and again after 1.5 h: still one responder), C after 2 h,
    # D after 3 h, A itself after 4 h (not a response). m2 by A gets nothing.
    forum = tmp_path / "forum.csv"
    forum.write_text(
        HEADER + "m1,2024-03-01T10:00:00+00:00,forum,A,,,post\n"
        "r1,2024-03-01T11:00:00+00:00,forum,B,A,m1,comment\n"
        "r2,2024-03-01T11:30:00+00:00,forum,B,A,m1,comment\n"
        "r3,2024-03-01T12:00:00+00:00,forum,C,A,m1,comment\n"
        "r4,2024-03-01T13:00:00+00:00,forum,D,A,m1,share\n"
        "r5,2024-03-01T14:00:00+00:00,forum,A,,m1,comment\n"
        "up,2024-03-01T10:00:01+00:00,forum,E,A,m1,endorse\n"
        "m2,2024-03-02T10:00:00+00:00,forum,A,,,post\n"
    )
    ws = Workspace(tmp_path / "v.duckdb")
    ws.ingest("canonical", [forum])
    v = {r["entity_id"]: r for r in velocity(ws.con, k=3).to_pylist()}
    a = v["A"]
    assert a["said"] == 3  # m1, m2 and A's own comment r5
    assert a["velocity_response_rate"] == pytest.approx(1 / 3)
    assert a["velocity_first_h"] == pytest.approx(1.0)  # B; the endorsement is no response
    assert a["velocity_k_h"] == pytest.approx(3.0)  # third distinct responder: D's reshare
    assert a["velocity_responders_24h"] == pytest.approx(3 / 3)
    assert v["B"]["velocity_response_rate"] == 0.0 and v["B"]["velocity_first_h"] is None
    ws.close()


def test_private_messages_without_reply_chains(tmp_path: Path) -> None:
    # A SNAP-like log: no in_reply_to anywhere, so y's next message back to x within
    # 24 h answers x's message.
    chat = tmp_path / "chat.csv"
    chat.write_text(
        HEADER + "1,2024-03-01T10:00:00+00:00,chat,x,y,,message\n"
        "2,2024-03-01T10:10:00+00:00,chat,y,x,,message\n"
        "3,2024-03-03T10:00:00+00:00,chat,x,y,,message\n"
        "4,2024-03-04T16:00:00+00:00,chat,y,x,,message\n"
    )
    ws = Workspace(tmp_path / "c.duckdb")
    ws.ingest("canonical", [chat])
    v = {r["entity_id"]: r for r in velocity(ws.con).to_pylist()}
    assert v["x"]["said"] == 2 and v["x"]["velocity_response_rate"] == pytest.approx(0.5)
    assert v["x"]["velocity_first_h"] == pytest.approx(10 / 60)  # message 3's answer: 30 h
    assert v["y"]["velocity_response_rate"] == 0.0  # x wrote back after 47 h 50 min
    ws.close()


def test_real_collegemsg_slice(shared_data: Path, tmp_path: Path) -> None:
    """CollegeMsg's first 3,000 messages: most answered messages are answered within hours."""
    lines = (shared_data / "snap_collegemsg" / "CollegeMsg.txt").read_text().split("\n")[:3000]
    (tmp_path / "CollegeMsg.txt").write_text("\n".join(lines) + "\n")
    ws = Workspace(tmp_path / "cm.duckdb")
    ws.ingest("snap", [tmp_path / "CollegeMsg.txt"])
    t = velocity(ws.con).to_pandas()
    assert t["said"].sum() == 3000
    answered = t.dropna(subset=["velocity_first_h"])
    assert len(answered) > 0.3 * len(t)
    assert answered["velocity_first_h"].median() < 6
    assert t["velocity_k_h"].isna().all()  # private one-to-one: never three responders
    ws.close()
