"""The relationship stage end to end: workspace tables, Workspace methods, CLI, export, history.

A hand-made canonical log whose answers are known by hand, and a real SocioPatterns slice.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from socialcrm.cli import app
from socialcrm.workspace import Workspace

# ann and bob talk a lot, both ways, over two months; ann writes once to cat; dan only
# reaches bob in March. Replies name their parent, so reciprocity is measurable.
LOG = """interaction_id,ts,channel,actor,targets,in_reply_to,text
m1,2024-01-03T09:00:00+00:00,email,email:ann@x.org,email:bob@x.org,,hello bob
m2,2024-01-03T10:00:00+00:00,email,email:bob@x.org,email:ann@x.org,m1,hi ann
m3,2024-01-10T09:00:00+00:00,email,email:ann@x.org,email:bob@x.org,,lunch?
m4,2024-01-10T09:30:00+00:00,email,email:bob@x.org,email:ann@x.org,m3,yes
m5,2024-02-05T09:00:00+00:00,chat,email:ann@x.org,email:bob@x.org,,see you
m6,2024-02-05T09:05:00+00:00,chat,email:bob@x.org,email:ann@x.org,m5,great
m7,2024-02-20T12:00:00+00:00,email,email:ann@x.org,email:cat@x.org,,one question
m8,2024-03-01T08:00:00+00:00,email,email:dan@x.org,email:bob@x.org,,hi
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    d = tmp_path_factory.mktemp("ties")
    (d / "log.csv").write_text(LOG)
    w = Workspace(d / "ws.duckdb")
    w.ingest("canonical", [d / "log.csv"])
    w.analyze_ties()
    yield w
    w.close()


def _ties(ws: Workspace) -> pd.DataFrame:
    return ws.con.sql("SELECT * FROM ties").df()


def _ent(ws: Workspace, handle: str) -> str:
    return ws.identities_of(handle)["entity_id"][0].as_py()


def test_ties_contract_both_orientations_and_hand_counts(ws: Workspace) -> None:
    t = _ties(ws)
    for col in [
        "source_entity",
        "target_entity",
        "strength",
        "time",
        "intensity",
        "reciprocity",
        "trust",
        "percentile_in_source",
        "percentile_in_target",
        "rank_in_source",
        "layer",
        "n_ab",
        "n_ba",
        "recency_days",
        "first_ts",
        "last_ts",
    ]:
        assert col in t.columns, col
    assert len(t) == 6  # three pairs, both orientations
    assert t.strength.between(0, 1).all()
    ann, bob, cat = (_ent(ws, f"email:{n}@x.org") for n in ("ann", "bob", "cat"))
    ab = t[(t.source_entity == ann) & (t.target_entity == bob)].iloc[0]
    assert (ab.n_ab, ab.n_ba) == (3, 3)
    assert ab.answered_by_b_share == 1.0  # bob answered each of ann's three messages
    assert ab.channels == 2  # email and chat
    ac = t[(t.source_entity == ann) & (t.target_entity == cat)].iloc[0]
    assert (ac.n_ab, ac.n_ba) == (1, 0)
    # recency from the last interaction (m8, Mar 1 08:00) to the tie's last contact
    assert ab.recency_days == pytest.approx(
        (pd.Timestamp("2024-03-01 08:00") - pd.Timestamp("2024-02-05 09:05")).total_seconds()
        / 86400
    )
    assert ab.strength > ac.strength  # six answered messages on two channels beat one note


def test_relative_strength_is_asymmetric_and_layers(ws: Workspace) -> None:
    t = _ties(ws).set_index(["source_entity", "target_entity"])
    ann, cat = _ent(ws, "email:ann@x.org"), _ent(ws, "email:cat@x.org")
    # ann has two ties and cat is the weaker; cat has one tie, to ann, its strongest
    assert t.loc[(ann, cat), "rank_in_source"] == 2
    assert t.loc[(ann, cat), "percentile_in_source"] == 0.5
    assert t.loc[(cat, ann), "percentile_in_source"] == 1.0
    assert t.loc[(ann, cat), "percentile_in_target"] == 1.0  # the reverse tie, in cat's network
    assert set(t.layer) == {"5"}  # nobody has more than five ties
    trade = ws.con.sql("SELECT * FROM tie_tradeoff WHERE scope = 'ego'").df()
    assert trade.set_index("entity").loc[ann, "n_ties"] == 2


def test_history_monthly_and_cumulative(ws: Workspace) -> None:
    h = ws.con.sql("SELECT CAST(period AS VARCHAR) AS p, * FROM tie_history").df()
    assert sorted(h.p.unique()) == ["2024-01-01", "2024-02-01", "2024-03-01"]
    ann, bob = _ent(ws, "email:ann@x.org"), _ent(ws, "email:bob@x.org")
    ab = h[(h.source_entity == ann) & (h.target_entity == bob)].sort_values("p")
    assert ab.n_ab.tolist() == [2, 3, 3]  # features with data up to each month's end
    assert h.strength.between(0, 1).all()
    # dan's tie exists only from March on
    dan = _ent(ws, "email:dan@x.org")
    assert set(h[h.source_entity == dan].p) == {"2024-03-01"}
    # the last snapshot agrees with the current ties on counts
    last = h[h.p == "2024-03-01"].set_index(["source_entity", "target_entity"])
    cur = _ties(ws).set_index(["source_entity", "target_entity"])
    assert (last.n_ab.sort_index() == cur.n_ab.sort_index()).all()


