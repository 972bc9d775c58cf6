"""Threading from reply chains: roots, orphans, cycles, native threads, late parents.

The rows are e-mail and forum exports in the canonical JSON Lines format, imported for
real; a random reply forest with cycles is checked against a plain walk up the chain.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from socialcrm import Workspace


@pytest.fixture
def ws(tmp_path: Path):
    workspace = Workspace(tmp_path / "crm.duckdb")
    yield workspace
    workspace.close()


def write_jsonl(path: Path, records: list[dict]) -> Path:
    """Canonical JSON Lines; every record is an e-mail unless it says otherwise."""
    lines = []
    for i, r in enumerate(records):
        row = {
            "ts": f"2024-04-01T09:{i % 60:02d}:00+02:00",
            "channel": "email",
            "actor": f"email:user{i % 3}@example.com",
            "source": "mail",
            **r,
        }
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines) + "\n")
    return path


def threads(ws: Workspace) -> dict[str, str]:
    """interaction id (without source) -> effective conversation id (without source)."""
    rows = ws.con.execute(
        "SELECT interaction_id, coalesce(conversation_id, interaction_id) FROM interactions"
    ).fetchall()
    return {i.removeprefix("mail:"): c.removeprefix("mail:") for i, c in rows}


def test_reply_chains_orphans_cycles_and_native_threads(ws: Workspace, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "inbox.jsonl",
        [
            # a chain: r <- r1 <- r2, and a second branch r <- r3
            {"interaction_id": "r"},
            {"interaction_id": "r1", "in_reply_to": "r"},
            {"interaction_id": "r2", "in_reply_to": "r1"},
            {"interaction_id": "r3", "in_reply_to": "r"},
            # orphans: the parent was never exported
            {"interaction_id": "o1", "in_reply_to": "gone"},
            {"interaction_id": "o2", "in_reply_to": "o1"},
            {"interaction_id": "o3", "in_reply_to": "o2"},
            # a 2-cycle
            {"interaction_id": "k2", "in_reply_to": "k1"},
            {"interaction_id": "k1", "in_reply_to": "k2"},
            # a 3-cycle with a tail of two
            {"interaction_id": "c3", "in_reply_to": "c1"},
            {"interaction_id": "c1", "in_reply_to": "c2"},
            {"interaction_id": "c2", "in_reply_to": "c3"},
            {"interaction_id": "a1", "in_reply_to": "c2"},
            {"interaction_id": "a0", "in_reply_to": "a1"},
            # a forum thread with its own id, and a reply chain hanging off it
            {"interaction_id": "q", "channel": "forum", "conversation_id": "T-9"},
            {
                "interaction_id": "q1",
                "channel": "forum",
                "conversation_id": "T-9",
                "in_reply_to": "q",
            },
            {"interaction_id": "q2", "channel": "forum", "in_reply_to": "q1"},
            {"interaction_id": "q3", "channel": "forum", "in_reply_to": "q2"},
        ],
    )
    (report,) = ws.ingest("canonical", [path])
    assert report.rows_inserted == 18
    got = threads(ws)
    assert {k: got[k] for k in ("r", "r1", "r2", "r3")} == dict.fromkeys(
        ["r", "r1", "r2", "r3"], "r"
    )
    # the earliest message present is the root of an orphaned chain
    assert {k: got[k] for k in ("o1", "o2", "o3")} == dict.fromkeys(["o1", "o2", "o3"], "o1")
    # cycles: the smallest id on the cycle, for the cycle and for the tail leading into it
    assert got["k1"] == got["k2"] == "k1"
    assert {k: got[k] for k in ("c1", "c2", "c3", "a1", "a0")} == dict.fromkeys(
        ["c1", "c2", "c3", "a1", "a0"], "c1"
    )
    # replies to a message of a native thread join that thread
    assert {k: got[k] for k in ("q", "q1", "q2", "q3")} == dict.fromkeys(
        ["q", "q1", "q2", "q3"], "T-9"
    )
    # a message that replies to nothing keeps a NULL conversation_id (read as itself)
    root = ws.con.execute(
        "SELECT conversation_id, thread_derived FROM interactions WHERE interaction_id = 'mail:r'"
    ).fetchall()
    assert root == [(None, False)]
    derived = ws.con.execute(
        "SELECT bool_and(thread_derived) FROM interactions"
        " WHERE in_reply_to IS NOT NULL AND interaction_id <> 'mail:q1'"
    ).fetchall()
    assert derived == [(True,)]
    assert ws.status()["conversations"] == 5  # r, o1, k1, c1, T-9


def test_a_later_import_with_the_missing_parent_rethreads_orphans(
    ws: Workspace, tmp_path: Path
) -> None:
    first = write_jsonl(
        tmp_path / "week1.jsonl",
        [
            {"interaction_id": "o1", "in_reply_to": "p1"},
            {"interaction_id": "o2", "in_reply_to": "o1"},
            {"interaction_id": "o3", "in_reply_to": "o2"},
            {"interaction_id": "x1", "in_reply_to": "o3"},
        ],
    )
    ws.ingest("canonical", [first])
    assert set(threads(ws).values()) == {"o1"}
    # the parent arrives, itself a reply to an older message that also arrives
    second = write_jsonl(
        tmp_path / "week0.jsonl",
        [{"interaction_id": "p0"}, {"interaction_id": "p1", "in_reply_to": "p0"}],
    )
    (report,) = ws.ingest("canonical", [second])
    assert report.rows_inserted == 2
    assert threads(ws) == dict.fromkeys(["p0", "p1", "o1", "o2", "o3", "x1"], "p0")
    # and importing week 1 again changes nothing
    ws.ingest("canonical", [first])
    assert threads(ws) == dict.fromkeys(["p0", "p1", "o1", "o2", "o3", "x1"], "p0")


def reference_threads(parent: dict[str, str | None], native: dict[str, str]) -> dict[str, str]:
    """The definition, one walk per message: up the chain until a root, a missing parent,
    a native thread or a message seen before on this walk (a cycle)."""
    out = {}
    for start in parent:
        if start in native:
            out[start] = native[start]
            continue
        if parent[start] is None:
            out[start] = start
            continue
        path, node = [start], start
        while True:
            p = parent[node]
            if p is None or p not in parent:  # node is a root, or its parent is missing
                out[start] = node
                break
            if p in native:
                out[start] = native[p]
                break
            if parent[p] is None:
                out[start] = p
                break
            if p in path:  # a cycle: its smallest id
                out[start] = min(path[path.index(p) :])
                break
            path.append(p)
            node = p
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_random_reply_forest_with_cycles_matches_the_definition(
    ws: Workspace, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    ids = [f"m{i:04d}" for i in range(400)]
    parent: dict[str, str | None] = {}
    for i, m in enumerate(ids):
        roll = rng.random()
        if i == 0 or roll < 0.15:
            parent[m] = None
        elif roll < 0.2:
            parent[m] = f"missing{i}"
        else:
            parent[m] = rng.choice(ids[:i])
    # rewire a few messages to later ones, which closes cycles of assorted lengths
    for m in rng.sample(ids[50:], 25):
        parent[m] = rng.choice(ids[ids.index(m) :])
    # and rings of 2 to 17 messages (a 2^k ring is the case pointer jumping gets wrong
    # most easily), each with a tail of replies leading into it
    for length in (2, 4, 5, 7, 8, 16, 17):
        ring = [f"ring{length}-{rng.randrange(10**6):06d}-{j}" for j in range(length)]
        tail = [f"tail{length}-{j}" for j in range(rng.randrange(1, 6))]
        for j, m in enumerate(ring):
            parent[m] = ring[(j + 1) % length]
        for j, m in enumerate(tail):
            parent[m] = tail[j + 1] if j + 1 < len(tail) else rng.choice(ring)
        ids += ring + tail
    native = {m: f"T{m}" for m in rng.sample(ids[:400], 10)}
    records = []
    for m in rng.sample(ids, len(ids)):  # file order must not matter
        rec = {"interaction_id": m}
        if parent[m] is not None:
            rec["in_reply_to"] = parent[m]
        if m in native:
            rec["conversation_id"] = native[m]
        records.append(rec)
    ws.ingest("canonical", [write_jsonl(tmp_path / "forest.jsonl", records)])
    expected = reference_threads({m: parent[m] for m in ids}, native)
    # the reference sees missing parents as absent keys
    assert threads(ws) == expected
