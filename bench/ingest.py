"""Ingest benchmark (issue 2): canonical Parquet and CSV against a bare DuckDB copy of the same file.

Generates N synthetic canonical rows (power-law activity over ~1M actors, DuckDB SQL), then
for each format measures, each in a fresh subprocess and a fresh database file:

* ``bare``: ``CREATE TABLE t AS SELECT * FROM read_parquet(...)`` / ``read_csv(...)``, the
  floor any importer on DuckDB has to pay;
* ``ours``: ``Workspace.ingest("canonical", [file])`` (validation, quarantine, dedup,
  identities, threading, one transaction).

Each timing covers the operation and closing the database (the data durable on disk), not
Python start-up. Peak RSS is the child's own high-water mark (``VmHWM``). Targets on the 2-core machine:
>= 300,000 rows/s, ratio_vs_copy <= 2, peak <= 4 GiB.

    python bench/ingest.py --rows 10000000 --json
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

CHANNELS = ["phone", "email", "chat", "ivr", "sms", "meeting", "forum", "twitter"]

# Synthetic rows only: scale, never quality (DESIGN.md). Actor ids are log-uniform on
# [1, 1e6] (P(k) ~ 1/k, a power law: a few actors do most of the talking).
GENERATE_SQL = """
CREATE TABLE gen AS
WITH base AS (
    SELECT i,
           CAST(floor(exp(random() * ln(1e6))) AS BIGINT) AS a,
           CAST(floor(exp(random() * ln(1e6))) AS BIGINT) AS b,
           CAST(floor(exp(random() * ln(1e6))) AS BIGINT) AS c,
           random() AS r
    FROM range({rows}) t(i)
)
SELECT 'x' || i AS interaction_id,
       TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_seconds(CAST(i * 3 AS BIGINT)) AS ts,
       {channels}[1 + CAST(floor(r * {n_channels}) AS INTEGER)] AS channel,
       'u:' || a AS actor,
       CASE WHEN r < 0.1 THEN ['u:' || b, 'u:' || c] ELSE ['u:' || b] END AS targets,
       CASE WHEN r < 0.3 THEN 'call' ELSE 'message' END AS kind,
       CASE WHEN r < 0.3 THEN round(r * 2000, 1) END AS value,
       'synthetic message ' || i || ' from ' || a AS text
FROM base
"""


def generate(directory: Path, rows: int) -> tuple[Path, Path, float]:
    """Write the same rows as ``canonical.parquet`` and ``canonical.csv``; return their paths."""
    start = time.perf_counter()
    con = duckdb.connect(str(directory / "gen.duckdb"))
    channels = "[" + ", ".join(f"'{c}'" for c in CHANNELS) + "]"
    con.execute(GENERATE_SQL.format(rows=rows, channels=channels, n_channels=len(CHANNELS)))
    parquet = directory / "canonical.parquet"
    csv = directory / "canonical.csv"
    con.execute(f"COPY gen TO '{parquet}' (FORMAT parquet)")
    # CSV as a CRM export writes it: ISO 8601 with offset, targets separated by ';'.
    con.execute(
        f"""COPY (SELECT interaction_id, strftime(ts, '%Y-%m-%dT%H:%M:%S+00:00') AS ts, channel,
                   actor, array_to_string(targets, ';') AS targets, kind, value, text FROM gen)
            TO '{csv}' (FORMAT csv, HEADER)"""
    )
    con.close()
    (directory / "gen.duckdb").unlink()
    return parquet, csv, time.perf_counter() - start


# The child's own peak: VmHWM starts afresh at exec, while ru_maxrss keeps the forking
# parent's size (which holds the generated data) as a floor.
PEAK = """
def peak_kib():
    with open("/proc/self/status") as fh:
        return next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:"))
"""

BARE_CHILD = (
    PEAK
    + """
