"""A real workspace for the service's tests, built once per session from real data slices.

* public: the first 3,000 tweets of Kaggle's "Customer Support on Twitter" (brands and
  customers, reply chains intact), written in the canonical CSV format;
* private: the first 1,500 direct messages of SNAP's CollegeMsg (UC Irvine online
  community), written as canonical JSON Lines on the ``chat`` channel (private by default);
* one person with both: the most active CollegeMsg user is merged (a real identity merge,
  as an analyst would do it) into the most active Twitter customer, so the 360° view
  holds public and private interactions of one entity.

Every stage then runs in DESIGN.md's order, through its own public function
(:func:`run_stages`): activity and conversations (``Workspace.analyze``), relationships
(``ties``, ``tie_history``, ``tie_tradeoff``), influence (``entity_metrics``,
``communities``), routing (``routing_queue`` through the routing stage's own
``refresh``) and prediction (``next_actions``). A stage that fails is recorded in
``Built.stage_errors`` (tests that need its table skip, naming the error) rather than
hiding the other stages' tests.

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
    stage_errors: dict[str, str]  # stage -> error, for a stage that failed in this tree
    queued_private: str | None  # a private conversation waiting, unassigned, in the queue

    def need(self, stage: str) -> None:
        """Skip the calling test when ``stage`` failed while building the workspace."""
        if stage in self.stage_errors:
            pytest.skip(f"the {stage} stage failed in this tree: {self.stage_errors[stage]}")


def run_stages(ws: Workspace) -> dict[str, str]:
    """Every stage after ``analyze`` (relationships, influence, routing, prediction), each
    through its public entry point; returns the errors of stages that failed."""
    from socialcrm.prediction.api import analyze_predictions
    from socialcrm.relationships import stage as relationships
    from socialcrm.routing import api as routing

    steps = {
        "relationships": lambda: relationships.run(
            ws.engine, relationships.TieParams.from_settings(ws.settings)
        ),
        "influence": ws.analyze_influence,
        "routing": lambda: routing.refresh(ws),
        "prediction": lambda: analyze_predictions(ws),
    }
    errors: dict[str, str] = {}
    for name, step in steps.items():
        try:
            step()
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return errors


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
        # Twitter accounts named by a word are the brands' care accounts (twcs): staff for
        # routing and the conversation stage, as an admin would declare them.
        for (brand_id,) in ws.con.execute(
            """SELECT entity_id FROM entities
               WHERE entity_id LIKE 'twitter:%' AND NOT regexp_matches(entity_id, '^twitter:[0-9]+$')"""
        ).fetchall():
            ws.set_role(brand_id, "brand")
        ws.analyze()  # stages see the merge, as after any `socialcrm analyze`
        stage_errors = run_stages(ws)
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
        queued_private = next(
            iter(
                ws.con.execute(
                    """SELECT conversation_id FROM routing_queue WHERE visibility = 'private'
                       AND assignee IS NULL AND status <> 'resolved'
                       ORDER BY conversation_id LIMIT 1"""
                ).fetchall()
            ),
            (None,),
        )[0]
        private = frozenset(
            r[0]
            for r in ws.con.execute(
                "SELECT interaction_id FROM interactions WHERE visibility = 'private'"
            ).fetchall()
        )
    assert len(private) == COLLEGEMSG_ROWS
    return Built(
        path, tokens, customer, student, brand, private, merge_id, customers, stage_errors,
        queued_private,
    )  # fmt: skip


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
