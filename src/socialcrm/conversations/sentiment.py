"""Sentiment of each message: a compound score in [-1, 1] and a 3-class label.

Seed 001 calls sentiment scoring "only the very first step", but every later step
(urgency, trajectories, trust in ties) leans on it, so it has to hold up on the text a
contact centre sees. The model has two parts, both cheap and both offline:

1. **VADER with customer-care corrections** (Hutto & Gilbert, ICWSM 2014; the
   lexicon ships with ``vaderSentiment``). VADER reads politeness as praise ("please
   help" scores +0.6), misses care vocabulary ("trash", "glitchy", "nightmare") and
   phrases that carry no lexicon word ("still waiting", "not working", "no response").
   :data:`CARE_LEXICON` neutralises politeness words and adds missing words;
   :data:`CARE_PHRASES` adds a valence for each care phrase, inside VADER's own sum,
   so negation, boosters, "but" and punctuation emphasis still apply to the rest.
2. **A learned correction**, fitted to the mean of the human ratings in the VADER
   ICWSM-2014 ground truth (4 sets, 23,703 texts, MIT licence) and saved as JSON in
   ``models/sentiment_ridge.json`` (no pickle, < 1 MB): a ridge regression on binary word
   uni- and bigrams gives an n-gram score; a second, small ridge combines it with VADER's
   sub-scores (compound, pos/neg/neu, positive and negative sums, length, punctuation,
   care phrases) and their interactions, so the words count less where the lexicon is
   confident. The final compound blends the corrected VADER compound with that estimate,
   ``blend * vader + (1 - blend) * ridge``, so lexicon-confident texts stay near VADER.

The label uses VADER's own thresholds: positive above 0.05, negative below -0.05.
``eval/sentiment_intent.py`` reports out-of-fold figures beside plain VADER;
:mod:`socialcrm.conversations.sentiment_training` refits the shipped model.

Example
-------
>>> compound, label = score(["@AmazonHelp still waiting for my refund", "Thank you so much!"])
>>> label.tolist()
['negative', 'positive']
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from socialcrm.conversations import vader_core

MODEL_PATH = Path(__file__).with_name("models") / "sentiment_ridge.json"
LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
THRESHOLD = 0.05  # VADER's own: |compound| <= 0.05 is neutral

# Word valences on VADER's -4..+4 scale, replacing or extending vader_lexicon.txt for
# customer-care text. Politeness and request words are neutral here: a customer writing
# "please help", "kindly check" or "honestly" is asking, not praising. Added words take
# the value of a VADER entry of similar strength (e.g. "garbage" like "crap" -1.6,
# "nightmare" like "horrendous"), chosen by hand, not rated by a crowd.
CARE_LEXICON: dict[str, float] = {
    # requests and politeness that VADER scores as praise
    "please": 0.0,
    "pls": 0.0,
    "plz": 0.0,
    "kindly": 0.0,
    "help": 0.0,
    "honestly": 0.0,
    "free": 0.8,
    # the vocabulary of the service itself ("customer care", "contacted support", "credit
    # card", "I restored it", "secure link"), which VADER reads as praise
    "care": 0.0,
    "support": 0.0,
    "credit": 0.0,
    "importance": 0.0,
    "restore": 0.0,
    "restored": 0.0,
    "secure": 0.0,
    # product failures and service complaints missing from the lexicon
    "trash": -1.8,
    "garbage": -1.8,
    "rubbish": -1.7,
    "glitch": -1.2,
    "glitchy": -1.5,
    "glitches": -1.2,
    "buggy": -1.5,
    "laggy": -1.4,
    "crashing": -1.6,
    "crashes": -1.5,
    "crashed": -1.6,
    "outage": -1.4,
    "unresponsive": -1.5,
    "unusable": -2.0,
    "overcharged": -2.0,
    "scammed": -2.5,
    "ripoff": -2.3,
    "unhelpful": -1.8,
    "nightmare": -2.4,
    "abysmal": -2.8,
    "disgraceful": -2.4,
    "shambles": -2.2,
    "shambolic": -2.2,
    "hassle": -1.2,
    "useless": -2.0,
    "canceled": -1.0,
    # praise for service missing from the lexicon
    "legend": 2.0,
    "lifesaver": 2.8,
    "stellar": 2.5,
    "seamless": 1.5,
    "rocks": 1.8,
}

# Care phrases: (name, trigger words, pattern over the lower-cased tokens joined by single
# spaces, valence added to VADER's sum as if one more lexicon word had been read). A
# pattern is only tried when one of its trigger words is among the tokens (fast path).
_NEG_WORDS = (
    "not",
    "isn't",
    "isnt",
    "doesn't",
    "doesnt",
    "won't",
    "wont",
    "can't",
    "cant",
    "cannot",
    "didn't",
    "didnt",
    "never",
    "stopped",
)
_NEG = "(?:" + "|".join(_NEG_WORDS) + ")"
CARE_PHRASES: tuple[tuple[str, frozenset[str], str, float], ...] = tuple(
    (name, frozenset(trig.split()), pattern, valence)
    for name, trig, pattern, valence in (
        (
            "still waiting",
            "still",
            r"\bstill (?:waiting|not|no|nothing|haven't|havent|hasn't|hasnt|can't|cant|cannot"
            r"|won't|wont|doesn't|doesnt|unable|broken|having|getting)\b",
            -1.5,
        ),
        (
            "no response",
            "no zero without",
            r"\b(?:no|zero|without any|without a) (?:response|reply|replies|answer|update|updates"
            r"|resolution|refund|luck|one (?:has |is )?(?:answer|respond|help|repl|got back))",
            -1.3,
        ),
        (
            "not working",
            " ".join(_NEG_WORDS),
            r"\b" + _NEG + r" (?:work|working|works|load|loading|open|opening|connect|connecting"
            r"|sync|syncing|play|playing|respond|responding|charge|charging|turn on|show up"
            r"|showing up|let me)\b",
            -1.3,
        ),
        (
            "never arrived",
            "never haven't havent hasn't hasnt didn't didnt yet",
            r"\b(?:never|haven't|havent|hasn't|hasnt|didn't|didnt|not yet) (?:received|arrived|got"
            r"|gotten|come|came|heard back|been (?:delivered|refunded|contacted|resolved))\b",
            -1.3,
        ),
        (
            "kept waiting",
            "waiting hold hung",
            r"\b(?:been waiting|kept waiting|on hold for|hung up|waiting for (?:over|more than"
            r"|\d+|hours|days|weeks|ages))\b",
            -1.3,
        ),
        (
            "keeps failing",
            "keep keeps",
            r"\bkeeps? (?:crashing|freezing|dropping|disconnecting|restarting|failing|cutting out"
            r"|logging me out|deleting|buffering|charging me)\b",
            -1.5,
        ),
        (
            "charged twice",
            "charged billed",
            r"\b(?:charged|billed) (?:me )?(?:twice|double|again|without)\b",
            -1.5,
        ),
        (
            "cannot access",
            "can't cant cannot unable couldn't couldnt locked",
            r"\b(?:can't|cant|cannot|unable to|couldn't|couldnt) (?:log ?in|sign ?in|login|access"
            r"|get into|connect)\b|\blocked out\b",
            -1.2,
        ),
        ("joke", "joke", r"\b(?:what a|is a|such a|absolute|complete|total) joke\b", -2.2),
        ("rip-off", "rip ripped", r"\brip(?:ped)? off\b", -2.0),
        ("thanks for nothing", "nothing", r"\b(?:thanks|thank you) for nothing\b", -4.0),
        (
            "days waiting",
            "hours days weeks months",
            r"\b(?:\d+|two|three|four|five|six|several|many) (?:hours|days|weeks|months)"
            r" (?:and|now|later|still|without|of waiting|waiting)\b",
            -1.0,
        ),
        (
            "tried everything",
            "tried reset restarted reinstalled rebooted",
            r"\b(?:i've|i have|i|we've|already) (?:tried|reset|restarted|reinstalled|rebooted"
            r"|deleted and|unplugged)\b",
            -0.8,
        ),
        ("no progress", "progress", r"\b(?:no|any|zero) progress\b", -1.0),
        ("thank you so much", "much", r"\b(?:thank you|thanks|thx) (?:so|very) much\b", 1.0),
        (
            "fixed now",
            "solved fixed sorted resolved works working",
            r"\b(?:problem|issue|it's|its|all|that) (?:solved|fixed|sorted|resolved)\b"
            r"|\b(?:works|working) (?:now|again|perfectly)\b",
            1.5,
        ),
        (
            "you rock",
            "rock best amazing beyond",
            r"\byou (?:guys )?(?:rock|are the best|are amazing)\b|\babove and beyond\b",
            1.5,
        ),
    )
)
_PHRASE_RE = [(name, trig, re.compile(p), v) for name, trig, p, v in CARE_PHRASES]
_TRIGGERS = frozenset().union(*(trig for _, trig, _, _ in CARE_PHRASES))

DENSE_FEATURES: tuple[str, ...] = (
    "compound",
    "hinge_-0.75",
    "hinge_-0.5",
    "hinge_-0.25",
    "hinge_0",
    "hinge_0.25",
    "hinge_0.5",
    "hinge_0.75",
    "pos",
    "neg",
    "neu",
    "pos_sum",
    "neg_sum",
    "log_tokens",
    "compound_x_log_tokens",
    "compound_short10",
    "compound_short20",
    "no_lexicon_hit",
    "exclamations",
    "questions",
    "care_phrases",
)
_KNOTS = (-0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75)


@dataclass(frozen=True)
class Analysis:
    """What the corrected VADER read in one text (raw, unrounded)."""

    compound: float
    pos: float
    neg: float
    neu: float
    pos_sum: float
    neg_sum: float
    n_tokens: int
    tokens: list[str]
    phrases: list[str]


class CareVader(SentimentIntensityAnalyzer):
    """VADER 3.3.2 with :data:`CARE_LEXICON` and :data:`CARE_PHRASES` (or without: ``care=False``).

    :meth:`analyse` runs VADER's rules (:mod:`socialcrm.conversations.vader_core`, the
    same tokens and arithmetic as ``polarity_scores``, MIT licence) and also returns the
    raw sums and the tokens, so the learned part costs no second pass. With
    ``care=False`` its compound equals VADER's before rounding.
    """

    def __init__(self, care: bool = True) -> None:
        super().__init__()
        self.care = care
        if care:
            self.lexicon.update(CARE_LEXICON)

    def analyse(self, text: str) -> Analysis:
        text = vader_core.demojize(text, self.emojis).strip()
        words = vader_core.tokenize(text)
        lows = list(map(str.lower, words))
        sentiments = vader_core.token_valences(words, lows, self.lexicon)
        tokens = [w.replace("\u2019", "'") for w in lows] if "\u2019" in text else lows
        phrases: list[str] = []
        if self.care and not _TRIGGERS.isdisjoint(tokens):
            present = set(tokens)
            joined = None
            for name, trigger, rx, valence in _PHRASE_RE:
                if not trigger.isdisjoint(present):
                    joined = joined or " ".join(tokens)
                    if rx.search(joined):
                        phrases.append(name)
                        sentiments.append(valence)
        if not sentiments:
            return Analysis(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, tokens, phrases)
        emphasis = vader_core.punctuation_emphasis(text)
        scores = vader_core.summarise(sentiments, emphasis)
        return Analysis(*scores, len(words), tokens, phrases)


def dense_features(a: Analysis, text: str) -> list[float]:
    """The VADER-derived features of :data:`DENSE_FEATURES`, in that order."""
    c = a.compound
    n = a.n_tokens
    log_n = math.log1p(n)
    return [
        c,
        *(max(c - k, 0.0) for k in _KNOTS),
        a.pos,
        a.neg,
        a.neu,
        math.tanh(a.pos_sum / 4),
        math.tanh(a.neg_sum / 4),
        log_n,
        c * log_n,
        c if n < 10 else 0.0,
        c if n < 20 else 0.0,
        float(c == 0.0),
        float(min(text.count("!"), 4)),
        float(min(text.count("?"), 3)),
        float(len(a.phrases)),
    ]


_FOLDED = ("http", "www.", "@", *"0123456789")
_FOLD_START = frozenset(p[0] for p in _FOLDED)  # a cheap first test before startswith


def ngrams(tokens: Sequence[str]) -> set[str]:
    """Binary word uni- and bigrams the regression reads (URLs, handles, numbers folded)."""
    toks = [_fold(t) if t[:1] in _FOLD_START and t.startswith(_FOLDED) else t for t in tokens]
    grams = set(toks)
    grams.update(map(" ".join, pairwise(toks)))
    return grams


def _fold(tok: str) -> str:
    if tok.startswith(("http", "www.")):
        return "<url>"
    if tok.startswith("@"):
        return "<user>"
    return "<num>"


STACK_FEATURES: tuple[str, ...] = (
    *DENSE_FEATURES,
    "ngram_score",
    "ngram_x_abs_compound",
    "ngram_x_log_tokens",
    "ngram_x_no_lexicon_hit",
    "compound_sign",
)


def stack_features(dense: np.ndarray, ngram_score: np.ndarray) -> np.ndarray:
    """Second-stage inputs (:data:`STACK_FEATURES`): the dense VADER features, the n-gram
    score and its interactions, so the model can trust the words less where VADER's
    lexicon is confident (short, sentiment-laden tweets) and more where it is silent."""
    c = dense[:, 0]
    log_n = dense[:, DENSE_FEATURES.index("log_tokens")]
    no_hit = dense[:, DENSE_FEATURES.index("no_lexicon_hit")]
    s = ngram_score
    return np.column_stack([dense, s, s * np.abs(c), s * log_n, s * no_hit, np.sign(c)])


@dataclass(frozen=True)
class SentimentModel:
    """A fitted two-stage correction of VADER.

    Stage 1: ``ngram_score = ngram_intercept + sum of the weights of the text's n-grams``.
    Stage 2: ``ridge = intercept + ((stack_features - mean) / scale) . coef``.
    Output: ``compound = clip(blend * vader_care + (1 - blend) * ridge, -1, 1)``.
    """

    ngram_coef: dict[str, float]
    ngram_intercept: float
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    blend: float
    meta: dict

    @classmethod
    def load(cls, path: Path | str = MODEL_PATH) -> SentimentModel:
        """Read a model saved by :meth:`save` (plain JSON, no pickle)."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        if d.get("features") != list(STACK_FEATURES):
            raise ValueError(
                f"{path}: model was fitted on other features; refit it with "
                "`python -m socialcrm.conversations.sentiment_training`"
            )
        return cls(
            {k: float(v) for k, v in d["ngram_coef"].items()},
            float(d["ngram_intercept"]),
            np.asarray(d["mean"], dtype="float64"),
            np.asarray(d["scale"], dtype="float64"),
            np.asarray(d["coef"], dtype="float64"),
            float(d["intercept"]),
            float(d["blend"]),
            d.get("meta", {}),
        )

    def save(self, path: Path | str = MODEL_PATH) -> None:
        d = {
            "features": list(STACK_FEATURES),
            "mean": [round(float(x), 6) for x in self.mean],
            "scale": [round(float(x), 6) for x in self.scale],
            "coef": [round(float(x), 6) for x in self.coef],
            "intercept": round(float(self.intercept), 6),
            "blend": float(self.blend),
            "meta": self.meta,
            "ngram_intercept": round(float(self.ngram_intercept), 6),
            "ngram_coef": {k: round(v, 5) for k, v in sorted(self.ngram_coef.items())},
        }
        Path(path).write_text(json.dumps(d, ensure_ascii=False, indent=0), encoding="utf-8")

    def ngram_score(self, grams: Sequence[set[str]]) -> np.ndarray:
        coef = self.ngram_coef
        return self.ngram_intercept + np.array(
            [sum(coef.get(g, 0.0) for g in gs) for gs in grams], dtype="float64"
        )

    def combine(self, dense: np.ndarray, ngram_score: np.ndarray, vader: np.ndarray) -> np.ndarray:
        """Stage 2 and the blend, on precomputed features (used by training too)."""
        z = (stack_features(dense, ngram_score) - self.mean) / self.scale
        ridge = z @ self.coef + self.intercept
        return np.clip(self.blend * vader + (1.0 - self.blend) * ridge, -1.0, 1.0)

    def predict(self, texts: Sequence[str], analyser: CareVader | None = None) -> np.ndarray:
        """Compound scores in [-1, 1] for ``texts``."""
        analyser = analyser or _analyser(True)
        n = len(texts)
        dense = np.empty((n, len(DENSE_FEATURES)))
        vader = np.empty(n)
        score = np.empty(n)
        coef = self.ngram_coef
        known, weight = coef.keys(), coef.__getitem__
        for i, text in enumerate(texts):
            text = text if isinstance(text, str) else ""
            a = analyser.analyse(text)
            dense[i] = dense_features(a, text)
            vader[i] = a.compound
            score[i] = sum(map(weight, known & ngrams(a.tokens)))
        return self.combine(dense, score + self.ngram_intercept, vader)


