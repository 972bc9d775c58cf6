"""Sociability of a conversation, exactly as ``SOCIABILITY.md`` defines it.

Labels per conversation, each with the rule or evidence that decided it:

* ``pattern`` — one-way / dialogic / collaborative (Soffer, seed 003);
* ``transparent`` — the exchange is visible to outsiders (public turns);
* ``moved_private`` — a public exchange moved to a private channel;
* ``customer_degree`` — 1 monologue … 6 community (Lieberman, seed 002, customer side);
* ``business_degree`` — 1 broadcast … 6 community/objective, or none (seed 002, business side).

Structure decides first — how many parties spoke, who answered whom, whether the
initiator ever answered, whether peers answered each other, public or private, how the
turns are shared — and text second: whether a turn asks or demands, escalates, moves to
a private channel, baits with a call to action, or (for the brand) only acknowledges,
templates or deflects instead of engaging with the substance. Every rule is a row of a
decision list below; the first rule that holds gives the label and its reason.

The rules were written from the definitions and then checked against the 70 labelled
development conversations (``eval/conversations.py``); the few numeric thresholds in
:class:`Rules` are the ones that evaluation cross-validates.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

DEGREE_NAMES_CUSTOMER = {
    1: "monologue",
    2: "venting",
    3: "skewed",
    4: "social pressure",
    5: "objective",
    6: "community",
}
DEGREE_NAMES_BUSINESS = {
    1: "broadcast",
    2: "broadcast with bait",
    3: "pretending",
    4: "comment, nicely please",
    5: "fingers crossed",
    6: "community / objective",
}


@dataclass(frozen=True)
class Rules:
    """The numeric choices of the rules (defaults are the documented ones).

    ``many_to_many``: ``"peers"`` — customers other than the initiator answer each
    other; ``"peers_or_pairs"`` — that, or the initiator holds reciprocal exchanges
    with two or more others.
    """

    many_to_many: str = "peers_or_pairs"
    venting_sentiment: float = -0.25  # main customer's mean sentiment at or below: venting
    hostile_sentiment: float = -0.3  # follow-ups this negative are not "objective"
    objective_followups: int = 2  # customer turns answering the other side, for degree 5
    substantive_probes: int = 2  # diagnostic questions that count as engaging (troubleshooting)
    tagging_escalation: int = 3  # handles addressed in one customer turn: public escalation
    fingers_crossed_share: float = 0.2  # brand share of turns in a community it opened


DEFAULT_RULES = Rules()


def _decide(rules: list[tuple[ir.BooleanValue, object, ir.StringValue | str]], default):
    """(label, reason) of a decision list: the first condition that holds wins."""
    label = ibis.cases(*[(c, lab) for c, lab, _ in rules], else_=default[0])
    reason = ibis.cases(*[(c, why) for c, _, why in rules], else_=default[1])
    return label, reason


def _s(x: ir.Value) -> ir.StringValue:
    return x.cast("string").fill_null("?")


def _quote(x: ir.StringValue, n: int = 90) -> ir.StringValue:
    return "'" + x.fill_null("").substr(0, n).re_replace(r"\s+", " ") + "'"


def label_conversations(f: ir.Table, rules: Rules = DEFAULT_RULES) -> ir.Table:
    """``conversation_features`` → the same rows plus every sociability label and reason."""
    has_brand = f.brand_turns > 0
    customers = f.n_customer_parties
    peers = f.peer_replies.fill_null(0) >= 1
    many = peers if rules.many_to_many == "peers" else peers | (f.reciprocal_pairs >= 2)

    # -- pattern ------------------------------------------------------------------------
    collaborative = (f.n_parties >= 3) & (~has_brand | (peers & (customers >= 3)))
    pattern, pattern_reason = _decide(
        [
            (
                f.n_parties <= 1,
                "one-way",
                "one-way: only " + _s(f.initiator) + " spoke (" + _s(f.n_turns) + " turns)",
            ),
            (
                collaborative & ~has_brand,
                "collaborative",
                "collaborative: " + _s(f.n_parties) + " parties contribute and no brand owns"
                " the thread (" + _s(f.peer_replies) + " replies between peers)",
            ),
            (
                collaborative,
                "collaborative",
                "collaborative: customers answer each other ("
                + _s(f.peer_replies)
                + " peer replies) beside the brand",
            ),
            (
                f.initiator_answered,
                "dialogic",
                "dialogic: the initiator (" + _s(f.initiator_side) + ") answered the other side;"
                " " + _s(f.n_parties) + " parties",
            ),
            (
                f.request_answered,
                "dialogic",
                "dialogic: a question or demand was answered by another party ("
                + _quote(f.request_evidence, 60)
                + ")",
            ),
            (
                f.reciprocal_pairs >= 1,
                "dialogic",
                "dialogic: " + _s(f.reciprocal_pairs) + " pair(s) of parties answered each other",
            ),
        ],
        (
            "one-way",
            "one-way: others replied but the initiator never answered and no question or"
            " demand was answered",
        ),
    )
    f = f.mutate(pattern=pattern, pattern_reason=pattern_reason)

    # -- transparent / moved_private -------------------------------------------------
    f = f.mutate(
        transparent=f.n_public > 0,
        transparent_reason=ibis.ifelse(
            f.n_public > 0,
            _s(f.n_public) + " of " + _s(f.n_turns) + " turns are public (" + f.channel + ")",
            "all " + _s(f.n_turns) + " turns are private (" + f.channel + ")",
        ),
    )
    moved, moved_reason = _decide(
        [
            (
                f.moved_private_structural,
                True,
                ibis.literal("public turns are followed by private ones in the thread"),
            ),
            (
                (f.n_public > 0) & f.private_evidence.notnull(),
                True,
                "asks to move to a private channel: " + _quote(f.private_evidence, 60),
            ),
        ],
        (False, ibis.ifelse(f.n_public > 0, "no move to a private channel", "never public")),
    )
    f = f.mutate(moved_private=moved, moved_private_reason=moved_reason)

    # -- business degree --------------------------------------------------------------
    brand_started = f.initiator_side == "brand"
    substantive = (f.brand_substantive >= 1) | (f.brand_probes >= rules.substantive_probes)
    brand_share = f.brand_turns.cast("float64") / f.n_turns.cast("float64")
    moves = f.brand_moves.join(", ")
    business, business_reason = _decide(
        [
            (
                ~has_brand,
                ibis.null("int64"),
                ibis.literal("none: no brand account takes part"),
            ),
            (
                brand_started & (f.brand_replies == 0) & f.initiator_cta.notnull(),
                2,
                "2 broadcast with bait: the brand announces with a call to action ("
                + _quote(f.initiator_cta, 40)
                + ") and answers nobody",
            ),
            (
                brand_started & (f.brand_replies == 0),
                1,
                "1 broadcast: the brand announces and answers none of "
                + _s(customers)
                + " customer(s)",
            ),
            (
                brand_started
                & (customers >= 3)
                & ~many
                & (f.brand_answered_parties.cast("float64") * 3 < customers.cast("float64")),
                4,
                "4 comment, nicely please: the brand published and answered "
                + _s(f.brand_answered_parties)
                + " of "
                + _s(customers)
                + " commenters",
            ),
            (
                brand_started & many & (brand_share <= rules.fingers_crossed_share),
                5,
                "5 fingers crossed: the brand opened the space and leaves customers to it ("
                + _s(f.brand_turns)
                + " of "
                + _s(f.n_turns)
                + " turns)",
            ),
            (
                substantive & (f.brand_substantive >= 1),
                6,
                "6 objective: the brand engages with the substance, e.g. "
                + _quote(f.substantive_evidence),
            ),
            (
                substantive,
                6,
                "6 objective: the brand troubleshoots ("
                + _s(f.brand_probes)
                + " diagnostic questions)",
            ),
        ],
        (
            3,
            "3 pretending: the brand only acknowledges, templates or deflects (" + moves + ")",
        ),
    )
    f = f.mutate(business_degree=business.cast("int64"), business_reason=business_reason)

    # -- customer degree --------------------------------------------------------------
    conversed = f.mc_followups >= 1
    asks = f.mc_requests >= 1
    presses = (f.mc_escalations >= 1) | (
        f.mc_max_tagged_pressing.fill_null(0) >= rules.tagging_escalation
    )
    negative = f.mc_sentiment_mean <= rules.venting_sentiment
    objective = (
        conversed
        & (f.mc_followups >= rules.objective_followups)
        & (f.business_degree == 6)
        & (f.mc_followup_sentiment.fill_null(0) > rules.hostile_sentiment)
    )
    customer, customer_reason = _decide(
        [
            (
                f.customer_turns == 0,
                ibis.null("int64"),
                ibis.literal("none: no customer speaks"),
            ),
            (
                (f.pattern == "collaborative") & many,
                6,
                "6 community: many-to-many, "
                + _s(customers)
                + " customers ("
                + _s(f.peer_replies)
                + " peer replies, "
                + _s(f.reciprocal_pairs)
                + " reciprocal pairs)",
            ),
            (
                f.pattern == "collaborative",
                5,
                "5 objective: the initiator works it out with "
                + _s(f.n_parties - 1)
                + " others, all through the initiator",
            ),
            (
                objective,
                5,
                "5 objective: balanced back-and-forth ("
                + _s(f.mc_followups)
                + " follow-ups) with a brand that engages",
            ),
            (
                conversed & (f.mc_requests_after >= 1),
                4,
                "4 social pressure: keeps asking after the reply ("
                + _s(f.mc_requests)
                + " requests) "
                + _quote(f.request_evidence, 60),
            ),
            (
                conversed & f.mc_answered_probe,
                3,
                "3 skewed: answers the brand's questions, the brand steers ("
                + _s(f.mc_followups)
                + " follow-ups)",
            ),
            (
                asks | presses,
                4,
                "4 social pressure: asks or demands ("
                + _s(f.mc_requests)
                + " requests, "
                + _s(f.mc_escalations)
                + " escalations) "
                + _quote(f.request_evidence, 60),
            ),
            (
                negative,
                2,
                "2 venting: negative without asking (mean sentiment "
                + _s(f.mc_sentiment_mean.round(2))
                + ")",
            ),
            (
                conversed,
                3,
                "3 skewed: a one-sided exchange ("
                + _s(f.mc_followups)
                + " follow-ups, brand "
                + moves.fill_null("")
                + ")",
            ),
        ],
        (1, "1 monologue: says their piece, asks nothing, no exchange follows"),
    )
    return f.mutate(customer_degree=customer.cast("int64"), customer_reason=customer_reason)


def brand_habit(conversations: ir.Table) -> ir.Table:
    """Each brand's distribution of business degrees over its conversations (seed 002:
    a business "becoming social" moves up the scale)."""
    c = conversations.filter(conversations.brand.notnull())
    per = c.group_by(["brand", "business_degree"]).aggregate(n=c.count())
    tot = per.group_by(t_brand=per.brand).aggregate(total=per.n.sum())
    out = per.join(tot, per.brand == tot.t_brand).drop("t_brand")
    return out.mutate(share=out.n.cast("float64") / out.total.cast("float64")).order_by(
        ["brand", "business_degree"]
    )
