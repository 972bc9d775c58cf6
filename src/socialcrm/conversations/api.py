"""The conversation stage as functions of a :class:`~socialcrm.workspace.Workspace`.

``analyze_conversations`` materialises four tables:

* ``conversation_turns`` — one row per turn: party, side (and why), parent, cues;
* ``message_labels`` — ``interaction_id, sentiment, sentiment_label, intent,
  intent_reason, action, action_reason`` (scored in batches, see :mod:`.labels`);
* ``conversation_features`` — one row per conversation (see :mod:`.features`);
* ``conversations`` — the sociability labels with their reasons (:mod:`.sociability`)
  and urgency with its reasons (:mod:`.urgency`).

``conversation`` returns one thread with every label and reason; ``conversation_summary``
the distributions of sentiment, intent, pattern and degrees by channel and by brand,
and each brand's habit (its distribution of business degrees).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import pyarrow as pa

from socialcrm.conversations.features import (
    TEMPLATE_MIN_CONVERSATIONS,
    conversation_features,
    turns,
)
from socialcrm.conversations.labels import score_messages
from socialcrm.conversations.sociability import (
    DEFAULT_RULES,
    Rules,
    brand_habit,
    label_conversations,
)
from socialcrm.conversations.urgency import WEIGHTS, urgency
from socialcrm.store.engine import Engine
from socialcrm.store.views import edges

if TYPE_CHECKING:
    from socialcrm.workspace import Workspace

# The columns of ``conversations`` (the rest stays in ``conversation_features``).
CONVERSATION_COLUMNS: tuple[str, ...] = (
    "conversation_id",
    "source",
    "channel",
    "brand",
    "initiator",
    "initiator_role",
    "main_customer",
    "started_at",
    "ended_at",
    "n_turns",
    "n_participants",
    "participants",
    "participant_roles",
    "visibility",
    "pattern",
    "pattern_reason",
    "transparent",
    "transparent_reason",
    "moved_private",
    "moved_private_reason",
    "customer_degree",
    "customer_reason",
    "business_degree",
    "business_reason",
    "intent",
    "sentiment_start",
    "sentiment_end",
    "sentiment_trajectory",
    "sentiment_slope",
    "first_response_s",
    "urgency",
    "urgency_reason",
    *(f"urgency_{k}" for k in WEIGHTS),
    "author_counterparts",
)


def conversations_stage(
    features_t: ir.Table,
    edges_t: ir.Table,
    as_of: datetime | None = None,
    rules: Rules = DEFAULT_RULES,
) -> ir.Table:
    """``conversation_features`` → ``conversations`` (labels, reasons, urgency)."""
    labelled = label_conversations(features_t, rules)
    scored = urgency(labelled, edges_t, as_of)
    scored = scored.mutate(intent=scored.mc_intents[0])
    return scored.select(*CONVERSATION_COLUMNS)


def stage_expressions(
    engine: Engine, rules: Rules = DEFAULT_RULES, as_of: datetime | None = None
) -> dict[str, ir.Table]:
    """The stage's three derived tables as expressions on any engine (DuckDB or Spark).

    ``message_labels`` must already be a table of the engine (text scoring is Python,
    see :func:`analyze_conversations`); the rest is one relational pipeline, which is
    how the Spark parity test runs it.
    """
    inter, ids, ents = (engine.table(n) for n in ("interactions", "identities", "entities"))
    tt = turns(inter, ids, ents)
    feats = conversation_features(tt, engine.table("message_labels"))
    return {
        "conversation_turns": tt,
        "conversation_features": feats,
        "conversations": conversations_stage(feats, edges(inter, ids), as_of, rules),
    }


def analyze_conversations(
    ws: Workspace,
    *,
    rules: Rules = DEFAULT_RULES,
    workers: int | None = None,
    template_min_conversations: int = TEMPLATE_MIN_CONVERSATIONS,
    as_of: datetime | None = None,
) -> dict[str, int]:
    """Run the conversation stage on the workspace's DuckDB engine and store its tables."""
    eng = ws.engine
    inter, ids, ents = (eng.table(n) for n in ("interactions", "identities", "entities"))
    out = {
        "conversation_turns": eng.materialize(
            "conversation_turns",
            turns(inter, ids, ents, template_min_conversations=template_min_conversations),
        )
    }
    todo = ws.con.sql(
        "SELECT interaction_id, text, side = 'brand' AS brand FROM conversation_turns"
        " WHERE text <> ''"
    ).to_arrow_table()
    labels = score_messages(todo["interaction_id"], todo["text"], todo["brand"], workers=workers)
    ws.con.register("_message_labels_in", labels)
    try:
        ws.con.execute("CREATE OR REPLACE TABLE message_labels AS SELECT * FROM _message_labels_in")
    finally:
        ws.con.unregister("_message_labels_in")
    out["message_labels"] = labels.num_rows
    out["conversation_features"] = eng.materialize(
        "conversation_features",
        conversation_features(eng.table("conversation_turns"), eng.table("message_labels")),
    )
    out["conversations"] = eng.materialize(
        "conversations",
        conversations_stage(
            eng.table("conversation_features"),
            edges(inter, ids),
            as_of,
            rules,
        ),
    )
    return out


