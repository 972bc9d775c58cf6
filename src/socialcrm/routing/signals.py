"""What routing knows about each conversation at a moment: one SQL pass over the store.

For every conversation started by a customer-side entity (not staff, not a system
account) the pass returns, as of ``now``: who wrote it and where, when it arrived, the
author's words (for urgency, intent, topics and an explicit request for staff), the first
response and who gave it, and whether an answer has been **satisfactory** — accepted by
the author, acknowledged by the author ("thanks", "that worked"), or followed by no new
question from the author for ``satisfaction.quiet_hours`` (seed 001: staff step in "only
when the community is not able to provide a satisfactory answer in a timely manner").
A new question from the author after the last satisfactory event reopens the conversation.

Optional tables written by other stages enrich it when present and are skipped when
absent (documented defaults in :mod:`socialcrm.routing.derive`): ``conversations``
(``urgency``, ``customer_intent``, ``customer_degree``), ``message_labels``
(``sentiment``), ``entity_metrics`` (``influence``, ``tier``) and ``conversation_topics``.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from socialcrm.routing.policy import Policy

# Interaction kinds that are not turns (nobody "says" a vote or a view); the same list
# as the conversation stage (socialcrm.conversations.features.NON_TURN_KINDS).
NON_TURN_KINDS: tuple[str, ...] = ("endorse", "accept", "rating", "share", "view", "purchase")
AUTHOR_TEXT_CHARS = 4000


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the tables in the workspace (to degrade when a stage has not run)."""
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]
        ).fetchall()
    }


def turns_sql(staff_roles_param: str = "$staff_roles") -> str:
    """Resolved turns of customer-initiated conversations up to ``$now`` (a SQL CTE body)."""
    return f"""
    t AS (
        SELECT i.interaction_id AS id,
               coalesce(i.conversation_id, i.interaction_id) AS conv,
               i.source, i.channel, i.visibility, i.ts, i.actor, i.kind,
               coalesce(d.entity_id, i.actor) AS entity,
               coalesce(e.role, 'customer') AS role,
               coalesce(i.text, '') AS text,
               coalesce(len(i.targets), 0) AS n_targets,
               i.targets
        FROM interactions i
        LEFT JOIN identities d ON d.handle = i.actor
        LEFT JOIN entities e ON e.entity_id = coalesce(d.entity_id, i.actor)
        WHERE i.ts <= $now AND NOT list_contains($non_turn, i.kind)
          AND coalesce(e.role, 'customer') <> 'system'
    ),
    f AS (
        SELECT conv,
               first(entity ORDER BY ts, id) AS author,
               first(actor ORDER BY ts, id) AS author_handle,
               first(role ORDER BY ts, id) AS author_role,
               min(ts) AS arrived_at,
               first(source ORDER BY ts, id) AS source,
               first(channel ORDER BY ts, id) AS channel,
               first(visibility ORDER BY ts, id) AS visibility,
               first(text ORDER BY ts, id) AS opening_text
        FROM t GROUP BY conv
    ),
    tt AS (
        SELECT t.*, f.author, t.entity = f.author AS by_author,
               t.entity = f.author AND regexp_matches(t.text, $nq_re, 'i') AS nq,
               t.entity = f.author AND regexp_matches(t.text, $ack_re, 'i')
                   AND NOT regexp_matches(t.text, $nq_re, 'i') AS ack,
               list_contains({staff_roles_param}, t.role) AS staff,
               t.entity <> f.author AND NOT list_contains($not_answers, t.kind) AS answer
        FROM t JOIN f USING (conv)
        WHERE NOT list_contains({staff_roles_param}, f.author_role)
    )"""


