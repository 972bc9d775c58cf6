"""Conversation features on real threads (twcs, IBM, Stack Exchange) and hand-made edge cases.

Every real thread is named by its id, with why its right answer is obvious from the text.
"""

from __future__ import annotations

from datetime import datetime

from socialcrm.workspace import Workspace

from .conftest import features, labels

SE = "stackexchange_quantumcomputing_2018"


def test_participants_roles_turns_and_first_response(conv_ws: Workspace) -> None:
    # twcs 3941: a customer vents about streaming ESPN News in seven tweets (21:08-23:58);
    # VerizonSupport answers three times, first at 23:53:00. Two participants, one brand.
    f = features(conv_ws, "twcs:3941")
    assert f["participants"] == ["twitter:116659", "twitter:VerizonSupport"]
    assert f["participant_roles"] == ["customer", "brand"]
    assert f["turns_by_participant"] == [7, 3]
    assert (f["initiator"], f["initiator_role"], f["initiator_side"]) == (
        "twitter:116659",
        "customer",
        "customer",
    )
    assert (f["customer_turns"], f["brand_turns"]) == (7, 3)
    assert f["turn_balance"] == 3 / 7
    first = datetime(2017, 11, 25, 23, 53, 0) - datetime(2017, 11, 25, 21, 8, 41)
    assert f["first_response_s"] == first.total_seconds()
    assert f["brand_first_response_s"] == first.total_seconds()
    assert f["answered"] and f["brand_answered"]
    # between turns that change speaker: 23:48:09 -> 23:53:00 (291 s), then 58, 152, 95
    # and 202 s: once the brand is in, the two answer each other within minutes
    assert (f["latency_median_s"], f["latency_max_s"]) == (152.0, 291.0)
    # "This is absolute crap" opens; the exchange ends in calm troubleshooting
    assert f["customer_sentiment_start"] < 0
    assert f["sentiment_trajectory"] > 0
    assert f["visibility"] == "public"


def test_move_to_private_channel_with_evidence(conv_ws: Workspace) -> None:
    # twcs 5090: British Airways: "please send DM with your full name, booking reference..."
    f = features(conv_ws, "twcs:5090")
    assert f["private_evidence"] == "DM (brand)"
    assert not f["moved_private_structural"]  # the DM itself is not in the public file
    # twcs 672: AmazonHelp "Contact us by Phone or Chat"
    assert features(conv_ws, "twcs:672")["private_evidence"].lower().startswith("contact us")
    # twcs 3027: BA answers the Lima route question in public, never redirects
    assert features(conv_ws, "twcs:3027")["private_evidence"] is None


def test_structural_move_from_public_to_private(conv_ws: Workspace) -> None:
    # hand-made: a public tweet answered in a private DM thread: structure shows the move
    f = features(conv_ws, "handmade:tw:1")
    assert f["visibility"] == "mixed"
    assert f["moved_private_structural"]


def test_template_replies_across_recipients(conv_ws: Workspace) -> None:
    # twcs 409: McDonald's answers "Treat!" replies with the same recycled lines
    # ("Our heart's beating faster over here...") to different customers.
    f = features(conv_ws, "twcs:409")
    assert f["brand_templates"] >= 3
    assert (
        "beating faster" in f["brand_template_evidence"]
        or "McFlurry" in f["brand_template_evidence"]
    )
    turns = conv_ws.query(
        "SELECT text, is_template, template_uses FROM conversation_turns"
        " WHERE conversation_id = 'twcs:409' AND text LIKE '%beating faster%'"
    ).to_pylist()
    assert len(turns) == 4 and all(t["is_template"] and t["template_uses"] == 4 for t in turns)
    # a one-off, specific answer is no template: twcs 6611 (Delta's baggage-claim rules)
    assert features(conv_ws, "twcs:6611")["brand_templates"] == 0


def test_calls_to_action_in_a_broadcast(conv_ws: Workspace) -> None:
    # twcs 5355: T-Mobile's contest tweet "Submit your funniest costume ... for a chance to win"
    f = features(conv_ws, "twcs:5355")
    assert f["initiator_cta"] == "Submit your"
    assert f["initiator_side"] == "brand"


def test_brand_side_from_signature_and_handle_stem(conv_ws: Workspace) -> None:
    # twcs: account 115911 is anonymised but signs "*ErikS", "*JoanO" like T-Mobile agents
    rows = conv_ws.query(
        "SELECT actor_entity, side, side_rule FROM conversation_turns"
        " WHERE conversation_id = 'twcs:5355' ORDER BY seq"
    ).to_pylist()
    assert rows[0] == {
        "actor_entity": "twitter:115911",
        "side": "brand",
        "side_rule": "signs like a care agent",
    }
    # IBM yj2K...: the dialogue's first turn is by @Chase, the bank itself (company
    # ChaseSupport): "Our branches are open for customers who need us."
    rows = conv_ws.query(
        "SELECT actor_entity, side, side_rule FROM conversation_turns"
        " WHERE conversation_id = 'ibm:yj2KbZfeX2f8KadI6sbj' ORDER BY seq"
    ).to_pylist()
    assert rows[0]["side"] == "brand"
    assert rows[0]["side_rule"] == "handle is the stem of brand @chasesupport"
    assert rows[1]["side"] == "customer"


