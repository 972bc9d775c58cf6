"""Weakening-tie alerts fire exactly for the ties that fell by more than the threshold."""

from __future__ import annotations

import pandas as pd

from socialcrm.prediction.alerts import AlertSettings, weakening_ties


def _history() -> pd.DataFrame:
    # (source, target, strength in 2024-01, strength in 2024-04); 2024-02/03 rows are noise
    ties = [
        ("ann", "acme", 0.80, 0.40),  # brand tie, -50% -> alert
        ("acme", "bob", 0.60, 0.15),  # brand tie seen from the brand's side, -75% -> alert
        ("cat", "dan", 0.50, 0.36),  # -28% -> no alert
        ("dan", "cat", 0.50, 0.34),  # -32% -> alert
        ("eve", "fay", 0.90, None),  # gone in April -> strength 0 -> alert
        ("gus", "hal", 0.05, 0.0),  # too weak to watch -> no alert
        ("ivy", "jon", 0.30, 0.60),  # grew -> no alert
    ]
    rows = []
    for s, t, before, after in ties:
        rows.append(("2024-01", s, t, before))
        rows.append(("2024-02", s, t, 0.01))  # the in-between months must not matter
        if after is not None:
            rows.append(("2024-04", s, t, after))
    return pd.DataFrame(rows, columns=["period", "source_entity", "target_entity", "strength"])


ENTITIES = pd.DataFrame(
    {
        "entity_id": ["ann", "acme", "bob", "cat", "dan", "eve", "fay", "gus", "hal", "ivy", "jon"],
        "role": ["customer", "brand"] + ["customer"] * 9,
    }
)


def test_fires_exactly_for_ties_that_fell_more_than_the_threshold():
    a = weakening_ties(_history(), ENTITIES)
    pairs = set(zip(a["source_entity"], a["target_entity"], strict=True))
    assert pairs == {("ann", "acme"), ("acme", "bob"), ("dan", "cat"), ("eve", "fay")}
    row = a.set_index(["source_entity", "target_entity"]).loc[("dan", "cat")]
    assert row["strength_before"] == 0.50 and row["strength_after"] == 0.34
    assert row["drop"] == 0.32 or abs(row["drop"] - 0.32) < 1e-9
    assert row["period_before"] == "2024-01" and row["period_after"] == "2024-04"
    assert "fell from 0.50 to 0.34 (-32%) between 2024-01 and 2024-04 (3 months)" in row["evidence"]


def test_brand_relationships_are_told_apart_and_name_the_customer():
    a = weakening_ties(_history(), ENTITIES).set_index(["source_entity", "target_entity"])
    assert a.loc[("ann", "acme"), "kind"] == "brand"
    assert a.loc[("ann", "acme"), "person"] == "ann"
    assert a.loc[("acme", "bob"), "kind"] == "brand"
    assert a.loc[("acme", "bob"), "person"] == "bob"  # the customer, not the brand
    assert a.loc[("dan", "cat"), "kind"] == "tie"
    assert "relationship with the brand acme" in a.loc[("ann", "acme"), "evidence"]


def test_thresholds_and_missing_ties_are_settings():
    h = _history()
    strict = weakening_ties(h, ENTITIES, settings=AlertSettings(drop_share=0.6))
    assert set(strict["person"]) == {"bob", "eve"}
    skip = weakening_ties(h, ENTITIES, settings=AlertSettings(missing_after="skip"))
    assert "eve" not in set(skip["person"])
    low = weakening_ties(h, ENTITIES, settings=AlertSettings(min_strength=0.01))
    assert "gus" in set(low["person"])
    # a two-month window compares 2024-02 with 2024-04
    two = weakening_ties(h, ENTITIES, settings=AlertSettings(window=2))
    assert two.empty  # every tie was 0.01 in February: nothing fell from there


def test_ranked_by_what_is_at_stake():
    standing = pd.DataFrame(
        {
            "entity_id": ["ann", "bob", "dan", "eve"],
            "value": [100.0, 5000.0, 0.0, 10.0],
            "influence": [0.1, 0.2, 0.9, 0.0],
            "tier_rank": [1, 1, 2, 0],
        }
    )
    a = weakening_ties(_history(), ENTITIES, standing)
    assert list(a["person"]) == ["bob", "dan", "ann", "eve"]
    assert a["at_stake"].is_monotonic_decreasing
    assert list(a["alert_id"]) == [f"tie-202404-{i}" for i in range(1, 5)]
    assert "value 5,000" in a.loc[0, "evidence"] and "contributor" in a.loc[0, "evidence"]


def test_empty_history_gives_no_alerts():
    empty = pd.DataFrame(columns=["period", "source_entity", "target_entity", "strength"])
    assert weakening_ties(empty).empty


def test_equal_stakes_rank_by_strength_lost_and_name_the_other():
    h = pd.DataFrame(
        [
            ("2024-01", "ann", "bob", 0.15),
            ("2024-04", "ann", "bob", 0.01),  # -93%, but only 0.14 lost
            ("2024-01", "ann", "cat", 0.90),
            ("2024-04", "ann", "cat", 0.45),  # -50%, 0.45 lost
        ],
        columns=["period", "source_entity", "target_entity", "strength"],
    )
    e = ENTITIES.assign(display_name=ENTITIES["entity_id"].str.title())
    a = weakening_ties(h, e)
    assert list(a["target_entity"]) == ["cat", "bob"]
    assert a.loc[0, "other_name"] == "Cat" and "tie to Cat fell" in a.loc[0, "evidence"]
