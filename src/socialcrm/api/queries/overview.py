"""Aggregates for the overview: counts, activity over time by channel, sentiment trend; alerts."""

from __future__ import annotations

from typing import Any

from socialcrm.api.common import page
from socialcrm.api.service import Service
from socialcrm.api.stages import STAGE_TABLES, missing_note, present_note, usable

BUCKETS = ("day", "week", "month")


def stats(svc: Service) -> dict[str, Any]:
    """Counts (aggregates only) and which stages have run."""
    m = svc.model

    def compute() -> dict[str, Any]:
        one = svc.rows(
            f"""SELECT (SELECT count(*) FROM interactions) AS interactions,
                       (SELECT count(*) FROM interactions WHERE visibility = 'private')
                           AS private_interactions,
                       (SELECT count(*) FROM {m.cache_db}.conv) AS conversations,
                       (SELECT count(*) FROM entities) AS entities,
                       (SELECT count(*) FROM identities) AS identities,
                       (SELECT count(*) FROM quarantine) AS quarantined,
                       (SELECT strftime(min(ts), '%Y-%m-%dT%H:%M:%SZ') FROM interactions) AS first_ts,
                       (SELECT strftime(max(ts), '%Y-%m-%dT%H:%M:%SZ') FROM interactions) AS last_ts"""
        )[0]
        one["by_channel"] = svc.rows(
            "SELECT channel, count(*) AS interactions FROM interactions GROUP BY 1 ORDER BY 2 DESC"
        )
        one["by_source"] = svc.rows(
            "SELECT source, count(*) AS interactions FROM interactions GROUP BY 1 ORDER BY 2 DESC"
        )
        one["by_role"] = svc.rows(
            "SELECT role, count(*) AS entities FROM entities GROUP BY 1 ORDER BY 2 DESC"
        )
        return one

    out = dict(m.remember(("stats",), compute))
    out["stages"] = stages(svc)
    return out


def stages(svc: Service) -> list[dict[str, Any]]:
    m = svc.model
    out = []
    for t in STAGE_TABLES:
        if usable(t, m.columns):
            out.append(present_note(t))
        elif t == "advocates" and usable("ties", m.columns):  # chosen on request from ties
            out.append({**present_note(t), "detail": "computed on request from `ties`"})
        else:
            out.append(missing_note(t, m.columns))
    return out


def activity_series(svc: Service, bucket: str = "week") -> dict[str, Any]:
    """Interactions per time bucket and channel (all visibilities: counts reveal no message)."""
    m = svc.model

    def compute() -> dict[str, Any]:
        rows = svc.rows(
            f"""SELECT strftime(date_trunc('{bucket}', ts), '%Y-%m-%d') AS period, channel,
                       count(*) AS interactions
                FROM interactions GROUP BY ALL ORDER BY period, channel"""
        )
        return {"bucket": bucket, "points": rows}

    return m.remember(("activity", bucket), compute)


def sentiment_series(svc: Service, bucket: str = "week") -> dict[str, Any]:
    """Mean message sentiment per time bucket (needs the message-label stage)."""
    m = svc.model
    col = m.sentiment_column
    if col is None:
        return {"bucket": bucket, "points": [], "stage": missing_note("message_labels", m.columns)}

    def compute() -> dict[str, Any]:
        rows = svc.rows(
            f"""SELECT strftime(date_trunc('{bucket}', i.ts), '%Y-%m-%d') AS period,
                       avg(l."{col}") AS mean_sentiment, count(*) AS messages,
                       avg(CASE WHEN l."{col}" < -0.05 THEN 1 ELSE 0 END) AS negative_share
                FROM message_labels l JOIN interactions i USING (interaction_id)
                WHERE l."{col}" IS NOT NULL GROUP BY 1 ORDER BY 1"""
        )
        return {
            "bucket": bucket,
            "column": col,
            "points": rows,
            "stage": present_note("message_labels"),
        }

    return m.remember(("sentiment", bucket), compute)


def alerts(svc: Service, entity: str | None, limit: int, offset: int) -> dict[str, Any]:
    """Alerts with their recommended next action and reason (prediction stage's
    ``next_actions``), most at stake first."""
    m = svc.model
    if not m.usable("next_actions"):
        return page([], limit, offset, stage=missing_note("next_actions", m.columns))
    cols = m.columns["next_actions"]
    where, params = "TRUE", []
    if entity is not None:
        where, params = "a.entity_id = ?", [entity]
    order = next((c for c in ("at_stake", "priority", "score", "ts") if c in cols), None)
    order_sql = f'a."{order}" DESC NULLS LAST, ' if order else ""
    rows = svc.rows(
        f"SELECT {svc.select_list('next_actions', 'a')} FROM next_actions a WHERE {where}"
        f" ORDER BY {order_sql} a.entity_id LIMIT ? OFFSET ?",
        [*params, limit + 1, offset],
    )
    return page(rows, limit, offset, stage=present_note("next_actions"))
