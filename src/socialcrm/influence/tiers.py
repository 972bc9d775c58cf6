"""Participation tiers: lurkers, contributors and superusers (the 90-9-1 pattern).

Nielsen ("Participation inequality", 2006): in most online communities about 90% of
users only read (lurkers), 9% contribute from time to time, and 1% contribute a lot and
account for most of what is there. Seed 001 asks a social CRM to find that 1% — the
superusers who answer others before staff has to — and lurkers are visible only
through views (DESIGN.md).

Population: entities of kind ``person`` whose role is not brand, employee or system
(staff and brands are not community members). Everyone in ``entities`` counts, so a
Stack Exchange user listed in ``Users.xml`` without a single post is a lurker.

* **contributions** — interactions the entity authored, except views;
* **lurker** — no contributions (views only, or nothing recorded);
* **contribution score** — a reputation-like sum in units of one up vote:
  ``contributions + endorsements received + 1.5 * accepted answers + replies received
  from others`` — every contribution, every up vote or kudos received, 1.5 per answer of
  theirs an asker accepted (Stack Exchange's own ratio: +15 reputation against +10 per
  up vote), and one per reply others made to what they said (seed 001's "replies others
  engage with");
* **superuser** — the fewest top contributors whose scores together make up at least
  ``superuser_share`` (default one half) of all contribution: Nielsen's 1% "account for
  most contributions" made into a rule that does not presuppose the 1%. Contributors
  tied with the last one chosen are superusers too;
* **contributor** — everyone else who contributed.

The split is then reported beside Nielsen's 90/9/1 (:func:`tier_summary`), with the
anonymous page views of sources that count them (Stack Exchange ``ViewCount``) as the
lurkers no account shows.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from socialcrm.influence._views import arrow, view_sql

SUPERUSER_SHARE = 0.5
ACCEPTED_WEIGHT = 1.5
NIELSEN = {"lurker": 0.90, "contributor": 0.09, "superuser": 0.01}
NON_MEMBER_ROLES = ("brand", "employee", "system")


def tiers(
    con: duckdb.DuckDBPyConnection,
    superuser_share: float = SUPERUSER_SHARE,
    accepted_weight: float = ACCEPTED_WEIGHT,
) -> pa.Table:
    """Tier of every community member, with the parts of their contribution score.

    Parameters
    ----------
    con : DuckDB connection of a workspace (reads interactions, identities, entities).
    superuser_share : float
        Share of all contribution the superusers together account for (0.5: "most").
    accepted_weight : float
        Points per accepted answer, in up votes (1.5: Stack Exchange's +15 against +10).

    Returns
    -------
    Arrow table: entity_id, tier, contribution_score, contributions, accepted,
    endorsements, replies_received.

    References
    ----------
    .. [1] J. Nielsen, "Participation inequality: encouraging more users to contribute",
       Nielsen Norman Group, 2006.
    .. [2] Seed 001 (community-first support: superusers answer before staff).
    """
    if not 0 < superuser_share <= 1:
        raise ValueError(f"superuser_share must be in (0, 1], not {superuser_share}")
    v = view_sql(con)
    roles = ", ".join(f"'{r}'" for r in NON_MEMBER_ROLES)
    sql = f"""
    WITH r AS ({v["resolved"]}),
    e AS ({v["edges"]}),
    pop AS (
        SELECT entity_id FROM entities WHERE kind = 'person' AND role NOT IN ({roles})
    ),
    authored AS (
        SELECT actor_entity AS entity_id, count(*) AS contributions
        FROM r WHERE kind <> 'view' GROUP BY 1
    ),
    received AS (
        SELECT target_entity AS entity_id,
               count(*) FILTER (WHERE kind = 'endorse' AND coalesce(value, 1) > 0)
                   AS endorsements,
               count(*) FILTER (WHERE kind = 'accept') AS accepted
        FROM e GROUP BY 1
    ),
    replies AS (
        SELECT p.actor_entity AS entity_id, count(*) AS replies_received
        FROM r c JOIN r p ON c.in_reply_to = p.interaction_id
        WHERE c.actor_entity <> p.actor_entity AND c.kind NOT IN ('view', 'endorse', 'accept')
        GROUP BY 1
    ),
    scored AS (
        SELECT pop.entity_id,
               coalesce(a.contributions, 0) AS contributions,
               coalesce(x.accepted, 0) AS accepted,
               coalesce(x.endorsements, 0) AS endorsements,
               coalesce(y.replies_received, 0) AS replies_received,
               (coalesce(a.contributions, 0) + coalesce(x.endorsements, 0)
                + {float(accepted_weight)} * coalesce(x.accepted, 0)
                + coalesce(y.replies_received, 0))::DOUBLE AS contribution_score
        FROM pop
        LEFT JOIN authored a USING (entity_id)
        LEFT JOIN received x USING (entity_id)
        LEFT JOIN replies y USING (entity_id)
    ),
    ranked AS (
        SELECT entity_id, contribution_score,
               sum(contribution_score) OVER (
                   ORDER BY contribution_score DESC, entity_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before,
               sum(contribution_score) OVER () AS total
        FROM scored WHERE contributions > 0
    ),
    cut AS (
        SELECT min(contribution_score) AS cutoff FROM ranked
        WHERE coalesce(before, 0) < {float(superuser_share)} * total
    )
    SELECT s.entity_id,
           CASE WHEN s.contributions = 0 THEN 'lurker'
                WHEN s.contribution_score >= (SELECT cutoff FROM cut) THEN 'superuser'
                ELSE 'contributor' END AS tier,
           s.contribution_score, s.contributions, s.accepted, s.endorsements,
           s.replies_received
    FROM scored s
    ORDER BY s.contribution_score DESC, s.entity_id
    """
    return arrow(con, sql)


def tier_summary(con: duckdb.DuckDBPyConnection, tier_table: pa.Table) -> dict:
    """The population split beside Nielsen's 90/9/1, and what each tier contributes.

    Returns a dict: ``population``, per tier ``{count, share, nielsen, score_share}``,
    and ``anonymous_views`` (sum of ``view`` interactions' values, or their count).
    """
    con.register("_tiers", tier_table)
    try:
        rows = arrow(
            con,
            """SELECT tier, count(*) AS n, sum(contribution_score) AS score
            FROM _tiers GROUP BY tier""",
        ).to_pylist()
    finally:
        con.unregister("_tiers")
    n = sum(r["n"] for r in rows)
    total = sum(r["score"] or 0 for r in rows) or 1.0
    by = {r["tier"]: r for r in rows}
    views = arrow(
        con,
        "SELECT coalesce(sum(coalesce(value, 1)), 0) AS v FROM interactions WHERE kind = 'view'",
    ).to_pylist()[0]["v"]
    out: dict = {"population": n, "anonymous_views": int(views)}
    for tier in ("lurker", "contributor", "superuser"):
        r = by.get(tier, {"n": 0, "score": 0})
        out[tier] = {
            "count": int(r["n"]),
            "share": r["n"] / n if n else 0.0,
            "nielsen": NIELSEN[tier],
            "score_share": float(r["score"] or 0) / total,
        }
    return out
