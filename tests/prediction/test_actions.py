"""Each next-best-action rule fires on its hand-made case and not on a near miss."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from socialcrm.prediction.actions import RULES, ActionSettings, next_best_actions, rules_table

BASE = {
    "display_name": None,
    "tier_rank": 1.0,
    "days_since_last": 2.0,
    "tenure_days": 200.0,
    "registered_days": 400.0,
    "replied_share": 0.8,
    "own_sentiment": 0.3,
    "value_pct": 0.5,
    "influence_pct": 0.5,
    "churn_risk": 0.1,
    "top_driver": None,
    "top_driver_feature": None,
    "staff": None,
    "staff_strength": np.nan,
}


def ctx(**people: dict) -> pd.DataFrame:
    return pd.DataFrame([{**BASE, "entity_id": k, **v} for k, v in people.items()])


def alert(person: str, kind: str = "brand", other: str = "acme") -> dict:
    return {
        "alert_id": f"a-{person}",
        "kind": kind,
        "person": person,
        "other": other,
        "source_entity": person,
        "target_entity": other,
        "period_before": "2024-01",
        "period_after": "2024-04",
        "strength_before": 0.8,
        "strength_after": 0.3,
        "drop": 0.625,
        "value": np.nan,
        "influence": np.nan,
        "tier_rank": np.nan,
        "at_stake": 0.5,
        "evidence": "",
    }


def rule_of(actions: pd.DataFrame, entity: str) -> str | None:
    r = actions[actions["entity_id"] == entity]
    return None if r.empty else r["rule"].iloc[0]


def test_vip_with_negative_mood_and_weakening_brand_tie_gets_staff_outreach():
    people = ctx(
        vip={
            "value_pct": 0.95,
            "own_sentiment": -0.4,
            "staff": "Sam (support)",
            "staff_strength": 0.7,
        },
        happy_vip={"value_pct": 0.95, "own_sentiment": 0.4},
        small={"value_pct": 0.3, "own_sentiment": -0.4},
    )
    alerts = pd.DataFrame([alert("vip"), alert("happy_vip"), alert("small")])
    a = next_best_actions(alerts, people)
    assert rule_of(a, "vip") == "vip_brand_negative"
    row = a[a["entity_id"] == "vip"].iloc[0]
    assert row["by"] == "Sam (support)"
    assert "0.80 to 0.30" in row["reason"] and "negative" in row["reason"]
    assert "Sam (support) has the strongest tie to them (tie strength 0.70)" in row["reason"]
    # without the negative mood, or without the value, the generic brand check-in applies
    assert rule_of(a, "happy_vip") == "brand_tie_weakening"
    assert rule_of(a, "small") == "brand_tie_weakening"
    assert a[a["entity_id"] == "small"]["by"].iloc[0] == "the account team"


def test_superuser_gone_quiet_gets_a_personal_invitation():
    a = next_best_actions(
        None,
        ctx(
            quiet={"tier_rank": 2.0, "days_since_last": 30.0},
            busy={"tier_rank": 2.0, "days_since_last": 3.0},
            quiet_contributor={"tier_rank": 1.0, "days_since_last": 30.0},
        ),
    )
    assert rule_of(a, "quiet") == "superuser_quiet"
    assert "quiet for 30 days" in a[a["entity_id"] == "quiet"]["reason"].iloc[0]
    assert rule_of(a, "busy") is None
    assert rule_of(a, "quiet_contributor") is None


def test_lurker_who_just_posted_is_welcomed_and_answered_fast():
    a = next_best_actions(
        None,
        ctx(
            newbie={"tenure_days": 2.0, "registered_days": 90.0, "replied_share": 0.0},
            veteran={"tenure_days": 300.0},
        ),
    )
    assert rule_of(a, "newbie") == "lurker_first_post"
    reason = a[a["entity_id"] == "newbie"]["reason"].iloc[0]
    assert "88 days of only reading" in reason and "nobody has answered yet" in reason
    assert rule_of(a, "veteran") is None


def test_influencer_community_tie_and_high_risk_rules():
    people = ctx(
        star={"influence_pct": 0.9},
        plain={"influence_pct": 0.2},
        lonely={
            "churn_risk": 0.7,
            "top_driver": "replies received (0)",
            "top_driver_feature": "replies_received",
        },
        drifting={
            "churn_risk": 0.7,
            "top_driver": "days active recently (0)",
            "top_driver_feature": "active_days",
        },
        fine={"churn_risk": 0.3, "top_driver_feature": "replies_received"},
    )
    alerts = pd.DataFrame([alert("star", "tie", "pal"), alert("plain", "tie", "pal")])
    a = next_best_actions(alerts, people)
    assert rule_of(a, "star") == "influencer_tie_weak"
    assert rule_of(a, "plain") == "monitor"
    assert rule_of(a, "lonely") == "at_risk_unanswered"
    assert "churn risk of 70%" in a[a["entity_id"] == "lonely"]["reason"].iloc[0]
    assert rule_of(a, "drifting") == "at_risk"
    assert rule_of(a, "fine") is None
    # alerts come first, then people by risk
    assert list(a["subject"][:2]) == ["alert", "alert"]


def test_thresholds_are_settings_and_rules_are_documented():
    people = ctx(q={"tier_rank": 2.0, "days_since_last": 10.0})
    assert rule_of(next_best_actions(None, people), "q") is None
    assert (
        rule_of(next_best_actions(None, people, ActionSettings(quiet_days=7)), "q")
        == "superuser_quiet"
    )
    table = rules_table()
    assert list(table["rule"]) == [r.name for r in RULES] + ["monitor"]
    import socialcrm.prediction.actions as mod

    for r in RULES:  # every rule is in the module's readable table
        assert f"``{r.name}``" in mod.__doc__


@pytest.mark.parametrize("missing", ["tier_rank", "churn_risk", "own_sentiment"])
def test_a_missing_input_silences_only_the_rules_that_need_it(missing):
    people = ctx(x={"tier_rank": 2.0, "days_since_last": 40.0, "churn_risk": 0.9}).drop(
        columns=missing
    )
    a = next_best_actions(None, people)
    expected = {
        "tier_rank": "at_risk",
        "churn_risk": "superuser_quiet",
        "own_sentiment": "superuser_quiet",
    }
    assert rule_of(a, "x") == expected[missing]


def test_one_action_per_person_for_their_most_important_alert():
    first = {**alert("star", "tie", "pal"), "other_name": "Pat", "alert_id": "a1"}
    second = {**alert("star", "tie", "bud"), "alert_id": "a2", "strength_before": 0.2}
    people = ctx(star={"influence_pct": 0.95})
    a = next_best_actions(pd.DataFrame([first, second]), people)
    assert len(a) == 1 and a.loc[0, "alert_id"] == "a1"
    assert "tie to Pat fell from 0.80 to 0.30" in a.loc[0, "reason"]
    assert "(and 1 more of their ties weakened)" in a.loc[0, "reason"]
