"""Loyalty against confounders: Partial Least Squares with block-wise explained variance.

Seed 000 ("The R in Social CRM") argues that customers' behaviour "is not random, and this
non-randomness can be predicted by the strength of a customer's relationships with the
brand", and that whether it is loyalty "or other confounding factors (e.g. price, brand,
eco-friendliness, etc.) can be determined by a statistical technique called Partial Least
Squares Regression". :class:`LoyaltyPLS` is that technique, made to answer the business
question in numbers: *of what the outcome does, how much goes with relationships and how
much with the confounders?*

Model
-----
PLS regression (Wold, Sjöström & Eriksson 2001) of one outcome ``y`` (retention, renewal,
repeat purchase; numeric or 0/1) on the columns of two (or more) **blocks**: relationship
features (tie strength to the brand, strong ties in the community, reciprocity, trust,
participation tier...) and the confounders the user names (price, tenure, product,
region...). Categorical columns are one-hot encoded; missing numbers take the column's
median and missing categories the level ``"(missing)"``. X and y are standardised
(``scale=True``), so a feature's weight does not depend on its unit. PLS suits this
problem because relationship features are strongly collinear (more ties, more replies,
more reciprocity) and ordinary least squares would split them arbitrarily.

How much each block explains (the definitions the report uses)
--------------------------------------------------------------
With components ``a = 1..A``, scores ``t_a``, unit x-weights ``w_a`` and y-loadings
``q_a``, component ``a`` explains ``R²_a = q_a² t_aᵀt_a / yᵀy`` of the (centred,
scaled) outcome; the scores are orthogonal, so ``R² = Σ_a R²_a`` on the fitting data.

* **VIP** of feature ``j`` (Wold et al. 1993; formula of Chong & Jun 2005):
  ``VIP_j = sqrt(p · Σ_a R²_a w_ja² / Σ_a R²_a)``. Since ``Σ_j VIP_j² = p``, a VIP
  above 1 means more than the average feature's share; it has no sign (the report adds
  the direction from the PLS coefficient).
* **Share of the explained variance** of a variable or block ``B``:
  ``share_B = Σ_{j∈B} VIP_j² / p = Σ_a (R²_a/R²) Σ_{j∈B} w_ja²`` — each component's
  explained variance divided among features by their squared weights. Shares of the
  blocks sum to 1 (sum-of-squares VIP per block, as in Mehmood et al. 2012's review of
  VIP-based selection).
* **Variance of the outcome explained by a block**: ``R²_B = share_B × R²``. The blocks'
  ``R²_B`` add up to the model's ``R²``; this is the number the report states first
  ("relationships explain 34% of retention").
* **Unique contribution** (a check that does not depend on PLS weights): the drop in
  cross-validated R² (Q², 5 folds) when the block is left out and the model refit. Shared
  variance belongs to no block here, so the drops need not add up to anything.

Intervals: percentile intervals over ``n_bootstrap`` resamples of entities (with
replacement, seeded by ``random_state``), refitting PLS with the same number of
components each time (Efron & Tibshirani 1993).

A binary outcome is modelled as a linear probability (PLS-DA style); R² is then the
share of the variance of the 0/1 outcome, which is the right scale for "how much of who
stays" but understates how well entities are ranked (see :mod:`.churn` for that).

References
----------
Seed 000: M. Wu, "My Chapter on Relationships: The R in Social CRM", Lithium, 2010.
S. Wold, M. Sjöström, L. Eriksson, "PLS-regression: a basic tool of chemometrics",
Chemometrics and Intelligent Laboratory Systems 58 (2001) 109-130.
I.-G. Chong, C.-H. Jun, "Performance of some variable selection methods when
multicollinearity is present", Chemometrics and Intelligent Laboratory Systems 78
(2005) 103-112.
T. Mehmood, K. H. Liland, L. Snipen, S. Sæbø, "A review of variable selection methods in
Partial Least Squares Regression", Chemometrics and Intelligent Laboratory Systems 118
(2012) 62-69.
B. Efron, R. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall, 1993.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.cross_decomposition import PLSRegression
from sklearn.model_selection import KFold

RELATIONSHIP = "relationship"
CONFOUNDERS = "confounders"
MISSING_LEVEL = "(missing)"

# Business names for the relationship features the workspace computes (features.py);
# a column not listed is shown by its own name with underscores as spaces.
FEATURE_LABELS: dict[str, str] = {
    "brand_tie_strength": "strength of the tie to the brand",
    "strong_ties": "number of strong ties in the community",
    "tie_reciprocity": "reciprocity of their ties",
    "tie_trust": "trust in their ties",
    "tier_rank": "participation tier",
    "counterparts": "people they interacted with",
    "reciprocated": "two-way relationships",
    "replies_received": "replies received",
    "reply_hours": "hours until they got a reply",
    "endorsements_received": "endorsements received",
    "reply_sentiment": "tone of replies to them",
    "strongest_tie": "their strongest tie",
    "replied_share": "share of their messages answered",
    "activity": "their own recent messages",
    "active_days": "days active recently",
    "days_since_last": "days since they were last active",
    "tenure_days": "days since their first activity",
    "influence": "influence",
}


def label(name: str) -> str:
    """The words a business reader sees for a column name."""
    return FEATURE_LABELS.get(name, name.replace("_", " "))


def vip_scores(pls: PLSRegression) -> tuple[np.ndarray, np.ndarray]:
    """VIP per feature and R² per component of a fitted single-outcome PLS.

    Returns ``(vip, r2_per_component)``; see the module docs for the formulas
    (Chong & Jun 2005).

    Example
    -------
    >>> import numpy as np
    >>> from sklearn.cross_decomposition import PLSRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X[:, 0] + 0.1 * rng.normal(size=200)
    >>> vip, r2 = vip_scores(PLSRegression(2).fit(X, y))
    >>> int(np.argmax(vip)), round(float((vip**2).sum()), 6)
    (0, 3.0)
    """
    t = pls.x_scores_  # (n, A)
    w = pls.x_weights_  # (p, A), unit columns
    q = np.atleast_2d(pls.y_loadings_)  # (1, A)
    n = t.shape[0]
    # y is centred and scaled by the model (ddof=1), so yᵀy = n - 1 when scale=True.
    ss_y = float(n - 1) if pls.scale else float(n - 1) * float(np.ravel(pls._y_std)[0]) ** 2
    ss = (q**2).sum(axis=0) * (t**2).sum(axis=0)  # explained sum of squares per component
    r2 = ss / ss_y
    p = w.shape[0]
    wn = w / np.linalg.norm(w, axis=0, keepdims=True)
    total = ss.sum()
    if total <= 0:
        return np.ones(p), r2
    vip = np.sqrt(p * (wn**2 @ ss) / total)
    return vip, r2


class LoyaltyPLS(RegressorMixin, BaseEstimator):
    """PLS regression of an outcome on relationship features and confounders, by block.

    Parameters
    ----------
    relationship : column names of the relationship block (``None``: every column not
        named in ``confounders`` or ``blocks``).
    confounders : column names of the confounder block (price, tenure, product...).
    blocks : instead of the two above, any mapping ``{block name: [columns]}``.
    n_components : number of PLS components, or ``"auto"``: the number (up to
        ``max_components``) with the best cross-validated R²; a larger number must beat
        the smaller by ``min_gain`` to be chosen.
    n_bootstrap : resamples of entities for the intervals (0 to skip).
    ci : the interval's coverage (0.95 → 2.5th and 97.5th percentiles).
    random_state : seed of the bootstrap and of the cross-validation folds.

    Attributes (after ``fit``)
    --------------------------
    pls_ : the fitted :class:`~sklearn.cross_decomposition.PLSRegression`.
    n_components_ : components used.
    feature_names_ : encoded column names (one-hot levels as ``column=level``).
    variable_of_ : encoded column → original column; block_of_ : original column → block.
    vip_ : VIP per encoded column (Series); coef_ : standardised PLS coefficient per
        encoded column (its sign is the direction).
    r2_ : R² on the fitting data; q2_ : cross-validated R² (5 folds).
    block_share_ / variable_share_ : share of the explained variance (sums to 1).
    block_r2_ / variable_r2_ : variance of the outcome explained (sums to ``r2_``).
    unique_r2_ : drop in cross-validated R² when each block is left out.
    intervals_ : DataFrame (kind, name, estimate, low, high) of bootstrap intervals.

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["tie", "ties", "price", "age"])
    >>> y = X["tie"] + 0.5 * X["ties"] + 0.3 * rng.normal(size=300)
    >>> m = LoyaltyPLS(confounders=["price", "age"], n_bootstrap=20).fit(X, y)
    >>> m.block_share_["relationship"] > 0.95
    True
    """

    def __init__(
        self,
        relationship: Sequence[str] | None = None,
        confounders: Sequence[str] = (),
        blocks: Mapping[str, Sequence[str]] | None = None,
        n_components: int | str = "auto",
        max_components: int = 5,
        min_gain: float = 0.01,
        n_bootstrap: int = 200,
        ci: float = 0.95,
        random_state: int = 0,
        outcome_name: str = "the outcome",
    ) -> None:
        self.relationship = relationship
        self.confounders = confounders
        self.blocks = blocks
        self.n_components = n_components
        self.max_components = max_components
        self.min_gain = min_gain
        self.n_bootstrap = n_bootstrap
        self.ci = ci
        self.random_state = random_state
        self.outcome_name = outcome_name

    # -- encoding ------------------------------------------------------------------
    def _resolve_blocks(self, X: pd.DataFrame) -> dict[str, list[str]]:
        if self.blocks is not None:
            blocks = {str(k): list(v) for k, v in self.blocks.items()}
        else:
            conf = list(self.confounders or ())
            rel = (
                list(self.relationship)
                if self.relationship is not None
                else [c for c in X.columns if c not in conf]
            )
            blocks = {RELATIONSHIP: rel, CONFOUNDERS: conf}
        blocks = {k: v for k, v in blocks.items() if v}
        seen: dict[str, str] = {}
        for name, cols in blocks.items():
            for c in cols:
                if c not in X.columns:
                    raise ValueError(
                        f"column {c!r} of block {name!r} is not in the data; columns are:"
                        f" {', '.join(map(str, X.columns))}"
                    )
                if c in seen:
                    raise ValueError(f"column {c!r} is in two blocks: {seen[c]!r} and {name!r}")
                seen[c] = name
        if not blocks:
            raise ValueError("no predictor columns: name relationship and/or confounder columns")
        return blocks

    def _encode(self, X: pd.DataFrame) -> np.ndarray:
        parts = []
        for col in self.columns_:
            s = X[col]
            if col in self.levels_:
                s = s.astype("object").where(s.notna(), MISSING_LEVEL).astype(str)
                parts.append(
                    np.column_stack([(s == lv).to_numpy(float) for lv in self.levels_[col]])
                )
            else:
                v = pd.to_numeric(s, errors="coerce").astype(float)
                parts.append(v.fillna(self.medians_[col]).to_numpy()[:, None])
        return np.hstack(parts)

    def _learn_encoding(self, X: pd.DataFrame) -> None:
        self.levels_: dict[str, list[str]] = {}
        self.medians_: dict[str, float] = {}
        names: list[str] = []
        variable_of: dict[str, str] = {}
        for col in self.columns_:
            s = X[col]
            if _is_categorical(s):
                s = s.astype("object").where(s.notna(), MISSING_LEVEL).astype(str)
                levels = sorted(s.unique())
                self.levels_[col] = levels
                for lv in levels:
                    names.append(f"{col}={lv}")
                    variable_of[f"{col}={lv}"] = col
            else:
                v = pd.to_numeric(s, errors="coerce").astype(float)
                med = float(v.median()) if v.notna().any() else 0.0
                self.medians_[col] = med
                names.append(col)
                variable_of[col] = col
        self.feature_names_ = names
        self.variable_of_ = variable_of

    # -- fitting -------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Sequence[float] | pd.Series | np.ndarray) -> LoyaltyPLS:
        """Fit the PLS model, its block decomposition and the bootstrap intervals."""
        X = pd.DataFrame(X).reset_index(drop=True)
        yv = pd.to_numeric(pd.Series(np.asarray(y)), errors="coerce").astype(float).to_numpy()
        if len(yv) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(yv)}")
        keep = ~np.isnan(yv)
        X, yv = X.loc[keep].reset_index(drop=True), yv[keep]
        if len(yv) < 10:
            raise ValueError(f"only {len(yv)} entities with an outcome; PLS needs at least 10")
        if np.nanstd(yv) == 0:
            raise ValueError("the outcome is the same for every entity; nothing to explain")
        blocks = self._resolve_blocks(X)
        self.blocks_ = blocks
        self.block_of_ = {c: b for b, cols in blocks.items() for c in cols}
        self.columns_ = [c for cols in blocks.values() for c in cols]
        self._learn_encoding(X)
        Z = self._encode(X)
        self.n_entities_ = len(yv)
        max_a = max(1, min(self.max_components, _rank(Z), len(yv) - 2))
        if self.n_components == "auto":
            self.q2_by_components_ = {
                a: _cv_r2(Z, yv, a, self.random_state) for a in range(1, max_a + 1)
            }
            best = 1
            for a in range(2, max_a + 1):
                if self.q2_by_components_[a] > self.q2_by_components_[best] + self.min_gain:
                    best = a
            self.n_components_ = best
        else:
            self.n_components_ = int(min(int(self.n_components), max_a))
        self.pls_ = PLSRegression(self.n_components_, scale=True).fit(Z, yv)
        est = self._decompose(self.pls_, Z, yv)
        self.vip_ = pd.Series(est["vip"], index=self.feature_names_)
        self.r2_ = est["r2"]
        self.variable_share_ = est["variable_share"]
        self.block_share_ = est["block_share"]
        self.variable_r2_ = {k: v * self.r2_ for k, v in self.variable_share_.items()}
        self.block_r2_ = {k: v * self.r2_ for k, v in self.block_share_.items()}
        coef = (
            np.ravel(self.pls_.coef_) * np.ravel(self.pls_._x_std) / np.ravel(self.pls_._y_std)[0]
        )
        self.coef_ = pd.Series(coef, index=self.feature_names_)
        self.q2_ = _cv_r2(Z, yv, self.n_components_, self.random_state)
        self.unique_r2_ = {}
        for b in blocks:
            cols = [
                i
                for i, f in enumerate(self.feature_names_)
                if self.block_of_[self.variable_of_[f]] != b
            ]
            if not cols:
                self.unique_r2_[b] = self.q2_
                continue
            a = min(self.n_components_, len(cols))
            self.unique_r2_[b] = self.q2_ - _cv_r2(Z[:, cols], yv, a, self.random_state)
        self.intervals_ = self._bootstrap(Z, yv, est)
        return self

    def _decompose(self, pls: PLSRegression, Z: np.ndarray, y: np.ndarray) -> dict:
        vip, r2_a = vip_scores(pls)
        p = len(vip)
        share_f = vip**2 / p
        var_share: dict[str, float] = {}
        for f, s in zip(self.feature_names_, share_f, strict=True):
            v = self.variable_of_[f]
            var_share[v] = var_share.get(v, 0.0) + float(s)
        block_share = {b: sum(var_share[c] for c in cols) for b, cols in self.blocks_.items()}
        return {
            "vip": vip,
            "r2": float(r2_a.sum()),
            "variable_share": var_share,
            "block_share": block_share,
        }

    def _bootstrap(self, Z: np.ndarray, y: np.ndarray, est: dict) -> pd.DataFrame:
        rows: list[dict] = []
        if self.n_bootstrap <= 0:
            return pd.DataFrame(columns=["kind", "name", "estimate", "low", "high"])
        rng = np.random.default_rng(self.random_state)
        n = len(y)
        draws: dict[tuple[str, str], list[float]] = {}
        for _ in range(self.n_bootstrap):
            idx = rng.integers(0, n, n)
            if np.std(y[idx]) == 0:
                continue
            a = min(self.n_components_, _rank(Z[idx]))
            pls = PLSRegression(a, scale=True).fit(Z[idx], y[idx])
            e = self._decompose(pls, Z[idx], y[idx])
            draws.setdefault(("r2", "model"), []).append(e["r2"])
            for b, s in e["block_share"].items():
                draws.setdefault(("block_share", b), []).append(s)
                draws.setdefault(("block_r2", b), []).append(s * e["r2"])
            for v, s in e["variable_share"].items():
                draws.setdefault(("variable_share", v), []).append(s)
                draws.setdefault(("variable_r2", v), []).append(s * e["r2"])
            for f, s in zip(self.feature_names_, e["vip"], strict=True):
                draws.setdefault(("vip", f), []).append(float(s))
        point = {("r2", "model"): est["r2"]}
        point.update({("block_share", b): s for b, s in est["block_share"].items()})
        point.update({("block_r2", b): s * est["r2"] for b, s in est["block_share"].items()})
        point.update({("variable_share", v): s for v, s in est["variable_share"].items()})
        point.update({("variable_r2", v): s * est["r2"] for v, s in est["variable_share"].items()})
        point.update(
            {("vip", f): float(s) for f, s in zip(self.feature_names_, est["vip"], strict=True)}
        )
        lo_q, hi_q = (1 - self.ci) / 2, 1 - (1 - self.ci) / 2
        for key, value in point.items():
            d = np.asarray(draws.get(key, [np.nan]))
            rows.append(
                {
                    "kind": key[0],
                    "name": key[1],
                    "estimate": value,
                    "low": float(np.nanquantile(d, lo_q)),
                    "high": float(np.nanquantile(d, hi_q)),
                }
            )
        return pd.DataFrame(rows)

    # -- use -----------------------------------------------------------------------
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted outcome for new entities (same columns as in ``fit``)."""
        return np.ravel(self.pls_.predict(self._encode(pd.DataFrame(X).reset_index(drop=True))))

    def interval(self, kind: str, name: str) -> tuple[float, float, float]:
        """``(estimate, low, high)`` of one reported quantity (see ``intervals_``)."""
        r = self.intervals_[(self.intervals_["kind"] == kind) & (self.intervals_["name"] == name)]
        if r.empty:
            raise KeyError(f"no interval for {kind} {name!r}")
        return float(r["estimate"].iloc[0]), float(r["low"].iloc[0]), float(r["high"].iloc[0])

    def summary(self) -> pd.DataFrame:
        """One row per original column: block, share of outcome variance, VIP, direction."""
        rows = []
        for v in self.columns_:
            enc = [f for f in self.feature_names_ if self.variable_of_[f] == v]
            top = max(enc, key=lambda f: self.vip_[f])
            est, lo, hi = self._iv("variable_r2", v)
            rows.append(
                {
                    "variable": v,
                    "block": self.block_of_[v],
                    "explains": est,
                    "explains_low": lo,
                    "explains_high": hi,
                    "vip": float(self.vip_[enc].max()),
                    "direction": "+" if self.coef_[top] >= 0 else "-",
                    "strongest_level": top if v in self.levels_ else None,
                }
            )
        return pd.DataFrame(rows).sort_values("explains", ascending=False).reset_index(drop=True)

    def _iv(self, kind: str, name: str) -> tuple[float, float, float]:
        try:
            return self.interval(kind, name)
        except KeyError:
            value = {
                "variable_r2": self.variable_r2_,
                "block_r2": self.block_r2_,
                "block_share": self.block_share_,
            }[kind][name]
            return value, float("nan"), float("nan")

    def report(self, top: int = 3) -> str:
        """The result in words a business reader understands, with intervals."""
        pct = _pct
        out = self.outcome_name
        lines = [
            f"What goes with {out} ({self.n_entities_:,} entities; PLS regression with"
            f" {self.n_components_} component{'s' if self.n_components_ > 1 else ''}):",
            f"- Together the features explain {pct(self.r2_)} of the differences in {out}"
            f" (cross-validated on unseen entities: {pct(self.q2_)}).",
        ]
        order = sorted(self.blocks_, key=lambda b: -self.block_r2_[b])
        summ = self.summary()
        for b in order:
            est, lo, hi = self._iv("block_r2", b)
            sh, slo, shi = self._iv("block_share", b)
            name = "Relationship features" if b == RELATIONSHIP else b.capitalize()
            lines.append(
                f"- {name} explain {pct(est)} ({pct(lo)}–{pct(hi)}) of {out}:"
                f" {pct(sh)} ({pct(slo)}–{pct(shi)}) of what the model explains."
            )
            for _, r in summ[summ["block"] == b].head(top).iterrows():
                direction = "more" if r["direction"] == "+" else "less"
                what = label(r["variable"])
                if isinstance(r["strongest_level"], str):
                    what = f"{what} (mainly {r['strongest_level'].split('=', 1)[1]})"
                    trend = f"goes with {direction} {out}"
                else:
                    trend = f"higher goes with {direction} {out}"
                lines.append(
                    f"    · {what}: {pct(r['explains'])} ({pct(r['explains_low'])}–"
                    f"{pct(r['explains_high'])}), VIP {r['vip']:.2f}; {trend}"
                )
        uniq = ", ".join(
            f"{'relationship features' if b == RELATIONSHIP else b}"
            f" {self.unique_r2_[b] * 100:.1f} points"
            for b in order
        )
        lines.append(
            f"- Cross-validated R² lost by leaving a block out: {uniq} (variance the blocks"
            " share belongs to neither, so these need not add up; a negative loss means the"
            " block does not help on unseen entities)."
        )
        lines.append(
            f"Intervals: {self.ci:.0%} bootstrap over {self.n_bootstrap} resamples of entities."
            " VIP above 1 marks a feature that matters more than average. Association, not"
            " proof of cause: confounders you did not name are not accounted for."
        )
        return "\n".join(lines)


