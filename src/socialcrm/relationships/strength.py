"""Tie strength in [0, 1] from tie features, with each component's contribution.

Model form (a boosted additive model over the four components of seed 000):

    logit(strength) = intercept + f_time(x_time) + f_intensity(x_int) + f_reciprocity(x_rec)
                      + f_trust(x_trust) + prior terms

Each ``f_c`` is a sum of shallow regression trees that only see component c's features (cyclic
gradient boosting on the logistic loss, Newton leaf values). Features interact *within* a
component (e.g. volume with the ego's share) but not across components, so the log-odds split
exactly into the four contributions: ``contributions(X)`` returns, per tie, how far each component
moves the tie from an average tie, and ``sigmoid(base_score_ + sum(contributions)) == strength``.
Trees are invariant to monotone transforms, so features need no scaling or logs.

Prior terms: a model fitted on one data set cannot learn from features that never vary there
(SocioPatterns has no text, ratings or replies). For such features the model applies the linear
log-odds terms in ``priors`` (hand-set, documented in ``default_strength.json``; not fitted); as soon
as a refit sees the feature vary, trees learn it and its prior is dropped.

Refit on your own labels (any binary notion of "strong tie": a named friend, a renewed contract, a
positive next rating) with ``TieStrengthModel().fit(features_df, labels)`` and save it with
``to_json``; ``TieStrengthModel.from_json`` loads it without pickle.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.tree import DecisionTreeRegressor

from socialcrm.relationships.features import FEATURE_COMPONENTS

COMPONENTS: tuple[str, ...] = ("time", "intensity", "reciprocity", "trust")
MISSING = -1.0  # every feature that can be missing (NULL) is non-negative when present
DEFAULT_JSON = "default_strength.json"

# Hand-set log-odds slopes for features a training set may not exercise (see module docstring).
# term = weight * transform(x - center); transforms: "identity", "slog1p" (sign * log1p |x|), "abs".
DEFAULT_PRIORS: dict[str, dict[str, Any]] = {
    "endorse_ab": {"weight": 0.5, "transform": "slog1p", "center": 0.0},
    "endorse_ba": {"weight": 0.5, "transform": "slog1p", "center": 0.0},
    "rating_mean_ab": {"weight": 0.15, "transform": "identity", "center": 0.0},
    "rating_mean_ba": {"weight": 0.15, "transform": "identity", "center": 0.0},
    "sentiment_ab": {"weight": 1.0, "transform": "identity", "center": 0.0},
    "sentiment_ba": {"weight": 1.0, "transform": "identity", "center": 0.0},
    "answered_by_b_share": {"weight": 1.0, "transform": "identity", "center": 0.0},
    "answered_by_a_share": {"weight": 1.0, "transform": "identity", "center": 0.0},
    "balance": {"weight": -0.5, "transform": "abs", "center": 0.0},
    "channels": {"weight": 0.5, "transform": "slog1p", "center": 1.0},
    "private_share": {"weight": 0.5, "transform": "identity", "center": 0.0},
    # Dormancy (seed 000: a tie not fed decays): past two weeks of silence the odds halve
    # every 30 days. Kept even when training data vary recency, as long as they never go
    # past the grace period (a week-long contact study cannot teach what months do).
    "recency_days": {"weight": -math.log(2.0) / 30.0, "transform": "hinge", "center": 14.0},
}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _transform(x: np.ndarray, how: str) -> np.ndarray:
    if how == "identity":
        return x
    if how == "slog1p":
        return np.sign(x) * np.log1p(np.abs(x))
    if how == "abs":
        return np.abs(x)
    if how == "hinge":  # acts only beyond the centre: e.g. silence past a grace period
        return np.maximum(x, 0.0)
    raise ValueError(f"unknown prior transform {how!r}")


def _tree_arrays(tree: DecisionTreeRegressor, cols: Sequence[int], leaf_values: np.ndarray) -> dict:
    t = tree.tree_
    feat = np.where(t.children_left >= 0, np.asarray(cols)[np.maximum(t.feature, 0)], -1)
    return {
        "feature": feat.astype(int).tolist(),
        "threshold": np.where(feat >= 0, t.threshold, 0.0).astype(float).tolist(),
        "left": t.children_left.astype(int).tolist(),
        "right": t.children_right.astype(int).tolist(),
        "value": leaf_values.astype(float).tolist(),
    }


def _eval_tree(tree: Mapping[str, Any], X: np.ndarray) -> np.ndarray:
    """Vectorised traversal of one tree (x <= threshold goes left, as in scikit-learn)."""
    feat = np.asarray(tree["feature"], dtype=np.int64)
    thr = np.asarray(tree["threshold"], dtype=np.float64)
    left = np.asarray(tree["left"], dtype=np.int64)
    right = np.asarray(tree["right"], dtype=np.int64)
    value = np.asarray(tree["value"], dtype=np.float64)
    n = X.shape[0]
    node = np.zeros(n, dtype=np.int64)
    rows = np.arange(n)
    while True:
        f = feat[node]
        inner = f >= 0
        if not inner.any():
            break
        xv = X[rows, np.where(inner, f, 0)]
        nxt = np.where(xv <= thr[node], left[node], right[node])
        node = np.where(inner, nxt, node)
    return value[node]


class TieStrengthModel(ClassifierMixin, BaseEstimator):
    """Directed tie strength in [0, 1] with per-component contributions (scikit-learn shaped).

    Args:
        components: component name → feature names; default ``FEATURE_COMPONENTS``.
        n_rounds: boosting rounds; each round fits one tree per component.
        learning_rate: shrinkage of every tree.
        max_depth: depth of the trees (interactions within a component).
        min_samples_leaf: smallest leaf, in training ties.
        l2: ridge penalty on leaf values (Newton step ``sum(g) / (sum(h) + l2)``).
        subsample: fraction of ties drawn (without replacement) for each tree.
        priors: feature → ``{"weight", "transform", "center"}`` log-odds terms used for features
            that are constant in the training data; default ``DEFAULT_PRIORS``.
        random_state: seed for subsampling and tree tie-breaking.
    """

    def __init__(
        self,
        components: Mapping[str, Sequence[str]] | None = None,
        n_rounds: int = 75,
        learning_rate: float = 0.1,
        max_depth: int = 3,
        min_samples_leaf: int = 20,
        l2: float = 1.0,
        subsample: float = 0.8,
        priors: Mapping[str, Mapping[str, Any]] | None = None,
        random_state: int = 0,
    ) -> None:
        self.components = components
        self.n_rounds = n_rounds
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2 = l2
        self.subsample = subsample
        self.priors = priors
        self.random_state = random_state

    # ---- helpers -----------------------------------------------------------------------------
    def _components(self) -> dict[str, list[str]]:
        comps = self.components if self.components is not None else FEATURE_COMPONENTS
        return {c: list(fs) for c, fs in comps.items()}

    def _matrix(self, X: pd.DataFrame | Any, names: Sequence[str]) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            X = X.to_pandas() if hasattr(X, "to_pandas") else pd.DataFrame(X, columns=list(names))
        missing = [c for c in names if c not in X.columns]
        if missing:
            raise ValueError(f"missing feature columns: {missing}")
        M = X[list(names)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        M = np.where(np.isfinite(M), M, MISSING)
        return M.astype(np.float32)

    # ---- fitting -----------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Sequence[int] | np.ndarray) -> TieStrengthModel:
        """Fit on labelled ties: ``X`` has the feature columns, ``y`` is 1 for a strong tie."""
        comps = self._components()
        names = [f for fs in comps.values() for f in fs]
        M = self._matrix(X, names)
        yv = np.asarray(y, dtype=np.float64)
        if set(np.unique(yv)) - {0.0, 1.0}:
            raise ValueError("y must be binary (0/1)")
        rng = np.random.default_rng(self.random_state)
        varying = [j for j in range(M.shape[1]) if np.ptp(M[:, j]) > 0]
        col_sets = {
            c: [j for j, f in enumerate(names) if f in set(fs) and j in set(varying)]
            for c, fs in comps.items()
        }
        prevalence = float(np.clip(yv.mean(), 1e-6, 1 - 1e-6))
        intercept = math.log(prevalence / (1 - prevalence))
        raw = np.full(len(yv), intercept)
        trees: dict[str, list[dict]] = {c: [] for c in comps}
        n = len(yv)
        n_sub = min(max(round(self.subsample * n), 2 * self.min_samples_leaf), n)
        sub_m = {c: np.ascontiguousarray(M[:, cols]) for c, cols in col_sets.items() if cols}
        for _ in range(self.n_rounds):
            for c, Mc in sub_m.items():
                p = _sigmoid(raw)
                g = yv - p
                h = p * (1 - p)
                idx = rng.choice(n, size=n_sub, replace=False) if n_sub < n else np.arange(n)
                tree = DecisionTreeRegressor(
                    max_depth=self.max_depth,
                    min_samples_leaf=self.min_samples_leaf,
                    random_state=int(rng.integers(2**31 - 1)),
                ).fit(Mc[idx], g[idx])
                leaf_all = tree.apply(Mc)
                n_nodes = tree.tree_.node_count
                gs = np.bincount(leaf_all[idx], weights=g[idx], minlength=n_nodes)
                hs = np.bincount(leaf_all[idx], weights=h[idx], minlength=n_nodes)
                vals = self.learning_rate * gs / (hs + self.l2)
                vals[tree.tree_.children_left >= 0] = 0.0
                vals = np.array([float(f"{v:.6g}") for v in vals])  # what the JSON keeps
                trees[c].append(_tree_arrays(tree, col_sets[c], vals))
                raw += vals[leaf_all]
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.classes_ = np.array([0, 1])
        self.intercept_ = intercept
        self.trees_ = trees
        self.component_features_ = {c: list(fs) for c, fs in comps.items()}
        priors = DEFAULT_PRIORS if self.priors is None else self.priors
        varying_names = {names[j] for j in varying}
        self.prior_terms_ = {}
        for f, spec in priors.items():
            if f not in names:
                continue
            col = M[:, names.index(f)]
            seen = col[col != MISSING]
            term = dict(spec)
            if spec["transform"] == "hinge":  # unseen if no training row reaches the hinge
                if not len(seen) or float(seen.max()) <= spec.get("center", 0.0):
                    self.prior_terms_[f] = term
            elif f not in varying_names:
                if len(seen):  # centre on the level the training data sat at
                    term["center"] = float(seen[0])
                self.prior_terms_[f] = term
        scores = self._component_scores(M)
        self.component_offsets_ = {c: float(s.mean()) for c, s in scores.items()}
        return self

    # ---- prediction --------------------------------------------------------------------------
    def _component_scores(self, M: np.ndarray) -> dict[str, np.ndarray]:
        """Raw log-odds of each component (trees + prior terms), not centred."""
        names = list(self.feature_names_in_)
        out = {}
        for c in self.trees_:
            s = np.zeros(M.shape[0])
            for tree in self.trees_[c]:
                s += _eval_tree(tree, M)
            for f, spec in getattr(self, "prior_terms_", {}).items():
                if f in self.component_features_[c]:
                    x = M[:, names.index(f)].astype(np.float64)
                    x = np.where(x == MISSING, spec.get("center", 0.0), x)
                    s += spec["weight"] * _transform(x - spec.get("center", 0.0), spec["transform"])
            out[c] = s
        return out

    @property
    def base_score_(self) -> float:
        """Log-odds of an average training tie: intercept plus the mean of every component."""
        return float(self.intercept_ + sum(self.component_offsets_.values()))

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of a strong tie."""
        M = self._matrix(X, list(self.feature_names_in_))
        return self.intercept_ + sum(self._component_scores(M).values())

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = _sigmoid(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """Tie strength in [0, 1] (the probability of a strong tie)."""
        return _sigmoid(self.decision_function(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.score_samples(X) >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per tie: each component's log-odds relative to an average tie, ``base`` and ``strength``.

        ``sigmoid(base + time + intensity + reciprocity + trust) == strength``; the ``*_share``
        columns give each component's share of the absolute movement (they sum to 1 unless the
        tie is exactly average).
        """
        M = self._matrix(X, list(self.feature_names_in_))
        scores = self._component_scores(M)
        df = pd.DataFrame({c: s - self.component_offsets_[c] for c, s in scores.items()})
        total = df.abs().sum(axis=1).replace(0.0, np.nan)
        for c in list(scores):
            df[f"{c}_share"] = (df[c].abs() / total).fillna(0.0)
        df["base"] = self.base_score_
        df["strength"] = _sigmoid(self.base_score_ + df[list(scores)].sum(axis=1).to_numpy())
        if isinstance(X, pd.DataFrame):
            df.index = X.index
        return df

    # ---- persistence (JSON, no pickle) -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "socialcrm.tie_strength/1",
            "params": {k: v for k, v in self.get_params().items() if k != "components"}
            | {"components": self.component_features_},
            "feature_names": list(self.feature_names_in_),
            "intercept": self.intercept_,
            "component_offsets": self.component_offsets_,
            "prior_terms": self.prior_terms_,
            "trees": self.trees_,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TieStrengthModel:
        if d.get("format") != "socialcrm.tie_strength/1":
            raise ValueError("not a socialcrm tie strength model")
        m = cls(**d["params"])
        m.feature_names_in_ = np.asarray(d["feature_names"], dtype=object)
        m.n_features_in_ = len(d["feature_names"])
        m.classes_ = np.array([0, 1])
        m.intercept_ = float(d["intercept"])
        m.component_offsets_ = {c: float(v) for c, v in d["component_offsets"].items()}
        m.prior_terms_ = {f: dict(s) for f, s in d["prior_terms"].items()}
        m.trees_ = {c: list(ts) for c, ts in d["trees"].items()}
        m.component_features_ = {c: list(fs) for c, fs in d["params"]["components"].items()}
        return m

    def to_json(self, path: str | Path, meta: Mapping[str, Any] | None = None) -> None:
        d = self.to_dict()
        if meta:
            d["meta"] = dict(meta)
        Path(path).write_text(json.dumps(d, separators=(",", ":")))

    @classmethod
    def from_json(cls, path: str | Path) -> TieStrengthModel:
        return cls.from_dict(json.loads(Path(path).read_text()))

    @classmethod
    def default(cls) -> TieStrengthModel:
        """The shipped model, fitted on SocioPatterns high school 2013 (reported friendship)."""
        text = resources.files("socialcrm.relationships").joinpath(DEFAULT_JSON).read_text()
        return cls.from_dict(json.loads(text))


def tie_strengths(
    features: pd.DataFrame | Any, model: TieStrengthModel | None = None
) -> pd.DataFrame:
    """Score a tie-feature table: strength, the four contributions and their shares per tie.

    ``features`` is the output of ``tie_features`` (an Ibis table is executed) or a DataFrame of
    it; ``model`` defaults to :meth:`TieStrengthModel.default`. Returns ``source_entity``,
    ``target_entity``, ``strength``, ``base`` and for each component its log-odds contribution and
    ``<component>_share``.
    """
    df = features.to_pandas() if hasattr(features, "to_pandas") else features
    m = model if model is not None else TieStrengthModel.default()
    contrib = m.contributions(df.reset_index(drop=True))
    out = df[["source_entity", "target_entity"]].reset_index(drop=True)
    return pd.concat([out, contrib], axis=1)
