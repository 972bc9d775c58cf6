"""Priority: the terms order conversations as the policy says, and every priority has reasons."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from socialcrm.routing import priority
from socialcrm.routing.policy import load_policy
from socialcrm.routing.sla import status

NOW = datetime(2024, 3, 1, 12, 0)


def rows(*overrides: dict) -> pd.DataFrame:
    base = {
        "urgency": "normal",
        "urgency_cue": "",
        "sentiment": 0.0,
        "visibility": "public",
        "n_tagged": 1,
        "other_customers": 0,
        "views": 0,
        "escalation": False,
        "customer_degree": None,
        "influence_pct": 0.5,
        "value_pct": 0.5,
        "value_basis": "activity",
        "tier": None,
        "arrived_at": NOW - timedelta(minutes=10),
        "first_response_at": None,
    }
    return pd.DataFrame([{**base, **o} for o in overrides])


def test_each_term_moves_priority_the_right_way() -> None:
    p = load_policy()
    base = {}
    cases = {
        "urgency": {"urgency": "critical", "urgency_cue": "'outage'"},
        "waiting": {"arrived_at": NOW - timedelta(hours=6)},
        "negativity": {"sentiment": -0.8},
        "social_pressure": {"n_tagged": 4, "other_customers": 3, "escalation": True},
        "influence": {"influence_pct": 0.99},
        "value": {"value_pct": 0.99},
    }
    for term, change in cases.items():
        s = priority.score(rows(base, change), p, NOW)
        assert s.priority[1] > s.priority[0], term
        top = s.reasons[1][0]
        assert top["term"] == term or top["contribution"] >= s.reasons[1][1]["contribution"]
        assert any(r["term"] == term and r["contribution"] > 0 for r in s.reasons[1])


def test_reasons_are_sorted_and_readable() -> None:
    s = priority.score(
        rows(
            {
                "urgency": "critical",
                "urgency_cue": "'is down'",
                "sentiment": -0.7,
                "arrived_at": NOW - timedelta(minutes=40),
            }
        ),
        load_policy(),
        NOW,
    )
    contributions = [r["contribution"] for r in s.reasons[0]]
    assert contributions == sorted(contributions, reverse=True)
    assert round(sum(contributions), 0) == round(s.priority[0], 0)
    assert s.reason_text[0].startswith("urgency critical ('is down') +30")
    assert "waiting 40 min of a 15 min first-response target" in s.reason_text[0]


def test_private_conversations_have_no_audience() -> None:
    s = priority.terms(
        rows({"visibility": "private", "n_tagged": 5, "other_customers": 4}), load_policy(), NOW
    )
    assert s["values"]["social_pressure"][0] == 0.0


def test_waiting_runs_on_the_resolution_clock_after_a_response() -> None:
    c = priority.clocks(
        rows(
            {
                "first_response_at": NOW - timedelta(minutes=5),
                "arrived_at": NOW - timedelta(hours=3),
            }
        ),
        load_policy(),
        NOW,
    )
    assert c["clock"][0] == "resolution" and c["target_min"][0] == 2880


def test_one_conversation_as_a_dict_of_columns() -> None:
    one = {k: [v] for k, v in rows({"urgency": "high"}).iloc[0].to_dict().items()}
    got = priority.score(one, load_policy(), NOW)
    assert isinstance(got, dict) and got["priority"][0] > 0 and got["reasons"][0]


def test_sla_statuses() -> None:
    t = lambda m: NOW + timedelta(minutes=m)  # noqa: E731
    arrived = [t(-100), t(-100), t(-100), t(-100), t(-10)]
    due = [t(-40), t(-40), t(-40), t(0), t(50)]
    done = [t(-50), t(-30), None, None, None]
    got = status(arrived, due, done, NOW, 0.75).tolist()
    assert got == ["hit", "missed", "missed", "at risk", "on track"]