def test_questions_demands_escalation_and_tagging(conv_ws: Workspace) -> None:
    # IBM JZn9...: "...I have to re calibrate it every time ... I need a fix"
    assert features(conv_ws, "ibm:JZn94HHb19xRmFB6MfSK")["customer_demands"] == 1
    # IBM xV1T...: tags @FBIDallas @USAttyNealyCox @DOJPH @tim_cook @bbb_us @Dropbox
    # @DropboxSupport: "PLEASE kindly see my four emails ... The urgency is now!"
    f = features(conv_ws, "ibm:xV1TwX3TlGch3S5vNnCY")
    assert f["max_tagged"] == 7
    assert f["customer_escalations"] >= 1
    # hand-made: "Still waiting, this is the third time I ask." — a repeated ask
    f = features(conv_ws, "handmade:wait:1")
    assert f["customer_questions"] == 1 and f["customer_escalations"] == 1
    assert f["repeated_asks"] >= 1
    assert f["waiting_since"] == datetime(2024, 3, 7, 9, 0)
    # twcs 4295: a quote from a flight attendant, praise, no question
    f = features(conv_ws, "twcs:4295")
    assert (f["customer_questions"], f["customer_demands"]) == (0, 0)
    assert f["waiting_since"] is None


def test_forum_thread_peers_and_reply_structure(conv_ws: Workspace) -> None:
    # SE 2030 (anyons): user 434 comments on user 2293's answer — two answerers talking
    # to each other, not only to the asker.
    f = features(conv_ws, f"{SE}:q:2030")
    assert f["peer_replies"] >= 1
    assert f["n_parties"] == 4 and f["brand_turns"] == 0
    # votes, views and the accept are not turns: SE 1519 is one question, nothing else
    f = features(conv_ws, f"{SE}:q:1519")
    assert f["n_turns"] == 1 and f["n_participants"] == 1
    assert f["first_response_s"] is None and not f["answered"]


def test_turn_without_text_and_mixed_channels(conv_ws: Workspace) -> None:
    # hand-made: a phone call (no text, no sentiment) followed by an e-mail
    f = features(conv_ws, "handmade:call:1")
    assert f["n_turns"] == 2 and f["n_channels"] == 2 and f["channel"] == "phone"
    s = conv_ws.query(
        "SELECT t.interaction_id, l.sentiment FROM conversation_turns t"
        " LEFT JOIN message_labels l USING (interaction_id)"
        " WHERE t.conversation_id = 'handmade:call:1' ORDER BY t.seq"
    ).to_pylist()
    assert s[0]["sentiment"] is None and s[1]["sentiment"] is not None
    assert f["visibility"] == "private"


def test_message_labels_columns_and_sides(conv_ws: Workspace) -> None:
    cols = conv_ws.query("SELECT * FROM message_labels LIMIT 1").column_names
    assert cols == [
        "interaction_id",
        "sentiment",
        "sentiment_label",
        "intent",
        "intent_reason",
        "action",
        "action_reason",
    ]
    # intent is read on customer turns, action on brand turns — never both
    both = conv_ws.query(
        "SELECT count(*) AS n FROM message_labels WHERE intent IS NOT NULL AND action IS NOT NULL"
    ).to_pylist()[0]["n"]
    assert both == 0
    bad = conv_ws.query(
        "SELECT count(*) AS n FROM message_labels WHERE sentiment < -1 OR sentiment > 1"
        " OR sentiment_label NOT IN ('negative', 'neutral', 'positive')"
    ).to_pylist()[0]["n"]
    assert bad == 0
    n_turns = conv_ws.query(
        "SELECT count(*) AS n FROM conversation_turns WHERE text <> ''"
    ).to_pylist()[0]["n"]
    assert conv_ws.query("SELECT count(*) AS n FROM message_labels").to_pylist()[0]["n"] == n_turns


def test_every_conversation_has_one_feature_row(conv_ws: Workspace) -> None:
    n_conv = conv_ws.query(
        "SELECT count(DISTINCT conversation_id) AS n FROM conversation_turns"
    ).to_pylist()[0]["n"]
    n_feat = conv_ws.query(
        "SELECT count(*) AS n, count(DISTINCT conversation_id) AS d FROM conversation_features"
    ).to_pylist()[0]
    assert n_feat["n"] == n_feat["d"] == n_conv
    assert labels(conv_ws, "twcs:3941")["n_turns"] == 10
