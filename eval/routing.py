"""Evaluate routing on real histories: who answers, community-first windows, queue order.

Usage::

    .venv/bin/python eval/routing.py                 # prints a summary, writes docs/evaluation-routing.md
    .venv/bin/python eval/routing.py --json          # one JSON object on stdout
    .venv/bin/python eval/routing.py --tune          # also re-runs the weight/half-life search

Everything runs through the shipped code paths: a temporary workspace, the real ingest
adapters (``stackexchange``, ``twcs``, ``ibm``), Stack Exchange tags stored by
:func:`socialcrm.routing.topics.tags_from_imports`, and :func:`socialcrm.routing.replay.replay`,
which decides every arrival with only what was known at that moment.

**Who answers** (``../shared/data/stackexchange_quantumcomputing_2018``). At each question's
arrival the replay ranks every candidate (everyone who has answered someone before,
excluding the asker) with the shipped ranking (:meth:`ResponderIndex.rank`); two baselines
see the same index at the same moment: "most active answerer so far" (answers so far,
ties broken by who answered first) and random (the expected value of a uniformly random
order of the same candidates, computed exactly). For every question someone other than
the asker answered we report hit@1, hit@5 and MRR of the best-ranked actual answerer, and
separately of the accepted answerer. Questions answered only by first-time answerers
count as misses for every ranking. Parameters: the weights and half-life in
``default_policy.toml`` were chosen on the first 40% of questions (``--tune`` repeats the
search) and ``held_out`` numbers are on the remaining 60%.

**Community-first.** From the same replay: the share of all questions the community
answered (any answer; and a satisfactory answer) within windows of 1 h ... 7 days, and
the staff workload left (questions staff would have had to take).

**Queue order** (``twcs_head5000``, ``ibm_twitter_customer_care/dev.json``). Brand
response-time distributions, by urgency level; the Spearman correlation between the
priority the policy gave a thread at arrival and the brand's actual first-response
latency; and pairwise concordance: among pairs of threads to the same brand that were
waiting at the same time, how often the brand answered the higher-priority one first
(0.5 = no relation to the policy's order).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from socialcrm.routing import topics  # noqa: E402
from socialcrm.routing.policy import Policy, load_policy  # noqa: E402
from socialcrm.routing.replay import ReplayResult, community_share, replay  # noqa: E402
from socialcrm.routing.responders import ResponderIndex  # noqa: E402
from socialcrm.workspace import Workspace  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SE_DIR = DATA / "stackexchange_quantumcomputing_2018"
SE_SOURCE = "stackexchange_quantumcomputing_2018"
TWCS = DATA / "twcs_head5000" / "twcs_first5000.csv"
IBM = DATA / "ibm_twitter_customer_care" / "dev.json"
TUNE_SHARE = 0.4
WINDOWS_MIN = {"1h": 60, "4h": 240, "12h": 720, "24h": 1440, "72h": 4320, "7d": 10080}
DOC = ROOT / "docs" / "evaluation-routing.md"


# --- rankings --------------------------------------------------------------------------------
def most_active(index: ResponderIndex, request: dict[str, Any], now: Any) -> list[str]:
    """Candidates by number of answers so far (ties: who answered first)."""
    n = len(index)
    order = np.argsort(-index.answers[:n], kind="stable")
    author = request.get("author")
    return [index.ids[i] for i in order if index.answers[i] > 0 and index.ids[i] != author]


def _random_expectation(n: int, m: int) -> tuple[float, float, float]:
    """Expected reciprocal rank, hit@1 and hit@5 of the first of m relevant among n."""
    if n <= 0 or m <= 0:
        return 0.0, 0.0, 0.0
    total = math.comb(n, m)
    rr = sum(math.comb(n - k, m - 1) / k for k in range(1, n - m + 2)) / total
    hit = lambda k: 1.0 - (math.comb(n - m, k) / math.comb(n, k) if k <= n else 0.0)  # noqa: E731
    return rr, hit(1), hit(5)


def ranking_metrics(
    result: ReplayResult, truth: dict[str, set[str]], only: set[str] | None = None
) -> dict[str, dict[str, float]]:
    """hit@1, hit@5, MRR per ranking (and the random expectation) over questions in ``truth``."""
    out: dict[str, dict[str, float]] = {}
    conv_ids = [c for c in truth if truth[c] and (only is None or c in only)]
    for name, ranks in result.rankings.items():
        rr, h1, h5 = [], [], []
        for cid in conv_ids:
            order = ranks.get(cid, [])
            pos = next((i for i, c in enumerate(order) if c in truth[cid]), None)
            rr.append(0.0 if pos is None else 1.0 / (pos + 1))
            h1.append(pos is not None and pos < 1)
            h5.append(pos is not None and pos < 5)
        out[name] = {"mrr": _mean(rr), "hit1": _mean(h1), "hit5": _mean(h5), "n": len(rr)}
    rr, h1, h5 = [], [], []
    for cid in conv_ids:
        cands = set(result.rankings["policy"].get(cid, []))
        r = _random_expectation(len(cands), len(cands & truth[cid]))
        rr.append(r[0])
        h1.append(r[1])
        h5.append(r[2])
    out["random"] = {"mrr": _mean(rr), "hit1": _mean(h1), "hit5": _mean(h5), "n": len(rr)}
    return out


def _mean(values: list[Any]) -> float:
    return round(float(np.mean(values)), 4) if len(values) else math.nan


# --- data ------------------------------------------------------------------------------------
def build_workspace(directory: Path) -> Workspace:
    ws = Workspace(directory / "eval.duckdb")
    ws.ingest("stackexchange", [SE_DIR])
    ws.ingest("twcs", [TWCS])
    ws.ingest("ibm", [IBM])
    topics.tags_from_imports(ws.con)
    return ws


def se_truth(ws: Workspace) -> tuple[dict[str, set[str]], dict[str, set[str]], pd.Series]:
    """Answerers (not the asker) and accepted answerer of every question; question times."""
    rows = ws.query(
        """
        WITH q AS (
            SELECT i.conversation_id, coalesce(d.entity_id, i.actor) AS asker, i.ts
            FROM interactions i LEFT JOIN identities d ON d.handle = i.actor
            WHERE i.source = ? AND i.kind = 'question')
        SELECT q.conversation_id, q.ts, list(DISTINCT a.who) FILTER (a.who IS NOT NULL) AS answerers,
               list(DISTINCT acc.who) FILTER (acc.who IS NOT NULL) AS accepted
        FROM q
        LEFT JOIN (SELECT i.conversation_id, coalesce(d.entity_id, i.actor) AS who
                   FROM interactions i LEFT JOIN identities d ON d.handle = i.actor
                   WHERE i.kind = 'answer') a
               ON a.conversation_id = q.conversation_id AND a.who <> q.asker
        LEFT JOIN (SELECT i.conversation_id, coalesce(d.entity_id, t.h) AS who
                   FROM interactions i, unnest(i.targets) AS t(h)
                   LEFT JOIN identities d ON d.handle = t.h
                   WHERE i.kind = 'accept') acc
               ON acc.conversation_id = q.conversation_id AND acc.who <> q.asker
        GROUP BY q.conversation_id, q.ts ORDER BY q.ts
        """,
        [SE_SOURCE],
    ).to_pandas()
    answered = {r.conversation_id: _set(r.answerers) for r in rows.itertuples()}
    accepted = {r.conversation_id: _set(r.accepted) for r in rows.itertuples()}
    return answered, accepted, rows.set_index("conversation_id").ts


def _set(value: Any) -> set[str]:
    return set(value) if isinstance(value, list | tuple | np.ndarray) else set()


def stackexchange(ws: Workspace, policy: Policy) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = replay(
        ws.con, SE_SOURCE, policy, keep_rankings=True, rankers={"most_active": most_active}
    )
    seconds = time.perf_counter() - t0
    answered, accepted, qts = se_truth(ws)
    answered_ids = [c for c in qts.index if answered.get(c)]
    cut = answered_ids[int(TUNE_SHARE * len(answered_ids))]
    held = {c for c in answered_ids if qts[c] >= qts[cut]}
    any_ = ranking_metrics(result, answered)
    acc = ranking_metrics(result, accepted)
    held_any = ranking_metrics(result, answered, held)
    d = result.decisions
    out: dict[str, Any] = {
        "se_questions": len(qts),
        "se_answered_questions": len(answered_ids),
        "se_answered_any_incl_self": int(
            ws.query(
                "SELECT count(DISTINCT conversation_id) FROM interactions"
                " WHERE source = ? AND kind = 'answer'",
                [SE_SOURCE],
            )
            .column(0)[0]
            .as_py()
        ),
        "se_replay_seconds": round(seconds, 1),
    }
    for tag, m in (("", any_), ("_accepted", acc), ("_held_out", held_any)):
        for rk, suffix in (("policy", ""), ("most_active", "_most_active"), ("random", "_random")):
            for k in ("mrr", "hit1", "hit5"):
                out[f"se_{k}{suffix}{tag}"] = m[rk][k]
        out[f"se_n{tag}"] = m["policy"]["n"]
    for tag in ("", "_held_out"):
        out[f"se_mrr_ratio{tag}"] = round(out[f"se_mrr{tag}"] / out[f"se_mrr_most_active{tag}"], 3)
        out[f"se_hit1_ratio{tag}"] = round(
            out[f"se_hit1{tag}"] / out[f"se_hit1_most_active{tag}"], 3
        )
    # community-first
    for name, minutes in WINDOWS_MIN.items():
        share = community_share(d, minutes)
        out[f"community_share_answered_{name}"] = round(share, 4)
        out[f"community_share_satisfied_{name}"] = round(
            community_share(d, minutes, satisfied=True), 4
        )
        out[f"staff_workload_{name}"] = round((1 - share) * len(d))
    s = result.summary
    out["se_policy_routed_to_community"] = s["routed_to_community"]
    out["se_policy_straight_to_staff"] = s["straight_to_staff"]
    out["se_policy_answered_in_window"] = s["answered_in_window"]
    out["se_policy_escalated"] = s["escalated"]
    out["se_policy_first_answer_by_invited"] = s["answered_by_invited"]
    out["se_policy_satisfaction"] = s["satisfaction"]
    out["se_policy_window_minutes"] = {
        k: float(v) for k, v in d.groupby("route_reason").window_minutes.first().items()
    }
    out["se_policy_windows_used"] = {k: int(v) for k, v in d.route_reason.value_counts().items()}
    return out


def _concordance(d: pd.DataFrame) -> tuple[float, int]:
    """Among pairs of threads to one brand waiting at the same time, the share the brand
    answered in the policy's order (higher priority first); ties in priority skipped."""
    agree = total = 0
    for _, g in d.groupby("brand"):
        if len(g) < 2:
            continue
        a = g.arrived_at.to_numpy()
        r = g.first_staff_at.to_numpy()
        p = g.priority.to_numpy()
        i, j = np.triu_indices(len(g), 1)
        overlap = (np.maximum(a[i], a[j]) < np.minimum(r[i], r[j])) & (p[i] != p[j])
        i, j = i[overlap], j[overlap]
        first_i = r[i] < r[j]
        higher_i = p[i] > p[j]
        agree += int((first_i == higher_i).sum())
        total += len(i)
    return (agree / total if total else math.nan), total


