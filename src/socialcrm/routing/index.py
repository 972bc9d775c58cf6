"""Serving structures built once from the store, so a routing decision is a small lookup.

:func:`build_context` reads the store in a few set-oriented queries and returns a
:class:`RoutingContext`: a frozen :class:`~socialcrm.routing.responders.ResponderIndex`
(answers, topics, text profiles, similar conversations, ties, loads of every candidate),
the authors' influence and value percentiles, and the sorted priorities of the open
queue. :func:`decide` then prioritises and routes one new conversation in about a
millisecond (``bench/routing.py``): priority with reasons, community window or straight
to staff, ranked candidates, invitations, and the position it takes in the queue.

The bulk build and the event-by-event updates of a replay fill the same index;
``tests/routing/test_index.py`` checks that both give the same scores.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from socialcrm.routing import derive as drv
from socialcrm.routing import priority as prio
from socialcrm.routing.policy import Policy, community_window, straight_to_staff
from socialcrm.routing.responders import ResponderIndex
from socialcrm.routing.signals import NON_TURN_KINDS, columns, tables, turns_sql


@dataclass
class RoutingContext:
    """Everything a decision reads, precomputed (see the module docs)."""

    policy: Policy
    index: ResponderIndex
    influence_pct: dict[str, float] = field(default_factory=dict)
    value_pct: dict[str, float] = field(default_factory=dict)
    value_basis: str = "activity"
    tier: dict[str, str] = field(default_factory=dict)
    queue_priorities: list[float] = field(default_factory=list)  # ascending
    built_at: datetime | None = None


@dataclass
class Decision:
    """A routing decision for one conversation."""

    conversation_id: str
    priority: float
    reasons: list[dict[str, Any]]
    reason_text: str
    route: str  # community | staff
    route_reason: str
    window_minutes: float
    window_ends_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    candidates: pd.DataFrame
    invited: list[str]
    queue_position: int  # 1 = first

    def as_dict(self, top: int = 10) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "candidates"}
        d["candidates"] = self.candidates.head(top).to_dict("records")
        return d


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    return con.execute(sql, params).df()


def build_index(con: duckdb.DuckDBPyConnection, policy: Policy, now: datetime) -> ResponderIndex:
    """The responder index of everything in the store up to ``now``, built in bulk."""
    p = {
        "now": now,
        "non_turn": list(NON_TURN_KINDS),
        "staff_roles": list(policy.staff_roles),
        "not_answers": list(policy.not_answers),
        "nq_re": policy.new_question_re.pattern,
        "ack_re": policy.acknowledgement_re.pattern,
    }
    base = f"WITH {_turns_cte()}"
    index = ResponderIndex(policy)
    have = tables(con)

    # candidates by configuration: staff, community roles and tiers
    tier_sql = "m.tier" if "entity_metrics" in have else "NULL"
    tier_join = "LEFT JOIN entity_metrics m USING (entity_id)" if "entity_metrics" in have else ""
    roles = _df(
        con,
        f"""SELECT e.entity_id, e.role, {tier_sql} AS tier,
                  json_extract_string(e.attrs, '$.brand') AS brand
           FROM entities e {tier_join}
           WHERE list_contains($staff, e.role) OR list_contains($community, e.role)
              OR list_contains($tiers, {tier_sql})""",
        {
            "staff": list(policy.staff_roles),
            "community": list(policy.community_roles),
            "tiers": list(policy.community_tiers),
        },
    )
    for ent, role, tier, brand in roles.itertuples(index=False):
        index.add_candidate(
            ent,
            role=role,
            brand=ent if role == "brand" else (brand if isinstance(brand, str) else None),
            tier=tier if isinstance(tier, str) else None,
        )

    # requests: every customer-initiated conversation's opening, in time order
    req = _df(
        con,
        base
        + """
        SELECT conv, first(author) AS author, min(ts) AS ts,
               first(text ORDER BY ts, id) AS text
        FROM tt WHERE by_author GROUP BY conv ORDER BY min(ts), conv""",
        p,
    )
    tags = _conversation_tags(con, have)
    topic_lists = drv.topics_of(req.text, [tags.get(c) for c in req.conv], policy)
    x_req = _vectors(index, req.text)
    index.conv_pos = {c: i for i, c in enumerate(req.conv)}
    index.conv_author = req.author.tolist()
    index.conv_topics = [tuple(t) for t in topic_lists]
    index.conv_answerers = [[] for _ in range(len(req))]
    index.conv_vecs.add_matrix(np.arange(len(req)), x_req)
    index._conv_terms = []  # bulk indexes are frozen: no incremental profile updates
    index.df = np.asarray((x_req > 0).sum(axis=0)).ravel().astype(float)
    index.n_docs = len(req)
    for tl in topic_lists:
        for t in set(tl):
            index.topic_df[t] += 1

    # responses: who answered which conversation, when, with what words
    resp = _df(
        con,
        base
        + """
        SELECT conv, entity AS responder, ts, text FROM tt WHERE answer ORDER BY ts, id""",
        p,
    )
    if len(resp):
        rows = np.fromiter((index.candidate(e) for e in resp.responder), dtype=np.int64)
        tau = index.tau
        t_now = pd.Timestamp(now).timestamp()
        age = t_now - (pd.to_datetime(resp.ts) - pd.Timestamp(0)).dt.total_seconds().to_numpy()
        np.add.at(index._act, rows, np.exp(-age / tau))
        index._act_t[: len(index)] = t_now
        np.add.at(index.answers, rows, 1.0)
        x_resp = _vectors(index, resp.text)
        index.profiles.add_matrix(rows, x_resp)
        conv_rows = resp.conv.map(index.conv_pos)
        known = conv_rows.notna().to_numpy()
        cr = conv_rows[known].astype(np.int64).to_numpy()
        index.profiles.add_matrix(rows[known], index.conv_vecs.csr(len(req))[cr])
        counts = pd.DataFrame({"c": cr, "r": rows[known]}).groupby(["c", "r"]).size()
        for (c, r), n in counts.items():
            c, r = int(c), int(r)
            if not index.conv_answerers[c]:
                index._answered_convs.append(c)
            index.conv_answerers[c].append(r)
            for t in index.conv_topics[c]:
                index.topic_w[t][r] += float(n)
            index.exchanges[index.conv_author[c]][r] += float(n)
        index._answered_convs.sort()

    # accepted answers
    acc = _df(
        con,
        """
        SELECT coalesce(i.conversation_id, i.interaction_id) AS conv,
               coalesce(d.entity_id, p.actor) AS answerer
        FROM interactions i
        JOIN interactions p ON p.interaction_id = i.in_reply_to
        LEFT JOIN identities d ON d.handle = p.actor
        WHERE i.kind = 'accept' AND i.ts <= $now""",
        {"now": now},
    )
    for conv, answerer in acc.itertuples(index=False):
        index.observe_accept(conv, answerer)

    # exchanges outside answers (comments, mentions): ties when the relationships stage has not run
    if "ties" in have and {"source_entity", "target_entity", "strength"} <= columns(con, "ties"):
        ties = _df(
            con,
            "SELECT source_entity, target_entity, strength FROM ties WHERE strength > 0",
            {},
        )
        for a, b, s in ties.itertuples(index=False):
            if b in index.pos:
                index.tie_strength[a][index.pos[b]] = max(
                    float(s), index.tie_strength[a].get(index.pos[b], 0.0)
                )
            if a in index.pos:
                index.tie_strength[b][index.pos[a]] = max(
                    float(s), index.tie_strength[b].get(index.pos[a], 0.0)
                )
    else:
        ex = _df(
            con,
            base
            + """
            , parent AS (SELECT id AS pid, entity AS owner FROM t)
            SELECT tt.entity AS a, parent.owner AS b, count(*) AS n
            FROM tt JOIN interactions i ON i.interaction_id = tt.id
            JOIN parent ON parent.pid = i.in_reply_to
            WHERE NOT tt.answer AND tt.entity <> parent.owner
            GROUP BY 1, 2""",
            p,
        )
        for a, b, n in ex.itertuples(index=False):
            index.observe_exchange(a, b, float(n))

    # last activity of every candidate
    last = _df(
        con,
        """SELECT coalesce(d.entity_id, i.actor) AS entity, max(i.ts) AS ts
           FROM interactions i LEFT JOIN identities d ON d.handle = i.actor
           WHERE i.ts <= $now GROUP BY 1""",
        {"now": now},
    )
    for ent, ts in last.itertuples(index=False):
        i = index.pos.get(ent)
        if i is not None:
            index.last_active[i] = pd.Timestamp(ts).timestamp()

    # current load: open assignments
    if "routing_queue" in have:
        for agent, n in con.execute(
            "SELECT assignee, count(*) FROM routing_queue WHERE assignee IS NOT NULL"
            " AND status IN ('assigned', 'answered', 'escalated') GROUP BY 1"
        ).fetchall():
            index.set_load(agent, n)
    return index.freeze()


def _vectors(index: ResponderIndex, texts: pd.Series) -> sp.csr_matrix:
    """Hashed term counts of texts (an empty store gives an empty matrix)."""
    if len(texts) == 0:
        return sp.csr_matrix((0, index.vectorizer.n_features))
    return index.vectorizer.transform(texts.fillna("").tolist())


def _turns_cte() -> str:
    return turns_sql()


def _conversation_tags(con: duckdb.DuckDBPyConnection, have: set[str]) -> dict[str, list[str]]:
    if "conversation_topics" not in have:
        return {}
    return {
        c: list(t)
        for c, t in con.execute(
            "SELECT conversation_id, list(topic ORDER BY topic) FROM conversation_topics GROUP BY 1"
        ).fetchall()
    }


def build_context(con: duckdb.DuckDBPyConnection, policy: Policy, now: datetime) -> RoutingContext:
    """Precompute the index, author percentiles and queue priorities (see module docs)."""
    from socialcrm.routing.signals import author_profiles

    index = build_index(con, policy, now)
    have = tables(con)
    authors = con.execute(
        "SELECT DISTINCT coalesce(d.entity_id, i.actor) AS author FROM interactions i"
        " LEFT JOIN identities d ON d.handle = i.actor"
    ).df()
    con.register("_rt_facts", authors.assign(conversation_id=None, last_author_id=None))
    try:
        prof = author_profiles(con, have)
    finally:
        con.unregister("_rt_facts")
    ctx = RoutingContext(policy=policy, index=index, built_at=now)
    ctx.influence_pct = dict(zip(prof.author, prof.influence_pct.fillna(0.0), strict=True))
    ctx.value_pct = dict(zip(prof.author, prof.value_pct.fillna(0.0), strict=True))
    ctx.value_basis = str(prof.value_basis.mode().iat[0]) if len(prof) else "activity"
    ctx.tier = {a: t for a, t in zip(prof.author, prof.tier, strict=True) if isinstance(t, str)}
    if "routing_queue" in have:
        ctx.queue_priorities = sorted(
            r[0]
            for r in con.execute(
                "SELECT priority FROM routing_queue WHERE status <> 'resolved' AND priority IS NOT NULL"
            ).fetchall()
        )
    return ctx


def decide(
    ctx: RoutingContext,
    conv: dict[str, Any],
    now: datetime,
    *,
    top: int = 10,
    vec: sp.csr_matrix | None = None,
) -> Decision:
    """Prioritise and route one conversation.

    ``conv`` holds ``conversation_id``, ``author``, ``text`` (the author's words),
    ``channel``, ``visibility``, ``arrived_at`` and optionally ``topics``/``tags``,
    ``n_tagged``, ``brands``, ``first_response_at``.
    """
    p = ctx.policy
    author = conv["author"]
    text = conv.get("text") or ""
    derived = conv.get("_derived")
    if derived is None:
        tone = conv.get("sentiment")
        if tone is None or tone != tone:
            tone = float(drv.sentiment_of([text])[0])
        derived = drv.derive_one(
            text,
            conv.get("opening_text", text),
            tone,
            p,
            tags=conv.get("tags"),
            stage_urgency=conv.get("stage_urgency"),
            stage_intent=conv.get("stage_intent"),
        )
        derived["sentiment"] = tone
    row = {
        "urgency": [derived["urgency"]],
        "urgency_cue": [derived["urgency_cue"]],
        "intent": [derived["intent"]],
        "topics": [derived["topics"]],
        "sentiment": [derived["sentiment"]],
        "request_text": [text],
        "escalation": [derived.get("escalation", False)],
        "channel": [conv.get("channel")],
        "visibility": [conv.get("visibility", "public")],
        "n_tagged": [conv.get("n_tagged", 0)],
        "other_customers": [conv.get("other_customers", 0)],
        "views": [conv.get("views", 0)],
        "influence_pct": [ctx.influence_pct.get(author, 0.0)],
        "value_pct": [ctx.value_pct.get(author, 0.0)],
        "value_basis": [ctx.value_basis],
        "tier": [ctx.tier.get(author)],
        "arrived_at": [conv.get("arrived_at", now)],
        "first_response_at": [conv.get("first_response_at")],
    }
    pr = prio.score(row, p, now)
    minutes, rules = community_window(row, p)
    staff_reason = straight_to_staff(row, p)[0]
    route = "staff" if isinstance(staff_reason, str) else "community"
    arrived = pd.Timestamp(conv.get("arrived_at", now)).to_pydatetime()
    window = 0.0 if route == "staff" else float(minutes[0])
    request = {
        "author": author,
        "text": text,
        "topics": derived["topics"],
        "brands": conv.get("brands") or [],
    }
    comp = ctx.index.components(request, now, vec=vec)
    ranked = ctx.index.rank(request, now, limit=top, explain=top, comp=comp)
    window_ends = arrived + timedelta(minutes=window)
    invited: list[str] = []
    if route == "community" and now < window_ends and p.invite_top_k > 0:
        invited = ctx.index.best(request, now, p.invite_top_k, kinds=("community",), comp=comp)
    priority = float(pr["priority"][0])
    position = len(ctx.queue_priorities) - bisect_right(ctx.queue_priorities, priority) + 1
    level = derived["urgency"]
    return Decision(
        conversation_id=conv["conversation_id"],
        priority=priority,
        reasons=pr["reasons"][0],
        reason_text=pr["reason_text"][0],
        route=route,
        route_reason=staff_reason if route == "staff" else str(rules[0]),
        window_minutes=window,
        window_ends_at=window_ends,
        first_response_due=arrived + timedelta(minutes=p.first_response_target(level)),
        resolution_due=arrived + timedelta(minutes=p.resolution_target(level)),
        candidates=ranked,
        invited=invited,
        queue_position=int(position),
    )
