"""Routing inputs from conversation facts: urgency level, intent, topics, sentiment.

Each value comes from the conversation stage when it ran (``conversations.urgency`` and
``customer_intent``, ``message_labels.sentiment``) and otherwise from documented text
cues, so routing works on a workspace where only ingest has run:

* **urgency** — the highest of the stage's score read through
  ``urgency.score_thresholds`` and the policy's cue patterns (``critical_patterns``,
  ``high_patterns``) on the author's words; with neither, a question or complaint is
  ``normal`` and anything else ``low``;
* **intent** — the stage's label, else, first match: *complaint* when an urgency cue
  appears or the latest author message is clearly negative (below -0.3); *question*
  when a question cue appears (:data:`socialcrm.conversations.cues.QUESTION`);
  *complaint* when a demand or escalation cue comes with a negative tone; *praise* when
  clearly positive (above 0.5); *other* otherwise;
* **topics** — stored topics (Stack Exchange tags in ``conversation_topics``) plus every
  policy topic whose words occur in the opening message;
* **sentiment** — the stage's score of the latest author message, else the conversation
  stage's scorer (:func:`socialcrm.conversations.sentiment.score`), else plain VADER
  (Hutto & Gilbert, ICWSM 2014).

Seed 001: "Sentiment scoring is one but only the very first step in this analysis ...
sCRM systems must enable business processes by prioritizing and routing the relevant
conversations to the proper responder."
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from socialcrm.conversations import cues
from socialcrm.routing.policy import Policy

COMPLAINT_SENTIMENT = -0.3
PRAISE_SENTIMENT = 0.5


def sentiment_of(texts: Sequence[str]) -> np.ndarray:
    """Compound sentiment in [-1, 1] of each text (the conversation stage's scorer)."""
    texts = [t or "" for t in texts]
    if not texts:
        return np.zeros(0)
    try:
        from socialcrm.conversations.sentiment import score

        compound, _ = score(texts)
        return np.asarray(compound, dtype=float)
    except (ImportError, OSError):  # the conversation stage's model is optional here
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        sia = SentimentIntensityAnalyzer()
        return np.array([sia.polarity_scores(t)["compound"] for t in texts], dtype=float)


_CUES: dict[str, re.Pattern[str]] = {
    name: re.compile(getattr(cues, name).removeprefix("(?i)"), re.IGNORECASE)
    for name in ("QUESTION", "DEMAND", "ESCALATION")
}
_TOPIC_RE: dict[tuple, list[tuple[str, re.Pattern[str]]]] = {}


def _topic_patterns(policy: Policy) -> list[tuple[str, re.Pattern[str]]]:
    key = tuple(sorted(policy.topics.items()))
    if key not in _TOPIC_RE:
        _TOPIC_RE[key] = [
            (t, re.compile(r"\b(?:" + "|".join(re.escape(w.lower()) for w in words) + r")\b"))
            for t, words in policy.topics.items()
            if words
        ]
    return _TOPIC_RE[key]


def stage_level(score: object, policy: Policy) -> str | None:
    """The conversation stage's urgency (a score in [0, 1] or a label) as a policy level."""
    if isinstance(score, str):
        return score if score in policy.urgency_levels else None
    try:
        x = float(score)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if x != x:  # NaN
        return None
    level = None
    for name, threshold in sorted(policy.urgency_thresholds.items(), key=lambda kv: kv[1]):
        if x >= threshold:
            level = name
    return level


def derive_one(
    text: str,
    opening: str,
    sentiment: float,
    policy: Policy,
    *,
    tags: object = None,
    stage_urgency: object = None,
    stage_intent: object = None,
) -> dict[str, object]:
    """Urgency, its cue, intent, topics and escalation of one conversation.

    ``text`` is the author's words so far, ``opening`` the first message, ``sentiment``
    the tone of the latest author message.
    """
    critical = policy.critical_re.search(text)
    high = None if critical else policy.high_re.search(text)
    question = bool(_CUES["QUESTION"].search(text))
    escalation = bool(_CUES["ESCALATION"].search(text))
    demand = escalation or bool(_CUES["DEMAND"].search(text))
    lv = policy.urgency_levels
    if critical:
        level, cue = lv[-1], f"'{critical.group(0)}'"
    elif high:
        level, cue = (lv[-2] if len(lv) > 2 else lv[-1]), f"'{high.group(0)}'"
    else:
        level, cue = (lv[min(1, len(lv) - 1)] if question or demand else lv[0]), ""
    staged = stage_level(stage_urgency, policy)
    if staged is not None and policy.level_rank(staged) > policy.level_rank(level):
        level = staged
        cue = (
            f"conversation stage urgency {float(stage_urgency):.2f}"
            if not isinstance(stage_urgency, str)
            else f"conversation stage urgency {stage_urgency}"
        )
    if isinstance(stage_intent, str) and stage_intent:
        intent = stage_intent
    elif critical or high or sentiment < COMPLAINT_SENTIMENT:
        intent = "complaint"
    elif question:
        intent = "question"
    elif demand and sentiment < 0:
        intent = "complaint"
    elif sentiment > PRAISE_SENTIMENT:
        intent = "praise"
    else:
        intent = "other"
    lower = opening.lower()
    found = {t for t, rx in _topic_patterns(policy) if rx.search(lower)}
    stored = list(tags) if isinstance(tags, list | tuple | np.ndarray) else []
    return {
        "urgency": level,
        "urgency_cue": cue,
        "intent": intent,
        "topics": sorted({*stored, *found}),
        "escalation": escalation,
    }


def derive(facts: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Add ``urgency``, ``urgency_cue``, ``intent``, ``topics``, ``sentiment``,
    ``escalation`` and ``request_text`` to enriched facts
    (:func:`socialcrm.routing.signals.enrich`)."""
    out = facts.copy()
    cols = ("urgency", "urgency_cue", "intent", "topics", "sentiment", "request_text", "escalation")
    if out.empty:
        for col in cols:
            out[col] = pd.Series(dtype=object)
        return out
    text = out["author_text"].fillna("").astype(str).tolist()
    latest = out["last_author_text"].fillna("").astype(str).tolist()
    opening = out["opening_text"].fillna("").astype(str).tolist()
    stage = pd.to_numeric(out.get("stage_sentiment"), errors="coerce").to_numpy(dtype=float)
    sent = stage.copy()
    missing = np.isnan(sent)
    if missing.any():
        sent[missing] = sentiment_of([t for t, m in zip(latest, missing, strict=True) if m])
    n = len(out)
    none = [None] * n
    got = [
        derive_one(
            text[i],
            opening[i],
            float(sent[i]),
            policy,
            tags=t,
            stage_urgency=u,
            stage_intent=it,
        )
        for i, (t, u, it) in enumerate(
            zip(
                out.get("tags", none),
                out.get("stage_urgency", none),
                out.get("stage_intent", none),
                strict=True,
            )
        )
    ]
    for key in ("urgency", "urgency_cue", "intent", "topics", "escalation"):
        out[key] = [g[key] for g in got]
    out["sentiment"] = sent
    out["request_text"] = text
    return out


def topics_of(texts: pd.Series, tags: pd.Series | list, policy: Policy) -> list[list[str]]:
    """Stored tags plus every policy topic whose words occur in the text, sorted."""
    patterns = _topic_patterns(policy)
    out = []
    for text, t in zip(list(texts), list(tags), strict=True):
        lower = (text or "").lower() if isinstance(text, str) else ""
        stored = list(t) if isinstance(t, list | tuple | np.ndarray) else []
        out.append(sorted({*stored, *(name for name, rx in patterns if rx.search(lower))}))
    return out