def queue_order(ws: Workspace, source: str, policy: Policy, key: str) -> dict[str, Any]:
    result = replay(ws.con, source, policy)
    d = result.decisions
    brand_of = ws.query(
        """SELECT coalesce(conversation_id, interaction_id) AS conversation_id,
                  first(coalesce(d.entity_id, i.actor) ORDER BY ts) AS brand
           FROM interactions i LEFT JOIN identities d ON d.handle = i.actor
           JOIN entities e ON e.entity_id = coalesce(d.entity_id, i.actor)
           WHERE i.source = ? AND e.role IN ('brand', 'employee') GROUP BY 1""",
        [source],
    ).to_pandas()
    d = d.merge(brand_of, on="conversation_id", how="inner")
    d = d[d.first_staff_at.notna()].copy()
    d["latency_min"] = (d.first_staff_at - d.arrived_at).dt.total_seconds() / 60
    lat = d.latency_min
    out: dict[str, Any] = {
        f"{key}_threads": len(result.decisions),
        f"{key}_brand_answered": len(d),
        f"{key}_brands": int(d.brand.nunique()),
    }
    for q in (25, 50, 75, 90):
        out[f"{key}_brand_latency_p{q}_min"] = (
            round(float(np.percentile(lat, q)), 1) if len(d) else None
        )
    out[f"{key}_brand_share_within_1h"] = round(float((lat <= 60).mean()), 4) if len(d) else None
    out[f"{key}_brand_latency_median_by_urgency"] = {
        k: round(float(v), 1) for k, v in d.groupby("urgency").latency_min.median().items()
    }
    out[f"{key}_threads_by_urgency"] = {k: int(v) for k, v in d.urgency.value_counts().items()}
    out[f"{key}_first_response_sla_hit_by_urgency"] = {
        k: round(float(v), 3)
        for k, v in d.assign(hit=d.first_staff_at <= d.first_response_due)
        .groupby("urgency")
        .hit.mean()
        .items()
    }
    if len(d) > 2:
        rho = spearmanr(d.priority, d.latency_min)
        out[f"{key}_spearman_priority_latency"] = round(float(rho.statistic), 3)
        out[f"{key}_spearman_p"] = float(f"{rho.pvalue:.3g}")
    conc, pairs = _concordance(d)
    out[f"{key}_concordance_policy_order"] = round(conc, 3) if pairs else None
    out[f"{key}_concordance_pairs"] = pairs
    return out