import duckdb, json, sys, time
db, path, fmt = sys.argv[1:4]
con = duckdb.connect(db, config={"memory_limit": "4GB"})
reader = "read_parquet(?)" if fmt == "parquet" else "read_csv(?)"
start, cpu = time.perf_counter(), time.process_time()
con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}", [path])
n = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
con.close()
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"rows": n, "seconds": seconds, "cpu_seconds": cpu,
                  "peak_rss_kib": peak_kib()}))
"""
)

OURS_CHILD = (
    PEAK
    + """
import json, sys, time
from socialcrm import Workspace
db, path = sys.argv[1:3]
ws = Workspace(db)
start, cpu = time.perf_counter(), time.process_time()
(report,) = ws.ingest("canonical", [path])
ws.close()
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"rows": report.rows_inserted, "rejected": report.rows_rejected,
                  "seconds": seconds, "cpu_seconds": cpu,
                  "peak_rss_kib": peak_kib()}))
"""
)


def run_child(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(directory: Path, path: Path, fmt: str, rows: int) -> dict:
    bare = run_child(BARE_CHILD, str(directory / f"bare-{fmt}.duckdb"), str(path), fmt)
    ours = run_child(OURS_CHILD, str(directory / f"ours-{fmt}.duckdb"), str(path))
    if ours["rows"] != rows or bare["rows"] != rows:
        raise SystemExit(f"{fmt}: expected {rows} rows, bare {bare['rows']}, ours {ours}")
    return {
        "rows_per_s": round(rows / ours["seconds"]),
        "ratio_vs_copy": round(ours["seconds"] / bare["seconds"], 2),
        "peak_rss_gib": round(ours["peak_rss_kib"] / 2**20, 2),
        "seconds": round(ours["seconds"], 2),
        "bare_seconds": round(bare["seconds"], 2),
        # CPU time (all threads) is what a busy machine distorts least.
        "cpu_seconds": round(ours["cpu_seconds"], 2),
        "bare_cpu_seconds": round(bare["cpu_seconds"], 2),
        "cpu_ratio_vs_copy": round(ours["cpu_seconds"] / bare["cpu_seconds"], 2),
        "bare_rows_per_s": round(rows / bare["seconds"]),
        "bare_peak_rss_gib": round(bare["peak_rss_kib"] / 2**20, 2),
        "file_mib": round(path.stat().st_size / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dir", type=Path, help="work directory (default: a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="socialcrm-bench-", dir=args.dir) as tmp:
        directory = Path(tmp)
        parquet, csv, gen_s = generate(directory, args.rows)
        pq = measure(directory, parquet, "parquet", args.rows)
        cs = measure(directory, csv, "csv", args.rows)

    result = {
        "rows": args.rows,
        "rows_per_s": pq["rows_per_s"],
        "ratio_vs_copy": pq["ratio_vs_copy"],
        "peak_rss_gib": pq["peak_rss_gib"],
        **{
            f"parquet_{k}": v
            for k, v in pq.items()
            if k not in ("rows_per_s", "ratio_vs_copy", "peak_rss_gib")
        },
        **{f"csv_{k}": v for k, v in cs.items()},
        "generate_seconds": round(gen_s, 1),
        "duckdb": duckdb.__version__,
        "machine": f"{platform.machine()}, {_cores()} cores, {_mem_gib()} GiB",
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.rows:,} canonical rows ({result['machine']}, DuckDB {duckdb.__version__})")
    print(
        f"{'format':<8} {'ours s':>8} {'rows/s':>10} {'bare s':>8} {'ratio':>6}"
        f" {'cpu ratio':>9} {'peak GiB':>9}"
    )
    for name, r in (("parquet", pq), ("csv", cs)):
        print(
            f"{name:<8} {r['seconds']:>8.2f} {r['rows_per_s']:>10,} {r['bare_seconds']:>8.2f}"
            f" {r['ratio_vs_copy']:>6.2f} {r['cpu_ratio_vs_copy']:>9.2f} {r['peak_rss_gib']:>9.2f}"
        )


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def _mem_gib() -> int:
    with open("/proc/meminfo") as fh:
        kib = int(fh.readline().split()[1])
    return round(kib / 2**20)


if __name__ == "__main__":
    main()
