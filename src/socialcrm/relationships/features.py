"""Tie features: one row per ordered pair of entities (a, b) that interacted.

Seed 000 splits a relationship into four components (time, intensity, reciprocity, trust); this
stage measures each of them from the interaction log as plain table expressions, so that the same
Ibis definition runs on DuckDB (default) and on Spark (DESIGN.md "Engines"). No Python loop ever
touches a row.

Input: the ``edges`` view (one row per interaction and addressed entity), with columns
``interaction_id, source, channel, ts, kind, visibility, text, value, conversation_id, in_reply_to,
actor_entity, target_entity`` and optionally ``sentiment`` (a score in [-1, 1]).

Conventions
-----------
* **Symmetric contacts.** Kinds in ``symmetric_kinds`` (default ``meeting``) are co-presence:
  the canonical store keeps a contact once, as i→j, and this stage counts it for *both* directions
  (a mirrored copy j→i is added before the directed aggregates). Undirected quantities (days,
  encounters, total duration, the pair's volume) are computed on the un-mirrored rows, so a
  meeting is never counted twice. Store a meeting once; a meeting stored as both i→j and j→i
  under different interaction ids is two meetings.
* **Both orientations.** Every pair that interacted appears twice, as (a, b) and (b, a): the same
  relationship seen from each ego, which is what makes strength directed and relative.
* ``_ab`` columns describe what a did towards b, ``_ba`` what b did towards a; ``in_a`` columns
  place b among a's ties, ``in_b`` place a among b's ties.
* Times are Unix seconds internally; calendar days and weeks are UTC.

The generic "voluntary time" feature: people meet where they must (lessons, stand-ups, a desk
neighbour) and where they choose (breaks, lunch, after hours). Without any timetable, the moments of
choice show up as the time-of-day bins in which the population *mixes*: interacting pairs then share
fewer neighbours (lower Jaccard) than in the routine bins. Each bin gets a weight in [0, 1]
(1 = the most mixing bin of the day, 0 = the most routine) and a pair's ``voluntary_volume`` is the
weighted count of its contacts. On the SocioPatterns high school this recovers the morning break,
lunch and the end of the day without being told the timetable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import ibis
import ibis.expr.types as ir
import pandas as pd

SYMMETRIC_KINDS: tuple[str, ...] = ("meeting",)
DURATION_KINDS: tuple[str, ...] = ("meeting", "call")
ENDORSE_KINDS: tuple[str, ...] = ("endorse", "accept", "kudos", "like")
RATING_KINDS: tuple[str, ...] = ("rating",)
# kinds that are not a message one can answer
NON_CONVERSATIONAL_KINDS: tuple[str, ...] = ("view", "endorse", "accept", "kudos", "like", "rating")

DAY_S = 86_400
WEEK_S = 7 * DAY_S

# Which component each model feature belongs to (seed 000). Columns not listed are kept in the
# table for display (timestamps, raw counts used only to derive other columns, node degree of b).
FEATURE_COMPONENTS: dict[str, tuple[str, ...]] = {
    "time": (
        "tie_age_days",
        "recency_days",
        "active_days",
        "active_weeks",
        "active_hours",
        "encounters",
        "decayed_volume",
        "co_active_days",
        "together_day_share",
    ),
    "intensity": (
        "n_pair",
        "n_ab",
        "n_ba",
        "duration_s",
        "longest_encounter_s",
        "text_len_ab",
        "channels",
        "private_share",
        "exclusive_volume",
        "attention_hours",
        "voluntary_volume",
        "voluntary_share_in_a",
        "share_in_a",
        "cume_in_a",
        "a_ties",
    ),
    "reciprocity": (
        "balance",
        "answered_by_b_share",
        "answered_by_a_share",
        "b_latency_s",
        "a_latency_s",
        "share_in_b",
        "cume_in_b",
    ),
    "trust": (
        "endorse_ab",
        "endorse_ba",
        "rating_mean_ab",
        "rating_mean_ba",
        "sentiment_ab",
        "sentiment_ba",
        "shared_neighbours",
        "jaccard",
        "overlap",
    ),
}
FEATURES: tuple[str, ...] = tuple(f for fs in FEATURE_COMPONENTS.values() for f in fs)


def _epoch(as_of: datetime | str | pd.Timestamp) -> int:
    ts = pd.Timestamp(as_of)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.timestamp())


def _left_join(left: ir.Table, right: ir.Table, on: Sequence[tuple[str, str]]) -> ir.Table:
    """Left join on differently named keys; keeps left's columns and right's non-key columns."""
    preds = [left[lk] == right[rk] for lk, rk in on]
    rkeys = {rk for _, rk in on}
    joined = left.join(right, preds, how="left")
    return joined.select(*left.columns, *[c for c in right.columns if c not in rkeys])


ID_BASE = 2**31  # entity numbers stay below this
DAY_BASE = 2**22  # days (since 1970) stay within ±DAY_OFFSET
DAY_OFFSET = 2**21


def _pair_key(x: ir.IntegerValue, y: ir.IntegerValue) -> ir.IntegerValue:
    """Two entity numbers as one int64 join key."""
    return x * ID_BASE + y


def _day_key(entity: ir.IntegerValue, day: ir.IntegerValue) -> ir.IntegerValue:
    """An entity number and a day as one int64 join key."""
    return entity * DAY_BASE + day + DAY_OFFSET


def _walks(pairs: ir.Table, a_first: ir.BooleanValue) -> ir.Table:
    """Each unordered pair once as ``wlo, whi`` (its ids) and ``wx, wy`` (entity numbers): the
    side to walk (``a`` where ``a_first``, the one with fewer items) and the side to probe."""
    return pairs.select(
        wlo=pairs.a,
        whi=pairs.b,
        wx=ibis.ifelse(a_first, pairs.ai, pairs.bi),
        wy=ibis.ifelse(a_first, pairs.bi, pairs.ai),
    )


def _rows(
    edges: ir.Table,
    as_of: datetime | str | pd.Timestamp | None,
    symmetric_kinds: Sequence[str],
    duration_kinds: Sequence[str],
    endorse_kinds: Sequence[str],
    rating_kinds: Sequence[str],
) -> ir.Table:
    """One clean row per (interaction, actor, target) with the per-row quantities."""
    e = edges.filter(
        edges.actor_entity.notnull()
        & edges.target_entity.notnull()
        & (edges.actor_entity != edges.target_entity)
    )
    t = e.ts.epoch_seconds().cast("int64")
    if as_of is not None:
        e = e.filter(t < _epoch(as_of))
        t = e.ts.epoch_seconds().cast("int64")
    kind = e.kind
    is_rating = kind.isin(list(rating_kinds))
    value = e.value.cast("float64")
    endorse = (
        ibis.cases(
            (kind.isin(list(endorse_kinds)), 1),
            (is_rating & (value > 0), 1),
            (is_rating & (value < 0), -1),
            else_=0,
        )
    ).cast("int64")
    sentiment = (
        e["sentiment"].cast("float64") if "sentiment" in e.columns else ibis.null().cast("float64")
    )
    return e.select(
        iid=e.interaction_id.cast("string"),
        a=e.actor_entity.cast("string"),
        b=e.target_entity.cast("string"),
        t=t,
        channel=e.channel.cast("string"),
        sym=kind.isin(list(symmetric_kinds)),
        conv=~kind.isin(list(NON_CONVERSATIONAL_KINDS)),
        private=(e.visibility == "private").cast("int64"),
        text_len=e.text.length().cast("float64"),
        dur=ibis.ifelse(kind.isin(list(duration_kinds)), value, ibis.null().cast("float64")),
        endorse=endorse,
        rating=ibis.ifelse(is_rating, value, ibis.null().cast("float64")),
        sentiment=sentiment,
        reply_to=e.in_reply_to.cast("string"),
    )


def tie_features(
    edges: ir.Table,
    *,
    as_of: datetime | str | pd.Timestamp | None = None,
    half_life_days: float = 30.0,
    encounter_gap_s: float = 60.0,
    time_bin_minutes: int = 20,
    max_neighbours: int = 150,
    symmetric_kinds: Sequence[str] = SYMMETRIC_KINDS,
    duration_kinds: Sequence[str] = DURATION_KINDS,
    endorse_kinds: Sequence[str] = ENDORSE_KINDS,
    rating_kinds: Sequence[str] = RATING_KINDS,
) -> ir.Table:
    """Features of every ordered pair (a, b) that interacted, as one Ibis expression.

    Args:
        edges: the edges view (see module docstring).
        as_of: only interactions strictly before this instant count, and recency and decay are
            measured from it; default: the last interaction in ``edges``.
        half_life_days: half-life of ``decayed_volume`` (seed 000: older contact counts less).
        encounter_gap_s: two interactions of a pair belong to one encounter when the second starts
            at most this long after the first ended (SocioPatterns: 20 s contacts, gap 60 s).
        time_bin_minutes: width of the time-of-day bins used to find the population's mixing
            (voluntary) hours.
        max_neighbours: embeddedness is computed over each entity's strongest ``max_neighbours``
            ties (Dunbar's 150 by default), which bounds the neighbour join on hubs.

    Returns:
        An Ibis table with ``source_entity`` (ego a), ``target_entity`` (alter b), ``first_ts``,
        ``last_ts``, ``b_ties`` and every column of ``FEATURES``.
    """
    r = _rows(edges, as_of, symmetric_kinds, duration_kinds, endorse_kinds, rating_kinds)
    if as_of is None:
        ref = r.aggregate(ref_t=r.t.max())
    else:
        # one-row table from the data itself (a memtable would not survive compiling to SQL)
        ref = r.aggregate(ref_t=r.t.count().cast("int64") * 0 + _epoch(as_of))
    hl_s = float(half_life_days) * DAY_S
    bin_s = int(time_bin_minutes) * 60

    # ---- undirected pair key on the un-mirrored rows -------------------------------------
    r = r.mutate(lo=ibis.least(r.a, r.b), hi=ibis.greatest(r.a, r.b))
    r = r.mutate(t_end=r.t + r.dur.fill_null(0.0))

    # encounters: runs of a pair's interactions separated by more than encounter_gap_s
    # order by (t, t_end): deterministic on every engine without sorting on strings
    w_pair = ibis.window(group_by=[r.lo, r.hi], order_by=[r.t, r.t_end])
    prev_end = r.t_end.lag().over(w_pair)
    r = r.mutate(
        new_enc=ibis.ifelse(prev_end.isnull() | ((r.t - prev_end) > encounter_gap_s), 1, 0)
    )
    r = r.mutate(enc_id=r.new_enc.cumsum(group_by=[r.lo, r.hi], order_by=[r.t, r.t_end]))
    enc = (
        r.group_by(["lo", "hi", "enc_id"])
        .aggregate(span=(r.t_end.max() - r.t.min()).cast("float64"))
        .group_by(["lo", "hi"])
        .aggregate(encounters=ibis._.enc_id.count(), longest_encounter_s=ibis._.span.max())
    )

    rr = r.cross_join(ref)
    decay = (-(math.log(2.0) / hl_s) * (rr.ref_t - rr.t).cast("float64")).exp()
    und = rr.group_by(["lo", "hi"]).aggregate(
        n_pair=rr.count(),
        first_t=rr.t.min(),
        last_t=rr.t.max(),
        ref_t=rr.ref_t.max(),
        active_days=(rr.t // DAY_S).nunique(),
        active_weeks=((rr.t + 3 * DAY_S) // WEEK_S).nunique(),  # weeks start on Monday
        active_hours=(rr.t // 3600).nunique(),
        channels=rr.channel.nunique(),
        duration_s=rr.dur.sum(),
        decayed_volume=decay.sum(),
    )
    und = _left_join(
        und,
        enc.rename(e_lo="lo", e_hi="hi"),
        [("lo", "e_lo"), ("hi", "e_hi")],
    )

    # ---- directed rows: symmetric kinds count for both directions --------------------------
    cols = [
        "iid",
        "a",
        "b",
        "t",
        "channel",
        "sym",
        "conv",
        "private",
        "text_len",
        "dur",
        "endorse",
        "rating",
        "sentiment",
        "reply_to",
    ]
    base = r.select(*cols).mutate(mirrored=ibis.literal(False))
    mirror = (
        r.filter(r.sym)
        .select(*cols)
        .mutate(a=ibis._.b, b=ibis._.a, mirrored=ibis.literal(True))
        .select(*cols, "mirrored")
    )
    d = base.union(mirror, distinct=False)

    # exclusive attention: a contact shared with k others at the same instant is worth 1/k
    aud = d.group_by(["a", "t"]).aggregate(audience=ibis._.count()).rename(ua="a", ut="t")
    d = d.join(aud, [d.a == aud.ua, d.t == aud.ut]).drop("ua", "ut")
    directed = d.group_by(["a", "b"]).aggregate(
        n=d.count(),
        text_len=d.text_len.mean(),
        private_share=d.private.mean(),
        endorse=d.endorse.sum(),
        rating_mean=d.rating.mean(),
        sentiment=d.sentiment.mean(),
        exclusive_volume=(1.0 / d.audience.cast("float64")).sum(),
    )

    # per-hour share of a's attention that went to b, summed over a's active hours
    hours = d.mutate(h=d.t // 3600).group_by(["a", "b", "h"]).aggregate(c=ibis._.count())
    htot = hours.group_by(["a", "h"]).aggregate(ct=ibis._.c.sum()).rename(ta="a", th="h")
    hours = hours.join(htot, [hours.a == htot.ta, hours.h == htot.th])
    att = hours.group_by(["a", "b"]).aggregate(
        attention_hours=(ibis._.c.cast("float64") / ibis._.ct.cast("float64")).sum()
    )

    # replies: b answered a's message when b's interaction has in_reply_to = a's interaction
    parent = r.filter(r.conv & ~r.sym).select(pid="iid", pa="a", pb="b", pt="t")
    child = r.filter(r.reply_to.notnull()).select(cref="reply_to", ca="a", ct="t")
    answered = (
        parent.join(child, [parent.pid == child.cref, parent.pb == child.ca])
        .group_by(["pa", "pb", "pid"])
        .aggregate(lat=(ibis._.ct - ibis._.pt).min().cast("float64"))
        .group_by(["pa", "pb"])
        .aggregate(answered=ibis._.pid.count(), latency=ibis._.lat.median())
    )
    msgs = parent.group_by(["pa", "pb"]).aggregate(msgs=parent.pid.nunique())
    replies = _left_join(
        msgs.rename(ma="pa", mb="pb"),
        answered.rename(xa="pa", xb="pb"),
        [("ma", "xa"), ("mb", "xb")],
    )
    replies = replies.mutate(
        share=replies.answered.fill_null(0).cast("float64") / replies.msgs.cast("float64")
    )

    # co-presence: days on which both were active (with anyone) and share of them together
    act = d.select(e="a", day=d.t // DAY_S).union(d.select(e="b", day=d.t // DAY_S), distinct=True)

    # ---- both orientations of every pair ----------------------------------------------------
    rest = [c for c in und.columns if c not in ("lo", "hi")]
    pairs = und.select(und.lo.name("a"), und.hi.name("b"), *rest).union(
        und.select(und.hi.name("a"), und.lo.name("b"), *rest), distinct=False
    )
    dab = directed.rename(**{f"{c}_ab": c for c in directed.columns if c not in ("a", "b")})
    dab = dab.rename(ab_a="a", ab_b="b")
    dba = directed.rename(**{f"{c}_ba": c for c in directed.columns if c not in ("a", "b")})
    dba = dba.rename(ba_a="a", ba_b="b")
    p = _left_join(pairs, dab, [("a", "ab_a"), ("b", "ab_b")])
    p = _left_join(p, dba, [("a", "ba_b"), ("b", "ba_a")])
    p = _left_join(p, att.rename(at_a="a", at_b="b"), [("a", "at_a"), ("b", "at_b")])
    rab = replies.select(ra="ma", rb="mb", answered_by_b_share="share", b_latency_s="latency")
    rba = replies.select(qa="ma", qb="mb", answered_by_a_share="share", a_latency_s="latency")
    p = _left_join(p, rab, [("a", "ra"), ("b", "rb")])
    p = _left_join(p, rba, [("a", "qb"), ("b", "qa")])

    # ---- relative position of the tie in each ego's network ---------------------------------
    ego = p.group_by("a").aggregate(e_vol=p.n_pair.sum().cast("float64"), e_ties=p.b.count())
    ea = ego.rename(ga="a", a_vol="e_vol", a_ties="e_ties")
    eb = ego.rename(gb="a", b_vol="e_vol", b_ties="e_ties")
    p = _left_join(p, ea, [("a", "ga")])
    p = _left_join(p, eb, [("b", "gb")])
    vol = p.n_pair.cast("float64")
    p = p.mutate(
        share_in_a=vol / p.a_vol,
        share_in_b=vol / p.b_vol,
        cume_in_a=ibis.cume_dist().over(ibis.window(group_by=p.a, order_by=p.n_pair)),
        cume_in_b=ibis.cume_dist().over(ibis.window(group_by=p.b, order_by=p.n_pair)),
        rank_in_a=ibis.rank().over(ibis.window(group_by=p.a, order_by=ibis.desc(p.n_pair))) + 1,
    )

    # ---- dense entity numbers for the two walks below ----------------------------------------
    # Each walk's second join matches on a key built from both earlier relations: with the
    # condition split in two (``y == k.entity and x_day == k.day``) the optimiser may join
    # the lookup table to itself on the shared column first (every two entities active on
    # the same day) and filter later; one key leaves it the bounded order only. Integer
    # keys hash and compare far faster than strings.
    ids = p.select(ent=p.a).distinct()
    ids = ids.mutate(eno=ibis.row_number().over(order_by=ids.ent))
    p = _left_join(p, ids.rename(ia="ent", ai="eno"), [("a", "ia")])
    p = _left_join(p, ids.rename(ib="ent", bi="eno"), [("b", "ib")])

    # ---- embeddedness over each ego's strongest max_neighbours ties -------------------------
    # Shared neighbours and overlap are symmetric, so each pair is computed once, walking the
    # neighbour list of whichever side has fewer ties and probing the other side's: the cost
    # is the sum over pairs of the smaller degree (bounded by max_neighbours), where walking
    # a's list for every (a, b) costs a hub's degree times max_neighbours.
    nb = p.filter(p.rank_in_a <= max_neighbours).select(na="ai", nk="bi", ns="share_in_a")
    nb2 = nb.select(mkey=_pair_key(nb.na, nb.nk), ms=nb.ns)
    und_p = p.filter(p.a < p.b)
    walk = _walks(und_p, und_p.a_ties <= und_p.b_ties)
    tri = walk.join(nb, walk.wx == nb.na)
    tri = tri.mutate(tkey=_pair_key(tri.wy, tri.nk))
    tri = tri.join(nb2, tri.tkey == nb2.mkey)
    emb = tri.group_by(["wlo", "whi"]).aggregate(
        shared_neighbours=ibis._.nk.count(), overlap=ibis.least(ibis._.ns, ibis._.ms).sum()
    )
    p = p.mutate(lo=ibis.least(p.a, p.b), hi=ibis.greatest(p.a, p.b))
    p = _left_join(p, emb, [("lo", "wlo"), ("hi", "whi")])
    p = p.mutate(
        shared_neighbours=p.shared_neighbours.fill_null(0), overlap=p.overlap.fill_null(0.0)
    )
    na = ibis.least(p.a_ties, max_neighbours)
    nbn = ibis.least(p.b_ties, max_neighbours)
    p = p.mutate(
        jaccard=p.shared_neighbours.cast("float64")
        / ibis.greatest(na + nbn - 2 - p.shared_neighbours, 1).cast("float64")
    )

    # ---- voluntary time: contact in the time-of-day bins where the population mixes ---------
    jac = p.filter(p.a < p.b).select(jlo="a", jhi="b", jac="jaccard")
    rj = r.join(jac, [r.lo == jac.jlo, r.hi == jac.jhi]).mutate(tbin=(ibis._.t % DAY_S) // bin_s)
    mix = rj.group_by("tbin").aggregate(mix=rj.jac.mean())
    rng = mix.aggregate(mx=mix.mix.max(), mn=mix.mix.min())
    mix = mix.cross_join(rng)
    mix = mix.select(
        mbin="tbin",
        weight=ibis.ifelse(
            mix.mx > mix.mn, (mix.mx - mix.mix) / (mix.mx - mix.mn), ibis.literal(0.0)
        ),
    )
    rv = rj.join(mix, rj.tbin == mix.mbin)
    vol_t = rv.group_by(["lo", "hi"]).aggregate(voluntary_volume=rv.weight.sum())
    vol_t = vol_t.rename(vlo="lo", vhi="hi")
    p = _left_join(p, vol_t, [("lo", "vlo"), ("hi", "vhi")])
    p = p.mutate(voluntary_volume=p.voluntary_volume.fill_null(0.0))
    vtot = p.group_by("a").aggregate(vsum=p.voluntary_volume.sum()).rename(va="a")
    p = _left_join(p, vtot, [("a", "va")])
    vsum = p.vsum
    p = p.mutate(
        voluntary_share_in_a=ibis.ifelse(vsum > 0, p.voluntary_volume / vsum, ibis.literal(0.0))
    )

    # ---- co-presence -------------------------------------------------------------------------
    # Days both were active (with anyone), symmetric: walk the active days of the side with
    # fewer of them and probe the other's, once per pair (see embeddedness).
    act_n = act.join(ids, act.e == ids.ent).select(en="eno", day="day")
    days = act_n.group_by("en").aggregate(n_days=ibis._.day.count())
    da = days.rename(xa="en", a_days="n_days")
    db = days.rename(xb="en", b_days="n_days")
    cw = und_p.select("a", "b", "ai", "bi")
    cw = _left_join(_left_join(cw, da, [("ai", "xa")]), db, [("bi", "xb")])
    cw = _walks(cw, cw.a_days <= cw.b_days)
    act_x = act_n.rename(ax="en", xday="day")
    act_y = act_n.select(ykey=_day_key(act_n.en, act_n.day))
    cx = cw.join(act_x, cw.wx == act_x.ax)
    cx = cx.mutate(xkey=_day_key(cx.wy, cx.xday))
    co = (
        cx.join(act_y, cx.xkey == act_y.ykey)
        .group_by(["wlo", "whi"])
        .aggregate(co_active_days=ibis._.xday.count())
    )
    p = _left_join(p, co, [("lo", "wlo"), ("hi", "whi")])

    # ---- final columns -----------------------------------------------------------------------
    n_ab = p.n_ab.fill_null(0)
    n_ba = p.n_ba.fill_null(0)
    out = p.select(
        source_entity=p.a,
        target_entity=p.b,
        first_ts=p.first_t.cast("int64").as_timestamp("s"),
        last_ts=p.last_t.cast("int64").as_timestamp("s"),
        # time
        tie_age_days=(p.last_t - p.first_t).cast("float64") / DAY_S,
        recency_days=(p.ref_t - p.last_t).cast("float64") / DAY_S,
        active_days=p.active_days,
        active_weeks=p.active_weeks,
        active_hours=p.active_hours,
        encounters=p.encounters,
        decayed_volume=p.decayed_volume,
        co_active_days=p.co_active_days.fill_null(0),
        together_day_share=p.active_days.cast("float64")
        / ibis.greatest(p.co_active_days.fill_null(0), 1).cast("float64"),
        # intensity
        n_pair=p.n_pair,
        n_ab=n_ab,
        n_ba=n_ba,
        duration_s=p.duration_s.fill_null(0.0),
        longest_encounter_s=p.longest_encounter_s,
        text_len_ab=p.text_len_ab,
        channels=p.channels,
        private_share=(
            (p.private_share_ab.fill_null(0.0) * n_ab + p.private_share_ba.fill_null(0.0) * n_ba)
            / ibis.greatest(n_ab + n_ba, 1).cast("float64")
        ),
        exclusive_volume=p.exclusive_volume_ab.fill_null(0.0),
        attention_hours=p.attention_hours.fill_null(0.0),
        voluntary_volume=p.voluntary_volume,
        voluntary_share_in_a=p.voluntary_share_in_a,
        share_in_a=p.share_in_a,
        cume_in_a=p.cume_in_a,
        a_ties=p.a_ties,
        # reciprocity
        balance=(n_ab - n_ba).cast("float64") / ibis.greatest(n_ab + n_ba, 1).cast("float64"),
        answered_by_b_share=p.answered_by_b_share,
        answered_by_a_share=p.answered_by_a_share,
        b_latency_s=p.b_latency_s,
        a_latency_s=p.a_latency_s,
        share_in_b=p.share_in_b,
        cume_in_b=p.cume_in_b,
        b_ties=p.b_ties,
        rank_in_a=p.rank_in_a,
        # trust
        endorse_ab=p.endorse_ab.fill_null(0),
        endorse_ba=p.endorse_ba.fill_null(0),
        rating_mean_ab=p.rating_mean_ab,
        rating_mean_ba=p.rating_mean_ba,
        sentiment_ab=p.sentiment_ab.fill_null(0.0),
        sentiment_ba=p.sentiment_ba.fill_null(0.0),
        shared_neighbours=p.shared_neighbours,
        jaccard=p.jaccard,
        overlap=p.overlap,
    )
    return out