# --- tuning --------------------------------------------------------------------------------
def tune(ws: Workspace, base: Policy) -> dict[str, Any]:
    """Grid over half-life and weights, scored on the first 40% of answered questions."""
    answered, _, qts = se_truth(ws)
    ids = [c for c in qts.index if answered.get(c)]
    first = set(ids[: int(TUNE_SHARE * len(ids))])
    until = qts[ids[int(TUNE_SHARE * len(ids))]].to_pydatetime()
    best: list[tuple[float, dict[str, Any]]] = []
    for half_life in (3.0, 5.0, 7.0, 10.0):
        comps: dict[str, dict[str, np.ndarray]] = {}

        def record(
            index: ResponderIndex,
            request: dict[str, Any],
            now: Any,
            comps: dict[str, dict[str, np.ndarray]] = comps,
        ) -> list[str]:
            c = index.components(request, now)
            keep = np.flatnonzero(c["keep"])
            got = {k: c[k][keep] for k in ("activity", "topic", "text", "similar", "tie", "recent")}
            got["ids"] = np.array([index.ids[i] for i in keep], dtype=object)
            comps[request["conversation_id"]] = got
            return []

        policy = load_policy({"responders": {"activity_half_life_days": half_life}})
        replay(ws.con, SE_SOURCE, policy, until=until, keep_rankings=True, rankers={"rec": record})
        grid = [
            {"activity": 1.0, "topic": t, "text": x, "similar": s, "tie": e, "recent": r}
            for t in (0.0, 0.3, 0.6)
            for x in (0.0, 2.0, 4.0)
            for s in (0.0, 0.5, 1.0)
            for e in (0.0, 0.3)
            for r in (0.0, 0.5)
        ]
        for w in grid:
            rr = []
            for cid in first:
                c = comps.get(cid)
                if c is None or not len(c["ids"]):
                    rr.append(0.0)
                    continue
                score = sum(w[k] * c[k] for k in w)
                order = c["ids"][np.argsort(-score, kind="stable")]
                pos = next((i for i, e in enumerate(order) if e in answered[cid]), None)
                rr.append(0.0 if pos is None else 1 / (pos + 1))
            best.append((float(np.mean(rr)), {"half_life_days": half_life, **w}))
    best.sort(key=lambda b: -b[0])
    return {
        "tune_best_mrr_first40": round(best[0][0], 4),
        "tune_best": best[0][1],
        "tune_top5": [{"mrr": round(m, 4), **w} for m, w in best[:5]],
    }