def _rows(ws: Workspace, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return ws.con.sql(sql, params=params).to_arrow_table().to_pylist()


def _require(ws: Workspace) -> None:
    have = {
        r[0] for r in ws.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    if "conversations" not in have:
        raise LookupError("no conversation analysis yet: run `socialcrm analyze` first")


def resolve_conversation_id(ws: Workspace, conv_id: str) -> str:
    """Accept the stored id (``twcs:2298``) or the id of any of its turns."""
    _require(ws)
    hit = ws.con.execute(
        "SELECT conversation_id FROM conversations WHERE conversation_id = ?", [conv_id]
    ).fetchall()
    if hit:
        return hit[0][0]
    hit = ws.con.execute(
        "SELECT conversation_id FROM conversation_turns WHERE interaction_id = ? LIMIT 1",
        [conv_id],
    ).fetchall()
    if hit:
        return hit[0][0]
    like = ws.con.execute(
        "SELECT conversation_id FROM conversations WHERE conversation_id LIKE ? LIMIT 5",
        [f"%{conv_id}"],
    ).fetchall()
    if len(like) == 1:
        return like[0][0]
    hint = f"; did you mean {', '.join(r[0] for r in like)}?" if like else ""
    raise LookupError(f"no conversation {conv_id!r}{hint}")


def conversation(ws: Workspace, conv_id: str) -> dict[str, Any]:
    """One conversation: its labels and reasons, features, and every turn with its scores."""
    cid = resolve_conversation_id(ws, conv_id)
    (labels,) = _rows(ws, "SELECT * FROM conversations WHERE conversation_id = ?", [cid])
    (feats,) = _rows(ws, "SELECT * FROM conversation_features WHERE conversation_id = ?", [cid])
    thread = _rows(
        ws,
        """SELECT t.seq, t.interaction_id, t.ts, t.actor, t.actor_entity, t.role, t.side,
                  t.side_rule, t.party, t.kind, t.visibility, t.in_reply_to, t.parent_party,
                  t.reply_rule, t.text, t.is_question, t.is_demand, t.is_escalation,
                  t.private_cue, t.cta_cue, t.is_template, t.template_uses, t.brand_move,
                  l.sentiment, l.sentiment_label, l.intent, l.intent_reason, l.action,
                  l.action_reason
           FROM conversation_turns t LEFT JOIN message_labels l USING (interaction_id)
           WHERE t.conversation_id = ? ORDER BY t.seq""",
        [cid],
    )
    return {"conversation_id": cid, "labels": labels, "features": feats, "turns": thread}


def _distribution(ws: Workspace, source_sql: str, label: str) -> pa.Table:
    return ws.con.sql(
        f"""WITH s AS ({source_sql})
        SELECT grouping, "group", '{label}' AS label_kind, label,
               count(*) AS n,
               count(*) / sum(count(*)) OVER (PARTITION BY grouping, "group") AS share
        FROM (SELECT 'channel' AS grouping, channel AS "group", label FROM s
              UNION ALL
              SELECT 'brand', coalesce(brand, '(no brand)'), label FROM s)
        GROUP BY grouping, "group", label ORDER BY grouping, "group", label"""
    ).to_arrow_table()


def conversation_summary(ws: Workspace) -> dict[str, pa.Table]:
    """Distributions of sentiment, intent, pattern and degrees, by channel and by brand."""
    _require(ws)
    msg = """SELECT t.channel, c.brand, {col} AS label
             FROM conversation_turns t JOIN message_labels l USING (interaction_id)
             JOIN conversations c USING (conversation_id) WHERE {where}"""
    conv = "SELECT channel, brand, {col} AS label FROM conversations"
    out = {
        "sentiment": _distribution(
            ws,
            msg.format(col="l.sentiment_label", where="l.sentiment_label IS NOT NULL"),
            "sentiment",
        ),
        "intent": _distribution(
            ws,
            msg.format(col="l.intent", where="t.side = 'customer' AND l.intent IS NOT NULL"),
            "intent",
        ),
        "action": _distribution(
            ws,
            msg.format(col="l.action", where="t.side = 'brand' AND l.action IS NOT NULL"),
            "action",
        ),
        "pattern": _distribution(ws, conv.format(col="pattern"), "pattern"),
        "customer_degree": _distribution(
            ws,
            conv.format(col="coalesce(CAST(customer_degree AS VARCHAR), 'none')"),
            "customer_degree",
        ),
        "business_degree": _distribution(
            ws,
            conv.format(col="coalesce(CAST(business_degree AS VARCHAR), 'none')"),
            "business_degree",
        ),
    }
    out["brand_habit"] = ws.engine.to_arrow(brand_habit(ws.engine.table("conversations")))
    return out


__all__ = [
    "analyze_conversations",
    "conversation",
    "conversation_summary",
    "conversations_stage",
    "resolve_conversation_id",
    "stage_expressions",
]
