"""Fit the learned part of :mod:`socialcrm.conversations.sentiment` and cross-validate it.

Ground truth: the VADER ICWSM-2014 sets (Hutto & Gilbert 2014; MIT licence), 23,703
texts rated by about 20 people each on -4..+4: 4,200 tweets, 3,708 Amazon review
snippets, 10,605 movie review snippets, 5,190 New York Times editorial snippets. The
target is the human mean divided by 4, so it lives on the compound's [-1, 1] scale.

Fitting has two stages (see :class:`~socialcrm.conversations.sentiment.SentimentModel`):
a ridge regression on binary word n-grams, then a small ridge on VADER's sub-scores, the
n-gram score and their interactions, trained on cross-fitted n-gram scores; the sets are
weighted equally (tweets twice, as the closest to customer-care text). The blend with
the corrected VADER compound is chosen on the training rows only, so
:func:`cross_validate` (outer folds) gives out-of-fold predictions. The n-gram ridge
strength (``ALPHA``) and the feature set were chosen once in exploratory 5-fold CV on
the same data (alpha 30 vs 100, single-stage vs two-stage), which flatters the reported
figures slightly. Refit and save the shipped model with::

    python -m socialcrm.conversations.sentiment_training --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import Ridge
from sklearn.model_selection import StratifiedKFold

from socialcrm.conversations.sentiment import (
    CARE_LEXICON,
    DENSE_FEATURES,
    MODEL_PATH,
    THRESHOLD,
    CareVader,
    SentimentModel,
    dense_features,
    ngrams,
    stack_features,
)

ICWSM_SETS: dict[str, str] = {
    "tweets": "tweets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "movie": "movieReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}
ALPHA = 30.0  # stage-1 ridge strength (n-grams), chosen in exploratory 5-fold CV
STACK_ALPHA = 1.0  # stage-2 ridge strength (26 standardised features)
BLENDS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
TWEETS_WEIGHT = 2.0
MIN_DF = 3
# Words whose VADER valence the care lexicon overrides are kept out of the n-grams, so
# the regression cannot learn back "please" = praise from the review sets.
EXCLUDED_GRAMS = frozenset(k for k, v in CARE_LEXICON.items() if v == 0.0)


def load_icwsm(data_dir: Path | str) -> pd.DataFrame:
    """The four ``*_GroundTruth.txt`` files: columns ``set, id, mean, text``.

    Format (checked): ``id<TAB>mean rating (-4..4)<TAB>text``, CRLF line ends, UTF-8.
    """
    root = Path(data_dir) / "vader_icwsm2014"
    frames = []
    for name, fname in ICWSM_SETS.items():
        rows = []
        path = root / fname
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split("\t", 2)
            if len(parts) != 3:
                raise ValueError(f"{path}:{lineno}: expected id<TAB>mean<TAB>text")
            rows.append((parts[0], float(parts[1]), parts[2]))
        frame = pd.DataFrame(rows, columns=["id", "mean", "text"])
        frame.insert(0, "set", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def featurize(texts: Sequence[str]) -> tuple[np.ndarray, list[set[str]], np.ndarray]:
    """Dense VADER features, n-gram sets and the corrected VADER compound of each text."""
    an = CareVader(care=True)
    dense = np.empty((len(texts), len(DENSE_FEATURES)))
    grams: list[set[str]] = []
    vader = np.empty(len(texts))
    for i, t in enumerate(texts):
        a = an.analyse(t)
        dense[i] = dense_features(a, t)
        grams.append(ngrams(a.tokens) - EXCLUDED_GRAMS)
        vader[i] = a.compound
    return dense, grams, vader


def _weights(groups: np.ndarray) -> np.ndarray:
    names, counts = np.unique(groups, return_counts=True)
    per = {n: len(groups) / len(names) / c for n, c in zip(names, counts, strict=True)}
    return np.array([per[g] * (TWEETS_WEIGHT if g == "tweets" else 1.0) for g in groups])


def _matrix(grams: Sequence[set[str]], vocab: dict[str, int]) -> sp.csr_matrix:
    indptr, indices = [0], []
    for gs in grams:
        indices.extend(vocab[g] for g in gs if g in vocab)
        indptr.append(len(indices))
    data = np.ones(len(indices))
    return sp.csr_matrix((data, indices, indptr), shape=(len(grams), len(vocab)))


def _fit_ngrams(
    grams: Sequence[set[str]], y: np.ndarray, groups: np.ndarray, alpha: float
) -> tuple[dict[str, float], float]:
    """Stage 1: ridge on binary n-grams seen in >= MIN_DF texts -> (weights, intercept)."""
    df: dict[str, int] = {}
    for gs in grams:
        for g in gs:
            df[g] = df.get(g, 0) + 1
    vocab = {g: i for i, g in enumerate(sorted(g for g, n in df.items() if n >= MIN_DF))}
    reg = Ridge(alpha=alpha, solver="sparse_cg", tol=1e-5, max_iter=3000)
    reg.fit(_matrix(grams, vocab), y, sample_weight=_weights(groups))
    inv = sorted(vocab, key=vocab.__getitem__)
    coef = {g: float(w) for g, w in zip(inv, reg.coef_, strict=True) if abs(w) >= 1e-4}
    return coef, float(reg.intercept_)


def _score(coef: dict[str, float], intercept: float, grams: Sequence[set[str]]) -> np.ndarray:
    return intercept + np.array([sum(coef.get(g, 0.0) for g in gs) for gs in grams])


def fit_model(
    dense: np.ndarray,
    grams: Sequence[set[str]],
    vader: np.ndarray,
    plain_vader: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    alpha: float = ALPHA,
    folds: int = 5,
    seed: int = 0,
    blend: float | None = None,
) -> SentimentModel:
    """Fit both stages on these rows and choose the blend (unless given).

    Stage 2 is trained on *cross-fitted* n-gram scores (each row scored by a stage-1
    model that did not see it), so it learns how far to trust the words on unseen text.
    The blend maximises :func:`selection_score` on those same rows; stage 2 has only
    26 coefficients, so its in-sample fit barely flatters the choice.
    """
    score_oof = np.zeros(len(y))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(dense, groups):
        coef, icpt = _fit_ngrams([grams[i] for i in tr], y[tr], groups[tr], alpha)
        score_oof[te] = _score(coef, icpt, [grams[i] for i in te])
    coef, icpt = _fit_ngrams(grams, y, groups, alpha)
    z = stack_features(dense, score_oof)
    mean = z.mean(axis=0)
    scale = z.std(axis=0)
    scale[scale == 0] = 1.0
    reg = Ridge(alpha=STACK_ALPHA).fit((z - mean) / scale, y, sample_weight=_weights(groups))
    model = SentimentModel(
        coef,
        icpt,
        mean,
        scale,
        reg.coef_.copy(),
        float(reg.intercept_),
        0.0,
        {"alpha": alpha, "stack_alpha": STACK_ALPHA},
    )
    if blend is None:
        scores = {
            b: selection_score(
                replace(model, blend=b).combine(dense, score_oof, vader), plain_vader, y, groups
            )
            for b in BLENDS
        }
        blend = max(scores, key=scores.__getitem__)
        model.meta["selection_score"] = round(scores[blend], 4)
    model.meta["blend"] = blend
    return replace(model, blend=blend)


def metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Pearson r, 3-class accuracy and macro-F1 (both sides thresholded at ±0.05)."""
    from sklearn.metrics import accuracy_score, f1_score

    def lab(v: np.ndarray) -> np.ndarray:
        return np.where(v > THRESHOLD, 1, np.where(v < -THRESHOLD, -1, 0))

    t, p = lab(y), lab(pred)
    return {
        "r": float(np.corrcoef(pred, y)[0, 1]),
        "acc": float(accuracy_score(t, p)),
        "f1": float(f1_score(t, p, average="macro", labels=[-1, 0, 1])),
    }


