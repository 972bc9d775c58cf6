"""Hand-made edge tables with hand-checked values, and a real SocioPatterns slice.

The hand-made log (t0 = Monday 2024-01-01 09:00 UTC), entities A, B, C, D:

    m1  A→B email   private  t0          "hello there"  sentiment 0.5
    m2  B→A email   private  t0 + 600 s  "hi"           in_reply_to m1
    m3  A→B chat    public   t0 + 1 d    "see you"      sentiment -0.1
    m4  A→C email   private  t0 + 2 d    "report"
    e1  C→A endorse public   t0 + 3 d
    r1  D→A rating  public   t0 + 3 d    value -3
    r2  A→D rating  public   t0 + 4 d    value 4
    m5  B→C email   private  t0 + 5 d    "fyi"
    mt  A→B meeting private  t0 + 10 d   value 1800 s (stored once, counts both ways)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis
import pandas as pd

T0 = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)

_ROWS = [
    # iid, actor, target, ts, kind, channel, visibility, text, value, reply, sentiment
    ("m1", "A", "B", T0, "message", "email", "private", "hello there", None, None, 0.5),
    (
        "m2",
        "B",
        "A",
        T0 + timedelta(seconds=600),
        "message",
        "email",
        "private",
        "hi",
        None,
        "m1",
        None,
    ),
    ("m3", "A", "B", T0 + DAY, "message", "chat", "public", "see you", None, None, -0.1),
    ("m4", "A", "C", T0 + 2 * DAY, "message", "email", "private", "report", None, None, None),
    ("e1", "C", "A", T0 + 3 * DAY, "endorse", "forum", "public", None, None, None, None),
    ("r1", "D", "A", T0 + 3 * DAY, "rating", "other", "public", None, -3.0, None, None),
    ("r2", "A", "D", T0 + 4 * DAY, "rating", "other", "public", None, 4.0, None, None),
    ("m5", "B", "C", T0 + 5 * DAY, "message", "email", "private", "fyi", None, None, None),
    ("mt", "A", "B", T0 + 10 * DAY, "meeting", "meeting", "private", None, 1800.0, None, None),
]


def hand_edges(sentiment: bool = True) -> pd.DataFrame:
    df = pd.DataFrame(
        _ROWS,
        columns=[
            "interaction_id",
            "actor_entity",
            "target_entity",
            "ts",
            "kind",
            "channel",
            "visibility",
            "text",
            "value",
            "in_reply_to",
            "sentiment",
        ],
    )
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    df["source"] = "hand"
    df["conversation_id"] = df["interaction_id"]
    df["value"] = df["value"].astype("float64")
    df["sentiment"] = df["sentiment"].astype("float64")
    for c in ("text", "in_reply_to", "conversation_id"):
        df[c] = df[c].astype("string")
    return df if sentiment else df.drop(columns="sentiment")


def duck(df: pd.DataFrame) -> ibis.Table:
    """``df`` registered as the ``edges`` table of a fresh in-memory DuckDB."""
    return ibis.duckdb.connect().create_table("edges", ibis.memtable(df))


def by_pair(features: pd.DataFrame) -> pd.DataFrame:
    return features.set_index(["source_entity", "target_entity"]).sort_index()
