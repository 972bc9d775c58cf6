"""Per-entity features on a hand-made workspace whose every number can be worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from socialcrm import Workspace
from socialcrm.prediction.features import cohort_at, entity_features, entity_standing

CSV = """interaction_id,ts,channel,actor,targets,in_reply_to,kind,text,value
m1,2024-01-01T10:00:00+00:00,forum,ann,,,message,My router keeps dropping the connection,
m2,2024-01-01T12:00:00+00:00,forum,bob,,m1,message,Great question! Try a firmware update,
m3,2024-01-02T09:00:00+00:00,forum,ann,,m2,message,Thanks a lot that worked,
k1,2024-01-03T00:00:00+00:00,forum,cat,ann,,like,,1
m5,2024-01-05T08:00:00+00:00,forum,ann,,,message,Another question about billing,
m6,2024-01-20T08:00:00+00:00,forum,cat,,m5,message,This is awful advice and wrong,
v1,2024-01-04T00:00:00+00:00,forum,anon,ann,,view,,50
p1,2023-12-01T00:00:00+00:00,other,ann,acme,,purchase,,120
p2,2023-12-15T00:00:00+00:00,other,ann,acme,,purchase,,30
"""


@pytest.fixture
def ws(tmp_path: Path):
    path = tmp_path / "forum.csv"
    path.write_text(CSV, encoding="utf-8")
    w = Workspace(tmp_path / "crm.duckdb")
    w.ingest("canonical", [path])
    w.set_role("acme", "brand")
    w.set_role("anon", "system")
    yield w
    w.close()


def ent(ws: Workspace, handle: str) -> str:
    return ws.query("SELECT entity_id FROM identities WHERE handle = ?", [handle]).to_pylist()[0][
        "entity_id"
    ]


def test_window_features_match_a_hand_count(ws):
    ann = ent(ws, "ann")
    as_of = pd.Timestamp("2024-01-10")
    cohort = pd.DataFrame(
        {"entity_id": [ann], "start": [pd.Timestamp("2024-01-01")], "as_of": [as_of]}
    )
    f = entity_features(ws.con, cohort).iloc[0]
    assert f["activity"] == 3  # m1, m3, m5 (purchases are before the window)
    assert f["active_days"] == 3
    assert f["days_since_last"] == pytest.approx(
        (as_of - pd.Timestamp("2024-01-05 08:00")).total_seconds() / 86400
    )
    assert f["tenure_days"] == pytest.approx(
        (as_of - pd.Timestamp("2023-12-01")).total_seconds() / 86400
    )
    assert f["counterparts"] == 2  # bob (reply) and cat (like); not the system viewer
    assert f["reciprocated"] == 1  # bob: ann answered his reply
    assert f["replies_received"] == 1  # m2; cat's m6 comes after as_of
    assert f["endorsements_received"] == 1  # the like
    assert f["replied_share"] == pytest.approx(1 / 3)  # m1 only, before as_of
    waited = sorted(
        [
            2.0,
            (as_of - pd.Timestamp("2024-01-02 09:00")).total_seconds() / 3600,
            (as_of - pd.Timestamp("2024-01-05 08:00")).total_seconds() / 3600,
        ]
    )
    assert f["reply_hours"] == pytest.approx(waited[1])
    assert f["reply_sentiment"] > 0.3  # "Great question!" — the hostile m6 is after as_of
    assert f["value"] == 150.0  # the two purchases
    assert pd.isna(f["brand_tie_strength"])  # no tie tables: documented default


def test_nothing_after_as_of_is_read(ws):
    ann = ent(ws, "ann")
    early = entity_features(ws.con, cohort_at([ann], pd.Timestamp("2024-01-01 11:00"), 5)).iloc[0]
    assert early["activity"] == 1 and early["replies_received"] == 0
    assert early["replied_share"] == 0 and pd.isna(early["reply_sentiment"])
    mid = entity_features(ws.con, cohort_at([ann], pd.Timestamp("2024-01-10"), 40)).iloc[0]
    late = entity_features(ws.con, cohort_at([ann], pd.Timestamp("2024-02-01"), 40)).iloc[0]
    assert (mid["replies_received"], late["replies_received"]) == (1, 2)
    assert late["reply_sentiment"] < mid["reply_sentiment"]  # the hostile reply arrived


def test_tie_history_and_metrics_are_used_as_of_the_cut_off(ws):
    ann, bob, cat, acme = (ent(ws, h) for h in ("ann", "bob", "cat", "acme"))
    ws.con.execute(
        """CREATE TABLE tie_history AS SELECT * FROM (VALUES
            ('2023-12', ?, ?, 0.9, 0.5, 0.8), ('2024-01', ?, ?, 0.4, 0.2, 0.3),
            ('2023-12', ?, ?, 0.7, 1.0, 0.6), ('2024-01', ?, ?, 0.6, 0.8, 0.5),
            ('2024-01', ?, ?, 0.2, 0.0, 0.1))
        AS t(period, source_entity, target_entity, strength, reciprocity, trust)""",
        [ann, acme, ann, acme, ann, bob, ann, bob, ann, cat],
    )
    ws.con.execute(
        "CREATE TABLE entity_metrics AS SELECT ? AS entity_id, 0.7 AS influence, 'superuser' AS tier",
        [ann],
    )
    mid_jan = entity_features(ws.con, cohort_at([ann], pd.Timestamp("2024-01-15"), 14)).iloc[0]
    assert mid_jan["brand_tie_strength"] == 0.9  # December, the last month that has ended
    assert mid_jan["strong_ties"] == 1  # bob at 0.7 (the brand does not count)
    assert mid_jan["tie_reciprocity"] == pytest.approx(0.75)
    feb = entity_features(ws.con, cohort_at([ann], pd.Timestamp("2024-02-01"), 14)).iloc[0]
    assert feb["brand_tie_strength"] == 0.4
    assert feb["strong_ties"] == 1 and feb["strongest_tie"] == 0.6
    assert feb["tier_rank"] == 2 and feb["influence"] == 0.7
    st = entity_standing(ws.con, [ann, bob]).set_index("entity_id")
    assert st.loc[ann, "value"] == 150.0 and st.loc[bob, "value"] == 0.0