def _pct(x: float, signed: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x * 100:+.0f}%" if signed else f"{x * 100:.0f}%"


def _is_categorical(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return False
    return not pd.to_numeric(s.dropna(), errors="coerce").notna().all()


def _rank(Z: np.ndarray) -> int:
    """Rank of the standardised design: PLS cannot extract more components than this
    (one-hot levels of one column are collinear; beyond the rank, deflation divides by ~0)."""
    sd = Z.std(axis=0)
    keep = sd > 0
    if not keep.any():
        return 1
    Zs = (Z[:, keep] - Z[:, keep].mean(axis=0)) / sd[keep]
    eig = np.linalg.eigvalsh(Zs.T @ Zs)  # p × p: cheap however many entities
    return max(1, int((eig > 1e-9 * eig.max()).sum()))


def _cv_r2(Z: np.ndarray, y: np.ndarray, a: int, seed: int, folds: int = 5) -> float:
    """Cross-validated R² (Q²): 1 - PRESS / total sum of squares over ``folds`` folds."""
    kf = KFold(n_splits=min(folds, len(y)), shuffle=True, random_state=seed)
    press = 0.0
    for tr, te in kf.split(Z):
        if np.std(y[tr]) == 0:
            pred = np.full(len(te), y[tr].mean())
        else:
            pls = PLSRegression(max(1, min(a, _rank(Z[tr]))), scale=True).fit(Z[tr], y[tr])
            pred = np.ravel(pls.predict(Z[te]))
        press += float(((y[te] - pred) ** 2).sum())
    return 1.0 - press / float(((y - y.mean()) ** 2).sum())
