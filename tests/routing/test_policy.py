"""The routing policy: defaults, overrides, windows, straight-to-staff rules, satisfaction cues."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from socialcrm.routing.derive import derive
from socialcrm.routing.policy import (
    PolicyError,
    community_window,
    load_policy,
    policy_for,
    straight_to_staff,
)
from socialcrm.settings import Settings


def conv(**kw: object) -> pd.DataFrame:
    base = {
        "urgency": "normal",
        "intent": "question",
        "topics": [],
        "channel": "forum",
        "visibility": "public",
        "request_text": "",
    }
    base.update(kw)
    return pd.DataFrame([base])


def test_defaults_are_readable_and_complete() -> None:
    p = load_policy()
    assert p.urgency_levels == ("low", "normal", "high", "critical")
    assert set(p.first_response_minutes) == set(p.urgency_levels)
    # minutes for an outage on a public channel, hours for a how-to in the community
    outage = community_window(conv(urgency="critical", channel="twitter"), p)
    howto = community_window(conv(), p)
    assert outage[0][0] == 15 and outage[1][0].startswith("outage")
    assert howto[0][0] == 720 and howto[1][0] == "how-to question in the community"
    assert community_window(conv(intent="other", channel="email"), p)[0][0] == 240


def test_overrides_from_settings_and_file(tmp_path: Path) -> None:
    s = Settings(
        extra={"routing": {"assignment": {"per_agent_cap": 2}, "window": {"default_minutes": 30}}}
    )
    p = policy_for(s)
    assert p.per_agent_cap == 2 and p.window_minutes_default == 30
    assert p.reassign_after_minutes == 30  # untouched keys keep their defaults
    f = tmp_path / "policy.toml"
    f.write_text('[sla.first_response_minutes]\ncritical = 5\n[topics]\nbilling = ["invoice"]\n')
    p = load_policy({"policy_file": str(f)})
    assert p.first_response_target("critical") == 5
    assert p.topics == {"billing": ("invoice",)}  # topics are replaced whole
    # socialcrm.toml beside the store reaches the policy through Settings
    (tmp_path / "socialcrm.toml").write_text("[routing.community]\ninvite_top_k = 1\n")
    assert policy_for(Settings.load(tmp_path / "crm.duckdb")).invite_top_k == 1


def test_bad_policy_says_where() -> None:
    with pytest.raises(PolicyError, match="unknown key 'windwo'"):
        load_policy({"windwo": {}})
    with pytest.raises(PolicyError, match="per_agent_cap must be at least 1"):
        load_policy({"assignment": {"per_agent_cap": 0}})
    with pytest.raises(PolicyError, match="bad regular expression"):
        load_policy({"satisfaction": {"acknowledgement_patterns": ["(unclosed"]}})
    with pytest.raises(PolicyError, match="not valid TOML"):
        bad = Path(__file__).with_suffix(".py")  # a Python file is no TOML
        load_policy(file=bad)


def test_rules_match_topics_and_first_rule_wins() -> None:
    p = load_policy(
        {
            "window": {
                "rules": [
                    {"name": "billing fast", "topics": ["billing"], "minutes": 5},
                    {"name": "questions", "intent": ["question"], "minutes": 99},
                ]
            }
        }
    )
    minutes, rules = community_window(
        pd.concat([conv(topics=["billing"]), conv(topics=["qiskit"])], ignore_index=True), p
    )
    assert list(minutes) == [5, 99] and list(rules) == ["billing fast", "questions"]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"visibility": "private", "channel": "email"}, "private channel"),
        ({"intent": "complaint", "urgency": "high", "channel": "twitter"}, "high complaint"),
        ({"intent": "complaint", "urgency": "normal"}, None),
        ({"request_text": "This is useless, can I speak to a human please?"}, "asked for staff"),
        ({"request_text": "I need an agent now"}, "asked for staff"),
        ({"request_text": "How do I speak to my qubits?"}, None),
    ],
)
def test_straight_to_staff(row: dict, expected: str | None) -> None:
    got = straight_to_staff(conv(**row), load_policy())[0]
    if expected is None:
        assert got is None
    else:
        assert got is not None and got.startswith(expected)


def test_private_channels_can_wait_for_nobody_but_staff_only_when_set() -> None:
    p = load_policy({"staff": {"private_channels": False}})
    assert straight_to_staff(conv(visibility="private"), p)[0] is None


@pytest.mark.parametrize(
    ("text", "ack", "asks"),
    [
        ("Thanks, that worked!", True, False),
        ("thank you so much", True, False),
        ("It works now", True, False),
        ("Thanks, but it still doesn't work", True, True),
        ("What about the second qubit?", False, True),
        ("ok", False, False),
    ],
)
def test_satisfaction_cues(text: str, ack: bool, asks: bool) -> None:
    p = load_policy()
    assert bool(p.acknowledgement_re.search(text)) is ack
    assert bool(p.new_question_re.search(text)) is asks


def test_urgency_and_intent_from_text_alone() -> None:
    p = load_policy()
    texts = [
        "@VerizonSupport my internet is down again, third outage this week",
        "How do I measure a qubit in the X basis?",
        "Love the new update, great job!",
        "my app keeps crashing and support ignores me",
    ]
    facts = pd.DataFrame(
        {
            "author_text": texts,
            "last_author_text": texts,
            "opening_text": texts,
            "stage_urgency": [
                None,
                None,
                None,
                0.9,
            ],  # the conversation stage's score wins when higher
            "stage_intent": None,
            "stage_sentiment": [None, None, None, None],
            "tags": [None, ["measurement"], None, None],
        }
    )
    d = derive(facts, p)
    assert list(d.urgency) == ["critical", "normal", "low", "critical"]
    assert list(d.intent) == ["complaint", "question", "praise", "complaint"]
    assert "outage" in d.topics[0] and "measurement" in d.topics[1] and "howto" in d.topics[1]
    assert d.urgency_cue[0] == "'is down'" and "conversation stage" in d.urgency_cue[3]
