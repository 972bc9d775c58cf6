"""Urgency: a score in [0, 1] whose reasons name the terms that drove it."""

from __future__ import annotations

import math

from socialcrm.conversations.urgency import WEIGHTS
from socialcrm.workspace import Workspace

from .conftest import labels


def test_weights_make_a_unit_score(conv_ws: Workspace) -> None:
    assert math.isclose(sum(WEIGHTS.values()), 1.0)
    row = conv_ws.query(
        "SELECT min(urgency) AS lo, max(urgency) AS hi, count(*) AS n FROM conversations"
    ).to_pylist()[0]
    assert 0.0 <= row["lo"] <= row["hi"] <= 1.0 and row["n"] > 500
    terms = ", ".join(f"min(urgency_{k}) AS lo_{k}, max(urgency_{k}) AS hi_{k}" for k in WEIGHTS)
    bounds = conv_ws.query(f"SELECT {terms} FROM conversations").to_pylist()[0]
    assert all(0.0 <= bounds[f"lo_{k}"] <= bounds[f"hi_{k}"] <= 1.0 for k in WEIGHTS)


def test_public_escalation_outranks_praise(conv_ws: Workspace) -> None:
    # IBM xV1T: tags the FBI, the DOJ, the BBB and Tim Cook: "PLEASE kindly see my four
    # emails this week. I am still unable to reset my password. The urgency is now!"
    loud = labels(conv_ws, "ibm:xV1TwX3TlGch3S5vNnCY")
    # twcs 4295: a customer quotes a funny flight attendant, thanks all round
    calm = labels(conv_ws, "twcs:4295")
    assert loud["urgency"] > calm["urgency"] + 0.1
    assert loud["urgency_escalation"] > 0.5
    assert "escalation" in loud["urgency_reason"]
    assert calm["urgency_escalation"] == 0 and calm["urgency_demands"] == 0


def test_waiting_without_answer(conv_ws: Workspace) -> None:
    # hand-made: "where is my refund? Still waiting, this is the third time I ask."
    # and nobody answered in the 48 h until the source's last message
    c = labels(conv_ws, "handmade:wait:1")
    assert math.isclose(c["urgency_waiting"], math.log1p(48) / math.log1p(72), rel_tol=1e-3)
    assert "48 h unanswered" in c["urgency_reason"]
    # hand-made e-mail: the customer's last word is "Thank you": nobody waits
    assert labels(conv_ws, "handmade:mail:1")["urgency_waiting"] == 0
    # twcs 1519-like case: a forum question nobody answered waits too
    q = labels(conv_ws, "stackexchange_quantumcomputing_2018:q:1519")
    assert q["urgency_waiting"] > 0.9


def test_reasons_list_the_largest_terms_first(conv_ws: Workspace) -> None:
    rows = conv_ws.query(
        "SELECT urgency, urgency_reason, "
        + ", ".join(f"urgency_{k}" for k in WEIGHTS)
        + " FROM conversations WHERE urgency > 0.3 LIMIT 200"
    ).to_pylist()
    assert rows
    for r in rows:
        contrib = {k: r[f"urgency_{k}"] * w for k, w in WEIGHTS.items()}
        top = max(contrib, key=contrib.get)
        assert r["urgency_reason"].split(" ")[0] == top or math.isclose(
            contrib[r["urgency_reason"].split(" ")[0]], contrib[top], abs_tol=1e-3
        )
        assert math.isclose(r["urgency"], sum(contrib.values()), abs_tol=2e-3)


def test_reach_grows_with_counterparts(conv_ws: Workspace) -> None:
    rows = conv_ws.query(
        "SELECT author_counterparts AS n, urgency_reach AS r FROM conversations"
        " WHERE author_counterparts IS NOT NULL ORDER BY n"
    ).to_pylist()
    assert rows[0]["n"] < rows[-1]["n"] and rows[0]["r"] < rows[-1]["r"]
    for r in rows[:: max(1, len(rows) // 50)]:
        assert math.isclose(r["r"], min(1.0, math.log1p(r["n"]) / math.log1p(100)), abs_tol=1e-3)


def test_no_customer_no_urgency(conv_ws: Workspace) -> None:
    # twcs 1621: only AzureSupport's own tweets are in the file
    c = labels(conv_ws, "twcs:1621")
    assert c["urgency"] == 0 and c["urgency_reason"] == "no customer in the conversation"
