"""tie_features: hand-checked values on a hand-made log, a real SocioPatterns slice, and Spark."""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
import pytest

from socialcrm.relationships.features import FEATURE_COMPONENTS, FEATURES, tie_features

from .hand_data import DAY, T0, by_pair, duck, hand_edges


@pytest.fixture(scope="module")
def hand() -> pd.DataFrame:
    return by_pair(tie_features(duck(hand_edges()), half_life_days=10.0).to_pandas())


def test_every_pair_appears_in_both_orientations(hand: pd.DataFrame) -> None:
    pairs = set(hand.index)
    assert pairs == {
        ("A", "B"),
        ("B", "A"),
        ("A", "C"),
        ("C", "A"),
        ("A", "D"),
        ("D", "A"),
        ("B", "C"),
        ("C", "B"),
    }
    assert set(FEATURES) <= set(hand.columns)
    assert set(FEATURES) == {f for fs in FEATURE_COMPONENTS.values() for f in fs}


def test_counts_each_way_and_the_meeting_counts_for_both(hand: pd.DataFrame) -> None:
    ab, ba = hand.loc[("A", "B")], hand.loc[("B", "A")]
    # m1, m2, m3 and the meeting: the meeting is one interaction of the pair ...
    assert ab.n_pair == 4 and ba.n_pair == 4
    # ... but contact for both directions: A→B = m1, m3, meeting; B→A = m2, meeting
    assert (ab.n_ab, ab.n_ba) == (3, 2)
    assert (ba.n_ab, ba.n_ba) == (2, 3)
    assert ab.balance == pytest.approx(0.2) and ba.balance == pytest.approx(-0.2)
    assert ab.duration_s == 1800.0
    assert ab.channels == 3  # email, chat, meeting
    assert ab.private_share == pytest.approx(4 / 5)  # m3 is the only public row of 5
    assert ab.text_len_ab == pytest.approx((len("hello there") + len("see you")) / 2)
    assert ba.text_len_ab == pytest.approx(len("hi"))


def test_reciprocity_answers_and_latency(hand: pd.DataFrame) -> None:
    ab, ba = hand.loc[("A", "B")], hand.loc[("B", "A")]
    assert ab.answered_by_b_share == pytest.approx(0.5)  # B answered m1, not m3
    assert ab.b_latency_s == pytest.approx(600.0)
    assert ab.answered_by_a_share == 0.0  # A never answered m2
    assert pd.isna(ab.a_latency_s)
    assert ba.answered_by_a_share == pytest.approx(0.5) and ba.a_latency_s == 600.0
    assert hand.loc[("A", "C")].answered_by_b_share == 0.0
    assert pd.isna(hand.loc[("A", "D")].answered_by_b_share)  # ratings are not messages


def test_time_recency_decay_and_regularity(hand: pd.DataFrame) -> None:
    ab = hand.loc[("A", "B")]
    assert ab.first_ts == pd.Timestamp(T0).tz_convert(None)
    assert ab.tie_age_days == pytest.approx(10.0)
    assert ab.recency_days == pytest.approx(0.0)  # the meeting is the log's last event
    assert (ab.active_days, ab.active_weeks, ab.active_hours) == (3, 2, 3)
    half = 10 * 86400.0
    ages = [10 * 86400.0, 10 * 86400.0 - 600, 9 * 86400.0, 0.0]
    assert ab.decayed_volume == pytest.approx(sum(0.5 ** (a / half) for a in ages))
    assert ab.encounters == 4  # m1 and m2 are 600 s apart, more than the 60 s gap
    assert ab.longest_encounter_s == 1800.0
    ac = hand.loc[("A", "C")]
    assert ac.tie_age_days == pytest.approx(1.0) and ac.recency_days == pytest.approx(7.0)
    # co-presence: A and B were both active on Jan 1, 2 and 11 and met on all three
    assert ab.co_active_days == 3 and ab.together_day_share == 1.0
    assert ac.co_active_days == 2


def test_encounter_gap_merges_close_interactions() -> None:
    f = by_pair(tie_features(duck(hand_edges()), encounter_gap_s=900).to_pandas())
    assert f.loc[("A", "B")].encounters == 3


def test_relative_position_in_each_network(hand: pd.DataFrame) -> None:
    ab = hand.loc[("A", "B")]
    # A: B 4 interactions, C 2 (m4, e1), D 2 (r1, r2); B: A 4, C 1 (m5)
    assert ab.share_in_a == pytest.approx(0.5) and ab.share_in_b == pytest.approx(0.8)
    assert (ab.a_ties, ab.b_ties, ab.rank_in_a) == (3, 2, 1)
    assert ab.cume_in_a == 1.0
    assert hand.loc[("A", "C")].cume_in_a == pytest.approx(2 / 3)
    assert hand.loc[("A", "C")].rank_in_a == 2
    assert ab.exclusive_volume == 3.0  # A addressed nobody else at those instants
    assert ab.attention_hours == 3.0  # B had all of A's attention in each of 3 hours


def test_trust_endorsements_ratings_sentiment_embeddedness(hand: pd.DataFrame) -> None:
    assert hand.loc[("C", "A")].endorse_ab == 1 and hand.loc[("A", "C")].endorse_ba == 1
    ad, da = hand.loc[("A", "D")], hand.loc[("D", "A")]
    assert (ad.endorse_ab, ad.endorse_ba) == (1, -1)
    assert (ad.rating_mean_ab, ad.rating_mean_ba) == (4.0, -3.0)
    assert da.endorse_ab == -1
    ab = hand.loc[("A", "B")]
    assert ab.sentiment_ab == pytest.approx(0.2)  # mean of 0.5 and -0.1
    assert ab.sentiment_ba == 0.0  # m2 has no score: neutral
    assert ab.shared_neighbours == 1  # C
    assert ab.jaccard == pytest.approx(1 / 2)  # {C} / {C, D}
    assert ab.overlap == pytest.approx(min(2 / 8, 1 / 5))
    assert ad.shared_neighbours == 0 and ad.jaccard == 0.0


