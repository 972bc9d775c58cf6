"""The conversation stage through the Workspace, the CLI, and on Spark (same answers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialcrm.cli import app
from socialcrm.conversations.api import stage_expressions
from socialcrm.store.engine import SparkEngine
from socialcrm.workspace import Workspace

from .conftest import handmade_file


@pytest.fixture(scope="module")
def small(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The first 400 twcs rows and the hand-made threads, analysed through ``analyze()``."""
    tmp = tmp_path_factory.mktemp("stage")
    lines = (shared_data / "twcs_head5000" / "twcs_first5000.csv").read_text("utf-8").split("\n")
    (tmp / "twcs400.csv").write_text("\n".join(lines[:401]) + "\n", encoding="utf-8")
    ws = Workspace(tmp / "crm.duckdb")
    ws.ingest("twcs", [tmp / "twcs400.csv"])
    ws.ingest("canonical", [handmade_file(tmp / "handmade.jsonl")])
    ws.set_role("facebook:AcmeBrand", "brand")
    counts = ws.analyze()
    for table in ("message_labels", "conversation_features", "conversations"):
        assert counts[table] > 0
    yield ws
    ws.close()


def test_analyze_materialises_the_tables(small: Workspace) -> None:
    n_conv = small.query(
        "SELECT count(DISTINCT coalesce(conversation_id, interaction_id)) AS n FROM interactions"
        " WHERE kind NOT IN ('endorse', 'view', 'accept')"
    ).to_pylist()[0]["n"]
    assert small.query("SELECT count(*) AS n FROM conversations").to_pylist()[0]["n"] == n_conv
    # running it again replaces, never duplicates
    small.analyze_conversations()
    assert small.query("SELECT count(*) AS n FROM conversations").to_pylist()[0]["n"] == n_conv


def test_conversation_returns_thread_with_labels(small: Workspace) -> None:
    # twcs 1: Sprint "would need to get you into a private secured link" (and later asks
    # for a private message): the thread moves to a private channel
    data = small.conversation("twcs:1")  # any turn's id finds its thread
    assert data["conversation_id"].startswith("twcs:")
    assert any(t["interaction_id"] == "twcs:1" for t in data["turns"])
    assert any(t["private_cue"] == "private secured link" for t in data["turns"])
    assert [t["seq"] for t in data["turns"]] == list(range(1, len(data["turns"]) + 1))
    lab = data["labels"]
    assert lab["moved_private"] and "private" in lab["moved_private_reason"]
    for key in ("pattern_reason", "customer_reason", "business_reason", "urgency_reason"):
        assert lab[key]
    with pytest.raises(LookupError):
        small.conversation("no-such-thread")


def test_summary_distributions(small: Workspace) -> None:
    s = small.conversation_summary()
    assert {
        "sentiment",
        "intent",
        "pattern",
        "customer_degree",
        "business_degree",
        "brand_habit",
    } <= set(s)
    rows = s["pattern"].to_pylist()
    for grouping in ("channel", "brand"):
        groups: dict[str, float] = {}
        for r in rows:
            if r["grouping"] == grouping:
                groups[r["group"]] = groups.get(r["group"], 0.0) + r["share"]
        assert groups and all(abs(v - 1) < 1e-9 for v in groups.values())
    channels = {r["group"] for r in s["sentiment"].to_pylist() if r["grouping"] == "channel"}
    assert {"twitter", "email"} <= channels


def test_cli_show_and_summary(small: Workspace) -> None:
    runner = CliRunner()
    db = str(small.path)  # the CLI opens the same file (one DuckDB instance per process)
    out = runner.invoke(app, ["conversations", "--show", "handmade:bait:1", "--db", db])
    assert out.exit_code == 0, out.output
    assert "broadcast with bait" in out.output and "Register" in out.output
    out = runner.invoke(app, ["conversations", "--summary", "--db", db])
    assert out.exit_code == 0, out.output
    assert "pattern by channel and brand" in out.output
    out = runner.invoke(app, ["conversations", "--show", "nothing-here", "--db", db])
    assert out.exit_code == 1 and "no conversation" in out.output


@pytest.mark.spark
def test_spark_gives_the_same_labels(small: Workspace, spark_session, tmp_path: Path) -> None:
    spark = SparkEngine.from_duckdb(
        small.con,
        tables=("interactions", "identities", "entities", "message_labels"),
        directory=tmp_path,
    )
    cols = [
        "conversation_id",
        "pattern",
        "transparent",
        "moved_private",
        "customer_degree",
        "business_degree",
        "urgency",
        "first_response_s",
        "brand",
    ]
    on_spark = spark.to_arrow(stage_expressions(spark)["conversations"].select(*cols))
    on_duck = small.query("SELECT " + ", ".join(cols) + " FROM conversations")
    key = lambda r: r["conversation_id"]  # noqa: E731
    a = sorted(on_spark.to_pylist(), key=key)
    b = sorted(on_duck.to_pylist(), key=key)
    assert len(a) == len(b) > 50
    for x, y in zip(a, b, strict=True):
        assert {k: v for k, v in x.items() if k != "urgency"} == {
            k: v for k, v in y.items() if k != "urgency"
        }
        assert abs(x["urgency"] - y["urgency"]) < 1e-9