@lru_cache(maxsize=2)
def _analyser(care: bool) -> CareVader:
    return CareVader(care=care)


@lru_cache(maxsize=1)
def default_model() -> SentimentModel:
    """The model shipped in ``models/sentiment_ridge.json`` (loaded once)."""
    return SentimentModel.load(MODEL_PATH)


def label(compound: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """negative / neutral / positive with VADER's thresholds (±0.05)."""
    c = np.asarray(compound, dtype="float64")
    return np.where(c > threshold, "positive", np.where(c < -threshold, "negative", "neutral"))


def score(
    texts: Sequence[str], model: SentimentModel | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sentiment of each text: ``(compound float64 array in [-1, 1], label str array)``.

    Parameters
    ----------
    texts : a sequence of message texts (``None`` or non-strings score as empty).
    model : a fitted :class:`SentimentModel`; default the shipped one.

    Returns
    -------
    compound, label : numpy arrays of length ``len(texts)``.

    References
    ----------
    Hutto, C.J. & Gilbert, E.E. (2014). VADER: A Parsimonious Rule-based Model for
    Sentiment Analysis of Social Media Text. ICWSM-14.
    """
    compound = (model or default_model()).predict(list(texts))
    return compound, label(compound)


def vader_score(texts: Sequence[str], care: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Plain VADER (``care=False``, same as ``polarity_scores``) or VADER with the care
    corrections only (``care=True``), for comparison and for the learned model's input."""
    an = _analyser(care)
    c = np.array([an.analyse(t if isinstance(t, str) else "").compound for t in texts])
    return c, label(c)


def explain(text: str, model: SentimentModel | None = None, top: int = 5) -> dict:
    """Why a text scored as it did: VADER's compound, the care phrases found, and the
    n-grams that moved the learned part most (for the agent's "reason" view)."""
    model = model or default_model()
    a = _analyser(True).analyse(text)
    contrib = sorted(
        ((g, model.ngram_coef[g]) for g in ngrams(a.tokens) if g in model.ngram_coef),
        key=lambda kv: -abs(kv[1]),
    )[:top]
    compound = float(model.predict([text])[0])
    return {
        "compound": compound,
        "label": str(label(np.array([compound]))[0]),
        "vader_care_compound": a.compound,
        "care_phrases": a.phrases,
        "top_ngrams": [(g, round(w, 3)) for g, w in contrib],
    }
