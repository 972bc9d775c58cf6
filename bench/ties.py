"""Benchmark of the tie stage (issue 3) against a bare DuckDB GROUP BY in the same run.

A synthetic power-law log (Zipf-like actors and targets, ``rows / 10`` entities, 90 days, a
quarter of messages replying to an earlier one) is written to Parquet; then, over that file:

1. baseline: ``SELECT actor, target, count(*) FROM log GROUP BY actor, target`` (DuckDB);
2. the tie stage: the shipped Ibis ``tie_features`` (every feature of every component, both
   orientations) materialised in DuckDB, then ``TieStrengthModel`` scoring in batches;
3. a straightforward pandas implementation of the core pair features (counts each way, first /
   last contact, active days, recency, balance) on ``--pandas-rows`` rows (stated in the output).

Synthetic data is for speed only, never for quality claims.

    python bench/ties.py --rows 10000000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from socialcrm.relationships.features import tie_features
from socialcrm.relationships.stage import score
from socialcrm.relationships.strength import TieStrengthModel


def synth(rows: int, path: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n_ent = max(rows // 10, 10)
    # power law: rank ~ Pareto, folded into the entity range
    a = (rng.pareto(1.2, rows) * n_ent / 50).astype(np.int64) % n_ent
    b = (rng.pareto(1.2, rows) * n_ent / 50 + rng.integers(0, n_ent, rows) // 100).astype(
        np.int64
    ) % n_ent
    b = np.where(a == b, (b + 1) % n_ent, b)
    t0 = int(pd.Timestamp("2024-01-01", tz="UTC").timestamp())
    ts = np.sort(t0 + rng.integers(0, 90 * 86_400, rows))
    ids = np.arange(rows)
    reply = np.where(rng.random(rows) < 0.25, ids - rng.integers(1, 1000, rows), -1)
    table = pa.table(
        {
            "interaction_id": pa.array(ids.astype(str)),
            "source": pa.array(np.full(rows, "synthetic")),
            "channel": pa.array(np.where(rng.random(rows) < 0.8, "email", "chat")),
            "ts": pa.array(ts * 1_000_000, type=pa.timestamp("us", tz="UTC")),
            "kind": pa.array(np.full(rows, "message")),
            "visibility": pa.array(np.where(rng.random(rows) < 0.5, "private", "public")),
            "text": pa.nulls(rows, pa.string()),
            "value": pa.nulls(rows, pa.float64()),
            "conversation_id": pa.nulls(rows, pa.string()),
            "in_reply_to": pa.array(np.where(reply >= 0, reply.astype(str), None)),
            "actor_entity": pa.array(np.char.add("e", a.astype(str))),
            "target_entity": pa.array(np.char.add("e", b.astype(str))),
        }
    )
    pq.write_table(table, path)


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def pandas_features(df: pd.DataFrame) -> pd.DataFrame:
    """Core pair features the plain pandas way (for the ratio; not the shipped path)."""
    df = df.assign(t=df.ts.astype("int64") // 10**9, day=lambda d: d.t // 86_400)
    ref = df.t.max()
    d = df.groupby(["actor_entity", "target_entity"]).agg(n=("t", "size"))
    lo = np.minimum(df.actor_entity, df.target_entity)
    hi = np.maximum(df.actor_entity, df.target_entity)
    und = (
        df.assign(lo=lo, hi=hi)
        .groupby(["lo", "hi"])
        .agg(n_pair=("t", "size"), first=("t", "min"), last=("t", "max"), days=("day", "nunique"))
    )
    und = und.reset_index()
    both = pd.concat(
        [und.rename(columns={"lo": "a", "hi": "b"}), und.rename(columns={"hi": "a", "lo": "b"})]
    )
    d = d.reset_index().rename(columns={"actor_entity": "a", "target_entity": "b"})
    out = both.merge(d, on=["a", "b"], how="left").merge(
        d.rename(columns={"a": "b", "b": "a", "n": "n_ba"}), on=["a", "b"], how="left"
    )
    out["n_ab"] = out.pop("n").fillna(0)
    out["n_ba"] = out.n_ba.fillna(0)
    out["recency_days"] = (ref - out["last"]) / 86_400
    out["balance"] = (out.n_ab - out.n_ba) / (out.n_ab + out.n_ba).clip(lower=1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--pandas-rows", type=int, default=1_000_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-ties-"))
    log = tmp / "log.parquet"
    synth(args.rows, log)
    con = duckdb.connect(str(tmp / "b.duckdb"), config={"memory_limit": "4GB"})
    con.execute("SET TimeZone = 'UTC'")
    t = time.perf_counter()
    con.execute(
        "CREATE TABLE gb AS SELECT actor_entity, target_entity, count(*) AS n"
        f" FROM read_parquet('{log}') GROUP BY 1, 2"
    ).fetchall()
    t_gb = time.perf_counter() - t

    backend = ibis.duckdb.from_connection(con)
    t = time.perf_counter()
    edges = backend.read_parquet(str(log), table_name="edges")
    sql = backend.compile(tie_features(edges))
    con.execute(f"CREATE TABLE tf AS {sql}").fetchall()
    t_feat = time.perf_counter() - t
    model = TieStrengthModel.default()
    reader = con.sql("SELECT * FROM tf").to_arrow_reader(1_000_000)
    n_ties = 0
    for batch in reader:
        n_ties += len(score(batch.to_pandas(), model, keep=("source_entity", "target_entity")))
    t_ties = time.perf_counter() - t
    peak = rss_gib()

    sub = pq.read_table(log).slice(0, args.pandas_rows).to_pandas()
    t = time.perf_counter()
    pandas_features(sub)
    t_pd = time.perf_counter() - t
    con.execute("SELECT 1").fetchall()
    t = time.perf_counter()
    con.execute(
        "CREATE TABLE tf_sub AS "
        + str(backend.compile(tie_features(edges.limit(args.pandas_rows))))
    ).fetchall()
    t_feat_sub = time.perf_counter() - t

    out = {
        "rows": args.rows,
        "ties": n_ties,
        "groupby_s": round(t_gb, 2),
        "features_s": round(t_feat, 2),
        "ties_s": round(t_ties, 2),
        "ratio_vs_groupby": round(t_ties / t_gb, 2),
        "peak_rss_gib": round(peak, 2),
        "pandas_rows": args.pandas_rows,
        "pandas_core_features_s": round(t_pd, 2),
        "features_on_pandas_rows_s": round(t_feat_sub, 2),
        "ratio_features_vs_pandas_core": round(t_feat_sub / t_pd, 2),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