def facts_sql(extra_where: str = "") -> str:
    return f"""
    WITH {turns_sql()},
    agg AS (
        SELECT conv,
            min(ts) FILTER (answer) AS first_response_at,
            first(entity ORDER BY ts, id) FILTER (answer) AS first_response_by,
            min(ts) FILTER (answer AND staff) AS first_staff_at,
            max(ts) FILTER (answer) AS last_response_at,
            max(ts) FILTER (by_author) AS last_author_at,
            first(id ORDER BY ts DESC, id DESC) FILTER (by_author) AS last_author_id,
            first(text ORDER BY ts DESC, id DESC) FILTER (by_author) AS last_author_text,
            left(string_agg(text, ' \n ' ORDER BY ts, id) FILTER (by_author), {AUTHOR_TEXT_CHARS})
                AS author_text,
            max(ts) FILTER (nq) AS last_question_at,
            coalesce(max(n_targets) FILTER (by_author), 0) AS n_tagged,
            count(DISTINCT entity) FILTER (NOT by_author AND NOT staff) AS other_customers,
            count(*) FILTER (by_author) AS author_turns,
            list_distinct(flatten(list(targets) FILTER (by_author))) AS addressed
        FROM tt GROUP BY conv
    ),
    ackd AS (
        SELECT a.conv, min(a.ts) AS first_ack_at, max(a.ts) AS last_ack_at
        FROM tt a JOIN agg USING (conv)
        WHERE a.ack AND a.ts > agg.first_response_at
        GROUP BY a.conv
    ),
    acc AS (
        SELECT coalesce(i.conversation_id, i.interaction_id) AS conv,
               min(i.ts) AS first_accept_at, max(i.ts) AS last_accept_at
        FROM interactions i
        LEFT JOIN identities d ON d.handle = i.actor
        JOIN f ON f.conv = coalesce(i.conversation_id, i.interaction_id)
        WHERE i.kind = 'accept' AND i.ts <= $now AND coalesce(d.entity_id, i.actor) = f.author
        GROUP BY 1
    ),
    quiet AS (
        SELECT r.conv, min(r.ts + to_microseconds(CAST($quiet_hours * 3600e6 AS BIGINT))) AS first_quiet_at,
               max(r.ts + to_microseconds(CAST($quiet_hours * 3600e6 AS BIGINT))) AS last_quiet_at
        FROM tt r
        WHERE r.answer AND r.ts + to_microseconds(CAST($quiet_hours * 3600e6 AS BIGINT)) <= $now
          AND NOT EXISTS (
              SELECT 1 FROM tt a WHERE a.conv = r.conv AND a.nq
                AND a.ts > r.ts AND a.ts <= r.ts + to_microseconds(CAST($quiet_hours * 3600e6 AS BIGINT)))
        GROUP BY r.conv
    ),
    views AS (
        SELECT coalesce(conversation_id, interaction_id) AS conv, sum(value) AS views
        FROM interactions WHERE kind = 'view' AND ts <= $now GROUP BY 1
    ),
    facts AS (
        SELECT f.*, agg.* EXCLUDE (conv),
            CASE WHEN $accepted THEN acc.first_accept_at END AS accepted_at,
            least(CASE WHEN $accepted THEN acc.first_accept_at END, ackd.first_ack_at,
                  quiet.first_quiet_at) AS first_satisfied_at,
            greatest(CASE WHEN $accepted THEN acc.last_accept_at END, ackd.last_ack_at,
                     quiet.last_quiet_at) AS last_satisfied_at,
            CASE
              WHEN $accepted AND acc.first_accept_at IS NOT NULL
                   AND acc.first_accept_at = least(acc.first_accept_at, ackd.first_ack_at,
                                                   quiet.first_quiet_at) THEN 'accepted'
              WHEN ackd.first_ack_at IS NOT NULL
                   AND ackd.first_ack_at = least(ackd.first_ack_at, quiet.first_quiet_at)
                   THEN 'acknowledged'
              WHEN quiet.first_quiet_at IS NOT NULL THEN 'quiet'
            END AS satisfaction,
            coalesce(views.views, 0) AS views
        FROM f JOIN agg USING (conv)
        LEFT JOIN ackd USING (conv) LEFT JOIN acc USING (conv) LEFT JOIN quiet USING (conv) LEFT JOIN views USING (conv)
        WHERE NOT list_contains($staff_roles, f.author_role)
    )
    SELECT * FROM (
        SELECT conv AS conversation_id, * EXCLUDE (conv),
            last_satisfied_at IS NOT NULL
                AND coalesce(last_question_at, arrived_at) <= last_satisfied_at AS satisfied,
            CASE WHEN last_response_at IS NULL THEN arrived_at
                 WHEN last_question_at > last_response_at THEN last_question_at
            END AS waiting_since
        FROM facts
    ) AS facts
    {extra_where}
    """


def conversation_facts(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    policy: Policy,
    *,
    where: str = "",
    params: dict | None = None,
) -> pd.DataFrame:
    """One row per customer-initiated conversation as of ``now`` (see the module docs).

    ``where`` filters the final rows (SQL over the output columns, e.g.
    ``"WHERE NOT satisfied"``), with extra named ``params``.
    """
    args = {
        "now": now,
        "non_turn": list(NON_TURN_KINDS),
        "staff_roles": list(policy.staff_roles),
        "nq_re": policy.new_question_re.pattern,
        "ack_re": policy.acknowledgement_re.pattern,
        "quiet_hours": policy.quiet_hours,
        "accepted": policy.accepted_is_satisfactory,
        "not_answers": list(policy.not_answers),
        **(params or {}),
    }
    return con.execute(facts_sql(where), args).df()


