"""A real workspace for the service's tests, built once per session from real data slices.

* public: the first 3,000 tweets of Kaggle's "Customer Support on Twitter" (brands and
  customers, reply chains intact), written in the canonical CSV format;
* private: the first 1,500 direct messages of SNAP's CollegeMsg (UC Irvine online
  community), written as canonical JSON Lines on the ``chat`` channel (private by default);
* one person with both: the most active CollegeMsg user is merged (a real identity merge,
  as an analyst would do it) into the most active Twitter customer, so the 360° view
  holds public and private interactions of one entity.

Tokens for each role are created in the workspace. Tests that write copy the file first.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from socialcrm.api.auth import create_token
from socialcrm.workspace import Workspace

TWCS_ROWS = 3000
COLLEGEMSG_ROWS = 1500


@dataclass(frozen=True)
class Built:
    path: Path
    tokens: dict[str, str]  # role -> token
    mixed_entity: str  # a person with public tweets and private chats
    private_handle: str  # that person's merged private handle
    brand: str  # a brand entity with many conversations
    private_ids: frozenset[str]  # every private interaction id in the workspace
    merge_id: int
    customers: tuple[str, ...]  # other customer entities, free for tests to merge


def _twcs_canonical(src: Path, out: Path) -> None:
    with src.open(newline="", encoding="utf-8") as fh, out.open("w", newline="") as fo:
        reader = csv.DictReader(fh)
        writer = csv.writer(fo)
        writer.writerow(["interaction_id", "ts", "channel", "actor", "in_reply_to", "text"])
        for i, row in enumerate(reader):
            if i >= TWCS_ROWS:
                break
            if not row.get("created_at") or not row.get("author_id"):
                continue  # the slice has a broken multi-line row; the CSV adapter quarantines it
            ts = datetime.strptime(row["created_at"], "%a %b %d %H:%M:%S %z %Y")
            parent = row["in_response_to_tweet_id"]
            writer.writerow(
                [
                    row["tweet_id"],
                    ts.isoformat(),
                    "twitter",
                    f"twitter:{row['author_id']}",
                    str(int(float(parent))) if parent else "",
                    row["text"],
                ]
            )


def _collegemsg_canonical(src: Path, out: Path) -> None:
    with src.open() as fh, out.open("w") as fo:
        for i, line in enumerate(fh):
            if i >= COLLEGEMSG_ROWS:
                break
            a, b, t = line.split()
            fo.write(
                json.dumps(
                    {
                        "interaction_id": f"m{i + 1}",
                        "ts": int(t),
                        "channel": "chat",
                        "actor": f"collegemsg:{a}",
                        "targets": [f"collegemsg:{b}"],
                        "kind": "message",
                    }
                )
                + "\n"
            )


@pytest.fixture(scope="session")
def built_workspace(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Built:
    root = tmp_path_factory.mktemp("service")
    twcs = root / "twcs.csv"
    chats = root / "collegemsg.jsonl"
    _twcs_canonical(shared_data / "twcs_head5000" / "twcs_first5000.csv", twcs)
    _collegemsg_canonical(shared_data / "snap_collegemsg" / "CollegeMsg.txt", chats)
    path = root / "service.duckdb"
    with Workspace(path) as ws:
        ws.ingest("canonical", [twcs, chats])
        customer = ws.con.execute(
            """SELECT i.entity_id FROM interactions x JOIN identities i ON i.handle = x.actor
               WHERE x.source = 'twcs' AND regexp_matches(x.actor, '^twitter:[0-9]+$')
               GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"""
        ).fetchone()[0]
        student = ws.con.execute(
            """SELECT actor FROM interactions WHERE source = 'collegemsg'
               GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"""
        ).fetchone()[0]
        merge_id = ws.merge(customer, student, "same person (test fixture)")
        ws.analyze()  # stages see the merge, as after any `socialcrm analyze`
        brand = ws.con.execute(
            """SELECT i.entity_id FROM interactions x JOIN identities i ON i.handle = x.actor
               WHERE x.source = 'twcs' AND NOT regexp_matches(x.actor, '^twitter:[0-9]+$')
               GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"""
        ).fetchone()[0]
        customers = tuple(
            r[0]
            for r in ws.con.execute(
                """SELECT entity_id FROM entities
                   WHERE regexp_matches(entity_id, '^twitter:[0-9]+$') AND entity_id <> ?
                   ORDER BY entity_id LIMIT 20""",
                [customer],
            ).fetchall()
        )
        tokens = {
            role: create_token(ws.con, f"test-{role}", role)[1]
            for role in ("admin", "analyst", "agent")
        }
        private = frozenset(
            r[0]
            for r in ws.con.execute(
                "SELECT interaction_id FROM interactions WHERE visibility = 'private'"
            ).fetchall()
        )
    assert len(private) == COLLEGEMSG_ROWS
    return Built(path, tokens, customer, student, brand, private, merge_id, customers)


@pytest.fixture()
def workspace_copy(built_workspace: Built, tmp_path: Path) -> Path:
    """A private copy of the built workspace file, for tests that write."""
    dest = tmp_path / "copy.duckdb"
    shutil.copy(built_workspace.path, dest)
    return dest


def fill_queue_contract(ws: Workspace, n: int = 400) -> None:
    """Rows in ``routing_queue`` (store migration 3) shaped as the routing stage writes them,
    derived from the workspace's real conversations: for tests of the service's side of
    the contract while the routing stage does not fill the queue here."""
    ws.con.execute("DELETE FROM routing_queue").fetchall()
    ws.con.execute(
        f"""INSERT INTO routing_queue (conversation_id, visibility, author, arrived_at, priority,
               reasons, route, status, first_response_due, updated_at)
        SELECT conv, CASE WHEN bool_or(visibility = 'private') THEN 'private' ELSE 'public' END,
               arg_min(actor, ts), min(ts), count(*) + (hash(conv) % 100) / 100.0,
               to_json([{{'term': 'waiting', 'text': 'waited ' || count(*) || ' messages'}}]),
               'staff', CASE WHEN hash(conv) % 5 = 0 THEN 'resolved' ELSE 'open' END,
               max(ts) + INTERVAL 4 HOUR, now()
        FROM (SELECT coalesce(conversation_id, interaction_id) AS conv, ts, actor, visibility
              FROM interactions)
        GROUP BY conv ORDER BY hash(conv) LIMIT {int(n)}"""
    ).fetchall()
