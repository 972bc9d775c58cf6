"""Spread velocity: how fast others respond to, or pass on, what an entity says.

Influence is not only how many listen but how quickly they act on what one says
(DESIGN.md "Influence": spread velocity). For every message an entity *says* (any
interaction except views, endorsements, accepts, ratings and purchases), its
**responses** are interactions by *other* entities that

* reply to it (``in_reply_to`` is the message: a comment, an answer, a reshare
  recorded as a reply), or
* in a source that records no reply chains at all (SNAP message logs, SMS exports), are
  the addressee's next message back to the author within ``dm_window_hours`` — the
  usual reading of a private exchange (Panzarasa, Opsahl and Carley, JASIST 60(5), 2009,
  on CollegeMsg's reciprocated messages).

Each responder counts once per message (their first response). Per entity:

``said``                       messages that could be responded to
``velocity_response_rate``     share of them that got at least one response
``velocity_first_h``           median hours to the first response (answered messages)
``velocity_k_h``               median hours until k distinct others responded (messages
                               that reached k; k = 3 by default)
``velocity_responders_24h``    mean distinct responders within 24 hours per message

Views, endorsements and accepts are not responses here: their times are aggregates or
day-rounded in the sources that have them (Stack Exchange dates a vote by its day and an
accept by the later of that day and the answer), which would fake instant responses;
they count in tiers and tie strength instead. Response times are clamped at 0.
Reshares and mentions count when the source records them as replies; a mention without
a reply link cannot be tied to what it answers and is left to tie strength.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from socialcrm.influence._views import arrow, view_sql

NOT_SAID = ("view", "endorse", "accept", "rating", "purchase")
NOT_RESPONSE = ("view", "endorse", "accept")
K = 3
DM_WINDOW_HOURS = 24.0
SPREAD_WINDOW_HOURS = 24.0


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def velocity(
    con: duckdb.DuckDBPyConnection,
    k: int = K,
    dm_window_hours: float = DM_WINDOW_HOURS,
    spread_window_hours: float = SPREAD_WINDOW_HOURS,
) -> pa.Table:
    """Spread velocity of every entity that said something (see the module docs).

    Parameters
    ----------
    con : DuckDB connection of a workspace (reads ``interactions`` and ``identities``).
    k : int
        The "first k responses" of the k-th response time.
    dm_window_hours : float
        How long after a private message the addressee's message back counts as a reply
        (sources without reply chains only).
    spread_window_hours : float
        Window of ``velocity_responders_24h``.

    Returns
    -------
    Arrow table: entity_id, said, velocity_response_rate, velocity_first_h,
    velocity_k_h, velocity_responders_24h.

    References
    ----------
    .. [1] M. Wu, seed 000 (influence and relationships); DESIGN.md "spread velocity".
    .. [2] P. Panzarasa, T. Opsahl, K. M. Carley, "Patterns and dynamics of users'
       behavior and interaction: network analysis of an online community", JASIST 60(5),
       2009.
    """
    return arrow(con, velocity_sql(view_sql(con), k, dm_window_hours, spread_window_hours))


def velocity_sql(
    v: dict[str, str], k: int, dm_window_hours: float, spread_window_hours: float
) -> str:
    """The velocity query over the resolved views ``v`` (see :func:`velocity`)."""
    return f"""
    WITH r AS ({v["resolved"]}),
    e AS ({v["edges"]}),
    said AS (
        SELECT interaction_id, actor_entity, ts FROM r
        WHERE kind NOT IN ({_sql_list(NOT_SAID)})
    ),
    threaded AS (SELECT source FROM r GROUP BY source HAVING count(in_reply_to) > 0),
    explicit AS (
        SELECT s.interaction_id AS said_id, c.actor_entity AS responder, c.ts AS rts
        FROM said s JOIN r c ON c.in_reply_to = s.interaction_id
        WHERE c.actor_entity <> s.actor_entity AND c.kind NOT IN ({_sql_list(NOT_RESPONSE)})
    ),
    dm AS (
        SELECT interaction_id, actor_entity, target_entity, ts FROM e
        WHERE source NOT IN (SELECT source FROM threaded)
          AND kind NOT IN ({_sql_list(NOT_SAID)})
    ),
    implicit AS (
        SELECT m.interaction_id AS said_id, m.target_entity AS responder, b.ts AS rts
        FROM dm m ASOF JOIN dm b
          ON b.actor_entity = m.target_entity AND b.target_entity = m.actor_entity
         AND m.ts < b.ts
        WHERE b.ts <= m.ts + to_microseconds(CAST({dm_window_hours} * 3600e6 AS BIGINT))
    ),
    first_by AS (
        SELECT said_id, responder, min(rts) AS rts
        FROM (SELECT * FROM explicit UNION ALL SELECT * FROM implicit)
        GROUP BY said_id, responder
    ),
    ranked AS (
        SELECT said_id, rts,
               row_number() OVER (PARTITION BY said_id ORDER BY rts, responder) AS nth
        FROM first_by
    ),
    per_msg AS (
        SELECT s.interaction_id, s.actor_entity, s.ts,
               min(q.rts) AS first_rts,
               max(q.rts) FILTER (WHERE q.nth = {int(k)}) AS kth_rts,
               count(q.rts) FILTER (
                   WHERE q.rts <= s.ts
                       + to_microseconds(CAST({spread_window_hours} * 3600e6 AS BIGINT))
               ) AS n_window
        FROM said s LEFT JOIN ranked q ON q.said_id = s.interaction_id
        GROUP BY s.interaction_id, s.actor_entity, s.ts
    )
    SELECT actor_entity AS entity_id,
           count(*) AS said,
           avg(CASE WHEN first_rts IS NULL THEN 0.0 ELSE 1.0 END) AS velocity_response_rate,
           -- greatest() skips NULLs in DuckDB, so unanswered messages must stay NULL here
           median(CASE WHEN first_rts IS NOT NULL
                       THEN greatest(epoch(first_rts) - epoch(ts), 0.0) / 3600.0 END)
               AS velocity_first_h,
           median(CASE WHEN kth_rts IS NOT NULL
                       THEN greatest(epoch(kth_rts) - epoch(ts), 0.0) / 3600.0 END)
               AS velocity_k_h,
           avg(n_window)::DOUBLE AS velocity_responders_24h
    FROM per_msg GROUP BY actor_entity ORDER BY entity_id
    """
