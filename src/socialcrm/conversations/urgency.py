"""Urgency of a conversation: a documented score in [0, 1] with its reasons.

Seed 001 asks a Social CRM to "prioritise and route the relevant conversations to the
proper responder" and to let the community answer first for a while that "depends on
the urgency of the product and nature of the question"; DESIGN.md's routing orders the
queue by urgency, sentiment, the author's value and influence, time waiting and social
pressure. The urgency score gathers the conversation's own part of that. The terms
read the *author* (the main customer of the thread, see
:mod:`socialcrm.conversations.features`), not everyone who posted in it:

=================  ======  =============================================================
term               weight  value in [0, 1]
=================  ======  =============================================================
negative           0.25    ``max(0, -min sentiment of the author's turns)`` (compound)
demands            0.15    ``min(1, the author's demands / 2)``
repeated asks      0.15    ``min(1, (the author's questions and demands - 1) / 2)``
escalation         0.15    ``min(1, turns with escalation cues / 2 + 0.5 if a turn that
                           asks or complains tags 3+ handles)``, public conversations
                           only (a private one escalates nobody)
waiting            0.20    ``min(1, log1p(hours since the author's first unanswered ask)
                           / log1p(72))``: an ask (question, demand, escalation or
                           complaint) after the last turn anyone else wrote; 0 otherwise
reach              0.10    ``min(1, log1p(distinct counterparts of the author) / log1p(100))``
                           — follower counts are not in the canonical data, so the author's
                           reach is the number of distinct people they exchanged with
=================  ======  =============================================================

``urgency_reason`` lists the (up to) three largest contributions, e.g.
``"waiting 0.20 (71 h unanswered); negative 0.19 (min sentiment -0.77)"``. Time is
measured up to ``as_of`` (default: the latest turn of the same source, so that a
historical export scores the same on every run).
"""

from __future__ import annotations

import math
from datetime import datetime

import ibis
import ibis.expr.types as ir

WEIGHTS: dict[str, float] = {
    "negative": 0.25,
    "demands": 0.15,
    "repeated": 0.15,
    "escalation": 0.15,
    "waiting": 0.20,
    "reach": 0.10,
}
WAIT_CAP_HOURS = 72.0
REACH_CAP = 100.0


def _clip(x: ir.FloatingValue) -> ir.FloatingValue:
    return ibis.greatest(ibis.least(x.fill_null(0.0), 1.0), 0.0)


def reach(edges_t: ir.Table) -> ir.Table:
    """Distinct counterparts per entity (either direction) from the ``edges`` view."""
    a = edges_t.select(r_entity=edges_t.actor_entity, r_other=edges_t.target_entity)
    b = edges_t.select(r_entity=edges_t.target_entity, r_other=edges_t.actor_entity)
    both = a.union(b)
    return both.group_by("r_entity").aggregate(counterparts=both.r_other.nunique())


def urgency(conversations: ir.Table, edges_t: ir.Table, as_of: datetime | None = None) -> ir.Table:
    """Add ``urgency`` (float in [0, 1]), its terms and ``urgency_reason`` to each row.

    ``as_of`` is "now" for waiting times; by default the latest turn of the same source,
    so that a historical export is scored as of its own end, the same on every run.
    """
    r = reach(edges_t)
    c = conversations.left_join(r, conversations.main_customer == r.r_entity).drop("r_entity")
    now = c.ended_at.max().over(group_by=c.source) if as_of is None else ibis.literal(as_of)
    hours = (now.epoch_seconds().floor() - c.waiting_since.epoch_seconds().floor()).cast(
        "float64"
    ) / 3600.0
    terms = {
        "negative": _clip(-c.mc_sentiment_min),
        "demands": _clip(c.mc_demands.cast("float64") / 2.0),
        "repeated": _clip((c.mc_requests - 1).cast("float64") / 2.0),
        "escalation": ibis.ifelse(
            c.transparent,
            _clip(
                c.mc_escalations.cast("float64") / 2.0
                + ibis.ifelse(c.mc_max_tagged_pressing.fill_null(0) >= 3, 0.5, 0.0)
            ),
            0.0,
        ),
        "waiting": ibis.ifelse(
            c.waiting_since.notnull(),
            _clip((ibis.greatest(hours, 0.0) + 1.0).ln() / math.log1p(WAIT_CAP_HOURS)),
            0.0,
        ),
        "reach": _clip((c.counterparts.cast("float64") + 1.0).ln() / math.log1p(REACH_CAP)),
    }
    detail = {
        "negative": "min sentiment " + c.mc_sentiment_min.round(2).cast("string"),
        "demands": c.mc_demands.cast("string") + " demands",
        "repeated": c.mc_requests.cast("string") + " questions/demands",
        "escalation": c.mc_escalations.cast("string")
        + " turns with escalation cues, up to "
        + c.mc_max_tagged_pressing.fill_null(0).cast("string")
        + " handles tagged",
        "waiting": hours.round(0).cast("int64").cast("string") + " h unanswered",
        "reach": c.counterparts.fill_null(0).cast("string") + " distinct counterparts",
    }
    contrib = {k: (terms[k] * WEIGHTS[k]) for k in WEIGHTS}
    score = sum(contrib.values(), ibis.literal(0.0))
    # Reasons: the three largest contributions, largest first.
    items = ibis.array(
        [
            ibis.struct(
                {
                    "neg": -contrib[k],
                    "text": k
                    + " "
                    + contrib[k].round(2).cast("string")
                    + " ("
                    + detail[k].fill_null("?")
                    + ")",
                }
            )
            for k in WEIGHTS
        ]
    )
    top = items.filter(lambda x: x.neg < -0.005).sort().map(lambda x: x.text)[:3]
    c = c.mutate(
        urgency=ibis.ifelse(c.customer_turns > 0, score.round(3), 0.0),
        urgency_reason=ibis.ifelse(
            c.customer_turns > 0,
            ibis.ifelse(top.length() > 0, top.join("; "), "nothing urgent"),
            "no customer in the conversation",
        ),
        **{f"urgency_{k}": v.round(3) for k, v in terms.items()},
    )
    return c.rename(author_counterparts="counterparts")
