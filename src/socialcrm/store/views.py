"""Resolved views over the canonical tables, shared by every stage and both engines.

``edges`` is what relationship, conversation and influence stages read: one row per
(interaction, addressed entity) with handles resolved to entities through
``identities``, so a merge or unmerge changes every derived table on the next run
without rewriting interactions.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def resolved_interactions(interactions: ir.Table, identities: ir.Table) -> ir.Table:
    """Interactions with ``actor_entity`` and the thread they belong to."""
    ids = identities.select(handle="handle", actor_entity="entity_id")
    t = interactions.mutate(
        conversation_id=interactions.conversation_id.fill_null(interactions.interaction_id)
    )
    return (
        t.left_join(ids, t.actor == ids.handle)
        .drop("handle")
        .mutate(actor_entity=ibis._.actor_entity.fill_null(ibis._.actor))
    )


def edges(interactions: ir.Table, identities: ir.Table) -> ir.Table:
    """One row per interaction and entity it addressed (explicit targets, or the parent's author).

    Self-addressed rows (an entity replying to itself) are dropped: they are not ties.
    """
    r = resolved_interactions(interactions, identities)
    explicit = r.mutate(target_handle=r.targets.unnest()).drop("targets")
    parents = r.select(parent_id="interaction_id", parent_actor="actor")
    implicit = (
        r.filter(r.in_reply_to.notnull())
        .join(parents, r.in_reply_to == parents.parent_id)
        .filter(lambda t: ~t.targets.contains(t.parent_actor).fill_null(False))
        .mutate(target_handle=ibis._.parent_actor)
        .drop("parent_id", "parent_actor", "targets")
    )
    both = explicit.union(implicit.select(explicit.columns))
    ids = identities.select(handle="handle", target_entity="entity_id")
    out = both.left_join(ids, both.target_handle == ids.handle).drop("handle")
    out = out.mutate(target_entity=out.target_entity.fill_null(out.target_handle))
    return out.filter(out.actor_entity != out.target_entity).drop("target_handle")
