"""Edges tables built straight from the evaluation datasets (until the store's edges view exists).

Both functions return a pandas DataFrame with the columns of the ``edges`` view
(``interaction_id, source, channel, ts, kind, visibility, text, value, conversation_id,
in_reply_to, actor_entity, target_entity``), so that tests and ``eval/tie_strength.py`` run
exactly the shipped :func:`socialcrm.relationships.features.tie_features` on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EDGE_COLUMNS: tuple[str, ...] = (
    "interaction_id",
    "source",
    "channel",
    "ts",
    "kind",
    "visibility",
    "text",
    "value",
    "conversation_id",
    "in_reply_to",
    "actor_entity",
    "target_entity",
)


def _frame(cols: dict[str, object], n: int) -> pd.DataFrame:
    df = pd.DataFrame(cols)
    for c in ("text", "conversation_id", "in_reply_to"):
        if c not in df:
            df[c] = pd.Series([None] * n, dtype="string")
    return df[list(EDGE_COLUMNS)]


def sociopatterns_edges(path: str | Path, nrows: int | None = None) -> pd.DataFrame:
    """SocioPatterns ``t i j`` contacts → one ``meeting`` edge i→j of 20 s per line.

    A contact is symmetric; it is stored once, as in the canonical store, and
    ``tie_features`` counts it for both directions. Entities are ``sp:<id>``.
    """
    raw = pd.read_csv(path, sep=r"\s+", header=None, names=["t", "i", "j"], nrows=nrows)
    n = len(raw)
    return _frame(
        {
            "interaction_id": "sp:" + pd.RangeIndex(n).astype(str),
            "source": "sociopatterns",
            "channel": "meeting",
            "ts": pd.to_datetime(raw["t"], unit="s", utc=True),
            "kind": "meeting",
            "visibility": "private",
            "value": np.full(n, 20.0),
            "actor_entity": "sp:" + raw["i"].astype(str),
            "target_entity": "sp:" + raw["j"].astype(str),
        },
        n,
    )


def sociopatterns_friendship(path: str | Path) -> pd.DataFrame:
    """Friendship survey ``i j`` (i named j) with entity keys ``sp:<id>``: columns a, b."""
    f = pd.read_csv(path, sep=r"\s+", header=None, names=["i", "j"])
    return pd.DataFrame({"a": "sp:" + f["i"].astype(str), "b": "sp:" + f["j"].astype(str)})


def bitcoin_otc_edges(path: str | Path) -> pd.DataFrame:
    """Bitcoin OTC ``source,target,rating,time`` → one ``rating`` edge per line (value = rating).

    A rating is public on the OTC web of trust; entities are ``btc:<id>``.
    """
    raw = pd.read_csv(path, header=None, names=["s", "t", "rating", "time"])
    n = len(raw)
    return _frame(
        {
            "interaction_id": "btc:" + raw["s"].astype(str) + ">" + raw["t"].astype(str),
            "source": "bitcoin_otc",
            "channel": "other",
            "ts": pd.to_datetime(raw["time"], unit="s", utc=True),
            "kind": "rating",
            "visibility": "public",
            "value": raw["rating"].astype("float64"),
            "actor_entity": "btc:" + raw["s"].astype(str),
            "target_entity": "btc:" + raw["t"].astype(str),
        },
        n,
    )
