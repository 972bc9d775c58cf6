"""Throughput of the whole conversation stage against plain VADER, measured in one run.

Usage::

    .venv/bin/python bench/conversations.py                    # 1,000,000 messages, 200,000 threads
    .venv/bin/python bench/conversations.py --messages 50000   # a quick run
    .venv/bin/python bench/conversations.py --json

Data: synthetic threads with real texts. Customer turns are drawn from the inbound
tweets of ``twcs_head5000`` and the client turns of the IBM dialogues, brand turns from
the outbound tweets and agent turns (``../shared/data``); the structure is synthetic:
2–9 turns per thread (mean 5), alternating customer and brand with a 15 % chance that
another customer joins, 150,000 customers, 60 brand accounts, reply latencies drawn
from an exponential distribution, every thread public. Each text gets a unique
handle prepended (``"@u123456 "``, as replies start on Twitter), so no two messages are the
same text and the stage's once-per-distinct-text scoring gains nothing from resampling.

Measured, on the same texts: plain VADER (``SentimentIntensityAnalyzer.polarity_scores``
over every message, one process) — the baseline; then the whole stage
(``Workspace.analyze_conversations``: turns and cues in SQL, sentiment + intent + action
for every message, conversation features, sociability, urgency). The target (issue 4) is
stage throughput ≥ 0.5 × VADER's. The stage scores text with ``--workers`` processes
(default 2, the machine's cores); VADER's single-process figure is the baseline the issue
names, and its two-process figure is reported beside it for a like-for-like reading.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from socialcrm.workspace import Workspace  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DOC = ROOT / "docs" / "benchmarks-conversations.md"
N_BRANDS = 60
N_CUSTOMERS = 150_000


def real_texts(data: Path) -> tuple[list[str], list[str]]:
    """(customer texts, brand texts) from twcs_head5000 and the IBM dialogues."""
    cust, brand = [], []
    with (data / "twcs_head5000" / "twcs_first5000.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("inbound") and row.get("text"):  # a row split by a stray line break
                (cust if row["inbound"].strip() == "True" else brand).append(row["text"])
    for d in json.loads((data / "ibm_twitter_customer_care" / "dev.json").read_text("utf-8")):
        for turn in d["dialogContent"]:
            (brand if "agent" in turn else cust).append(turn["message"])
        if d.get("agentURL", {}).get("url_utterance"):
            brand.append(d["agentURL"]["url_utterance"])
    return cust, brand


def synthetic(n_messages: int, seed: int = 7) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(interactions, identities, entities) for ``n_messages`` in ``n_messages / 5`` threads."""
    rng = np.random.default_rng(seed)
    cust_texts, brand_texts = real_texts(DATA)
    n_threads = max(1, n_messages // 5)
    lengths = rng.integers(2, 10, size=n_threads)  # 2..9, mean 5.5
    # trim or pad so the total is exactly n_messages
    total = int(lengths.sum())
    while total != n_messages:
        i = int(rng.integers(n_threads))
        if total > n_messages and lengths[i] > 1:
            lengths[i] -= 1
            total -= 1
        elif total < n_messages:
            lengths[i] += 1
            total += 1
    conv = np.repeat(np.arange(n_threads), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pos = np.arange(n_messages) - np.repeat(starts, lengths)
    brand_turn = (pos % 2) == 1
    extra = (~brand_turn) & (pos > 0) & (rng.random(n_messages) < 0.15)
    first_customer = rng.integers(N_CUSTOMERS, size=n_threads)
    thread_brand = rng.integers(N_BRANDS, size=n_threads)
    cust_id = np.where(extra, rng.integers(N_CUSTOMERS, size=n_messages), first_customer[conv])
    actor = np.where(
        brand_turn,
        np.char.add("twitter:Brand", thread_brand[conv].astype(str)),
        np.char.add("twitter:c", cust_id.astype(str)),
    )
    ct = rng.integers(len(cust_texts), size=n_messages)
    bt = rng.integers(len(brand_texts), size=n_messages)
    base = np.where(
        brand_turn, np.array(brand_texts, dtype=object)[bt], np.array(cust_texts, dtype=object)[ct]
    )
    text = [f"@u{i} {t}" for i, t in enumerate(base)]
    t0 = np.datetime64("2020-01-01T00:00:00", "s") + rng.integers(
        0, 365 * 86400, size=n_threads
    ).astype("timedelta64[s]")
    gaps = rng.exponential(1800, size=n_messages).astype("int64")
    gaps[starts] = 0
    offs = np.zeros(n_messages, dtype="int64")
    # cumulative gaps within each thread
    cs = np.cumsum(gaps)
    offs = cs - np.repeat(cs[starts], lengths)
    ts = t0[conv] + offs.astype("timedelta64[s]")
    ids = np.char.add("bench:", np.arange(n_messages).astype(str))
    parent = np.where(pos > 0, np.char.add("bench:", (np.arange(n_messages) - 1).astype(str)), None)
    prev_actor = np.concatenate([[""], actor[:-1]])
    targets = [
        [p] if k > 0 else [f"twitter:Brand{b}"]
        for p, k, b in zip(prev_actor, pos, thread_brand[conv], strict=True)
    ]
    inter = pa.table(
        {
            "interaction_id": pa.array(ids.tolist()),
            "source": pa.array(["bench"] * n_messages),
            "channel": pa.array(["twitter"] * n_messages),
            "ts": pa.array(ts.astype("datetime64[us]")),
            "actor": pa.array(actor.tolist()),
            "targets": pa.array(targets, pa.list_(pa.string())),
            "conversation_id": pa.array(np.char.add("bench:t", conv.astype(str)).tolist()),
            "in_reply_to": pa.array(parent.tolist(), pa.string()),
            "kind": pa.array(["message"] * n_messages),
            "visibility": pa.array(["public"] * n_messages),
            "text": pa.array(text),
            "value": pa.nulls(n_messages, pa.float64()),
        }
    )
    handles = sorted(set(actor.tolist()) | {f"twitter:Brand{b}" for b in range(N_BRANDS)})
    identities = pa.table({"handle": handles, "entity_id": handles})
    entities = pa.table(
        {
            "entity_id": handles,
            "kind": ["brand" if h.startswith("twitter:Brand") else "person" for h in handles],
            "role": ["brand" if h.startswith("twitter:Brand") else "customer" for h in handles],
        }
    )
    return inter, identities, entities


def _vader_chunk(texts: list[str]) -> int:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    an = SentimentIntensityAnalyzer()
    for t in texts:
        an.polarity_scores(t)
    return len(texts)


def vader_seconds(texts: list[str], workers: int = 1) -> float:
    start = time.perf_counter()
    if workers == 1:
        _vader_chunk(texts)
    else:
        size = (len(texts) + workers * 4 - 1) // (workers * 4)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_vader_chunk, [texts[i : i + size] for i in range(0, len(texts), size)]))
    return time.perf_counter() - start


def load(ws: Workspace, inter: pa.Table, ids: pa.Table, ents: pa.Table) -> None:
    for name, table in (("_i", inter), ("_d", ids), ("_e", ents)):
        ws.con.register(name, table)
    ws.con.execute(
        "INSERT INTO interactions (interaction_id, source, channel, ts, actor, targets,"
        " conversation_id, in_reply_to, kind, visibility, text, value) SELECT * FROM _i"
    )
    ws.con.execute(
        "INSERT INTO identities (handle, entity_id, link_rule) SELECT handle, entity_id, 'self' FROM _d"
    )
    ws.con.execute("INSERT INTO entities (entity_id, kind, role) SELECT * FROM _e")
    for name in ("_i", "_d", "_e"):
        ws.con.unregister(name)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description="conversation stage vs plain VADER")
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    inter, ids, ents = synthetic(args.messages)
    build_s = time.perf_counter() - t
    texts = inter["text"].to_pylist()
    vader1 = vader_seconds(texts, 1)
    vader2 = vader_seconds(texts, args.workers) if args.workers > 1 else vader1

    tmp = Path(tempfile.mkdtemp(prefix="socialcrm-bench-conv-"))
    try:
        ws = Workspace(tmp / "bench.duckdb")
        ws.con.execute("SET enable_progress_bar = false")
        load(ws, inter, ids, ents)
        del inter, texts
        timings: dict[str, float] = {}
        import socialcrm.conversations.api as api

        # time each part by wrapping the pieces the stage calls
        originals = {"materialize": ws.engine.materialize, "score": api.score_messages}

        def timed_materialize(name, expr):
            s = time.perf_counter()
            n = originals["materialize"](name, expr)
            timings[name] = time.perf_counter() - s
            return n

        def timed_score(*a, **k):
            s = time.perf_counter()
            out = originals["score"](*a, **k)
            timings["text scoring (sentiment, intent, action)"] = time.perf_counter() - s
            return out

        ws.engine.materialize = timed_materialize  # type: ignore[method-assign]
        api.score_messages = timed_score
        start = time.perf_counter()
        counts = ws.analyze_conversations(workers=args.workers)
        stage_s = time.perf_counter() - start
        api.score_messages = originals["score"]
        n_conv = counts["conversations"]
        ws.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    n = args.messages
    result = {
        "messages": n,
        "threads": n_conv,
        "workers": args.workers,
        "vader_seconds": round(vader1, 2),
        "vader_msgs_per_s": round(n / vader1),
        "vader_2proc_msgs_per_s": round(n / vader2),
        "stage_seconds": round(stage_s, 2),
        "stage_msgs_per_s": round(n / stage_s),
        "ratio_vs_vader": round(vader1 / stage_s, 3),
        "ratio_vs_vader_2proc": round(vader2 / stage_s, 3),
        "parts_seconds": {k: round(v, 2) for k, v in timings.items()},
        "synthetic_build_seconds": round(build_s, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    if not args.no_doc:
        write_doc(result)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return result


def write_doc(r: dict) -> None:
    parts = "\n".join(
        f"| {k} | {v:.2f} | {r['messages'] / v:,.0f} |"
        for k, v in r["parts_seconds"].items()
        if v > 0
    )
    DOC.write_text(
        f"""# Benchmark: the conversation stage

`python bench/conversations.py --messages {r["messages"]} --workers {r["workers"]}` on {r["machine"]}.
{r["messages"]:,} synthetic messages in {r["threads"]:,} threads (real texts from twcs and the IBM
dialogues, synthetic structure; see the script's docstring).

| what | seconds | messages / s |
|---|---|---|
| plain VADER, 1 process (baseline) | {r["vader_seconds"]:.1f} | {r["vader_msgs_per_s"]:,} |
| plain VADER, {r["workers"]} processes | {r["messages"] / r["vader_2proc_msgs_per_s"]:.1f} | {r["vader_2proc_msgs_per_s"]:,} |
| **whole conversation stage** ({r["workers"]} text workers) | {r["stage_seconds"]:.1f} | {r["stage_msgs_per_s"]:,} |

Stage throughput / VADER throughput: **{r["ratio_vs_vader"]:.2f}** against one VADER process (target ≥ 0.5),
{r["ratio_vs_vader_2proc"]:.2f} against VADER on {r["workers"]} processes.

Parts of the stage:

| part | seconds | messages / s |
|---|---|---|
{parts}
""",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
