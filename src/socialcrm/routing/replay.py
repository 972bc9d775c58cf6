"""Replay: run the routing policy over a real history as if it were live.

Events of one source are read in the order they became known (``known_at``: the
timestamp, or the end of its day for kinds whose time is only a day, such as Stack
Exchange votes and accepts — ``[replay] day_granular_kinds``) and handled one by one:

* a conversation's first turn is an **arrival**: its priority and route are decided with
  what is known at that moment — the opening text (urgency, intent, topics, tone), the
  author's activity and reach *so far*, and the responder index *so far* — and the top
  community candidates are invited when it goes to the community;
* a later turn by someone else is a **response** (a kind in ``satisfaction.not_answers``,
  a comment, only counts for activity and ties); it updates the responder index
  (expertise, text profile, tie with the author, recency);
* an accept, or the author's acknowledgement, makes the answer **satisfactory**; a
  quiet timer fires ``quiet_hours`` after each answer and satisfies the conversation
  when the author asked nothing new meanwhile (seed 001's "satisfactory answer");
* when the community-first window ends without an answer, or the author keeps asking
  after it, the conversation **escalates** to staff, assigned to the least-loaded
  best-ranked staff member under the per-agent cap (or left in the staff queue).

Conversation-stage tables are *not* read, because they summarise whole histories (a
conversation's final urgency knows how long it waited): a replay derives urgency and
intent from the opening text only, which is all a live system would have had. Nothing
later than the event being handled is read, which ``tests/routing/test_replay.py``
checks by replaying a history cut short and comparing every earlier decision.

Seed 001: staff step in "only when the community is not able to provide a satisfactory
answers in a timely manner"; the replay measures how often the community does.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from socialcrm.routing import derive as drv
from socialcrm.routing import priority as prio
from socialcrm.routing.policy import Policy, community_window, straight_to_staff
from socialcrm.routing.responders import ResponderIndex
from socialcrm.routing.signals import NON_TURN_KINDS, tables

Ranker = Callable[[ResponderIndex, dict[str, Any], datetime], list[str]]


@dataclass
class ReplayResult:
    """What a replay decided, per conversation, and what happened after."""

    decisions: pd.DataFrame
    rankings: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    index: ResponderIndex | None = None  # the responder index as the replay left it


def load_events(
    con: duckdb.DuckDBPyConnection,
    source: str,
    policy: Policy,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Interactions of ``source`` with resolved entities and roles, in the order known."""
    return con.execute(
        """
        WITH ev AS (
            SELECT i.interaction_id AS id, coalesce(i.conversation_id, i.interaction_id) AS conv,
                   i.ts,
                   CASE WHEN list_contains($day, i.kind)
                        THEN date_trunc('day', i.ts) + INTERVAL 1 DAY ELSE i.ts END AS known_at,
                   i.kind, i.actor, coalesce(d.entity_id, i.actor) AS entity,
                   coalesce(e.role, 'customer') AS role, i.channel, i.visibility, i.text,
                   i.in_reply_to, i.targets
            FROM interactions i
            LEFT JOIN identities d ON d.handle = i.actor
            LEFT JOIN entities e ON e.entity_id = coalesce(d.entity_id, i.actor)
            WHERE i.source = $source
        ),
        tg AS (
            SELECT u.id, list(coalesce(x.entity_id, u.t)) AS target_entities
            FROM (SELECT id, unnest(targets) AS t FROM ev) u
            LEFT JOIN identities x ON x.handle = u.t
            GROUP BY u.id
        )
        SELECT ev.* EXCLUDE (targets), coalesce(len(ev.targets), 0) AS n_targets,
               tg.target_entities
        FROM ev LEFT JOIN tg USING (id)
        WHERE $until IS NULL OR known_at <= $until
        ORDER BY known_at, ts, id
        """,
        {"source": source, "day": list(policy.day_granular_kinds), "until": until},
    ).df()


def _listed(value: Any) -> list[Any]:
    """A list column's value as a list (pandas gives NA for an empty one)."""
    return list(value) if isinstance(value, list | tuple | np.ndarray) else []