def test_tie_explained_and_export_round_trip(ws: Workspace, tmp_path: Path) -> None:
    row = ws.tie("email:ann@x.org", "email:cat@x.org")
    assert row["n_ab"] == 1 and row["reverse_strength"] is not None
    assert "#2 of 2" in row["why"]
    for name in ("ties.csv", "ties.parquet"):
        n = ws.export_ties(tmp_path / name)
        back = (pd.read_csv if name.endswith("csv") else pd.read_parquet)(tmp_path / name)
        assert n == len(back) == 6
        cur = _ties(ws)
        key = ["source_entity", "target_entity"]
        m = back.merge(cur, on=key, suffixes=("", "_db"))
        assert len(m) == 6
        assert (m.strength - m.strength_db).abs().max() < 1e-9
        assert (m.layer.astype(str) == m.layer_db.astype(str)).all()
        assert {"layer", "percentile_in_target", "trust"} <= set(back.columns)
    with pytest.raises(ValueError, match=r"csv or \.parquet"):
        ws.export_ties(tmp_path / "ties.xlsx")


def test_cli(ws: Workspace, tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(ws.path)
    ws.con.execute("CHECKPOINT").fetchall()
    r = runner.invoke(app, ["ties", "email:ann@x.org", "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    assert "strength" in r.output and _ent(ws, "email:bob@x.org") in r.output
    r = runner.invoke(app, ["ties", "--pair", "email:ann@x.org", "email:bob@x.org", "--db", db])
    assert r.exit_code == 0, r.output
    assert "reciprocity" in r.output and "layer 5" in r.output
    r = runner.invoke(app, ["ties", "--export", str(tmp_path / "t.csv"), "--db", db])
    assert r.exit_code == 0 and "wrote 6 ties" in r.output
    r = runner.invoke(app, ["ties", "--pair", "email:ann@x.org", "email:nobody", "--db", db])
    assert r.exit_code == 2
    assert "--pair" in runner.invoke(app, ["ties", "--help"]).output


def test_sociopatterns_slice_hand_checked(sp_dir: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(sp_dir / "tij_thiers13.dat", sep=r"\s+", header=None, nrows=2000)
    raw.columns = ["t", "i", "j"]
    (tmp_path / "tij.dat").write_text(raw.to_csv(sep=" ", header=False, index=False))
    with Workspace(tmp_path / "sp.duckdb") as w:
        w.ingest("sociopatterns", [tmp_path / "tij.dat"])
        w.analyze_ties(history=False)
        t = w.con.sql("SELECT * FROM ties").df()
    pair = raw.assign(lo=raw[["i", "j"]].min(axis=1), hi=raw[["i", "j"]].max(axis=1))
    top = pair.groupby(["lo", "hi"]).size().sort_values().index[-1]
    n = int(pair.groupby(["lo", "hi"]).size().max())
    rows = t[
        t.source_entity.str.endswith(f":{top[0]}") & t.target_entity.str.endswith(f":{top[1]}")
    ]
    assert len(rows) == 1
    assert rows.n_pair.iloc[0] == n
    assert rows.duration_s.iloc[0] == 20 * n  # 20 s per contact
    assert rows.n_ab.iloc[0] == rows.n_ba.iloc[0] == n  # meetings count both ways
    assert len(t) == 2 * pair.groupby(["lo", "hi"]).ngroups


@pytest.mark.spark
@pytest.mark.slow  # ~2-3 min on local Spark (2 shared cores); run with -m slow
def test_duckdb_and_spark_give_the_same_ties(
    ws: Workspace, spark_session: object, tmp_path: Path
) -> None:
    from socialcrm.relationships import stage

    params = stage.TieParams.from_settings(ws.settings)
    eng = ws.spark(directory=tmp_path / "parquet")
    counts = stage.run(eng, params, history=False)  # history's month union: ~3 min on Spark
    key = ["source_entity", "target_entity"]
    try:
        for table, keys in (("ties", key), ("tie_features", key)):
            sp = eng.to_arrow(eng.table(table)).to_pandas().sort_values(keys)
            dd = ws.con.sql(f"SELECT * FROM {table}").df().sort_values(keys)
            assert len(sp) == len(dd) == counts[table]
            sp, dd = sp.reset_index(drop=True), dd.reset_index(drop=True)
            assert (sp[keys].astype(str) == dd[keys].astype(str)).all().all()
            cols = ("strength", "time", "intensity", "reciprocity", "trust")
            for col in (*(cols if table == "ties" else ()), "n_ab", "n_ba", "recency_days"):
                assert (sp[col].astype(float) - dd[col].astype(float)).abs().max() < 1e-9, col
        sp_t = eng.to_arrow(eng.table("ties")).to_pandas().sort_values(key)
        dd_t = ws.con.sql("SELECT * FROM ties").df().sort_values(key)
        assert sp_t.layer.tolist() == dd_t.layer.tolist()
        assert sp_t.percentile_in_target.tolist() == dd_t.percentile_in_target.tolist()
    finally:
        for name in ("ties", "tie_features", "tie_tradeoff"):
            stage.drop(eng, name)
