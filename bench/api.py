"""REST API under load (issue 7): ``socialcrm serve`` on loopback, many concurrent clients.

Usage::

    .venv/bin/python bench/api.py                          # 1,000,000 interactions, 100 clients, 60 s
    .venv/bin/python bench/api.py --rows 100000 --seconds 10 --clients 20   # a quick run
    .venv/bin/python bench/api.py --json

What it does, all on 127.0.0.1:

1. builds (once, cached in the system's temp directory) a workspace of ``--rows``
   synthetic canonical interactions: threads of 4 turns between a customer (ids
   log-uniform on 1..200,000: power-law activity) and one of 50 brand accounts or 200
   agents, 60 % on public channels (twitter, forum) and 40 % private (email, chat,
   phone), a tenth of the threads still waiting for an answer; ingested with
   ``Workspace.ingest("canonical")``, then the activity stage and a routing refresh (so
   the queue holds the open conversations). Synthetic data: a scale test, never a
   quality claim (DESIGN.md);
2. starts ``socialcrm serve`` in a subprocess and waits for its health check;
3. runs ``--clients`` concurrent keep-alive HTTP/1.1 connections for ``--seconds``, each
   sending, one after another with no think time (a closed loop: the server is
   saturated), requests alternating between the 360° view of a random customer
   (``GET /api/v1/entities/{id}/profile``) and the queue listing (``GET /api/v1/queue``),
   as an agent token;
4. reports requests per second, p50 and p99 latency per endpoint and the error count
   (any status other than 200, or a broken connection).

The load generator is a few lines of asyncio on raw sockets (not httpx) so that as
little CPU as possible is taken from the server: client and server share the machine's
cores. ``--think-ms`` adds a pause after each response (an agent reading the screen)
for an open-ish load instead of saturation.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from socialcrm.api.auth import create_token  # noqa: E402
from socialcrm.influence.activity import activity_stage  # noqa: E402
from socialcrm.workspace import Workspace  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "socialcrm-bench"

GENERATE_SQL = """
COPY (
    WITH turns AS (
        -- open threads keep only their first turn: generate a tenth more, keep {rows}
        SELECT i, i // 4 AS t, i % 4 AS p FROM range({rows} * 11 // 10) r(i)
    ), threads AS (
        SELECT t,
               CAST(floor(exp(hash(t, 'customer') % 1000000 / 1e6 * ln(200000))) AS BIGINT)
                   AS customer,
               hash(t, 'staff') % 250 AS staff,
               (hash(t, 'channel') % 100) AS roll,
               hash(t, 'open') % 10 = 0 AS open  -- a tenth still wait for an answer
        FROM (SELECT DISTINCT t FROM turns)
    )
    SELECT 'x' || i AS interaction_id,
           TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(t * 20 + p * 600) AS ts,
           CASE WHEN roll < 45 THEN 'twitter' WHEN roll < 60 THEN 'forum'
                WHEN roll < 80 THEN 'email' WHEN roll < 92 THEN 'chat' ELSE 'phone' END
               AS channel,
           CASE WHEN p % 2 = 0 THEN 'c:' || customer
                WHEN staff < 50 THEN 'brand:' || staff ELSE 'agent:' || staff END AS actor,
           [CASE WHEN p % 2 = 1 THEN 'c:' || customer
                 WHEN staff < 50 THEN 'brand:' || staff ELSE 'agent:' || staff END] AS targets,
           'x' || (t * 4) AS conversation_id,
           CASE WHEN p > 0 THEN 'x' || (i - 1) END AS in_reply_to,
           CASE WHEN p = 0 THEN 'question' ELSE 'message' END AS kind,
           CASE WHEN p % 2 = 0 THEN 'my order ' || t || ' is late, can you help?'
                ELSE 'sorry about order ' || t || ', we are looking into it' END AS text
    FROM turns JOIN threads USING (t)
    WHERE NOT (open AND p > 0)
    ORDER BY i
    LIMIT {rows}
) TO '{path}' (FORMAT parquet)
"""


def build_workspace(rows: int, db: Path) -> dict:
    """Generate, ingest and analyse (activity stage) once; reuse the file afterwards."""
    if db.exists():
        return {"built": False}
    db.parent.mkdir(parents=True, exist_ok=True)
    import duckdb

    start = time.perf_counter()
    parquet = db.with_suffix(".parquet")
    con = duckdb.connect()
    con.execute(GENERATE_SQL.format(rows=rows, path=parquet))
    con.close()
    tmp = db.with_suffix(".tmp.duckdb")
    with Workspace(tmp) as ws:
        (report,) = ws.ingest("canonical", [parquet], source="bench")
        n = ws.engine.materialize("entity_activity", activity_stage(ws.engine))
        # the queue as of an hour after the last message (naive UTC, as the store keeps it)
        last = ws.con.execute("SELECT max(ts) FROM interactions").fetchall()[0][0]
        routing = ws.refresh_routing(last + timedelta(hours=1))
    tmp.rename(db)
    parquet.unlink()
    return {
        "built": True,
        "rows_stored": report.rows_inserted,
        "entity_activity_rows": n,
        "routing": routing,
        "build_seconds": round(time.perf_counter() - start, 1),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, port: int) -> subprocess.Popen:
    script = Path(sys.executable).parent / "socialcrm"
    proc = subprocess.Popen(
        [str(script), "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("socialcrm serve exited: " + proc.stderr.read().decode()[-2000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("socialcrm serve did not answer within 600 s")


async def _request(reader, writer, request: bytes) -> int:  # type: ignore[no-untyped-def]
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _client(
    port: int, token: str, entities: list[str], stop: float, think: float, seed: int,
    out: dict[str, list[float]], errors: list[str],
) -> None:  # fmt: skip
    rng = random.Random(seed)
    auth = f"Authorization: Bearer {token}\r\nHost: 127.0.0.1\r\n\r\n".encode()
    queue = b"GET /api/v1/queue?limit=50 HTTP/1.1\r\n" + auth
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    turn = seed % 2
    while time.perf_counter() < stop:
        if turn == 0:
            name = "profile"
            entity = quote(rng.choice(entities), safe="")
            request = f"GET /api/v1/entities/{entity}/profile HTTP/1.1\r\n".encode() + auth
        else:
            name, request = "queue", queue
        turn = 1 - turn
        t0 = time.perf_counter()
        try:
            status = await _request(reader, writer, request)
        except (OSError, asyncio.IncompleteReadError):
            # The server closes keep-alive connections idle for 5 s (uvicorn's default); like
            # any HTTP client, reconnect and send once more. Only a second failure counts.
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                status = await _request(reader, writer, request)
            except (OSError, asyncio.IncompleteReadError) as exc:
                errors.append(f"{name}: {type(exc).__name__}")
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
        out[name].append(time.perf_counter() - t0)
        if status != 200:
            errors.append(f"{name}: HTTP {status}")
        if think:
            await asyncio.sleep(rng.expovariate(1 / think))
    writer.close()


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


async def load(port: int, token: str, entities: list[str], clients: int, seconds: float,
               think: float) -> dict:  # fmt: skip
    out: dict[str, list[float]] = {"profile": [], "queue": []}
    errors: list[str] = []
    start = time.perf_counter()
    stop = start + seconds
    await asyncio.gather(
        *(_client(port, token, entities, stop, think, i, out, errors) for i in range(clients))
    )
    elapsed = time.perf_counter() - start
    total = sum(len(v) for v in out.values())
    result = {
        "requests": total,
        "requests_per_s": round(total / elapsed, 1),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:10],
    }
    everything = out["profile"] + out["queue"]
    result["p50_ms"] = round(percentile(everything, 0.5) * 1000, 1)
    result["p99_ms"] = round(percentile(everything, 0.99) * 1000, 1)
    for name, lat in out.items():
        result[name] = {
            "requests": len(lat),
            "requests_per_s": round(len(lat) / elapsed, 1),
            "p50_ms": round(percentile(lat, 0.5) * 1000, 1),
            "p99_ms": round(percentile(lat, 0.99) * 1000, 1),
        }
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think-ms", type=float, default=0.0, help="mean pause after a response")
    ap.add_argument("--db", type=Path, help="workspace to use (default: cached synthetic one)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    db = args.db or CACHE / f"api-v3-{args.rows}.duckdb"  # v3: exactly --rows stored
    build = build_workspace(args.rows, db) if args.db is None else {"built": False}
    with Workspace(db) as ws:
        token = create_token(ws.con, "bench", "agent")[1]
        interactions = ws.con.execute("SELECT count(*) FROM interactions").fetchone()[0]
        entities = [
            r[0]
            for r in ws.con.execute(
                "SELECT entity_id FROM entities WHERE entity_id LIKE 'c:%'"
                " ORDER BY hash(entity_id) LIMIT 20000"
            ).fetchall()
        ]
        tables = sorted(r[0] for r in ws.con.execute("SHOW TABLES").fetchall())
    try:  # the client shares the cores with the server: use the cheaper event loop if present
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    # The client imported the workspace code to build and sample the workspace; keep those
    # objects out of its garbage collector's scans, which would otherwise pause the timing
    # loop (and show up as server latency).
    gc.collect()
    gc.freeze()
    port = free_port()
    started = time.perf_counter()
    server = start_server(db, port)
    startup = time.perf_counter() - started
    try:
        asyncio.run(load(port, token, entities, 5, 3, 0))  # warm up
        server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
        result = asyncio.run(
            load(port, token, entities, args.clients, args.seconds, args.think_ms / 1000)
        )
        server_cpu = cpu_seconds(server.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
        # CPU per request does not depend on what else the machine runs: it bounds what
        # one server process can do (the GIL keeps the request path on one core).
        result["server_cpu_ms_per_request"] = round(1000 * server_cpu / result["requests"], 2)
        result["client_cpu_ms_per_request"] = round(1000 * client_cpu / result["requests"], 2)
        result["load_average_1m"] = round(os.getloadavg()[0], 1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result.update(
        {
            "interactions": interactions,
            "entities_sampled": len(entities),
            "clients": args.clients,
            "seconds": args.seconds,
            "think_ms": args.think_ms,
            "server_startup_s": round(startup, 1),
            "stage_tables": [
                t
                for t in tables
                if t
                in ("entity_activity", "ties", "entity_metrics", "routing_queue", "message_labels")
            ],
            "target": {"p99_ms": 50, "errors": 0},
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            **build,
        }
    )
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"load average {result['load_average_1m']}; server CPU"
        f" {result['server_cpu_ms_per_request']} ms/request, client CPU"
        f" {result['client_cpu_ms_per_request']} ms/request"
    )
    print(
        f"{result['interactions']:,} interactions, {args.clients} clients, {args.seconds:.0f} s:"
        f" {result['requests_per_s']} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms,"
        f" {result['errors']} errors"
    )
    for name in ("profile", "queue"):
        r = result[name]
        print(
            f"  {name:<8} {r['requests_per_s']:>8} req/s  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms"
        )


if __name__ == "__main__":
    main()
