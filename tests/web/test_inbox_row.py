"""How the inbox turns a queue row's reasons into the "why this priority" list."""

from socialcrm.web.pages import _inbox_row


def test_only_reasons_that_raised_the_priority_are_listed() -> None:
    row = {
        "conversation_id": "c1",
        "priority": 42.0,
        "reasons": [
            {"term": "urgency", "contribution": 30.0, "text": "urgency high ('outage')"},
            {"term": "waiting", "contribution": 12.0, "text": "waiting 2.0 h of a 4.0 h target"},
            {"term": "social_pressure", "contribution": 0.0, "text": ""},
            {"term": "negativity", "contribution": 0.0, "text": "negative tone (sentiment +0.10)"},
        ],
    }
    assert _inbox_row(row)["why"] == ["urgency high ('outage')", "waiting 2.0 h of a 4.0 h target"]


def test_a_plain_text_reason_is_shown_as_is() -> None:
    assert _inbox_row({"conversation_id": "c1", "reason": "customer asked for staff"})["why"] == [
        "customer asked for staff"
    ]
