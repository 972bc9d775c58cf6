"""Priority of each open conversation, with the reasons that make it.

DESIGN.md "Routing" (after seed 001): the queue of open conversations is ordered by
urgency, sentiment, the author's value and influence, time waiting and social pressure.
Each of those becomes a term in [0, 1] and the priority is their weighted sum
(``[priority.weights]`` of the policy, summing to 1 by default), shown on a 0-100 scale:

==================  ==========================================================================
term                value in [0, 1]
==================  ==========================================================================
urgency             rank of the urgency level over the top rank (low 0 ... critical 1)
waiting             time on the running clock over its target: before the first response,
                    elapsed / first-response target; after it, elapsed / resolution target
                    (capped at 1). A priority that grows with waiting time is Kleinrock's
                    delay-dependent discipline (Naval Res. Logist. Q. 11, 1964), which keeps
                    low-urgency conversations from starving.
negativity          ``max(0, -sentiment)`` of the author's latest message
social_pressure     public conversations only: others tagged, other customers joining,
                    escalation cues, views, and the conversation stage's "social pressure"
                    degree (seed 002); 0 on private channels, where nobody is watching
influence           the author's influence percentile (``entity_metrics``), else reach
value               the author's value percentile (a value/reputation attribute), else
                    activity percentile
==================  ==========================================================================

Every priority carries its reasons: each term's value, weight and contribution, and a
sentence for the top contributors ("urgency critical ('is down')", "waiting 3.1 h of a 1 h
first-response target", ...).

Example
-------
>>> import pandas as pd
>>> from datetime import datetime
>>> from socialcrm.routing.policy import load_policy
>>> conv = pd.DataFrame({"urgency": ["critical"], "urgency_cue": ["'is down'"],
...     "sentiment": [-0.6], "visibility": ["public"], "n_tagged": [3],
...     "other_customers": [0], "views": [0], "escalation": [False], "customer_degree": [None],
...     "influence_pct": [0.9], "value_pct": [0.5], "value_basis": ["activity"], "tier": [None],
...     "arrived_at": [datetime(2024, 1, 1, 12)], "first_response_at": [None]})
>>> p = score(conv, load_policy(), datetime(2024, 1, 1, 12, 30))
>>> round(float(p.priority[0]), 1), p.reason_text[0].split(";")[0]
(79.4, "urgency critical ('is down') +30")
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from socialcrm.routing.policy import Policy, column, n_rows

TERMS: tuple[str, ...] = (
    "urgency",
    "waiting",
    "negativity",
    "social_pressure",
    "influence",
    "value",
)
TOP_REASONS = 3


def fmt_minutes(minutes: float) -> str:
    """``95`` → ``"1.6 h"``; ``4000`` → ``"2.8 d"``."""
    if minutes != minutes:  # NaN
        return "?"
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def _count(n: float, noun: str, verb: str) -> str:
    """``2 others tagged``, ``1 other joined``; empty for none."""
    return f"{int(n)} {noun}{'s' if int(n) != 1 else ''} {verb}" if n else ""


def _num(conv: Any, col: str, n: int, default: float = 0.0) -> np.ndarray:
    if col not in conv:
        return np.full(n, default, dtype=float)
    v = conv[col]
    v = v.to_numpy() if isinstance(v, pd.Series) else v
    try:
        out = np.array(v, dtype=float).ravel()
    except (TypeError, ValueError):
        out = pd.to_numeric(np.asarray(v, dtype=object).ravel(), errors="coerce").astype(float)
    return np.where(np.isnan(out), default, out)


def _times(conv: Any, col: str, n: int) -> np.ndarray:
    """A column of timestamps as datetime64[us] (NaT where missing)."""
    if col not in conv:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    v = conv[col]
    v = v.to_numpy() if isinstance(v, pd.Series) else v
    try:
        return np.array(v, dtype="datetime64[us]").ravel()
    except (TypeError, ValueError):
        return pd.to_datetime(np.asarray(v, dtype=object).ravel()).to_numpy(dtype="datetime64[us]")


def clocks(conv: Any, policy: Policy, now: datetime) -> dict[str, np.ndarray]:
    """The running SLA clock of each conversation: its name, minutes elapsed, target.

    Before the first response the first-response clock runs; after it the resolution
    clock. Both start at arrival.
    """
    n = n_rows(conv)
    arrived = _times(conv, "arrived_at", n)
    elapsed = (np.datetime64(pd.Timestamp(now).to_datetime64(), "us") - arrived) / np.timedelta64(
        1, "m"
    )
    elapsed = np.clip(elapsed.astype(float), 0, None)
    responded = ~np.isnat(_times(conv, "first_response_at", n))
    urgency = column(conv, "urgency", n)
    first = np.fromiter((policy.first_response_target(u) for u in urgency), float, n)
    resolution = np.fromiter((policy.resolution_target(u) for u in urgency), float, n)
    return {
        "clock": np.where(responded, "resolution", "first-response"),
        "elapsed_min": elapsed,
        "target_min": np.where(responded, resolution, first),
    }


def terms(conv: Any, policy: Policy, now: datetime) -> dict[str, Any]:
    """The six priority terms in [0, 1] (arrays) and the words that explain each."""
    n = n_rows(conv)
    top = max(1, len(policy.urgency_levels) - 1)
    urgency_lv = column(conv, "urgency", n)
    urgency = np.fromiter((policy.level_rank(u) for u in urgency_lv), float, n) / top
    clock = clocks(conv, policy, now)
    waiting = np.clip(clock["elapsed_min"] / np.maximum(clock["target_min"], 1e-9), 0, 1)
    sentiment = _num(conv, "sentiment", n)
    negativity = np.clip(-sentiment, 0, 1)

    public = column(conv, "visibility", n) == "public"
    tagged = np.maximum(_num(conv, "n_tagged", n) - 1, 0)
    joined = _num(conv, "other_customers", n)
    views = _num(conv, "views", n)
    escalation = _num(conv, "escalation", n) > 0
    degree4 = _num(conv, "customer_degree", n, default=-1) == 4
    pressure = (
        0.3 * np.minimum(1, tagged / 3)
        + 0.3 * np.minimum(1, joined / 3)
        + 0.2 * escalation
        + 0.2 * np.minimum(1, np.log10(1 + views) / 3)
        + 0.3 * degree4
    )
    pressure = np.where(public, np.minimum(1, pressure), 0.0)
    influence = np.clip(_num(conv, "influence_pct", n), 0, 1)
    value = np.clip(_num(conv, "value_pct", n), 0, 1)
    tier = column(conv, "tier", n)
    basis = column(conv, "value_basis", n, "activity")
    cue = column(conv, "urgency_cue", n, "")
    values = {
        "urgency": urgency,
        "waiting": waiting,
        "negativity": negativity,
        "social_pressure": pressure,
        "influence": influence,
        "value": value,
    }

    def words(k: str, i: int) -> str:
        if k == "urgency":
            c = cue[i] if isinstance(cue[i], str) else ""
            return f"urgency {urgency_lv[i]}" + (f" ({c})" if c else "")
        if k == "waiting":
            return (
                f"waiting {fmt_minutes(clock['elapsed_min'][i])} of a"
                f" {fmt_minutes(clock['target_min'][i])} {clock['clock'][i]} target"
            )
        if k == "negativity":
            return f"negative tone (sentiment {sentiment[i]:+.2f})"
        if k == "social_pressure":
            parts = [
                "public",
                _count(tagged[i], "other", "tagged"),
                _count(joined[i], "other", "joined"),
                "escalating" if escalation[i] else "",
                f"{int(views[i]):,} views" if views[i] else "",
                "keeps asking in public" if degree4[i] else "",
            ]
            return ", ".join(p for p in parts if p)
        if k == "influence":
            t = f", {tier[i]}" if isinstance(tier[i], str) and tier[i] else ""
            return f"influential author (top {max(1, math.ceil(100 * (1 - influence[i])))}%{t})"
        b = basis[i] if isinstance(basis[i], str) else "activity"
        return f"valued author (top {max(1, math.ceil(100 * (1 - value[i])))}% by {b})"

    return {"values": values, "words": words, "clock": clock, "n": n}


def score(conv: Any, policy: Policy, now: datetime) -> pd.DataFrame | dict[str, Any]:
    """Priority (0-100), its reasons (list of dicts, largest contribution first) and
    ``reason_text`` (the top three as one sentence) for each conversation.

    ``conv`` is a DataFrame (returns a DataFrame on its index) or a dict of columns
    (returns a dict of lists, the fast path for one conversation).
    """
    t = terms(conv, policy, now)
    n, values = t["n"], t["values"]
    weights = {k: policy.priority_weights.get(k, 0.0) for k in TERMS}
    contrib = np.column_stack([values[k] * weights[k] for k in TERMS]) if n else np.zeros((0, 6))
    total = contrib.sum(axis=1)
    order = np.argsort(-contrib, axis=1, kind="stable")
    reasons: list[list[dict]] = []
    texts: list[str] = []
    for i in range(n):
        row = []
        for j in order[i]:
            k = TERMS[j]
            c = round(100 * float(contrib[i, j]), 1)
            row.append(
                {
                    "term": k,
                    "value": round(float(values[k][i]), 3),
                    "weight": weights[k],
                    "contribution": c,
                    "text": t["words"](k, i) if c > 0 or len(row) < TOP_REASONS else "",
                }
            )
        reasons.append(row)
        shown = [r for r in row[:TOP_REASONS] if r["contribution"] > 0]
        texts.append("; ".join(f"{r['text']} +{r['contribution']:.0f}" for r in shown) or "—")
    out = {
        "priority": np.round(100 * total, 2),
        "reasons": reasons,
        "reason_text": texts,
        **t["clock"],
    }
    if isinstance(conv, pd.DataFrame):
        return pd.DataFrame(out, index=conv.index)
    return out
