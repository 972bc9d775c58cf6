"""Sociability labels (SOCIABILITY.md) on real threads whose answer is obvious from the text,
and on hand-made threads for the degrees no real file here shows (broadcast, bait,
"comment, nicely please", "fingers crossed")."""

from __future__ import annotations

import pytest

from socialcrm.conversations.sociability import brand_habit, label_conversations
from socialcrm.workspace import Workspace

from .conftest import labels

SE = "stackexchange_quantumcomputing_2018"


@pytest.mark.parametrize(
    ("conv_id", "pattern", "why"),
    [
        # SE 1519 (Curry-Howard): nobody answered or commented; only the asker spoke.
        (f"{SE}:q:1519", "one-way", "only"),
        # twcs 4295: a customer quotes a flight attendant; Southwest thanks; the customer
        # never answers back and asked nothing.
        ("twcs:4295", "one-way", "never answered"),
        # twcs 3027: "do u run the direct BA flights lgw - Lima...?" - BA answers, the
        # customer asks about next winter, BA answers again: a two-party back-and-forth.
        ("twcs:3027", "dialogic", "initiator"),
        # SE 1860 (qudit vs two qubits): five answers by different users who comment on
        # each other's answers; no company in the thread.
        (f"{SE}:q:1860", "collaborative", "no brand"),
        # hand-made forum space: customers answer each other while the brand says one line
        ("handmade:fc:1", "collaborative", "peer"),
    ],
)
def test_pattern(conv_ws: Workspace, conv_id: str, pattern: str, why: str) -> None:
    c = labels(conv_ws, conv_id)
    assert c["pattern"] == pattern
    assert c["pattern_reason"].startswith(pattern) and why in c["pattern_reason"]


def test_transparent(conv_ws: Workspace) -> None:
    # public tweets are visible to anyone; an e-mail exchange is not
    c = labels(conv_ws, "twcs:3027")
    assert c["transparent"] and "public" in c["transparent_reason"]
    c = labels(conv_ws, "handmade:mail:1")
    assert not c["transparent"] and "private" in c["transparent_reason"]


@pytest.mark.parametrize(
    ("conv_id", "moved", "evidence"),
    [
        ("twcs:1637", True, "DM"),  # Postmates: "Please DM us your account email"
        ("twcs:3923", True, "DM"),  # Verizon: "Please follow and DM us."
        ("twcs:672", True, "Contact us"),  # Amazon: "Contact us by Phone or Chat"
        ("twcs:3027", False, "no move"),  # BA answers the route question in public
        ("handmade:tw:1", True, "followed by private"),  # public tweet, then DMs
        ("handmade:mail:1", False, "never public"),  # private from the start
    ],
)
def test_moved_private(conv_ws: Workspace, conv_id: str, moved: bool, evidence: str) -> None:
    c = labels(conv_ws, conv_id)
    assert c["moved_private"] is moved
    assert evidence in c["moved_private_reason"]


@pytest.mark.parametrize(
    ("conv_id", "degree"),
    [
        # twcs 1621: only AzureSupport's two tweets are in the file: no customer speaks.
        ("twcs:1621", None),
        # twcs 4295: praise for a flight attendant, no question, no request.
        ("twcs:4295", 1),
        # twcs 672: "I'm NEVER using Amazon again! ... sent it to the WRONG COUNTRY!" and
        # "I've been refunded! I'm just not impressed": venting, nothing asked.
        ("twcs:672", 2),
        # twcs 5090: "#vegan First Class breakfast ... Disgraceful", then only answers the
        # brand's question with "Ba016 from Sydney.": the brand steers, one-sided.
        ("twcs:5090", 3),
        # IBM xV1T: tags the FBI, the DOJ, the BBB: "PLEASE kindly see my four emails ...
        # The urgency is now!": social pressure.
        ("ibm:xV1TwX3TlGch3S5vNnCY", 4),
        # twcs 6611: broken bag zipper; Delta explains the procedure, the customer asks
        # follow-ups, Delta answers each: engaged, balanced, towards an outcome.
        ("twcs:6611", 5),
        # SE 1860: five answerers and the asker discussing among themselves: many-to-many.
        (f"{SE}:q:1860", 6),
    ],
)
def test_customer_degree(conv_ws: Workspace, conv_id: str, degree: int | None) -> None:
    c = labels(conv_ws, conv_id)
    assert c["customer_degree"] == degree
    assert c["customer_reason"].startswith(str(degree) if degree else "none")


