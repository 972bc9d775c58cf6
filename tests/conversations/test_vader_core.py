"""VADER parity of :mod:`socialcrm.conversations.vader_core` on real texts and on each rule.

The contract: with ``care=False`` :meth:`CareVader.analyse` gives vaderSentiment's own
``polarity_scores`` before rounding (checked here against VADER's unrounded sentiments,
to 1e-12, and its rounded output); with ``care=True`` it gives what the step-by-step
implementation it replaced gave, frozen in ``vader_expected.json`` over a sample of the
four ICWSM-2014 sets and the twcs tweets. After a deliberate change to the care lexicon,
phrases or rules, refreeze with ``.venv/bin/python tests/conversations/test_vader_core.py``.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer, normalize

from socialcrm.conversations.sentiment import Analysis, CareVader
from socialcrm.conversations.sentiment_training import load_icwsm

EXPECTED = Path(__file__).with_name("vader_expected.json")
FROZEN_EVERY = {"icwsm": 20, "twcs": 4}  # 1,185 + 1,251 of the 28,704 texts are frozen
PARITY_EVERY = 5  # about 5,700 texts are checked against vaderSentiment by default
TOL = 1e-12


def corpus(shared_data: Path) -> dict[str, str]:
    """Every text of the ICWSM-2014 ground truth (``set:id``) and of twcs_head5000 (``twcs:row``)."""
    icwsm = load_icwsm(shared_data)
    texts = {
        f"{s}:{i}": t for s, i, t in zip(icwsm["set"], icwsm["id"], icwsm["text"], strict=True)
    }
    twcs = pd.read_csv(
        shared_data / "twcs_head5000" / "twcs_first5000.csv", dtype=str, keep_default_na=False
    )
    texts.update((f"twcs:{row}", t) for row, t in enumerate(twcs["text"]))
    return texts


class RawVader(SentimentIntensityAnalyzer):
    """vaderSentiment itself, also keeping the unrounded compound of the last text."""

    def score_valence(self, sentiments: list, text: str) -> dict:
        if sentiments:
            sum_s = float(sum(sentiments))
            emphasis = self._punctuation_emphasis(text)
            if sum_s > 0:
                sum_s += emphasis
            elif sum_s < 0:
                sum_s -= emphasis
            self.raw_compound = normalize(sum_s)
        else:
            self.raw_compound = 0.0
        return super().score_valence(sentiments, text)


@pytest.fixture(scope="module")
def texts(shared_data: Path) -> dict[str, str]:
    return corpus(shared_data)


def assert_vader_parity(texts: list[str]) -> None:
    vader, plain = RawVader(), CareVader(care=False)
    for text in texts:
        a, ps = plain.analyse(text), vader.polarity_scores(text)
        assert abs(a.compound - vader.raw_compound) <= TOL, text
        assert abs(a.compound - ps["compound"]) <= 1e-4, text
        assert round(a.compound, 4) == ps["compound"], text
        for key in ("pos", "neg", "neu"):
            assert round(getattr(a, key), 3) == ps[key], (key, text)


def test_plain_mode_matches_vader_on_real_texts(texts: dict[str, str]) -> None:
    assert len(texts) == 23_703 + 5_001
    assert_vader_parity(list(texts.values())[::PARITY_EVERY])


@pytest.mark.slow
def test_plain_mode_matches_vader_on_all_texts(texts: dict[str, str]) -> None:
    assert_vader_parity(list(texts.values()))


def record(a: Analysis) -> list:
    """What is frozen of one analysis: the numbers, the phrases and a digest of the tokens."""
    digest = hashlib.sha1("\x1f".join(a.tokens).encode()).hexdigest()[:12]
    nums = [a.compound, a.pos, a.neg, a.neu, a.pos_sum, a.neg_sum]
    return [*nums, a.n_tokens, a.phrases, digest]


def frozen_keys(texts: dict[str, str]) -> list[str]:
    """The sample that is frozen: more twcs tweets, where the care phrases occur."""
    twcs = [k for k in texts if k.startswith("twcs:")]
    icwsm = [k for k in texts if not k.startswith("twcs:")]
    return icwsm[:: FROZEN_EVERY["icwsm"]] + twcs[:: FROZEN_EVERY["twcs"]]


def freeze(texts: dict[str, str], analyser: CareVader, path: Path = EXPECTED) -> None:
    """Write the care-mode records of the :func:`frozen_keys` texts."""
    keys = frozen_keys(texts)
    frozen = {k: record(analyser.analyse(texts[k])) for k in keys}
    lines = ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in frozen.items())
    path.write_text("{\n" + lines + "\n}\n", encoding="utf-8")


def test_care_mode_matches_frozen_expectations(texts: dict[str, str]) -> None:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert list(expected) == frozen_keys(texts)
    care = CareVader(care=True)
    n_phrases = 0
    for key, want in expected.items():
        got = record(care.analyse(texts[key]))
        for g, w in zip(got[:6], want[:6], strict=True):
            assert abs(g - w) <= TOL, (key, got, want)
        assert got[6:] == want[6:], (key, got, want)
        n_phrases += bool(got[7])
    assert n_phrases > 50  # the sample does exercise the care phrases (81 texts)


# One text per VADER rule, with a text the rule does not apply to. Each pair must score
# differently (the rule fires) and both must match vaderSentiment exactly.
RULES: dict[str, tuple[str, str]] = {
    "negation": ("The food is not good", "The food is good"),
    "n't negation": ("The food isn't good", "The food is good"),
    "negation two back": ("The food is not very good", "The food is so very good"),
    "never so": ("It was never so good", "It was so good"),
    "never this": ("It was never this good", "It was not this good"),
    "so three back (VADER quirk)": ("we did it so good", "we did it very good"),
    "without doubt": ("Without a doubt, an excellent idea.", "Without a plan, an excellent idea."),
    "least": ("One of the least compelling films", "One of the compelling films"),
    "least first": ("least good", "good"),
    "kind of": ("The book was only kind of good.", "The book was only good."),
    "kind (a lexicon word) of": ("kind of bad", "kind and bad"),
    "sort of (idiom check)": ("honestly it was sort of good", "honestly it was good"),
    "but": ("The plot was good, but the dialog is bad", "The plot was good, and the dialog is bad"),
    "but with repeated values (VADER quirk)": (
        "good good good but good",
        "good good good and good",
    ),
    "all caps": ("The service is GREAT today", "The service is great today"),
    "all caps booster": ("The service is VERY good", "The service is very good"),
    "exclamations": ("The service is great!!!", "The service is great"),
    "two question marks": ("Is the service great??", "Is the service great?"),
    "four question marks": ("Is it great????", "Is it great???"),
    "emoticon": ("See you there :)", "See you there"),
    "emoji": ("See you there 😀", "See you there"),
    "emoji glued to a word": ("Thanks😀", "Thanks"),
    "idiom the bomb": ("I think this is the bomb", "I think this is a bomb"),
    "idiom yeah right": ("oh it will be fixed yeah right", "oh it will be fixed right"),
    "idiom the shit": ("With VADER, sentiment analysis is the shit!", "Analysis is shit!"),
    "booster": ("The movie was extremely good", "The movie was good"),
    "dampener": ("The movie was slightly good", "The movie was good"),
    "booster two back": ("The movie was really very good", "The movie was very good"),
    "no before a lexicon word": ("There was no good answer", "There was a good answer"),
    "no two back": ("no that great", "oh that great"),
    "no ... or": ("no love or hate", "some love or hate"),
}
# Pairs VADER scores the same: its rules do not fire on the first text.
UNCHANGED: dict[str, tuple[str, str]] = {
    "curly apostrophe is no negation": ("I don\u2019t like it", "I like it"),
    "at least": ("at least good", "good"),
    "every word in capitals": ("THE SERVICE IS GREAT", "the service is great"),
    "one question mark": ("great?", "great"),
    "exclamations beyond four": ("great!!!!!!", "great!!!!"),
    "punctuation glued to no": ("no, that is great", "that is great"),
}


@pytest.mark.parametrize("name", list(RULES))
def test_each_rule_fires_and_matches_vader(name: str) -> None:
    with_rule, without = RULES[name]
    assert_vader_parity([with_rule, without])
    plain = CareVader(care=False)
    assert not math.isclose(plain.analyse(with_rule).compound, plain.analyse(without).compound)


@pytest.mark.parametrize("name", list(UNCHANGED))
def test_rules_that_do_not_fire_match_vader(name: str) -> None:
    first, second = UNCHANGED[name]
    assert_vader_parity([first, second])
    plain = CareVader(care=False)
    assert plain.analyse(first).compound == plain.analyse(second).compound


def test_odd_inputs_match_vader() -> None:
    assert_vader_parity(
        ["", "   ", "!!!", "??", ":)", "😀", "a", "NO", "ＧＯＯＤ ｇｏｏｄ", "İİ! good"]
    )


if __name__ == "__main__":
    freeze(corpus(Path(__file__).resolve().parents[2].parent / "shared" / "data"), CareVader())
    print(f"wrote {EXPECTED}")
