"""The influence stage end to end on a real dump: tables, Workspace functions and CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialcrm.cli import app
from socialcrm.influence.api import StageNotRunError
from socialcrm.influence.stage import InfluenceParams, MissingTiesError
from socialcrm.settings import Settings
from socialcrm.workspace import Workspace

from .conftest import count_ties

COLUMNS = {
    "entity_id", "influence", "pagerank", "strength_degree", "strength_in", "degree_in", "degree_out", "kcore",
    "reach_1hop", "reach_2hop", "said", "velocity_response_rate", "velocity_first_h",
    "velocity_k_h", "velocity_responders_24h", "tier", "contribution_score", "community",
    "community_influence", "is_leader",
}  # fmt: skip


@pytest.fixture(scope="module")
def conlang(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("stage") / "conlang.duckdb"
    with Workspace(db) as ws:
        ws.ingest("stackexchange", [shared_data / "stackexchange_conlang_dump"])
        with pytest.raises(MissingTiesError, match="relationships stage"):
            ws.analyze_influence()
        with pytest.raises(StageNotRunError, match="socialcrm analyze"):
            ws.influencers()
        ties = count_ties(ws)
        ws.con.register("_t", ties)
        ws.con.execute("CREATE TABLE ties AS SELECT * FROM _t")
        ws.con.unregister("_t")
        counts = ws.analyze_influence()
        assert counts["entity_metrics"] == ws.status()["entities"]
    return db


def test_tables(conlang: Path) -> None:
    with Workspace(conlang) as ws:
        cols = {r[0] for r in ws.con.execute("DESCRIBE entity_metrics").fetchall()}
        assert cols == COLUMNS
        m = ws.query("SELECT * FROM entity_metrics").to_pandas()
        # everyone has a tier; only entities with ties have a community
        people = ws.con.execute("SELECT count(*) FROM entities WHERE kind = 'person'").fetchall()
        assert m.tier.notna().sum() == people[0][0]
        assert (m.community.notna() == (m.degree_in + m.degree_out > 0)).all()
        assert m.influence[m.community.notna()].mean() == pytest.approx(1.0)
        assert (m.reach_2hop >= m.reach_1hop).all()
        comms = ws.query("SELECT * FROM communities ORDER BY community").to_pylist()
        assert sum(c["size"] for c in comms) == m.community.notna().sum()
        led = m[m.is_leader]
        assert set(led.entity_id) == {c["leader"] for c in comms if c["leader"]}
        top = ws.influencers(5).to_pylist()
        assert top[0]["influence"] >= top[-1]["influence"] > 1
        assert {r["tier"] for r in top} <= {"superuser", "contributor"}
        s = ws.tiers()
        assert s["lurker"]["share"] > 0.5 and s["superuser"]["count"] >= 1
        rep = ws.advocates(5)
        assert rep.greedy.total_reach >= rep.by_degree.total_reach
        assert rep.feedback is None  # no conversation stage in this workspace


def test_cli(conlang: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["influencers", "--db", str(conlang), "-n", "3", "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)) == 3
    r = runner.invoke(app, ["advocates", "--db", str(conlang), "--k", "4"])
    assert r.exit_code == 0, r.output
    assert "4 advocates, median personal network" in r.output
    assert "top 4 by degree instead" in r.output
    r = runner.invoke(app, ["communities", "--db", str(conlang)])
    assert r.exit_code == 0 and "communities of 3+ members" in r.output
    r = runner.invoke(app, ["tiers", "--db", str(conlang), "--json"])
    assert r.exit_code == 0
    assert json.loads(r.output)["lurker"]["nielsen"] == 0.9


def test_cli_before_the_stage(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["influencers", "--db", str(tmp_path / "empty.duckdb")])
    assert r.exit_code == 2 and "socialcrm analyze" in r.output


def test_params_from_settings(tmp_path: Path) -> None:
    (tmp_path / "socialcrm.toml").write_text(
        "reach_strength_threshold = 0.35\n[influence]\nblend = 0.3\nresolution = 2.0\n"
    )
    p = InfluenceParams.from_settings(Settings.load(tmp_path / "w.duckdb"))
    assert (p.reach_threshold, p.blend, p.resolution, p.damping) == (0.35, 0.3, 2.0, 0.85)
    (tmp_path / "socialcrm.toml").write_text("[influence]\nbelnd = 0.3\n")
    with pytest.raises(ValueError, match="belnd"):
        InfluenceParams.from_settings(Settings.load(tmp_path / "w.duckdb"))


def test_stale_ties_count_less(tmp_path: Path) -> None:
    """A tie's strength is halved every ``half_life_days`` since the pair last met."""
    import pyarrow as pa

    from socialcrm.influence.stage import read_ties

    from .conftest import workspace_with_ties

    ties = pa.table(
        {
            "source_entity": ["a", "b", "c"],
            "target_entity": ["x", "x", "y"],
            "strength": [0.8, 0.8, 0.6],
            "recency_days": [0.0, 7.0, 14.0],
            "n_ab": [3, 1, 0],
            "n_ba": [3, 0, 2],
        }
    )
    ws = workspace_with_ties(tmp_path / "w.duckdb", ties)
    rows = read_ties(ws.con, 7.0).to_pylist()
    got = {(r["source_entity"], r["target_entity"]): r["strength"] for r in rows}
    assert got == pytest.approx({("a", "x"): 0.8, ("b", "x"): 0.4, ("c", "y"): 0.15})
    # engagement: log(1 + volume both ways) * (1 + min/max) / 2 * decay
    eng = {(r["source_entity"], r["target_entity"]): r["engagement"] for r in rows}
    assert eng == pytest.approx(
        {("a", "x"): math.log(7), ("b", "x"): math.log(2) / 2 / 2, ("c", "y"): math.log(3) / 2 / 4}
    )
    plain = read_ties(ws.con, None).to_pylist()
    assert [r["strength"] for r in plain] == [0.8, 0.8, 0.6]
    ws.close()


def test_system_entities_are_not_in_the_tie_graph(tmp_path: Path) -> None:
    """A dump's anonymous voters get ties from the relationships stage, never influence."""
    import pyarrow as pa

    from socialcrm.influence.stage import read_ties

    from .conftest import workspace_with_ties

    ties = pa.table(
        {
            "source_entity": ["anon", "a", "b"],
            "target_entity": ["a", "b", "a"],
            "strength": [0.9, 0.5, 0.5],
        }
    )
    ws = workspace_with_ties(tmp_path / "w.duckdb", ties)
    ws.set_role("anon", "system")
    ws.con.execute("UPDATE entities SET kind = 'system' WHERE entity_id = 'anon'")
    rows = read_ties(ws.con).to_pylist()
    assert {(r["source_entity"], r["target_entity"]) for r in rows} == {("a", "b"), ("b", "a")}
    ws.analyze_influence()
    m = dict(ws.con.execute("SELECT entity_id, influence FROM entity_metrics").fetchall())
    assert m["anon"] == 0.0 and m["a"] == pytest.approx(1.0)
    ws.close()
