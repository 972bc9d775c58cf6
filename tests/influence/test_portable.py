"""The Ibis definitions of influence and reach agree with igraph, on DuckDB and on Spark.

Tolerance (stated in :mod:`socialcrm.influence.portable`): after k power-iteration steps
the L1 distance of PageRank to its fixed point is at most 2 * 0.85**k; igraph (PRPACK)
solves to ~1e-10. The same Ibis expression on DuckDB and Spark agrees to rounding.
Reach is exact on every path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from socialcrm.influence import portable
from socialcrm.influence.influence import DAMPING, influence_table
from socialcrm.influence.reach import reach
from socialcrm.influence.stage import read_ties
from socialcrm.influence.tiegraph import TieGraph
from socialcrm.store.engine import SparkEngine
from socialcrm.workspace import Workspace

from .conftest import count_ties

THRESHOLD = 0.5


@pytest.fixture(scope="module")
def college(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The first 4,000 CollegeMsg messages, ingested, with count-based ties stored."""
    tmp = tmp_path_factory.mktemp("portable")
    lines = (shared_data / "snap_collegemsg" / "CollegeMsg.txt").read_text().split("\n")[:4000]
    (tmp / "CollegeMsg.txt").write_text("\n".join(lines) + "\n")
    ws = Workspace(tmp / "cm.duckdb")
    ws.ingest("snap", [tmp / "CollegeMsg.txt"])
    ties = count_ties(ws)
    ws.con.register("_t", ties)
    ws.con.execute("CREATE OR REPLACE TABLE ties AS SELECT * FROM _t")
    ws.con.unregister("_t")
    yield ws
    ws.close()


def _igraph(ws: Workspace) -> pd.DataFrame:
    g = TieGraph.from_arrow(read_ties(ws.con))  # current strengths, engagement weights
    t = influence_table(g).to_pandas().set_index("entity_id")
    r1, r2 = reach(g, THRESHOLD)
    return t.assign(reach_1hop=r1, reach_2hop=r2)


def _ibis(engine, iterations: int) -> pd.DataFrame:
    ties = portable.current_ties(engine.table("ties"), entities=engine.table("entities"))
    inf = engine.to_arrow(portable.influence(engine, ties, iterations=iterations)).to_pandas()
    r = engine.to_arrow(portable.reach(ties, THRESHOLD)).to_pandas()
    return inf.merge(r, on="entity_id").set_index("entity_id")


def test_duckdb_ibis_matches_igraph(college: Workspace) -> None:
    ref = _igraph(college)
    k = 100
    got = _ibis(college.engine, k).reindex(ref.index)
    assert len(got) == len(ref) > 400 and not got.isna().any().any()
    l1 = float(np.abs(got.pagerank - ref.pagerank).sum())
    assert l1 <= 2 * DAMPING**k
    assert np.abs(got.strength_in - ref.strength_in).max() < 1e-12
    assert np.abs(got.strength_degree - ref.strength_degree).max() < 1e-9
    assert (ref.strength_degree != ref.strength_in).any()  # the engagement weights are used
    assert np.abs(got.influence - ref.influence).max() <= len(ref) * DAMPING**k
    assert (got.reach_1hop == ref.reach_1hop).all() and (got.reach_2hop == ref.reach_2hop).all()
    # the same top 20, in the same order
    assert list(got.influence.nlargest(20).index) == list(ref.influence.nlargest(20).index)


@pytest.mark.spark
def test_spark_ibis_matches_duckdb_ibis(college: Workspace, spark_session, tmp_path: Path) -> None:
    k = 8  # Spark runs a few jobs per step; the DuckDB test covers convergence
    spark = SparkEngine.from_duckdb(college.con, tables=("ties", "entities"), directory=tmp_path)
    on_spark = _ibis(spark, k)
    on_duckdb = _ibis(college.engine, k).reindex(on_spark.index)
    assert len(on_spark) == len(on_duckdb)
    assert np.abs(on_spark.pagerank - on_duckdb.pagerank).max() < 1e-12
    assert np.abs(on_spark.influence - on_duckdb.influence).max() < 1e-9
    assert (on_spark.reach_2hop == on_duckdb.reach_2hop).all()
    ref = _igraph(college).reindex(on_spark.index)
    assert float(np.abs(on_spark.pagerank - ref.pagerank).sum()) <= 2 * DAMPING**k
    assert (on_spark.reach_1hop == ref.reach_1hop).all()