@pytest.mark.parametrize(
    ("conv_id", "degree"),
    [
        # SE 1860: a community site, no company account takes part.
        (f"{SE}:q:1860", None),
        # hand-made: "Our spring collection is in stores today." and silence after a question
        ("handmade:bc:1", 1),
        # hand-made: "Register now and download our free guide...": bait, no engagement
        ("handmade:bait:1", 2),
        # twcs 1637: "So sorry for the trouble! Please DM us your account email": an
        # apology and a deflection, nothing about the refund itself.
        ("twcs:1637", 3),
        # hand-made blog post with five comments; the brand answers one with "Thanks"
        ("handmade:blog:1", 4),
        # hand-made forum space the brand opened; customers help each other
        ("handmade:fc:1", 5),
        # twcs 6611: Delta: "Please return to the airport and file a Damaged Bag Report...
        # you must report your claim within 24 hours for U.S. travel": engages with substance.
        ("twcs:6611", 6),
        # IBM Y8q4: PlayStation explains the 24-hour payment block and wallet purchases.
        ("ibm:Y8q4Y0P33LtLfmhCasy8", 6),
    ],
)
def test_business_degree(conv_ws: Workspace, conv_id: str, degree: int | None) -> None:
    c = labels(conv_ws, conv_id)
    assert c["business_degree"] == degree
    assert c["business_reason"].startswith(str(degree) if degree else "none")


def test_every_label_has_a_reason(conv_ws: Workspace) -> None:
    missing = conv_ws.query(
        "SELECT count(*) AS n FROM conversations WHERE pattern_reason IS NULL"
        " OR transparent_reason IS NULL OR moved_private_reason IS NULL"
        " OR customer_reason IS NULL OR business_reason IS NULL OR urgency_reason IS NULL"
    ).to_pylist()[0]["n"]
    assert missing == 0
    values = (
        conv_ws.query("SELECT DISTINCT pattern FROM conversations ORDER BY 1")
        .column("pattern")
        .to_pylist()
    )
    assert set(values) <= {"one-way", "dialogic", "collaborative"}
    degrees = conv_ws.query(
        "SELECT DISTINCT customer_degree AS c, business_degree AS b FROM conversations"
    ).to_pylist()
    assert all(
        d["c"] in (None, 1, 2, 3, 4, 5, 6) and d["b"] in (None, 1, 2, 3, 4, 5, 6) for d in degrees
    )


def test_brand_habit_is_a_distribution_per_brand(conv_ws: Workspace) -> None:
    habit = conv_ws.engine.to_arrow(brand_habit(conv_ws.engine.table("conversations"))).to_pylist()
    by_brand: dict[str, float] = {}
    for r in habit:
        by_brand[r["brand"]] = by_brand.get(r["brand"], 0.0) + r["share"]
    assert all(abs(v - 1.0) < 1e-9 for v in by_brand.values())
    # AmazonHelp answers many twcs threads; its habit is spread over more than one degree
    amazon = [r for r in habit if r["brand"] == "twitter:AmazonHelp"]
    assert sum(r["n"] for r in amazon) >= 10 and len(amazon) >= 2


def test_rules_are_portable_expressions(conv_ws: Workspace) -> None:
    # The labels are one relational expression over conversation_features: recomputing
    # them gives the stored table's answers.
    expr = label_conversations(conv_ws.engine.table("conversation_features"))
    got = {
        r["conversation_id"]: (r["pattern"], r["customer_degree"], r["business_degree"])
        for r in conv_ws.engine.to_arrow(
            expr.select("conversation_id", "pattern", "customer_degree", "business_degree")
        ).to_pylist()
    }
    stored = conv_ws.query(
        "SELECT conversation_id, pattern, customer_degree, business_degree FROM conversations"
    ).to_pylist()
    assert all(
        got[r["conversation_id"]] == (r["pattern"], r["customer_degree"], r["business_degree"])
        for r in stored
    )