def enrich(con: duckdb.DuckDBPyConnection, facts: pd.DataFrame) -> pd.DataFrame:
    """Join what other stages know, when they ran: conversation labels, message
    sentiment, the author's influence, tier and value, and stored topics.

    Adds ``stage_urgency`` (float or label), ``stage_intent``, ``customer_degree``,
    ``stage_sentiment``, ``influence_pct``, ``tier``, ``value_pct``, ``tags``.
    Missing tables leave these columns empty; :mod:`.derive` falls back to text cues.
    """
    have = tables(con)
    out = facts.copy()
    con.register("_rt_facts", out[["conversation_id", "author", "last_author_id"]])
    try:
        if "conversations" in have:
            cols = columns(con, "conversations")
            sel = {
                "stage_urgency": "urgency" if "urgency" in cols else "NULL",
                "stage_intent": "customer_intent" if "customer_intent" in cols else "NULL",
                "customer_degree": "customer_degree" if "customer_degree" in cols else "NULL",
            }
            got = con.execute(
                "SELECT f.conversation_id, "
                + ", ".join(
                    f"c.{v} AS {k}" if v != "NULL" else f"NULL AS {k}" for k, v in sel.items()
                )
                + " FROM _rt_facts f JOIN conversations c USING (conversation_id)"
            ).df()
            out = out.merge(got, on="conversation_id", how="left")
        if "message_labels" in have and "sentiment" in columns(con, "message_labels"):
            got = con.execute(
                "SELECT f.conversation_id, m.sentiment AS stage_sentiment FROM _rt_facts f"
                " JOIN message_labels m ON m.interaction_id = f.last_author_id"
            ).df()
            out = out.merge(got, on="conversation_id", how="left")
        out = out.merge(author_profiles(con, have), on="author", how="left")
        if "conversation_topics" in have:
            got = con.execute(
                "SELECT f.conversation_id, list(t.topic ORDER BY t.topic) AS tags FROM _rt_facts f"
                " JOIN conversation_topics t USING (conversation_id) GROUP BY 1"
            ).df()
            out = out.merge(got, on="conversation_id", how="left")
    finally:
        con.unregister("_rt_facts")
    for col in (
        "stage_urgency",
        "stage_intent",
        "customer_degree",
        "stage_sentiment",
        "influence_pct",
        "tier",
        "value_pct",
        "tags",
    ):
        if col not in out:
            out[col] = None
    return out


def author_profiles(con: duckdb.DuckDBPyConnection, have: set[str] | None = None) -> pd.DataFrame:
    """Influence and value percentiles (0-1) and tier of the authors in ``_rt_facts``.

    Influence: ``entity_metrics.influence`` when the influence stage ran, else the
    number of distinct entities that addressed the author (reach without ties).
    Value: a numeric ``value``, ``lifetime_value`` or ``reputation`` attribute of the
    entity when any entity has one, else the author's interaction count.
    """
    have = have if have is not None else tables(con)
    metrics = "entity_metrics" in have and {"influence", "tier"} <= columns(con, "entity_metrics")
    influence = (
        "SELECT entity_id, influence AS x, tier FROM entity_metrics"
        if metrics
        else """SELECT coalesce(d.entity_id, u.h) AS entity_id,
                       count(DISTINCT coalesce(a.entity_id, u.actor)) AS x, NULL AS tier
                FROM (SELECT actor, unnest(targets) AS h FROM interactions) u
                LEFT JOIN identities d ON d.handle = u.h
                LEFT JOIN identities a ON a.handle = u.actor
                GROUP BY 1"""
    )
    return con.execute(
        f"""
        WITH inf AS ({influence}),
        inf_pct AS (SELECT entity_id, percent_rank() OVER (ORDER BY x) AS influence_pct, tier
                    FROM inf),
        attr AS (
            SELECT entity_id, coalesce(
                try_cast(json_extract_string(attrs, '$.value') AS DOUBLE),
                try_cast(json_extract_string(attrs, '$.lifetime_value') AS DOUBLE),
                try_cast(json_extract_string(attrs, '$.reputation') AS DOUBLE)) AS v
            FROM entities),
        act AS (
            SELECT coalesce(d.entity_id, i.actor) AS entity_id, count(*) AS n
            FROM interactions i LEFT JOIN identities d ON d.handle = i.actor GROUP BY 1),
        val AS (
            SELECT coalesce(attr.entity_id, act.entity_id) AS entity_id,
                   percent_rank() OVER (ORDER BY attr.v NULLS FIRST) AS attr_pct,
                   percent_rank() OVER (ORDER BY coalesce(act.n, 0)) AS act_pct,
                   attr.v IS NOT NULL AS has_attr
            FROM attr FULL JOIN act USING (entity_id))
        SELECT DISTINCT f.author, inf_pct.influence_pct, inf_pct.tier,
               CASE WHEN val.has_attr THEN val.attr_pct ELSE val.act_pct END AS value_pct,
               CASE WHEN val.has_attr THEN 'attribute' ELSE 'activity' END AS value_basis
        FROM _rt_facts f
        LEFT JOIN inf_pct ON inf_pct.entity_id = f.author
        LEFT JOIN val ON val.entity_id = f.author
        """
    ).df()