def selection_score(
    pred: np.ndarray, vader: np.ndarray, y: np.ndarray, groups: np.ndarray
) -> float:
    """What the inner cross-validation maximises: the smallest gain over plain VADER
    across sets and metrics (r, macro-F1), plus a tenth of the mean gain, so no set is
    traded away for another."""
    gains = []
    for g in np.unique(groups):
        m = groups == g
        ours, base = metrics(pred[m], y[m]), metrics(vader[m], y[m])
        gains += [ours["r"] - base["r"], ours["f1"] - base["f1"]]
    return min(gains) + 0.1 * float(np.mean(gains))


def cross_validate(
    data: pd.DataFrame, folds: int = 5, seed: int = 0, features: tuple | None = None
) -> pd.DataFrame:
    """Out-of-fold compound for every row (nested: selection inside each training part).

    Returns ``data`` with columns ``vader`` (plain VADER), ``vader_care`` and ``ours``.
    """
    texts = data["text"].tolist()
    dense, grams, vader = features or featurize(texts)
    plain = np.array([CareVader(care=False).analyse(t).compound for t in texts])
    y = data["mean"].to_numpy() / 4.0
    groups = data["set"].to_numpy()
    ours = np.zeros(len(y))
    chosen = []
    outer = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for tr, te in outer.split(dense, groups):
        model = fit_model(
            dense[tr],
            [grams[i] for i in tr],
            vader[tr],
            plain[tr],
            y[tr],
            groups[tr],
            seed=seed + 1,
        )
        chosen.append(model.blend)
        ours[te] = model.combine(dense[te], model.ngram_score([grams[i] for i in te]), vader[te])
    out = data.assign(vader=plain, vader_care=vader, ours=ours)
    out.attrs["chosen"] = chosen
    return out


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(Path.cwd().parent / "shared" / "data"))
    ap.add_argument("--out", default=str(MODEL_PATH))
    args = ap.parse_args(argv)
    data = load_icwsm(args.data_dir)
    texts = data["text"].tolist()
    dense, grams, vader = featurize(texts)
    plain = np.array([CareVader(care=False).analyse(t).compound for t in texts])
    model = fit_model(
        dense, grams, vader, plain, data["mean"].to_numpy() / 4.0, data["set"].to_numpy()
    )
    model.meta.update(
        trained_on="vader_icwsm2014 tweets+amazon+movie+nyt, all 23,703 rows (MIT licence)",
        n_grams=len(model.ngram_coef),
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(
        f"saved {args.out}: alpha={model.meta['alpha']} blend={model.blend} "
        f"{len(model.ngram_coef)} n-grams"
    )


if __name__ == "__main__":
    main()
