"""Per-entity features for prediction, each computed as of a date (no peeking ahead).

Every prediction needs the same per-entity view: what the entity did (activity), what
relationships it has (seed 000's four components at the entity level — time, intensity,
reciprocity, trust — plus the tie-strength measures of the relationship stage) and what
is at stake (value, influence, tier). :func:`entity_features` computes that view for a
**cohort**: one row per ``(entity_id, start, as_of)``; activity and edges are counted in
``[start, as_of)`` and nothing at or after ``as_of`` is read, so a model trained on past
cut-offs and applied today sees features built the same way.

Columns (``NULL`` where there is nothing to measure; models impute):

==========================  ===============================================================
activity                    own interactions (every kind but views) in the window
active_days                 distinct days with own activity in the window
days_since_last             ``as_of`` minus the last own activity before ``as_of`` (days)
tenure_days                 ``as_of`` minus the first own activity (days)
counterparts                distinct people (not system accounts) it exchanged with, either way
reciprocated                counterparts with messages both ways in the window
replies_received            messages addressed to it (answers, comments, replies)
replied_share               share of its messages that got a reply from someone else before ``as_of``
reply_hours                 median hours from its message to the first reply; a message
                            still unanswered at ``as_of`` counts the hours it has waited
endorsements_received       endorsements, accepts, likes, kudos addressed to it (value > 0)
reply_sentiment             mean sentiment of the replies it received (``message_labels``;
                            scored on the fly when that table is absent, see below)
own_sentiment               mean sentiment of its own messages (context for actions)
brand_tie_strength          strongest tie between it and any ``role='brand'`` entity
strong_ties                 its ties at least ``strong_tie_threshold`` strong, to people
strongest_tie               strength of its strongest tie
tie_reciprocity, tie_trust  mean reciprocity / trust component of its ties
tier_rank                   participation tier: 0 lurker, 1 contributor, 2 superuser
influence                   ``entity_metrics.influence``
value                       the customer's value: ``entities.attrs`` ``value`` (or
                            ``lifetime_value``, ``clv``, ``revenue``), else the sum of
                            ``value`` over its ``purchase`` interactions, else 0
registered_days             ``as_of`` minus ``entities.attrs`` ``created`` (registration)
==========================  ===============================================================

Inputs from later stages are optional, with these documented defaults:

* ``tie_history`` (``period, source_entity, target_entity, strength[, reciprocity,
  trust]``): the tie columns use the latest period that *ended* before ``as_of``;
  with only ``ties`` (the current strengths) they are used when ``use_current_ties`` is
  true (scoring today) and left ``NULL`` otherwise (training on past cut-offs would see
  the future). Neither table: ``NULL``.
* ``entity_metrics`` (``entity_id, influence, tier``): absent → ``NULL``.
* ``message_labels`` (``interaction_id, sentiment``): absent → the replies' texts are
  scored with :mod:`socialcrm.conversations.sentiment` when it exists, else VADER
  (Hutto & Gilbert 2014), up to ``max_scored_replies``; beyond that ``NULL``.

References: seed 000 (relationship components; relationships predict retention);
E. Gilbert, K. Karahalios, "Predicting tie strength with social media", CHI 2009
(the intensity, intimacy, reciprocity and latency variables).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from socialcrm.store.views import edges, resolved_interactions

ENDORSE_KINDS: tuple[str, ...] = ("endorse", "accept", "like", "kudos", "rating")
PASSIVE_KINDS: tuple[str, ...] = ("view",)
SENTIMENT_CHARS = 300
VALUE_ATTRS: tuple[str, ...] = ("value", "lifetime_value", "clv", "revenue")
TIER_RANK: dict[str, int] = {"lurker": 0, "contributor": 1, "superuser": 2}

ACTIVITY_FEATURES: tuple[str, ...] = ("activity", "active_days", "days_since_last", "tenure_days")
EDGE_FEATURES: tuple[str, ...] = (
    "counterparts",
    "reciprocated",
    "replies_received",
    "replied_share",
    "reply_hours",
    "endorsements_received",
    "reply_sentiment",
)
TIE_FEATURES: tuple[str, ...] = (
    "brand_tie_strength",
    "strong_ties",
    "strongest_tie",
    "tie_reciprocity",
    "tie_trust",
)
STANDING_FEATURES: tuple[str, ...] = ("tier_rank", "influence")
RELATIONSHIP_FEATURES: tuple[str, ...] = EDGE_FEATURES + TIE_FEATURES + ("tier_rank",)
# For actions and stakes, not for models: own mood, value, how long they only read.
CONTEXT_FEATURES: tuple[str, ...] = ("own_sentiment", "value", "registered_days")


@contextmanager
def _quiet(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """No DuckDB progress bar during long queries: it prints to stdout and would corrupt
    ``--json`` output. The connection's own setting is restored afterwards."""
    con.complete()
    before = con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]
    con.execute("SET enable_progress_bar = false")
    try:
        yield
    finally:
        con.execute(f"SET enable_progress_bar = {'true' if before else 'false'}")


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the workspace has a table or view of that name (stage outputs are optional)."""
    con.complete()
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()[0][0]
    )


def columns_of(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    return [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]


def _views_sql(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """SQL of the shared ``edges`` and ``resolved_interactions`` views (store/views.py)."""
    import ibis

    backend = ibis.duckdb.from_connection(con)
    inter, ids = backend.table("interactions"), backend.table("identities")
    return (
        backend.compile(edges(inter, ids)),
        backend.compile(resolved_interactions(inter, ids)),
    )


def cohort_at(
    entity_ids: pd.Series | list[str], as_of: datetime, window_days: float
) -> pd.DataFrame:
    """A cohort where every entity shares one cut-off and window (scoring "today")."""
    as_of = pd.Timestamp(as_of)
    start = as_of - pd.Timedelta(days=window_days)
    return pd.DataFrame({"entity_id": list(entity_ids), "start": start, "as_of": as_of})


def entity_features(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    *,
    strong_tie_threshold: float = 0.5,
    use_current_ties: bool = False,
    max_scored_replies: int = 200_000,
) -> pd.DataFrame:
    """Features of each cohort row (``entity_id, start, as_of``) — see the module table.

    Parameters
    ----------
    con : the workspace connection (canonical tables, optional stage tables).
    cohort : one row per entity and window; ``start``/``as_of`` are UTC timestamps.
    strong_tie_threshold : strength from which a tie counts as strong.
    use_current_ties : read the ``ties`` table when ``tie_history`` is absent.
    max_scored_replies : cap on replies scored for sentiment without ``message_labels``.

    Returns
    -------
    DataFrame with ``entity_id, start, as_of`` and the feature columns, in cohort order.
    """
    c = cohort[["entity_id", "start", "as_of"]].copy()
    c["start"] = pd.to_datetime(c["start"]).astype("datetime64[us]")
    c["as_of"] = pd.to_datetime(c["as_of"]).astype("datetime64[us]")
    c["row"] = np.arange(len(c))
    edges_sql, resolved_sql = _views_sql(con)
    con.complete()
    con.register("_pred_cohort", c)
    try:
        with _quiet(con):
            base = _base_features(con, edges_sql, resolved_sql)
            sent = _sentiment(con, edges_sql, resolved_sql, max_scored_replies)
            ties = _tie_features(con, strong_tie_threshold, use_current_ties)
            standing = _standing(con)
    finally:
        con.unregister("_pred_cohort")
    out = c.merge(base, on="row", how="left")
    if sent is not None:
        out = out.merge(sent, on="row", how="left")
    else:
        out = out.assign(reply_sentiment=np.nan, own_sentiment=np.nan)
    if ties is not None:
        out = out.merge(ties, on="row", how="left")
    else:
        for col in TIE_FEATURES:
            out[col] = np.nan
    out = out.merge(standing, on="entity_id", how="left")
    cols = [
        "entity_id",
        "start",
        "as_of",
        *ACTIVITY_FEATURES,
        *EDGE_FEATURES,
        *TIE_FEATURES,
        *STANDING_FEATURES,
        *CONTEXT_FEATURES,
    ]
    out = out.sort_values("row")[cols].reset_index(drop=True)
    for col in (
        "activity",
        "active_days",
        "counterparts",
        "reciprocated",
        "replies_received",
        "endorsements_received",
    ):
        out[col] = out[col].fillna(0).astype(float)
    out["value"] = out["value"].fillna(0.0).astype(float)
    return out


def _base_features(
    con: duckdb.DuckDBPyConnection, edges_sql: str, resolved_sql: str
) -> pd.DataFrame:
    endorse = ", ".join(f"'{k}'" for k in ENDORSE_KINDS)
    passive = ", ".join(f"'{k}'" for k in PASSIVE_KINDS)
    sql = f"""
    WITH r AS ({resolved_sql}),
    e AS ({edges_sql}),
    sys AS (SELECT entity_id FROM entities WHERE role = 'system' OR kind = 'system'),
    own AS (
        SELECT c.row, r.interaction_id, r.ts, r.kind
        FROM _pred_cohort c JOIN r ON r.actor_entity = c.entity_id
        WHERE r.ts < c.as_of AND r.kind NOT IN ({passive})
    ),
    act AS (
        SELECT row,
            count(*) FILTER (WHERE ts >= c.start) AS activity,
            count(DISTINCT CAST(ts AS DATE)) FILTER (WHERE ts >= c.start) AS active_days,
            date_diff('second', max(ts), any_value(c.as_of)) / 86400.0 AS days_since_last,
            date_diff('second', min(ts), any_value(c.as_of)) / 86400.0 AS tenure_days
        FROM own JOIN _pred_cohort c USING (row) GROUP BY row
    ),
    -- edges touching the entity in its window, seen from the entity's side
    touch AS (
        SELECT c.row, 'out' AS dir, e.target_entity AS other, e.kind, e.value, e.ts
        FROM _pred_cohort c JOIN e ON e.actor_entity = c.entity_id
        WHERE e.ts >= c.start AND e.ts < c.as_of AND e.kind NOT IN ({passive})
        UNION ALL
        SELECT c.row, 'in', e.actor_entity, e.kind, e.value, e.ts
        FROM _pred_cohort c JOIN e ON e.target_entity = c.entity_id
        WHERE e.ts >= c.start AND e.ts < c.as_of AND e.kind NOT IN ({passive})
    ),
    rel AS (
        SELECT row,
            count(DISTINCT other) FILTER (WHERE other NOT IN (SELECT entity_id FROM sys))
                AS counterparts,
            count(*) FILTER (WHERE dir = 'in' AND kind NOT IN ({endorse})
                             AND other NOT IN (SELECT entity_id FROM sys)) AS replies_received,
            count(*) FILTER (WHERE dir = 'in' AND kind IN ({endorse})
                             AND coalesce(value, 1) > 0) AS endorsements_received
        FROM touch GROUP BY row
    ),
    recip AS (
        SELECT row, count(*) AS reciprocated FROM (
            SELECT row, other FROM touch
            WHERE kind NOT IN ({endorse}) AND other NOT IN (SELECT entity_id FROM sys)
            GROUP BY row, other
            HAVING count(*) FILTER (WHERE dir = 'out') > 0 AND count(*) FILTER (WHERE dir = 'in') > 0
        ) GROUP BY row
    ),
    -- the first reply by someone else to each own message of the window, before as_of
    msgs AS (
        SELECT o.row, o.interaction_id, o.ts FROM own o JOIN _pred_cohort c USING (row)
        WHERE o.ts >= c.start AND o.kind NOT IN ({endorse})
    ),
    first_reply AS (
        SELECT m.row, m.interaction_id, min(r.ts) AS reply_ts, any_value(m.ts) AS ts,
            any_value(c.as_of) AS as_of
        FROM msgs m JOIN _pred_cohort c USING (row)
        LEFT JOIN r ON r.in_reply_to = m.interaction_id AND r.actor_entity <> c.entity_id
            AND r.ts < c.as_of AND r.kind NOT IN ({endorse}, {passive})
        GROUP BY m.row, m.interaction_id
    ),
    lat AS (
        SELECT row, avg(CASE WHEN reply_ts IS NOT NULL THEN 1.0 ELSE 0.0 END) AS replied_share,
            -- an unanswered message counts the hours it has waited so far (censored)
            median(date_diff('second', ts, coalesce(reply_ts, as_of)) / 3600.0) AS reply_hours
        FROM first_reply GROUP BY row
    )
    SELECT c.row, act.activity, act.active_days, act.days_since_last, act.tenure_days,
        date_diff('second', TRY_CAST(json_extract_string(en.attrs, '$.created') AS TIMESTAMP),
                  c.as_of) / 86400.0 AS registered_days,
        rel.counterparts, recip.reciprocated, rel.replies_received, lat.replied_share,
        lat.reply_hours, rel.endorsements_received
    FROM _pred_cohort c LEFT JOIN act USING (row) LEFT JOIN rel USING (row)
        LEFT JOIN recip USING (row) LEFT JOIN lat USING (row)
        LEFT JOIN entities en ON en.entity_id = c.entity_id
    """
    return con.sql(sql).df()


def _sentiment(
    con: duckdb.DuckDBPyConnection, edges_sql: str, resolved_sql: str, max_scored: int
) -> pd.DataFrame | None:
    """Mean sentiment of replies received (``reply_sentiment``) and of own messages
    (``own_sentiment``) in each window."""
    skip = ", ".join(f"'{k}'" for k in (*ENDORSE_KINDS, *PASSIVE_KINDS))
    msgs = f"""
        SELECT DISTINCT c.row, 'reply' AS side, e.interaction_id, e.text
        FROM _pred_cohort c JOIN ({edges_sql}) e ON e.target_entity = c.entity_id
        WHERE e.ts >= c.start AND e.ts < c.as_of AND e.kind NOT IN ({skip})
          AND e.actor_entity NOT IN (SELECT entity_id FROM entities WHERE role = 'system')
        UNION ALL
        SELECT c.row, 'own', r.interaction_id, r.text
        FROM _pred_cohort c JOIN ({resolved_sql}) r ON r.actor_entity = c.entity_id
        WHERE r.ts >= c.start AND r.ts < c.as_of AND r.kind NOT IN ({skip})
    """
    if table_exists(con, "message_labels"):
        rows = con.sql(
            f"""SELECT x.row, x.side, l.sentiment AS s FROM ({msgs}) x
            JOIN message_labels l USING (interaction_id)"""
        ).df()
    else:
        rows = con.sql(f"SELECT * FROM ({msgs}) WHERE text IS NOT NULL").df()
        if len(rows.drop_duplicates("interaction_id")) > max_scored:
            return None
        uniq = rows.drop_duplicates("interaction_id")
        scores = pd.Series(sentiment_scores(uniq["text"].tolist()), index=uniq["interaction_id"])
        rows["s"] = rows["interaction_id"].map(scores)
    out = rows.pivot_table(index="row", columns="side", values="s", aggfunc="mean")
    out = out.reindex(columns=["reply", "own"])
    out.columns = ["reply_sentiment", "own_sentiment"]
    return out.reset_index()


def sentiment_backend() -> str:
    """Which scorer :func:`sentiment_scores` uses: the conversation stage's, else VADER."""
    try:
        from socialcrm.conversations import sentiment as conv_sentiment

        conv_sentiment.score(["ok"])
        return "socialcrm.conversations.sentiment"
    except Exception:  # not installed, or its model file is missing: fall back
        return "vaderSentiment"


