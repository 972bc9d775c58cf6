"""Conversation features: one table stage over the canonical tables (Ibis → DuckDB or Spark).

A conversation is a first message and everything that replies to it (SOCIABILITY.md).
This stage reads ``interactions`` and ``identities`` through
:func:`socialcrm.store.views.resolved_interactions`, roles from ``entities`` and the
per-message text scores in ``message_labels`` (see :mod:`socialcrm.conversations.labels`),
and writes one row per conversation: who took part and in which role, who started, how
the turns are shared, whether and how fast the other side answered, public or private
and any move to a private channel, questions, demands, repeated asks and escalation,
calls to action, template replies, and sentiment at start and end with its trajectory.
Everything is a relational expression (joins, group-bys, window functions, regular
expressions in the engine); there is no Python loop over rows.

Main columns of ``conversation_features`` (one row per conversation):

* who: ``participants``, ``participant_roles`` (customer, brand, employee, superuser...),
  ``participant_side_rules``, ``turns_by_participant``, ``initiator`` and its role and
  side, ``brand`` (the brand account of the thread), ``main_customer`` (the customer
  who engaged the brand first; without a brand, the initiator);
* turns: ``n_turns``, ``customer_turns``, ``brand_turns``, ``turn_balance`` (fewer /
  more of the two sides), ``n_parties``, ``parties_with_2_turns``, ``reciprocal_pairs``
  (pairs of parties that answered each other), ``peer_replies`` (customers other than
  the initiator answering each other), ``initiator_answered``, ``request_answered``;
* time: ``first_response_s`` (first turn by another party), ``brand_first_response_s``,
  ``latency_mean_s`` / ``latency_median_s`` / ``latency_max_s`` (between consecutive
  turns that change speaker), ``duration_s``, ``waiting_since`` (the author's first
  unanswered ask);
* visibility: ``visibility`` (public, private, mixed), ``moved_private_structural``
  (public turns followed by private ones), ``private_evidence`` (the words of the first
  move-to-private cue and who said it);
* asks: ``customer_questions``, ``customer_demands``, ``customer_escalations``,
  ``repeated_asks``, ``max_tagged``, ``request_evidence``, the same for the main customer
  (``mc_*``), ``n_calls_to_action``, ``initiator_cta``, ``brand_cta``;
* brand replies: ``brand_templates``, ``template_share``, ``brand_moves`` (template,
  deflect, resource, acknowledge, probe, inform per brand turn), ``brand_substantive``,
  ``brand_actions`` (the action labels of ``message_labels``);
* sentiment: ``sentiment_start``, ``sentiment_end``, ``sentiment_trajectory`` (end −
  start), ``sentiment_slope`` (least-squares slope per turn), ``sentiment_mean``, and the
  customer side's start, end and minimum.

Two notions carry the rest of the conversation stage:

* **side** — a message is on the *brand* side when its author's entity has role
  ``brand`` or ``employee``; when the account signs its messages like a care agent
  (``^MK``, ``*AMC``: anonymised brand accounts in twcs do); or when its handle is the stem
  of a brand addressed in the same thread (``@Chase`` for ``@ChaseSupport``). Everyone
  else is on the *customer* side (customers, prospects, superusers, partners).
* **party** — the brand side is one party (``"brand"``: all its accounts speak for it);
  every other entity is its own party. Turns, answers and balance are counted per party.

Seeds: 001 (sentiment is only the first step; prioritise and route conversations),
002 and 003 (sociability is read from structure and intent, not from the channel).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from socialcrm.conversations import cues
from socialcrm.store.views import resolved_interactions

# Interaction kinds that are not turns of a conversation: nobody "says" a vote or a view.
NON_TURN_KINDS: tuple[str, ...] = ("endorse", "accept", "rating", "share", "view", "purchase")
BRAND_ROLES: tuple[str, ...] = ("brand", "employee")
BRAND = "brand"  # the party name of the brand side
# An account is a brand voice when at least this share of its messages carry a signature.
SIGNED_SHARE = 1 / 3
# Minimum length of a handle read as the stem of a brand handle ("Chase" → "ChaseSupport").
MIN_STEM = 4
# Brand wording sent to at least this many recipients (conversation × customer answered)
# is a template.
TEMPLATE_MIN_CONVERSATIONS = 3
# A brand turn this short that only thanks, apologises or links is no answer (a tweet is
# at most ~50 words).
SHORT_WORDS = 30
# Normalised wording shorter than this is not compared (``"thanks!"`` is no template).
TEMPLATE_MIN_CHARS = 20

LABEL_COLUMNS: tuple[str, ...] = (
    "sentiment",
    "sentiment_label",
    "intent",
    "intent_reason",
    "action",
    "action_reason",
)


# Characters dropped from wording compared for templates (cheaper than a regex replace).
_NOT_LETTERS = "0123456789.,;:!?'\"()[]{}<>/\\|#&*^%$+=~`_-\u2019\u2018\u201c\u201d\u2026"


def _seconds(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    """Whole seconds between two timestamps (Spark's epoch has no fractions; DuckDB's has)."""
    return (later.epoch_seconds().floor() - earlier.epoch_seconds().floor()).cast("float64")


def _first(x: ir.Column, key: ir.Column, where: ir.BooleanValue | None = None) -> ir.Scalar:
    """``x`` at the smallest ``key`` (portable: ``arg_min`` in DuckDB, ``min_by`` in Spark)."""
    return x.argmin(key, where=where)


def _last(x: ir.Column, key: ir.Column, where: ir.BooleanValue | None = None) -> ir.Scalar:
    return x.argmax(key, where=where)


def _ordered(x: ir.Column, key: ir.Column, where: ir.BooleanValue | None = None) -> ir.ArrayValue:
    """``x`` collected in ``key`` order (Spark's collect_list has no order of its own)."""
    pairs = ibis.struct({"k": key, "v": x}).collect(where=where)
    return pairs.sort().map(lambda p: p.v)


def _words(text: ir.StringValue) -> ir.IntegerValue:
    """Words, counted as spaces + 1 (cheaper than splitting into a list)."""
    return ibis.ifelse(text == "", 0, text.length() - text.replace(" ", "").length() + 1)


def _has(text: ir.StringValue, pattern: str) -> ir.BooleanValue:
    return text.re_search(pattern)


def _evidence(text: ir.StringValue, pattern: str) -> ir.StringValue:
    """The words a cue matched (NULL when it did not match). The match test runs first:
    a yes/no match is a fast automaton, extracting the words is not."""
    return ibis.ifelse(text.re_search(pattern), text.re_extract(pattern, 0), ibis.null("string"))


def _name_of(entity: ir.StringValue) -> ir.StringValue:
    """``twitter:ChaseSupport`` → ``chasesupport``."""
    return entity.re_replace(r"^[^:]*:", "").lower()


def turns(
    interactions: ir.Table,
    identities: ir.Table,
    entities: ir.Table,
    *,
    template_min_conversations: int = TEMPLATE_MIN_CONVERSATIONS,
) -> ir.Table:
    """One row per turn (a message-like interaction) with its party, side, parent and cues.

    Columns added to the resolved interaction: ``role``, ``side`` (brand | customer),
    ``side_rule`` (why), ``party``, ``seq`` (1 = the first turn), ``parent_party``,
    ``parent_side``, ``is_reply`` (answers another party of the thread), ``replies_outside``
    (answers a message that is not in the thread), the cue flags and evidence, ``norm``
    (the wording compared for templates), ``is_template`` and the text scores.
    """
    r = resolved_interactions(interactions, identities)
    r = r.filter(~r.kind.isin(NON_TURN_KINDS))
    ents = entities.select(_e=entities.entity_id, role=entities.role)
    r = r.left_join(ents, r.actor_entity == ents._e).drop("_e")
    r = r.mutate(role=r.role.fill_null("customer"))
    r = r.filter(r.role != "system")
    r = r.mutate(text=r.text.fill_null(""))
    # Cues are read without links: a "?" inside a URL asks nothing.
    r = r.mutate(clean=r.text.re_replace(cues.URL, " ").rstrip())
    r = r.mutate(signed=_has(r.clean, cues.SIGNATURE))

    # An account that signs like a care agent speaks for a brand (entity level).
    voice = (
        r.group_by(v_entity=r.actor_entity)
        .aggregate(v_n=_.count(), v_signed=_.signed.cast("int64").sum())
        .mutate(voice=(_.v_signed >= 1) & (_.v_signed.cast("float64") / _.v_n >= SIGNED_SHARE))
        .select("v_entity", "voice")
    )
    r = r.left_join(voice, r.actor_entity == voice.v_entity).drop("v_entity")

    # A handle that is the stem of a brand addressed or present in the thread.
    ids = identities.select(_h="handle", _ent="entity_id")
    brand_ents = entities.filter(entities.role.isin(BRAND_ROLES)).select(_b="entity_id")
    addressed = r.select(b_conv=r.conversation_id, _h=r.targets.unnest())
    addressed = (
        addressed.join(ids, addressed._h == ids._h)
        .select(b_conv="b_conv", _b="_ent")
        .union(r.select(b_conv=r.conversation_id, _b=r.actor_entity))
    )
    conv_brands = (
        addressed.join(brand_ents, "_b").select(b_conv="b_conv", b_name=_name_of(_._b)).distinct()
    )
    cand = (
        r.filter(~r.role.isin(BRAND_ROLES))
        .select(s_id=r.interaction_id, s_conv=r.conversation_id, s_name=_name_of(r.actor_entity))
        .filter(_.s_name.length() >= MIN_STEM)
    )
    stems = (
        cand.join(
            conv_brands,
            [
                cand.s_conv == conv_brands.b_conv,
                conv_brands.b_name.startswith(cand.s_name),
                conv_brands.b_name != cand.s_name,
            ],
        )
        .select(s_id="s_id", s_brand="b_name")
        .distinct(on="s_id", keep="first")
    )
    r = r.left_join(stems, r.interaction_id == stems.s_id).drop("s_id")
    is_brand_role = r.role.isin(BRAND_ROLES)
    r = r.mutate(
        side=ibis.ifelse(
            is_brand_role | r.voice.fill_null(False) | r.s_brand.notnull(), BRAND, "customer"
        ),
        side_rule=ibis.cases(
            (is_brand_role, "role " + r.role),
            (r.voice.fill_null(False), "signs like a care agent"),
            (r.s_brand.notnull(), "handle is the stem of brand @" + r.s_brand),
            else_="role " + r.role,
        ),
    ).drop("voice", "s_brand")
    r = r.mutate(party=ibis.ifelse(r.side == BRAND, BRAND, r.actor_entity))
    r = r.mutate(
        seq=ibis.row_number().over(group_by=r.conversation_id, order_by=[r.ts, r.interaction_id])
        + 1
    )

    parents = r.select(
        p_id=r.interaction_id,
        parent_party=r.party,
        parent_side=r.side,
        parent_seq=r.seq,
    )
    r = r.left_join(parents, r.in_reply_to == parents.p_id).drop("p_id")
    # Flat comment threads (forums, blogs): a comment on one's own post that follows
    # another party's comment on the same post answers that party.
    com = r.filter(r.kind == "comment").select(
        c_id=r.interaction_id,
        c_conv=r.conversation_id,
        c_post=r.in_reply_to,
        c_seq=r.seq,
        c_party=r.party,
        c_side=r.side,
    )
    sib = ibis.window(group_by=[com.c_conv, com.c_post], order_by=[com.c_seq])
    com = com.mutate(
        sib_party=com.c_party.lag().over(sib),
        sib_side=com.c_side.lag().over(sib),
        sib_seq=com.c_seq.lag().over(sib),
    ).select("c_id", "sib_party", "sib_side", "sib_seq")
    r = r.left_join(com, r.interaction_id == com.c_id).drop("c_id")
    by_sibling = (
        (r.parent_party == r.party)
        & r.in_reply_to.notnull()
        & r.sib_party.notnull()
        & (r.sib_party != r.party)
    )
    r = r.mutate(
        reply_rule=ibis.cases(
            (by_sibling, "follows another party's comment on the same post"),
            (r.parent_party.notnull(), "in_reply_to"),
            else_=ibis.null("string"),
        ),
        parent_party=ibis.ifelse(by_sibling, r.sib_party, r.parent_party),
        parent_side=ibis.ifelse(by_sibling, r.sib_side, r.parent_side),
        parent_seq=ibis.ifelse(by_sibling, r.sib_seq, r.parent_seq),
    ).drop("sib_party", "sib_side", "sib_seq")
    r = r.mutate(
        is_reply=r.parent_party.notnull() & (r.parent_party != r.party),
        replies_outside=r.in_reply_to.notnull() & r.parent_party.isnull(),
        n_targets=r.targets.length().fill_null(0),
    )

    # Cues (text second); brand-only cues are computed on brand turns only.
    t = r.clean
    on_brand = r.side == BRAND
    r = r.mutate(
        is_question=_has(t, cues.QUESTION),
        is_demand=_has(t, cues.DEMAND),
        is_escalation=_has(t, cues.ESCALATION),
        private_cue=_evidence(t, cues.MOVE_PRIVATE),
        cta_cue=_evidence(t, cues.CALL_TO_ACTION),
        is_ack=ibis.ifelse(on_brand, _has(t, cues.ACKNOWLEDGE), False),
        is_probe=ibis.ifelse(on_brand, _has(t, cues.PROBE), False),
        is_resource=ibis.ifelse(on_brand, _has(r.text, cues.RESOURCE), False),
        n_words=_words(t.re_replace(cues.HANDLE, "").strip()),
    )
    # A forum question is a request by its kind, whatever its wording.
    r = r.mutate(is_request=r.is_question | r.is_demand | (r.kind == "question"))

    # Templates: the same normalised brand wording (no links, handles, signature, digits or
    # punctuation; lower case) sent to many recipients (conversation × party answered), so
    # the same line sent to many customers under one broadcast counts as across threads.
    bn = r.filter(r.side == BRAND)
    bn = bn.select(
        b_id=bn.interaction_id,
        b_entity=bn.actor_entity,
        b_rec=bn.conversation_id.concat("|", bn.parent_party.fill_null("")),
        b_norm=bn.clean.re_replace(cues.HANDLE, " ")
        .re_replace(cues.SIGNATURE, " ")
        .lower()
        .translate(_NOT_LETTERS, "")
        .strip(),
    )
    bn = bn.filter(bn.b_norm.length() >= TEMPLATE_MIN_CHARS)
    reuse = (
        bn.select("b_entity", "b_norm", "b_rec")
        .distinct()
        .group_by(u_entity="b_entity", u_norm="b_norm")
        .aggregate(template_uses=_.count())
        .filter(_.template_uses >= template_min_conversations)
    )
    tmpl = bn.join(reuse, [bn.b_entity == reuse.u_entity, bn.b_norm == reuse.u_norm]).select(
        t_id="b_id", t_uses="template_uses"
    )
    r = r.left_join(tmpl, r.interaction_id == tmpl.t_id).drop("t_id")
    r = r.mutate(
        template_uses=r.t_uses.fill_null(0),
        is_template=(r.side == BRAND) & r.t_uses.notnull(),
    ).drop("t_uses")

    # Storage columns no later step reads (the interaction keeps them).
    r = r.drop("clean", "targets", "value", "thread_derived", "import_id")
    return r.mutate(
        # A brand turn that engages with the substance (not a template, a deflection to
        # another channel or resource, or a bare acknowledgement): seed 002's line
        # between "pretending" (3) and "objective" (6).
        brand_move=ibis.cases(
            (r.side != BRAND, ibis.null("string")),
            (r.is_template, "template"),
            (r.private_cue.notnull(), "deflect"),
            (r.is_probe & ~r.is_resource, "probe"),
            (r.is_resource & (r.n_words <= SHORT_WORDS), "resource"),
            (r.is_ack & (r.n_words <= SHORT_WORDS), "acknowledge"),
            else_="inform",
        )
    )


def conversation_features(turns_t: ir.Table, labels: ir.Table | None = None) -> ir.Table:
    """One row per conversation from :func:`turns` and ``message_labels``."""
    t = with_labels(turns_t, labels)
    # ---- the first turn: who started ------------------------------------------------
    first = t.filter(t.seq == 1).select(
        f_conv=t.conversation_id,
        initiator=t.actor_entity,
        initiator_role=t.role,
        initiator_side=t.side,
        initiator_party=t.party,
        initiator_text=t.text,
        initiator_cta=t.cta_cue,
        started_at=t.ts,
    )
    t = t.join(first, t.conversation_id == first.f_conv).drop("f_conv")

    # ---- was each request answered (a reply to it from another party)? -------------------
    answers = (
        t.filter(t.is_reply)
        .group_by(a_id=t.in_reply_to)
        .aggregate(a_first=t.ts.min(), a_brand=(t.side == BRAND).any())
    )
    t = t.left_join(answers, t.interaction_id == answers.a_id).drop("a_id")
    t = t.mutate(was_answered=t.a_first.notnull(), answered_by_brand=t.a_brand.fill_null(False))

    # ---- what the parent turn was (a brand's diagnostic question?) --------------------
    pmoves = t.select(pm_id=t.interaction_id, parent_move=t.brand_move)
    t = t.left_join(pmoves, t.in_reply_to == pmoves.pm_id).drop("pm_id")

    # ---- latency between consecutive turns that change party -------------------------
    w = ibis.window(group_by=t.conversation_id, order_by=[t.seq])
    t = t.mutate(prev_party=t.party.lag().over(w), prev_ts=t.ts.lag().over(w))
    t = t.mutate(
        switch_latency=ibis.ifelse(
            t.prev_party.notnull() & (t.prev_party != t.party),
            _seconds(t.ts, t.prev_ts),
            ibis.null("float64"),
        )
    )

    # ---- main customer: the customer party most engaged with the brand ------------------
    cust = t.filter(t.side == "customer")
    engagement = cust.group_by(m_conv=cust.conversation_id, m_party=cust.party).aggregate(
        m_brand_edges=(cust.is_reply & (cust.parent_side == BRAND)).cast("int64").sum()
        + cust.answered_by_brand.cast("int64").sum(),
        m_turns=_.count(),
        m_first=cust.seq.min(),
    )
    engagement = engagement.mutate(
        m_rank=ibis.row_number().over(
            group_by=engagement.m_conv,
            order_by=[(engagement.m_brand_edges > 0).desc(), engagement.m_first],
        )
    )
    main = engagement.filter(engagement.m_rank == 0).select(
        "m_conv", main_customer="m_party", main_customer_brand_edges="m_brand_edges"
    )
    t = t.left_join(main, t.conversation_id == main.m_conv).drop("m_conv")
    t = t.mutate(is_mc=(t.party == t.main_customer).fill_null(False))

    # ---- reciprocity: a pair of parties that answered each other ------------------------
    pairs = (
        t.filter(t.is_reply)
        .select(e_conv=t.conversation_id, e_from=t.party, e_to=t.parent_party)
        .distinct()
    )
    back = pairs.select(r_conv="e_conv", r_from="e_to", r_to="e_from")
    recip = (
        pairs.join(
            back,
            [pairs.e_conv == back.r_conv, pairs.e_from == back.r_from, pairs.e_to == back.r_to],
        )
        .group_by(rc_conv="e_conv")
        .aggregate(reciprocal_pairs=(_.count() / 2).cast("int64"))
    )

    # ---- the brand entity of the thread (most turns among brand-side accounts) ----------
    bcount = (
        t.filter(t.side == BRAND)
        .group_by(b_conv=t.conversation_id, b_entity=t.actor_entity)
        .aggregate(b_n=_.count(), b_role=(t.role.isin(BRAND_ROLES)).any())
    )
    bcount = bcount.mutate(
        b_rank=ibis.row_number().over(
            group_by=bcount.b_conv,
            order_by=[bcount.b_role.desc(), bcount.b_n.desc(), bcount.b_entity],
        )
    )
    brand_of = bcount.filter(bcount.b_rank == 0).select("b_conv", brand="b_entity")

    # ---- participants in order of first turn -------------------------------------------
    per = t.group_by(p_conv=t.conversation_id, p_entity=t.actor_entity).aggregate(
        p_role=_first(t.role, t.seq),
        p_side=_first(t.side, t.seq),
        p_rule=_first(t.side_rule, t.seq),
        p_turns=_.count(),
        p_first=t.seq.min(),
    )
    plist = per.group_by(pl_conv=per.p_conv).aggregate(
        participants=_ordered(per.p_entity, per.p_first),
        participant_roles=_ordered(
            ibis.ifelse((per.p_side == BRAND) & ~per.p_role.isin(BRAND_ROLES), "brand", per.p_role),
            per.p_first,
        ),
        participant_side_rules=_ordered(per.p_rule, per.p_first),
        turns_by_participant=_ordered(per.p_turns, per.p_first),
    )

    # The author waits from their first unanswered ask (a question, demand, escalation or a
    # complaint) after the last turn anyone else wrote; a closing "thank you" waits for nothing.
    t = t.mutate(
        _last_other=ibis.ifelse(t.is_mc, ibis.null("timestamp"), t.ts)
        .max()
        .over(group_by=t.conversation_id)
    )
    is_mc = t.is_mc
    needs_answer = (
        is_mc
        & (t.is_request | t.is_escalation | (t.sentiment < -0.05))
        & (t._last_other.isnull() | (t.ts > t._last_other))
    )
    brand = t.side == BRAND
    customer = t.side == "customer"
    after_first = t.seq > 1
    other_party = t.party != t.initiator_party
    has_sent = t.sentiment.notnull()
    # A follow-up answers another party's reply; answering a broadcast is an opening turn.
    followup = t.is_reply & (t.parent_seq > 1)
    peer = (
        t.is_reply
        & customer
        & (t.parent_side == "customer")
        & (t.party != t.initiator_party)
        & (t.parent_party != t.initiator_party)
    )
    agg = t.group_by("conversation_id").aggregate(
        source=_first(t.source, t.seq),
        channel=_first(t.channel, t.seq),
        n_channels=t.channel.nunique(),
        initiator=t.initiator.min(),
        initiator_role=t.initiator_role.min(),
        initiator_side=t.initiator_side.min(),
        started_at=t.started_at.min(),
        ended_at=t.ts.max(),
        n_turns=_.count(),
        n_participants=t.actor_entity.nunique(),
        n_parties=t.party.nunique(),
        n_customer_parties=t.party.nunique(where=customer),
        n_brand_accounts=t.actor_entity.nunique(where=brand),
        customer_turns=customer.cast("int64").sum(),
        brand_turns=brand.cast("int64").sum(),
        parties_with_2_turns=t.party.nunique(where=t.party.notnull()),  # refined below
        # answers
        first_response_at=t.ts.min(where=other_party & after_first),
        brand_first_response_at=t.ts.min(where=brand & after_first & (t.initiator_side != BRAND)),
        initiator_answered=(t.is_reply & (t.party == t.initiator_party)).any(),
        request_answered=(t.is_request & t.was_answered).any(),
        any_reply=t.is_reply.any(),
        brand_replies=(brand & (t.is_reply | t.replies_outside)).cast("int64").sum(),
        brand_answered=(customer & t.answered_by_brand).any(),
        brand_answered_parties=t.parent_party.nunique(where=brand & t.is_reply),
        latency_mean_s=t.switch_latency.mean(),
        latency_median_s=t.switch_latency.approx_median(),
        latency_max_s=t.switch_latency.max(),
        peer_replies=peer.cast("int64").sum(),
        # visibility
        n_public=(t.visibility == "public").cast("int64").sum(),
        n_private=(t.visibility == "private").cast("int64").sum(),
        first_public_seq=t.seq.min(where=t.visibility == "public"),
        last_private_seq=t.seq.max(where=t.visibility == "private"),
        private_evidence=_first(
            t.private_cue + " (" + t.side + ")", t.seq, t.private_cue.notnull()
        ),
        n_private_cues=t.private_cue.notnull().cast("int64").sum(),
        # asks
        customer_questions=(customer & t.is_question).cast("int64").sum(),
        customer_demands=(customer & t.is_demand).cast("int64").sum(),
        customer_requests=(customer & t.is_request).cast("int64").sum(),
        customer_escalations=(customer & t.is_escalation).cast("int64").sum(),
        max_tagged=t.n_targets.max(where=customer),
        escalation_evidence=_first(
            _evidence(t.text, cues.ESCALATION), t.seq, customer & t.is_escalation
        ),
        request_evidence=_first(t.text, t.seq, customer & t.is_request),
        # main customer
        main_customer=t.main_customer.min(),
        mc_turns=is_mc.cast("int64").sum(),
        mc_followups=(is_mc & followup).cast("int64").sum(),
        mc_requests=(is_mc & t.is_request).cast("int64").sum(),
        mc_questions=(is_mc & t.is_question).cast("int64").sum(),
        mc_demands=(is_mc & t.is_demand).cast("int64").sum(),
        mc_escalations=(is_mc & t.is_escalation).cast("int64").sum(),
        mc_requests_after=(is_mc & followup & (t.is_request | t.is_escalation)).cast("int64").sum(),
        mc_answered_probe=(is_mc & followup & (t.parent_move == "probe")).any(),
        mc_max_tagged=t.n_targets.max(where=is_mc),
        # tagging many handles escalates only in a turn that asks or complains
        mc_max_tagged_pressing=t.n_targets.max(
            where=is_mc & (t.is_request | t.is_escalation | (t.sentiment < -0.05))
        ),
        mc_words=t.n_words.sum(where=is_mc),
        mc_sentiment_mean=t.sentiment.mean(where=is_mc),
        mc_sentiment_min=t.sentiment.min(where=is_mc),
        mc_followup_sentiment=t.sentiment.mean(where=is_mc & followup),
        mc_intents=_ordered(t.intent, t.seq, is_mc & t.intent.notnull()),
        # brand moves
        brand_words=t.n_words.sum(where=brand),
        brand_templates=(brand & t.is_template).cast("int64").sum(),
        brand_template_evidence=_first(t.text, t.seq, brand & t.is_template),
        brand_substantive=(brand & (t.brand_move == "inform")).cast("int64").sum(),
        brand_probes=(brand & (t.brand_move == "probe")).cast("int64").sum(),
        brand_deflections=(brand & t.brand_move.isin(("deflect", "resource"))).cast("int64").sum(),
        brand_acks=(brand & (t.brand_move == "acknowledge")).cast("int64").sum(),
        brand_moves=_ordered(t.brand_move, t.seq, brand),
        brand_actions=_ordered(t.action, t.seq, brand & t.action.notnull()),
        substantive_evidence=_first(t.text, t.seq, brand & (t.brand_move == "inform")),
        brand_cta=_first(t.cta_cue, t.seq, brand & t.cta_cue.notnull()),
        n_calls_to_action=t.cta_cue.notnull().cast("int64").sum(),
        initiator_cta=t.initiator_cta.min(),
        # sentiment
        sentiment_start=_first(t.sentiment, t.seq, has_sent),
        sentiment_end=_last(t.sentiment, t.seq, has_sent),
        sentiment_mean=t.sentiment.mean(),
        customer_sentiment_start=_first(t.sentiment, t.seq, has_sent & customer),
        customer_sentiment_end=_last(t.sentiment, t.seq, has_sent & customer),
        customer_sentiment_min=t.sentiment.min(where=customer),
        _n_s=has_sent.cast("int64").sum(),
        _sx=t.seq.cast("float64").sum(where=has_sent),
        _sy=t.sentiment.sum(),
        _sxy=(t.seq.cast("float64") * t.sentiment).sum(),
        _sxx=(t.seq.cast("float64") * t.seq.cast("float64")).sum(where=has_sent),
        # last turn: is the customer waiting for the brand?
        waiting_since=t.ts.min(where=needs_answer),
    )
    two = (
        t.group_by(q_conv=t.conversation_id, q_party=t.party)
        .aggregate(q_n=_.count())
        .group_by("q_conv")
        .aggregate(q_parties=(_.q_n >= 2).cast("int64").sum())
    )
    agg = agg.drop("parties_with_2_turns")
    agg = agg.left_join(two, agg.conversation_id == two.q_conv).drop("q_conv")
    agg = agg.rename(parties_with_2_turns="q_parties")
    agg = agg.left_join(recip, agg.conversation_id == recip.rc_conv).drop("rc_conv")
    agg = agg.left_join(brand_of, agg.conversation_id == brand_of.b_conv).drop("b_conv")
    agg = agg.left_join(plist, agg.conversation_id == plist.pl_conv).drop("pl_conv")

    den = agg._n_s.cast("float64") * agg._sxx - agg._sx * agg._sx
    slope = ibis.ifelse(
        (agg._n_s >= 2) & (den != 0),
        (agg._n_s.cast("float64") * agg._sxy - agg._sx * agg._sy) / den,
        ibis.null("float64"),
    )
    public = agg.n_public > 0
    return agg.mutate(
        reciprocal_pairs=agg.reciprocal_pairs.fill_null(0),
        turn_balance=ibis.ifelse(
            ibis.greatest(agg.customer_turns, agg.brand_turns) > 0,
            ibis.least(agg.customer_turns, agg.brand_turns).cast("float64")
            / ibis.greatest(agg.customer_turns, agg.brand_turns).cast("float64"),
            ibis.null("float64"),
        ),
        answered=agg.first_response_at.notnull(),
        first_response_s=_seconds(agg.first_response_at, agg.started_at),
        brand_first_response_s=_seconds(agg.brand_first_response_at, agg.started_at),
        visibility=ibis.cases(
            (public & (agg.n_private > 0), "mixed"),
            (public, "public"),
            else_="private",
        ),
        # Structure first: public turns followed by private ones in the same thread.
        moved_private_structural=public
        & agg.last_private_seq.notnull()
        & (agg.last_private_seq > agg.first_public_seq),
        # asks beyond the first, plus turns that say they are asking again ("still waiting")
        repeated_asks=ibis.greatest(agg.customer_requests - 1, 0) + agg.customer_escalations,
        template_share=ibis.ifelse(
            agg.brand_turns > 0,
            agg.brand_templates.cast("float64") / agg.brand_turns.cast("float64"),
            ibis.null("float64"),
        ),
        sentiment_trajectory=agg.sentiment_end - agg.sentiment_start,
        sentiment_slope=slope,
        duration_s=_seconds(agg.ended_at, agg.started_at),
    ).drop("_n_s", "_sx", "_sy", "_sxy", "_sxx", "first_response_at", "brand_first_response_at")


def with_labels(turns_t: ir.Table, labels: ir.Table | None) -> ir.Table:
    """Attach the per-message text scores (``message_labels``) to the turns."""
    if labels is None:
        return turns_t.mutate(
            sentiment=ibis.null("float64"),
            sentiment_label=ibis.null("string"),
            intent=ibis.null("string"),
            intent_reason=ibis.null("string"),
            action=ibis.null("string"),
            action_reason=ibis.null("string"),
        )
    lab = labels.select(*LABEL_COLUMNS, l_id=labels.interaction_id)
    return turns_t.left_join(lab, turns_t.interaction_id == lab.l_id).drop("l_id")