# --- report --------------------------------------------------------------------------------
def run(tune_too: bool = False) -> dict[str, Any]:
    policy = load_policy()
    with tempfile.TemporaryDirectory(prefix="socialcrm-eval-routing-") as tmp:
        ws = build_workspace(Path(tmp))
        try:
            out = stackexchange(ws, policy)
            out.update(queue_order(ws, "twcs", policy, "twcs"))
            out.update(queue_order(ws, "ibm_twitter_customer_care", policy, "ibm"))
            if tune_too:
                out.update(tune(ws, policy))
        finally:
            ws.close()
    out["target_mrr_ratio"] = 1.3
    out["target_hit1_ratio"] = 1.3
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--tune", action="store_true", help="re-run the parameter search")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite the markdown report")
    args = ap.parse_args()
    out = run(args.tune)
    if args.json:
        print(json.dumps(out, default=str))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    if not args.no_doc and not args.json:
        DOC.write_text(markdown(out), encoding="utf-8")


def _row(r: dict[str, Any], label: str, suffix: str) -> str:
    return (
        f"| {label} | {r[f'se_mrr{suffix}']:.3f} | {r[f'se_hit1{suffix}']:.3f}"
        f" | {r[f'se_hit5{suffix}']:.3f} |"
    )


def _ranking_table(r: dict[str, Any], tag: str) -> str:
    lines = ["| ranking | MRR | hit@1 | hit@5 |", "|---|---:|---:|---:|"]
    lines.append(_row(r, "**shipped ranking** (responders.py)", tag))
    lines.append(_row(r, "most active answerer so far", f"_most_active{tag}"))
    lines.append(_row(r, "random (exact expectation)", f"_random{tag}"))
    return "\n".join(lines)