def sentiment_scores(texts: list[str], max_chars: int = SENTIMENT_CHARS) -> np.ndarray:
    """Compound sentiment in [-1, 1]: the conversation stage's scorer if present, else VADER.

    Texts are cut to their first ``max_chars`` characters: the tone of a reply is set in
    its opening, and VADER's cost grows faster than linearly with length (long answers
    took 20 ms each uncut, 4 ms at 1,000 characters).
    """
    texts = [(t or "")[:max_chars] for t in texts]
    if sentiment_backend() != "vaderSentiment":
        from socialcrm.conversations import sentiment as conv_sentiment

        compound, _ = conv_sentiment.score(texts)
        return np.asarray(compound, dtype=float)
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    return np.array([sia.polarity_scores(t)["compound"] for t in texts], dtype=float)


def _period_start_sql(col: str) -> str:
    """A ``tie_history.period`` (date, timestamp or 'YYYY-MM') as the month's start."""
    return f"coalesce(TRY_CAST({col} AS TIMESTAMP), try_strptime(CAST({col} AS VARCHAR), '%Y-%m'))"


def _component_column(cols: list[str], component: str) -> str | None:
    """The column of a tie component: named exactly so, else the first that contains it
    (``reciprocity_contribution``), never a ``_share`` column."""
    if component in cols:
        return component
    return next(
        (c for c in cols if component in c.lower() and not c.lower().endswith("_share")), None
    )