def test_without_sentiment_column_sentiment_is_neutral() -> None:
    f = tie_features(duck(hand_edges(sentiment=False))).to_pandas()
    assert (f["sentiment_ab"] == 0.0).all() and (f["sentiment_ba"] == 0.0).all()


def test_as_of_uses_only_earlier_interactions() -> None:
    f = by_pair(tie_features(duck(hand_edges()), as_of=T0 + 5 * DAY).to_pandas())
    ab = f.loc[("A", "B")]
    assert ab.n_pair == 3  # m5 (at exactly as_of) and the meeting are not seen
    assert ab.recency_days == pytest.approx(4.0)
    assert ("B", "C") not in f.index


def test_voluntary_time_finds_the_mixing_hour() -> None:
    """A, B, C meet as a closed group at 09:00; A meets D (who knows nobody else) at 12:00."""
    day = pd.Timestamp("2024-01-02 09:00", tz="UTC")
    rows = [
        ("A", "B", day),
        ("B", "C", day + pd.Timedelta(seconds=20)),
        ("A", "C", day + pd.Timedelta(seconds=40)),
        ("A", "D", day + pd.Timedelta(hours=3)),
        ("A", "D", day + pd.Timedelta(hours=3, seconds=20)),
    ]
    df = hand_edges().iloc[:0].drop(columns="sentiment")
    df = pd.concat(
        [
            df,
            pd.DataFrame(
                {
                    "interaction_id": [f"c{i}" for i in range(len(rows))],
                    "actor_entity": [r[0] for r in rows],
                    "target_entity": [r[1] for r in rows],
                    "ts": [r[2] for r in rows],
                    "kind": "meeting",
                    "channel": "meeting",
                    "visibility": "private",
                    "value": 20.0,
                    "source": "hand",
                }
            ),
        ]
    )
    f = by_pair(tie_features(duck(df)).to_pandas())
    # 09:00 pairs share neighbours (mean Jaccard 2/3) -> weight 0; 12:00 (Jaccard 0) -> 1
    assert f.loc[("A", "D")].voluntary_volume == pytest.approx(2.0)
    assert f.loc[("D", "A")].voluntary_share_in_a == pytest.approx(1.0)
    assert f.loc[("A", "B")].voluntary_volume == 0.0
    assert f.loc[("A", "D")].voluntary_share_in_a == pytest.approx(1.0)


def test_real_sociopatterns_slice(sp_slice: pd.DataFrame) -> None:
    f = tie_features(duck(sp_slice)).to_pandas()
    raw = sp_slice
    undirected = raw.assign(
        lo=raw[["actor_entity", "target_entity"]].min(axis=1),
        hi=raw[["actor_entity", "target_entity"]].max(axis=1),
    )
    assert len(f) == 2 * undirected[["lo", "hi"]].drop_duplicates().shape[0]
    # contacts are symmetric: equal counts each way, zero balance, 20 s per contact
    assert (f["n_ab"] == f["n_ba"]).all() and (f["balance"] == 0).all()
    assert np.allclose(f["duration_s"], 20 * f["n_pair"])
    assert (f["encounters"] <= f["n_pair"]).all()
    assert np.allclose(f.groupby("source_entity")["share_in_a"].sum(), 1.0)
    assert f["cume_in_a"].between(0, 1, inclusive="right").all()
    # the most frequent pair, checked against a direct pandas count of the raw lines
    top = undirected.groupby(["lo", "hi"]).size().idxmax()
    n = undirected.groupby(["lo", "hi"]).size().max()
    row = by_pair(f).loc[top]
    assert row.n_pair == n
    stamps = undirected.set_index(["lo", "hi"]).loc[top, "ts"]
    ts = np.sort(((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy())
    assert row.encounters == 1 + int((np.diff(ts) - 20 > 60).sum())
    assert row.first_ts == pd.Timestamp(ts[0], unit="s")


@pytest.mark.spark
def test_same_numbers_on_pyspark(spark_session, sp_slice: pd.DataFrame, tmp_path) -> None:
    """The same expression on Spark (from Parquet) equals DuckDB on hand-made and real data."""
    con = ibis.pyspark.connect(spark_session)
    for name, df in (("hand", hand_edges()), ("sp", sp_slice)):
        path = tmp_path / f"{name}.parquet"
        df.to_parquet(path)
        expected = tie_features(duck(df), half_life_days=10.0).to_pandas()
        got = tie_features(con.read_parquet(path), half_life_days=10.0).to_pandas()
        key = ["source_entity", "target_entity"]
        expected = expected.sort_values(key).reset_index(drop=True)
        got = got.sort_values(key).reset_index(drop=True)
        assert list(got.columns) == list(expected.columns)
        for c in expected.columns:
            if pd.api.types.is_numeric_dtype(expected[c]):
                assert np.allclose(
                    got[c].astype(float), expected[c].astype(float), rtol=1e-9, equal_nan=True
                ), (name, c)
            else:
                assert (got[c].astype(str) == expected[c].astype(str)).all(), (name, c)
    assert math.isfinite(float(expected["decayed_volume"].sum()))
