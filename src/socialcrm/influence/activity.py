"""Per-entity activity by channel: the first stage, and the proof that stages are portable.

For each entity and channel: interactions it started (``sent``), interactions addressed
to it (``received``), distinct counterparts, and first/last activity. It is the raw
material of participation tiers (90-9-1) and the agent's 360° view, and it runs from
one Ibis definition on DuckDB and on Spark (tests compare the two).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from socialcrm.store.engine import Engine
from socialcrm.store.views import edges, resolved_interactions


def activity_by_channel(interactions: ir.Table, identities: ir.Table) -> ir.Table:
    """Counts per (entity_id, channel), sorted by entity and channel."""
    r = resolved_interactions(interactions, identities)
    sent = r.group_by(entity_id=r.actor_entity, channel=r.channel).agg(
        sent=r.count(),
        first_ts=r.ts.min(),
        last_ts=r.ts.max(),
    )
    e = edges(interactions, identities)
    received = e.group_by(entity_id=e.target_entity, channel=e.channel).agg(
        received=e.interaction_id.nunique(),
        counterparts_in=e.actor_entity.nunique(),
    )
    out = sent.outer_join(received, ["entity_id", "channel"])
    out = out.select(
        entity_id=ibis.coalesce(out.entity_id, out.entity_id_right),
        channel=ibis.coalesce(out.channel, out.channel_right),
        sent=out.sent.fill_null(0),
        received=out.received.fill_null(0),
        counterparts_in=out.counterparts_in.fill_null(0),
        first_ts=out.first_ts,
        last_ts=out.last_ts,
    )
    return out.order_by(["entity_id", "channel"])


def activity_stage(engine: Engine) -> ir.Table:
    return activity_by_channel(engine.table("interactions"), engine.table("identities"))