def _tie_features(
    con: duckdb.DuckDBPyConnection, threshold: float, use_current: bool
) -> pd.DataFrame | None:
    if table_exists(con, "tie_history"):
        cols = columns_of(con, "tie_history")
        start = _period_start_sql("period")
        # A monthly period describes the month it names: usable once the month has ended.
        source = f"""(
            SELECT c.row, h.* EXCLUDE (period) FROM _pred_cohort c JOIN tie_history h
              ON (h.source_entity = c.entity_id OR h.target_entity = c.entity_id)
             AND {start} + INTERVAL 1 MONTH <= c.as_of
            QUALIFY {start} = max({start}) OVER (PARTITION BY c.row)
        )"""
    elif use_current and table_exists(con, "ties"):
        cols = columns_of(con, "ties")
        source = """(
            SELECT c.row, t.* FROM _pred_cohort c JOIN ties t
              ON t.source_entity = c.entity_id OR t.target_entity = c.entity_id
        )"""
    else:
        return None
    recip = _component_column(cols, "reciprocity")
    trust = _component_column(cols, "trust")
    recip_sql = (
        f'avg(t."{recip}") FILTER (WHERE t.source_entity = c.entity_id)' if recip else "NULL"
    )
    trust_sql = (
        f'avg(t."{trust}") FILTER (WHERE t.source_entity = c.entity_id)' if trust else "NULL"
    )
    sql = f"""
    WITH t AS {source},
    roles AS (SELECT entity_id, role, kind FROM entities)
    SELECT t.row,
        max(t.strength) FILTER (WHERE ro.role = 'brand') AS brand_tie_strength,
        count(DISTINCT t.target_entity) FILTER (
            WHERE t.source_entity = c.entity_id AND t.strength >= {float(threshold)}
              AND coalesce(ro.role, 'customer') NOT IN ('brand', 'system')) AS strong_ties,
        max(t.strength) FILTER (WHERE coalesce(ro.role, '') <> 'system') AS strongest_tie,
        {recip_sql} AS tie_reciprocity,
        {trust_sql} AS tie_trust
    FROM t JOIN _pred_cohort c USING (row)
    LEFT JOIN roles ro ON ro.entity_id = CASE WHEN t.source_entity = c.entity_id
                                              THEN t.target_entity ELSE t.source_entity END
    GROUP BY t.row
    """
    return con.sql(sql).df()


