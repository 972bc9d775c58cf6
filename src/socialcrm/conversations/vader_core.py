"""VADER's rule-based scoring, re-implemented so each token is read once.

This is the algorithm of ``vaderSentiment`` 3.3.2
(``SentimentIntensityAnalyzer.polarity_scores``; © C.J. Hutto, MIT licence), with its
constants, negation list, boosters and idioms imported from that package. VADER lowers
every neighbour of every word again inside each rule (millions of ``str.lower`` calls
and list copies on a large column); here the tokens are lowered once and the rules read
that list. The arithmetic is VADER's, in VADER's order, and so are its quirks, because
parity with ``polarity_scores`` is the contract (``tests/conversations/test_vader_core.py``):

- a word's three predecessors are only read when they are not lexicon words;
- "so" or "this" right before a word scales it by 1.25 when three words precede it (the
  third not a lexicon word), even without a "never";
- idioms ("the bomb", "yeah right") are only looked for around a word with three or
  more words before it, the third of them not a lexicon word;
- the "but" rule rescales the *first* sentiment equal to each value, as
  ``list.index`` does, so repeated values can be rescaled twice.

:mod:`socialcrm.conversations.sentiment` builds the customer-care analyser on these parts.

References
----------
Hutto, C.J. & Gilbert, E.E. (2014). VADER: A Parsimonious Rule-based Model for
Sentiment Analysis of Social Media Text. ICWSM-14.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
)

_PUNCTUATION = string.punctuation
_NEGATE = frozenset(NEGATE)
_SO_THIS = ("so", "this")
# Idioms and two-word boosters keyed by their words: tokens hold no whitespace, so a
# tuple matches exactly when VADER's space-joined string does.
_IDIOMS = {tuple(k.split()): v for k, v in SPECIAL_CASES.items()}
_BOOSTER_PAIRS = {tuple(k.split()): v for k, v in BOOSTER_DICT.items() if " " in k}
# Every idiom or two-word booster VADER tries around word i contains word i-2, i-1 or
# i, so when none of those can be part of one the lookups are skipped.
_IDIOM_WORDS = frozenset(w for k in (*_IDIOMS, *_BOOSTER_PAIRS) for w in k)


def demojize(text: str, emojis: Mapping[str, str]) -> str:
    """Replace each emoji character by its description, spaced as VADER does."""
    if text.isascii() or emojis.keys().isdisjoint(text):
        return text
    out, prev_space = [], True
    for ch in text:
        desc = emojis.get(ch)
        if desc is not None:
            if not prev_space:
                out.append(" ")
            out.append(desc)
            prev_space = False
        else:
            out.append(ch)
            prev_space = ch == " "
    return "".join(out)


def tokenize(text: str) -> list[str]:
    """VADER's words and emoticons: split on whitespace, strip edge punctuation unless
    that leaves two characters or fewer (then it was an emoticon such as ":)")."""
    return [s if len(s := w.strip(_PUNCTUATION)) > 2 else w for w in text.split()]


def token_valences(words: list[str], lows: list[str], lexicon: Mapping[str, float]) -> list:
    """One sentiment per token (0 for non-lexicon words, boosters and "kind of"), after
    VADER's negation, booster, capitals, idiom, "least" and "but" rules.

    ``lows`` is ``words`` lower-cased; ``lexicon`` maps lower-case words to valences.
    """
    n = len(words)
    caps = sum(map(str.isupper, words))
    cap_diff = 0 < caps < n  # some but not all words in capitals
    sentiments: list = [0] * n
    for i, low in enumerate(lows):
        if (
            low in lexicon
            and low not in BOOSTER_DICT
            and not (low == "kind" and i < n - 1 and lows[i + 1] == "of")
        ):
            sentiments[i] = _valence(i, words, lows, lexicon, cap_diff)
    if "but" in lows:
        _but_check(lows.index("but"), sentiments)
    return sentiments


def _valence(
    i: int, words: list[str], lows: list[str], lexicon: Mapping[str, float], cap_diff: bool
) -> float:
    """The valence of lexicon word ``i`` (VADER's ``sentiment_valence``)."""
    low = lows[i]
    valence = lexicon[low]
    if low == "no" and i != len(lows) - 1 and lows[i + 1] in lexicon:
        valence = 0.0  # "no" negates the next lexicon word instead of counting itself
    if (
        (i > 0 and lows[i - 1] == "no")
        or (i > 1 and lows[i - 2] == "no")
        or (i > 2 and lows[i - 3] == "no" and lows[i - 1] in ("or", "nor"))
    ):
        valence = lexicon[low] * N_SCALAR
    if cap_diff and words[i].isupper():
        valence = valence + C_INCR if valence > 0 else valence - C_INCR
    for k in (1, 2, 3):  # the word k places back
        if i < k:
            break
        prev = lows[i - k]
        if prev in lexicon:
            continue
        s = _booster(prev, words[i - k], valence, cap_diff)
        if k == 2 and s != 0:
            s = s * 0.95
        if k == 3 and s != 0:
            s = s * 0.9
        valence = valence + s
        valence = _negation(valence, lows, i, k)
        if k == 3:
            valence = _idioms(valence, lows, i)
    if (
        i > 0
        and lows[i - 1] == "least"
        and "least" not in lexicon
        and (i == 1 or lows[i - 2] not in ("at", "very"))
    ):
        valence = valence * N_SCALAR  # "least good", but not "at least" / "very least"
    return valence


def _booster(low: str, word: str, valence: float, cap_diff: bool) -> float:
    """What a preceding booster or dampener adds (VADER's ``scalar_inc_dec``)."""
    scalar = BOOSTER_DICT.get(low)
    if scalar is None:
        return 0.0
    if valence < 0:
        scalar *= -1
    if cap_diff and word.isupper():
        scalar = scalar + C_INCR if valence > 0 else scalar - C_INCR
    return scalar


def _negated(low: str) -> bool:
    return low in _NEGATE or "n't" in low


def _negation(valence: float, lows: list[str], i: int, k: int) -> float:
    """Negation by the word ``k`` places back (VADER's ``_negation_check``)."""
    if k == 1:
        if _negated(lows[i - 1]):
            valence = valence * N_SCALAR
    elif k == 2:
        if lows[i - 2] == "never" and lows[i - 1] in _SO_THIS:
            valence = valence * 1.25  # "never so good"
        elif lows[i - 2] == "without" and lows[i - 1] == "doubt":
            pass
        elif _negated(lows[i - 2]):
            valence = valence * N_SCALAR
    else:
        if (lows[i - 3] == "never" and lows[i - 2] in _SO_THIS) or lows[i - 1] in _SO_THIS:
            valence = valence * 1.25
        elif lows[i - 3] == "without" and (lows[i - 2] == "doubt" or lows[i - 1] == "doubt"):
            pass
        elif _negated(lows[i - 3]):
            valence = valence * N_SCALAR
    return valence


def _idioms(valence: float, lows: list[str], i: int) -> float:
    """Idioms around word ``i`` (``i >= 3``) set its valence; "kind of" / "sort of"
    before it add a dampener (VADER's ``_special_idioms_check``)."""
    w3, w2, w1, w0 = lows[i - 3 : i + 1]
    if w2 not in _IDIOM_WORDS and w1 not in _IDIOM_WORDS and w0 not in _IDIOM_WORDS:
        return valence
    for seq in ((w1, w0), (w2, w1, w0), (w2, w1), (w3, w2, w1), (w3, w2)):
        if seq in _IDIOMS:
            valence = _IDIOMS[seq]
            break
    n = len(lows)
    if n - 1 > i and (w0, lows[i + 1]) in _IDIOMS:
        valence = _IDIOMS[w0, lows[i + 1]]
    if n - 1 > i + 1 and (w0, lows[i + 1], lows[i + 2]) in _IDIOMS:
        valence = _IDIOMS[w0, lows[i + 1], lows[i + 2]]
    for seq in ((w3, w2), (w2, w1)):  # VADER also tries (w3, w2, w1): no booster has 3 words
        if seq in _BOOSTER_PAIRS:
            valence = valence + _BOOSTER_PAIRS[seq]
    return valence


def _but_check(bi: int, sentiments: list) -> None:
    """Halve sentiments before the first "but", add half to those after, in place.

    As in VADER, each value rescales the first entry equal to it (``list.index``);
    zeros are skipped since rescaling a zero leaves a zero."""
    for k in range(len(sentiments)):
        v = sentiments[k]
        if not v:
            continue
        si = sentiments.index(v)
        if si < bi:
            sentiments[si] = v * 0.5
        elif si > bi:
            sentiments[si] = v * 1.5


def punctuation_emphasis(text: str) -> float:
    """Emphasis from up to four "!" and from two or more "?"."""
    ep_amplifier = min(text.count("!"), 4) * 0.292
    qm_count = text.count("?")
    qm_amplifier = 0
    if qm_count > 1:
        qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
    return ep_amplifier + qm_amplifier


def summarise(sentiments: list, emphasis: float) -> tuple[float, float, float, float, float, float]:
    """``(compound, pos, neg, neu, pos_sum, neg_sum)`` of non-empty ``sentiments``,
    unrounded (VADER's ``score_valence`` rounds compound to 4 decimals, the rest to 3);
    ``pos_sum`` and ``neg_sum`` include the punctuation emphasis."""
    sum_s = float(sum(sentiments))
    if sum_s > 0:
        sum_s += emphasis
    elif sum_s < 0:
        sum_s -= emphasis
    compound = max(-1.0, min(1.0, sum_s / math.sqrt(sum_s * sum_s + 15)))
    pos_sum, neg_sum, neu_count = 0.0, 0.0, 0
    for s in sentiments:
        if s > 0:
            pos_sum += s + 1  # +1 compensates for neutral words counted as 1
        elif s < 0:
            neg_sum += s - 1
        else:
            neu_count += 1
    if pos_sum > -neg_sum:
        pos_sum += emphasis
    elif pos_sum < -neg_sum:
        neg_sum -= emphasis
    total = pos_sum - neg_sum + neu_count
    return compound, pos_sum / total, -neg_sum / total, neu_count / total, pos_sum, neg_sum