def markdown(r: dict[str, Any]) -> str:
    """The report in docs/evaluation-routing.md, from one run's numbers."""
    windows = "\n".join(
        f"| {name} | {r[f'community_share_answered_{name}']:.1%}"
        f" | {r[f'community_share_satisfied_{name}']:.1%} | {r[f'staff_workload_{name}']:,} |"
        for name in WINDOWS_MIN
    )
    used = ", ".join(f"{k} {v}" for k, v in r["se_policy_windows_used"].items())

    def brand(key: str, title: str) -> str:
        by = r[f"{key}_brand_latency_median_by_urgency"]
        n = r[f"{key}_threads_by_urgency"]
        sla = r[f"{key}_first_response_sla_hit_by_urgency"]
        levels = [lv for lv in ("critical", "high", "normal", "low") if lv in by]
        rows = "\n".join(
            f"| {lv} | {n.get(lv, 0):,} | {by[lv]:.1f} | {sla.get(lv, float('nan')):.0%} |"
            for lv in levels
        )
        return f"""### {title}

{r[f"{key}_threads"]:,} customer threads, {r[f"{key}_brand_answered"]:,} answered by {r[f"{key}_brands"]} brands.
Brand first-response latency: p25 {r[f"{key}_brand_latency_p25_min"]} min, median
{r[f"{key}_brand_latency_p50_min"]} min, p75 {r[f"{key}_brand_latency_p75_min"]} min, p90
{r[f"{key}_brand_latency_p90_min"]} min; {r[f"{key}_brand_share_within_1h"]:.0%} within an hour.

| urgency the policy gave at arrival | threads | brand's median latency (min) | first-response target met |
|---|---:|---:|---:|
{rows}

Spearman correlation of priority at arrival with the brand's latency:
{r.get(f"{key}_spearman_priority_latency")} (p = {r.get(f"{key}_spearman_p")}); pairwise agreement of the
brand's answering order with the policy's order among threads waiting at the same time:
{r[f"{key}_concordance_policy_order"]} over {r[f"{key}_concordance_pairs"]:,} pairs (0.5 = no relation).
"""

    ratio_ok = r["se_mrr_ratio"] >= 1.3 and r["se_hit1_ratio"] >= 1.3
    return f"""# Routing evaluation

Command: `python eval/routing.py` (writes this file; `--json` prints the numbers, `--tune`
repeats the parameter search). Everything runs through the shipped code: a temporary
workspace, the real ingest adapters, and `socialcrm.routing.replay.replay`, which decides
every arrival with only what was known at that moment (tested in
`tests/routing/test_replay.py`).

## Who answers? Stack Exchange quantum computing, 2018

For each question answered by someone other than its asker
({r["se_n"]} of {r["se_questions"]} questions; {r["se_answered_any_incl_self"]} have any answer, the other
{r["se_answered_any_incl_self"] - r["se_n"]} only the asker's own), the replay ranks every earlier
answerer except the asker at the moment the question arrives. A ranking scores the
position of the best-ranked actual answerer; an answerer with no earlier answer cannot
be ranked by anyone and counts as a miss for every ranking.

**Any answerer** ({r["se_n"]} questions):

{_ranking_table(r, "")}

Ratios to the most-active baseline measured in the same run: **MRR {r["se_mrr_ratio"]}×,
hit@1 {r["se_hit1_ratio"]}×** (target: 1.3× on both — {"met" if ratio_ok else "not met"}).

**Held out** — the last 60% of those questions, after the first 40% used to choose the
parameters ({r["se_n_held_out"]} questions):

{_ranking_table(r, "_held_out")}

Ratios: MRR {r["se_mrr_ratio_held_out"]}×, hit@1 {r["se_hit1_ratio_held_out"]}×.

**Accepted answerer** ({r["se_n_accepted"]} questions):

{_ranking_table(r, "_accepted")}

How the parameters were chosen: the weights and the activity half-life in
`default_policy.toml` are the best of a grid (half-life 3/5/7/10 days × topic, text,
similar-conversation, tie and recency weights) scored on the first 40% of answered
questions only (`--tune`). Whether any other weighting of a wider set of honest features
(answers in the last day/week/month, hours since the last answer and any activity,
upvotes and accepts so far, time of day, answers to and comments with the asker,
answering speed, tag expertise with a 14-day half-life) would reach the target is
measured by `eval/routing_study.py`: [evaluation-routing-study.md](evaluation-routing-study.md).
Ties to the asker and "active lately" got weight 0: on this site they did not help.

## Community first

Share of all {r["se_questions"]} questions the community answered (any answer) or answered
satisfactorily (accepted, acknowledged, or no new question from the asker for 48 h)
within a window, and the staff workload that leaves (questions without an answer in
the window, which staff would have had to take):

| window | answered by the community | satisfactorily | staff workload |
|---|---:|---:|---:|
{windows}

Under the default policy (windows by rule: {used}): {r["se_policy_answered_in_window"]} questions
were answered by the community inside their window, {r["se_policy_escalated"]} escalated to
staff (no answer when the window ended, or the asker still asking), and
{r["se_policy_first_answer_by_invited"]} first answers came from a member the policy had invited.

## Queue order on brand threads

The policy's priority at arrival (from the opening message only) beside what brands
actually did. These data say whether brands already work in the policy's order; they
are not a quality score of the policy (nobody labelled which threads *should* come
first).

{brand("twcs", "Customer Support on Twitter (first 5,000 tweets)")}
{brand("ibm", "IBM Twitter customer care (dev.json)")}
Brands in these samples do not answer urgent threads first: their answering order is
unrelated to urgency (agreement ≈ 0.5), and the threads the policy marks critical waited
longer than the rest. A queue ordered by the policy would have put those threads on top.
"""


if __name__ == "__main__":
    main()