def _topics(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, list[str]]:
    if "conversation_topics" not in tables(con):
        return {}
    rows = con.execute(
        """SELECT t.conversation_id, list(t.topic ORDER BY t.topic) FROM conversation_topics t
           WHERE t.conversation_id IN (SELECT DISTINCT coalesce(conversation_id, interaction_id)
                                       FROM interactions WHERE source = ?)
           GROUP BY 1""",
        [source],
    ).fetchall()
    return {c: list(t) for c, t in rows}


def _roles(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    have = tables(con)
    tier = "m.tier" if "entity_metrics" in have else "NULL"
    join = "LEFT JOIN entity_metrics m USING (entity_id)" if "entity_metrics" in have else ""
    return con.execute(f"SELECT e.entity_id, e.role, {tier} AS tier FROM entities e {join}").df()


class _Percentile:
    """Percentile of a value among every entity's value so far (percent rank)."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self._arr: np.ndarray | None = None

    def set(self, key: str, value: float) -> None:
        self.values[key] = value
        self._arr = None

    def pct(self, key: str) -> float:
        if self._arr is None:
            self._arr = np.sort(np.fromiter(self.values.values(), dtype=float))
        n = len(self._arr)
        if n <= 1 or key not in self.values:
            return 0.0
        return float(np.searchsorted(self._arr, self.values[key], side="left")) / (n - 1)


def replay(
    con: duckdb.DuckDBPyConnection,
    source: str,
    policy: Policy,
    *,
    until: datetime | None = None,
    rankers: dict[str, Ranker] | None = None,
    keep_rankings: bool = False,
    show_top: int = 5,
) -> ReplayResult:
    """Replay ``source``'s history under ``policy`` (see the module docs).

    With ``keep_rankings`` every arrival's full candidate order is kept (``"policy"``:
    the shipped ranking), and so are those of the extra ``rankers`` (an evaluation's
    baselines), which see the same index at the same moment.
    """
    events = load_events(con, source, policy, until)
    tags = _topics(con, source)
    roles = _roles(con)
    role_of = dict(zip(roles.entity_id, roles.role, strict=True))
    index = ResponderIndex(policy)
    for ent, role, tier in roles.itertuples(index=False):
        if (
            role in policy.staff_roles
            or role in policy.community_roles
            or (isinstance(tier, str) and tier in policy.community_tiers)
        ):
            index.add_candidate(
                ent, role=role, brand=ent if role == "brand" else None, tier=tier or None
            )
    extra = dict(rankers or {})
    rankings: dict[str, dict[str, list[str]]] = {"policy": {}, **{name: {} for name in extra}}

    turns = events[~events.kind.isin(NON_TURN_KINDS) & (events.role != "system")]
    openings = turns.drop_duplicates("conv", keep="first")
    openings = openings[~openings.role.isin(policy.staff_roles)]
    opened = _derive_openings(con, openings, tags, policy)

    nq_re, ack_re = policy.new_question_re, policy.acknowledgement_re
    not_answers = set(policy.not_answers)
    quiet = timedelta(hours=policy.quiet_hours)
    conv: dict[str, dict[str, Any]] = {}
    post_owner: dict[str, str] = {}
    staff_load: dict[str, int] = defaultdict(int)
    reach: dict[str, set[str]] = defaultdict(set)
    reach_pct, activity_pct = _Percentile(), _Percentile()
    activity: dict[str, int] = defaultdict(int)
    timers: list[tuple[datetime, int, str, str, Any]] = []
    seq = 0
    open_now: set[str] = set()

    def push(when: datetime, kind: str, cid: str, payload: Any = None) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(timers, (when, seq, kind, cid, payload))

    def satisfy(c: dict[str, Any], when: datetime, how: str) -> None:
        if c["satisfied"]:
            return
        c["satisfied"] = True
        if c["satisfied_at"] is None:
            c["satisfied_at"], c["satisfaction"] = when, how
        open_now.discard(c["conversation_id"])
        if c["assignee"] is not None:
            staff_load[c["assignee"]] -= 1
            index.set_load(c["assignee"], staff_load[c["assignee"]])

    def escalate(c: dict[str, Any], when: datetime, why: str) -> None:
        if c["escalated_at"] is not None:
            return
        c["escalated_at"], c["escalation"] = when, why
        for cand in index.best(c["request"], when, len(index), kinds=("staff",)):
            if staff_load[cand] < policy.per_agent_cap:
                c["assignee"] = cand
                staff_load[cand] += 1
                index.set_load(cand, staff_load[cand])
                break

    def fire(until_ts: datetime) -> None:
        while timers and timers[0][0] <= until_ts:
            when, _, kind, cid, payload = heapq.heappop(timers)
            c = conv[cid]
            if kind == "window" and not c["satisfied"]:
                if c["first_answer_at"] is None:
                    escalate(c, when, "window ended without an answer")
                elif c["last_nq_at"] is not None and c["last_nq_at"] > c["last_answer_at"]:
                    escalate(c, when, "window ended; the author still asks")
            elif kind == "quiet" and not c["satisfied"]:
                asked = c["last_nq_at"]
                if asked is None or asked <= payload:
                    satisfy(c, when, "quiet")

    for ev in events.itertuples(index=False):
        now = ev.known_at.to_pydatetime()
        fire(now)
        cid, ent, kind = ev.conv, ev.entity, ev.kind
        if ev.role == "system":
            continue
        activity[ent] += 1
        activity_pct.set(ent, activity[ent])
        for tgt in _listed(ev.target_entities):
            if tgt != ent:
                reach[tgt].add(ent)
                reach_pct.set(tgt, len(reach[tgt]))
        if kind in ("question", "answer", "message", "post", "email", "chat", "comment"):
            post_owner[ev.id] = ent
        c = conv.get(cid)

        if kind == "accept":
            if c is not None and ent == c["author"] and policy.accepted_is_satisfactory:
                answerer = post_owner.get(ev.in_reply_to)
                if answerer is not None:
                    index.observe_accept(cid, answerer)
                satisfy(c, now, "accepted")
            continue
        if kind in NON_TURN_KINDS:
            continue

        if c is None:
            if cid not in opened.index:  # a brand broadcast or a staff-initiated thread
                index.touch(ent, now)
                if ev.in_reply_to in post_owner:
                    index.observe_exchange(ent, post_owner[ev.in_reply_to])
                continue
            c = _arrive(ev, now, opened.loc[cid], policy, index, reach_pct, activity_pct)
            conv[cid] = c
            open_now.add(cid)
            c["queue_depth"] = len(open_now)
            ranked = index.rank(c["request"], now, explain=0)
            c["top_candidates"] = ranked.candidate.head(show_top).tolist()
            if c["route"] == "community" and policy.invite_top_k > 0:
                community = ranked[ranked.kind == "community"]
                c["invited"] = community.candidate.head(policy.invite_top_k).tolist()
            if keep_rankings:
                rankings["policy"][cid] = ranked.candidate.tolist()
                for name, ranker in extra.items():
                    rankings[name][cid] = ranker(index, c["request"], now)
            index.observe_request(cid, c["author"], now, ev.text, c["request"]["topics"])
            if c["route"] == "staff":
                escalate(c, now, c["route_reason"])
            else:
                push(c["window_ends_at"], "window", cid)
            continue

        text = ev.text or ""
        if ent == c["author"]:
            index.touch(ent, now)
            owner = post_owner.get(ev.in_reply_to)
            if owner is not None and owner != ent:
                index.observe_exchange(ent, owner)
            asks = bool(nq_re.search(text))
            if asks:
                c["last_nq_at"] = now
                if c["satisfied"]:
                    c["satisfied"] = False
                    c["reopened"] += 1
                    open_now.add(cid)
                if c["last_answer_at"] is not None and now >= c["window_ends_at"]:
                    escalate(c, now, "the author still asks after the window")
            elif c["last_answer_at"] is not None and ack_re.search(text):
                satisfy(c, now, "acknowledged")
            continue

        # someone else in the thread
        if kind in not_answers:
            index.touch(ent, now)
            owner = post_owner.get(ev.in_reply_to)
            if owner is not None:
                index.observe_exchange(ent, owner)
            continue
        index.observe_response(cid, ent, now, ev.text)
        if c["first_answer_at"] is None:
            c["first_answer_at"], c["first_answer_by"] = now, ent
            c["first_answer_role"] = role_of.get(ent, "customer")
            c["first_answer_invited"] = ent in c["invited"]
        if role_of.get(ent) in policy.staff_roles and c["first_staff_at"] is None:
            c["first_staff_at"] = now
        c["responders"].append(ent)
        c["last_answer_at"] = now
        push(now + quiet, "quiet", cid, now)

    fire(datetime.max if until is None else until)
    decisions = _decisions(conv, policy)
    return ReplayResult(decisions, rankings if keep_rankings else {}, summarise(decisions), index)


def _derive_openings(
    con: duckdb.DuckDBPyConnection,
    openings: pd.DataFrame,
    tags: dict[str, list[str]],
    policy: Policy,
) -> pd.DataFrame:
    """Urgency, intent, topics and tone of every opening message, from its text alone
    (the message-level sentiment of ``message_labels`` when present: it reads one text)."""
    frame = pd.DataFrame(
        {
            "conversation_id": openings.conv.to_numpy(),
            "author_text": openings.text.fillna("").to_numpy(),
            "last_author_text": openings.text.fillna("").to_numpy(),
            "opening_text": openings.text.fillna("").to_numpy(),
            "stage_urgency": None,
            "stage_intent": None,
            "stage_sentiment": np.nan,
            "tags": [tags.get(c) for c in openings.conv],
        }
    )
    if "message_labels" in tables(con) and len(openings):
        con.register("_rt_open", pd.DataFrame({"id": openings.id.to_numpy()}))
        try:
            got = dict(
                con.execute(
                    "SELECT o.id, m.sentiment FROM _rt_open o"
                    " JOIN message_labels m ON m.interaction_id = o.id"
                ).fetchall()
            )
        finally:
            con.unregister("_rt_open")
        frame["stage_sentiment"] = [got.get(i, np.nan) for i in openings.id]
    out = drv.derive(frame, policy)
    return out.set_index("conversation_id")


def _arrive(
    ev: Any,
    now: datetime,
    o: pd.Series,
    policy: Policy,
    index: ResponderIndex,
    reach_pct: _Percentile,
    activity_pct: _Percentile,
) -> dict[str, Any]:
    """Decide priority and route for an arriving conversation."""
    brands = list(_listed(ev.target_entities))
    row = {
        "urgency": [o.urgency],
        "urgency_cue": [o.urgency_cue],
        "intent": [o.intent],
        "topics": [o.topics],
        "sentiment": [o.sentiment],
        "request_text": [o.request_text],
        "escalation": [bool(o.escalation)],
        "channel": [ev.channel],
        "visibility": [ev.visibility],
        "n_tagged": [ev.n_targets],
        "influence_pct": [reach_pct.pct(ev.entity)],
        "value_pct": [activity_pct.pct(ev.entity)],
        "value_basis": ["activity"],
        "arrived_at": [now],
    }
    p = prio.score(row, policy, now)
    minutes_, rules_ = community_window(row, policy)
    staff_reason = straight_to_staff(row, policy)[0]
    route = "staff" if isinstance(staff_reason, str) else "community"
    minutes = 0.0 if route == "staff" else float(minutes_[0])
    level = o.urgency
    return {
        "conversation_id": ev.conv,
        "author": ev.entity,
        "arrived_at": now,
        "channel": ev.channel,
        "visibility": ev.visibility,
        "urgency": level,
        "intent": o.intent,
        "topics": list(o.topics),
        "priority": float(p["priority"][0]),
        "reason_text": p["reason_text"][0],
        "route": route,
        "route_reason": staff_reason if route == "staff" else rules_[0],
        "window_minutes": minutes,
        "window_ends_at": now + timedelta(minutes=minutes),
        "first_response_due": now + timedelta(minutes=policy.first_response_target(level)),
        "resolution_due": now + timedelta(minutes=policy.resolution_target(level)),
        "request": {
            "conversation_id": ev.conv,
            "author": ev.entity,
            "text": ev.text,
            "topics": list(o.topics),
            "brands": [b for b in brands if b in index.pos and index.role[index.pos[b]] == "brand"],
        },
        "invited": [],
        "top_candidates": [],
        "first_answer_at": None,
        "first_answer_by": None,
        "first_answer_role": None,
        "first_answer_invited": False,
        "first_staff_at": None,
        "last_answer_at": None,
        "last_nq_at": now,
        "responders": [],
        "satisfied": False,
        "satisfied_at": None,
        "satisfaction": None,
        "reopened": 0,
        "escalated_at": None,
        "escalation": None,
        "assignee": None,
        "queue_depth": 0,
    }


def _decisions(conv: dict[str, dict[str, Any]], policy: Policy) -> pd.DataFrame:
    rows = []
    for c in conv.values():
        r = {k: v for k, v in c.items() if k not in ("request", "last_nq_at", "satisfied")}
        r["responders"] = list(dict.fromkeys(c["responders"]))
        rows.append(r)
    d = pd.DataFrame(rows)
    if d.empty:
        return d
    for col in (
        "first_answer_at",
        "satisfied_at",
        "escalated_at",
        "first_staff_at",
        "last_answer_at",
        "window_ends_at",
        "first_response_due",
        "resolution_due",
        "arrived_at",
    ):
        d[col] = pd.to_datetime(d[col])
    d["first_answer_min"] = (d.first_answer_at - d.arrived_at).dt.total_seconds() / 60
    d["satisfied_min"] = (d.satisfied_at - d.arrived_at).dt.total_seconds() / 60
    d["answered_in_window"] = d.first_answer_at.notna() & (d.first_answer_at <= d.window_ends_at)
    d["first_response_sla"] = np.select(
        [d.first_answer_at.isna(), d.first_answer_at <= d.first_response_due],
        ["missed", "hit"],
        default="missed",
    )
    d["resolution_sla"] = np.select(
        [d.satisfied_at.isna(), d.satisfied_at <= d.resolution_due], ["missed", "hit"], "missed"
    )
    return d


def community_share(decisions: pd.DataFrame, minutes: float, *, satisfied: bool = False) -> float:
    """Share of conversations a non-staff member answered (or satisfied) within ``minutes``."""
    if decisions.empty:
        return math.nan
    if satisfied:
        t = decisions.satisfied_min.where(~decisions.first_answer_role.isin(("brand", "employee")))
    else:
        t = decisions.first_answer_min.where(
            ~decisions.first_answer_role.isin(("brand", "employee"))
        )
    return float((t <= minutes).mean())


def summarise(d: pd.DataFrame) -> dict[str, Any]:
    """Headline numbers of a replay: routes, community answers, escalations, SLAs."""
    if d.empty:
        return {"conversations": 0}
    community = d.route == "community"
    return {
        "conversations": len(d),
        "routed_to_community": int(community.sum()),
        "straight_to_staff": int((~community).sum()),
        "answered": int(d.first_answer_at.notna().sum()),
        "answered_in_window": int((community & d.answered_in_window).sum()),
        "answered_by_invited": int(d.first_answer_invited.sum()),
        "escalated": int(d.escalated_at.notna().sum()),
        "escalated_after_window": int((community & d.escalated_at.notna()).sum()),
        "satisfied": int(d.satisfied_at.notna().sum()),
        "satisfaction": {k: int(v) for k, v in d.satisfaction.value_counts().items()},
        "first_response_sla_hit": float((d.first_response_sla == "hit").mean()),
        "resolution_sla_hit": float((d.resolution_sla == "hit").mean()),
        "median_first_answer_min": float(d.first_answer_min.median()),
        "by_urgency": {k: int(v) for k, v in d.urgency.value_counts().items()},
    }
