"""Per-message text scores (``message_labels``), computed in batches over whole columns.

Sentiment (:func:`socialcrm.conversations.sentiment.score`), the intent of customer-side
messages (:func:`socialcrm.conversations.intent.classify_intent`) and the action of
brand-side replies (:func:`socialcrm.conversations.intent.classify_action`) are text
models, so they run in Python; everything around them stays in the engine. Each
distinct text is scored once (template replies repeat word for word), and long columns
are cut into chunks that can be spread over worker processes.

Output columns: ``interaction_id, sentiment, sentiment_label, intent, intent_reason,
action, action_reason`` — intent is NULL on brand-side turns and action on customer-side
turns (seed 001: customers ask, complain or praise; the brand acknowledges, deflects or
answers).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LABELS_SCHEMA = pa.schema(
    [
        ("interaction_id", pa.string()),
        ("sentiment", pa.float64()),
        ("sentiment_label", pa.string()),
        ("intent", pa.string()),
        ("intent_reason", pa.string()),
        ("action", pa.string()),
        ("action_reason", pa.string()),
    ]
)
CHUNK = 20_000


def _score_chunk(
    texts: Sequence[str], brand: Sequence[bool]
) -> tuple[np.ndarray, np.ndarray, list, list, list, list]:
    from socialcrm.conversations import intent, sentiment

    compound, label = sentiment.score(list(texts))
    brand_mask = np.asarray(brand, dtype=bool)
    n = len(texts)
    intents: list = [None] * n
    i_reasons: list = [None] * n
    actions: list = [None] * n
    a_reasons: list = [None] * n
    cust_idx = np.flatnonzero(~brand_mask)
    brand_idx = np.flatnonzero(brand_mask)
    if len(cust_idx):
        labs, why = intent.classify_intent([texts[i] for i in cust_idx])
        for k, i in enumerate(cust_idx):
            intents[i], i_reasons[i] = labs[k], why[k]
    if len(brand_idx):
        labs, why = intent.classify_action([texts[i] for i in brand_idx])
        for k, i in enumerate(brand_idx):
            actions[i], a_reasons[i] = labs[k], why[k]
    return (
        np.asarray(compound, dtype="float64"),
        np.asarray(label, dtype=object),
        intents,
        i_reasons,
        actions,
        a_reasons,
    )


def score_messages(
    interaction_id: pa.Array | pa.ChunkedArray,
    text: pa.Array | pa.ChunkedArray,
    brand_side: pa.Array | pa.ChunkedArray,
    *,
    workers: int | None = None,
) -> pa.Table:
    """Score every message once per distinct (text, side) and spread the result back.

    ``workers`` > 1 scores chunks in that many processes (default: 1, or the
    ``SOCIALCRM_TEXT_WORKERS`` environment variable).
    """
    workers = workers or int(os.environ.get("SOCIALCRM_TEXT_WORKERS", "1"))
    text = pc.fill_null(text, "")
    brand_side = pc.fill_null(brand_side, False)
    # One key per distinct (side, text): templates and repeated tweets are scored once.
    key = pc.binary_join_element_wise(pc.if_else(brand_side, "b", "c"), text, "\x1f")
    uniq = pc.unique(key)
    pos = pc.index_in(key, value_set=uniq)
    u_text = [k[2:] for k in uniq.to_pylist()]
    u_brand = [k[0] == "b" for k in uniq.to_pylist()]
    chunks = [(u_text[i : i + CHUNK], u_brand[i : i + CHUNK]) for i in range(0, len(u_text), CHUNK)]
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_score_chunk, *zip(*chunks, strict=True)))
    else:
        parts = [_score_chunk(t, b) for t, b in chunks]
    if parts:
        cols = [np.concatenate([p[0] for p in parts])] + [
            [v for p in parts for v in p[j]] for j in range(1, 6)
        ]
    else:
        cols = [np.empty(0)] + [[] for _ in range(5)]
    unique_table = pa.table(
        {
            "sentiment": pa.array(cols[0], pa.float64()),
            "sentiment_label": pa.array(list(cols[1]), pa.string()),
            "intent": pa.array(cols[2], pa.string()),
            "intent_reason": pa.array(cols[3], pa.string()),
            "action": pa.array(cols[4], pa.string()),
            "action_reason": pa.array(cols[5], pa.string()),
        }
    )
    spread = unique_table.take(pos)
    return pa.Table.from_arrays(
        [
            pa.chunked_array([interaction_id])
            if isinstance(interaction_id, pa.Array)
            else interaction_id,
            *spread.columns,
        ],
        schema=LABELS_SCHEMA,
    )