def entity_standing(
    con: duckdb.DuckDBPyConnection, entity_ids: list[str] | pd.Series
) -> pd.DataFrame:
    """``entity_id, tier_rank, influence, value`` — what is at stake with each entity."""
    con.complete()
    con.register("_pred_cohort", pd.DataFrame({"entity_id": list(entity_ids)}))
    try:
        return _standing(con)
    finally:
        con.unregister("_pred_cohort")


def _standing(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Value (entities.attrs / purchases), tier and influence per cohort entity."""
    attrs = " , ".join(
        f"TRY_CAST(json_extract_string(e.attrs, '$.{k}') AS DOUBLE)" for k in VALUE_ATTRS
    )
    metrics = ""
    tier_sql, infl_sql = "NULL", "NULL"
    if table_exists(con, "entity_metrics"):
        mcols = columns_of(con, "entity_metrics")
        metrics = "LEFT JOIN entity_metrics m ON m.entity_id = c.entity_id"
        if "tier" in mcols:
            cases = " ".join(f"WHEN '{k}' THEN {v}" for k, v in TIER_RANK.items())
            tier_sql = f"CASE lower(CAST(m.tier AS VARCHAR)) {cases} END"
        if "influence" in mcols:
            infl_sql = "m.influence"
    sql = f"""
    WITH c AS (SELECT DISTINCT entity_id FROM _pred_cohort),
    buys AS (
        SELECT i.entity_id, sum(x.value) AS purchases FROM interactions x
        JOIN identities i ON i.handle = x.actor
        WHERE x.kind = 'purchase' AND i.entity_id IN (SELECT entity_id FROM c)
        GROUP BY i.entity_id
    )
    SELECT c.entity_id, CAST({tier_sql} AS DOUBLE) AS tier_rank,
        CAST({infl_sql} AS DOUBLE) AS influence,
        coalesce({attrs}, b.purchases, 0.0) AS value
    FROM c LEFT JOIN entities e ON e.entity_id = c.entity_id
    LEFT JOIN buys b ON b.entity_id = c.entity_id
    {metrics}
    """
    return con.sql(sql).df()


def windowed_tie_features(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    strong_tie_threshold: float = 0.5,
    model: object | None = None,
) -> pd.DataFrame | None:
    """Tie-strength features of each cohort row from the ties of its own window.

    For when no ``tie_history`` covers the cut-offs (the retention evaluation, churn on a
    workspace whose relationship stage kept no history): the relationship stage's
    :func:`~socialcrm.relationships.features.tie_features` and
    :class:`~socialcrm.relationships.strength.TieStrengthModel` (the shipped model unless
    ``model`` is given) score the ties of the edges that touch the entity in
    ``[start, as_of)``, seen from the entity's side. Returns ``None`` when that stage is not
    installed or its model cannot be loaded.

    All windows run in one ``tie_features`` call: each row's edges get entity names
    prefixed with the row number (so windows never mix), and are moved forward by whole
    days so that every window ends within a day of one reference instant (calendar days
    and times of day are kept; recency is off by less than a day). Embeddedness
    (shared neighbours) only sees the entity's own window, so it is 0 here.

    Columns: ``row`` and :data:`TIE_FEATURES` (``tie_reciprocity``/``tie_trust``: mean
    log-odds contribution of that component over the entity's ties, 0 = an average tie).
    """
    try:
        from socialcrm.relationships.features import FEATURES, tie_features
        from socialcrm.relationships.strength import TieStrengthModel

        model = model or TieStrengthModel.default()
    except (ImportError, OSError, ValueError):
        return None
    import ibis

    c = cohort[["entity_id", "start", "as_of"]].copy()
    c["start"] = pd.to_datetime(c["start"]).astype("datetime64[us]")
    c["as_of"] = pd.to_datetime(c["as_of"]).astype("datetime64[us]")
    c["row"] = np.arange(len(c))
    ref = c["as_of"].max().ceil("D")
    c["shift_days"] = ((ref - c["as_of"]) // pd.Timedelta(days=1)).astype("int64")
    backend = ibis.duckdb.from_connection(con)
    e = edges(backend.table("interactions"), backend.table("identities"))
    ents = backend.table("entities")
    system = ents.filter((ents.role == "system") | (ents.kind == "system")).entity_id
    e = e.filter(~e.actor_entity.isin(system) & ~e.target_entity.isin(system))
    coh = ibis.memtable(c[["row", "entity_id", "start", "as_of", "shift_days"]])
    parts = []
    for side in ("actor_entity", "target_entity"):
        j = e.join(coh, e[side] == coh.entity_id)
        parts.append(j.filter((j.ts >= j.start) & (j.ts < j.as_of)))
    mine = parts[0].union(parts[1])
    tag = mine.row.cast("string") + "|"
    shifted = mine.select(
        "source",
        "channel",
        "kind",
        "visibility",
        "text",
        "value",
        "conversation_id",
        ts=mine.ts + mine.shift_days.as_interval("D"),
        interaction_id=tag + mine.interaction_id,  # replies find their parent in the window
        in_reply_to=tag + mine.in_reply_to,
        actor_entity=tag + mine.actor_entity,
        target_entity=tag + mine.target_entity,
    )
    with _quiet(con):
        ties = backend.to_pyarrow(tie_features(shifted, as_of=ref)).to_pandas()
    empty = pd.DataFrame({"row": c["row"]})
    if ties.empty:
        return empty.assign(**{k: np.nan for k in TIE_FEATURES})
    parts = ties["source_entity"].str.split("|", n=1, expand=True)
    ties["row"] = parts[0].astype("int64")
    ties["ego"] = parts[1]
    ties["alter"] = ties["target_entity"].str.split("|", n=1).str[1]
    ties = ties[ties["ego"].to_numpy() == c["entity_id"].to_numpy()[ties["row"].to_numpy()]]
    contrib = model.contributions(ties[list(FEATURES)])
    ties = ties.assign(
        strength=contrib["strength"].to_numpy(),
        rec=contrib["reciprocity"].to_numpy(),
        tru=contrib["trust"].to_numpy(),
    )
    roles = con.sql("SELECT entity_id AS alter, role FROM entities").df()
    ties = ties.merge(roles, on="alter", how="left")
    g = ties.groupby("row")
    out = pd.DataFrame(
        {
            "brand_tie_strength": ties[ties["role"] == "brand"].groupby("row")["strength"].max(),
            "strong_ties": ties[
                (ties["strength"] >= strong_tie_threshold) & (ties["role"] != "brand")
            ]
            .groupby("row")["alter"]
            .nunique(),
            "strongest_tie": g["strength"].max(),
            "tie_reciprocity": g["rec"].mean(),
            "tie_trust": g["tru"].mean(),
        }
    )
    out = empty.merge(out, left_on="row", right_index=True, how="left")
    out["strong_ties"] = out["strong_ties"].fillna(0.0)
    return out
