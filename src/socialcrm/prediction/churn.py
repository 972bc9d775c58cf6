"""Churn risk per entity: a calibrated probability and the features that drive it.

Seed 000 asks every measure for "a predictive component and an actionability component":
a churn score is only useful if it is a probability an agent can trust (calibrated: of
the people scored 30%, about 30% leave) and if it says *why* for this person, so that
the next action (:mod:`.actions`) can address the reason.

Model
-----
Median imputation → standardisation → L2-regularised logistic regression (strength chosen
by cross-validated log-loss unless given), wrapped in
:class:`~sklearn.calibration.CalibratedClassifierCV` (Platt's sigmoid by default,
isotonic for large samples; Niculescu-Mizil & Caruana 2005) so the probabilities are
calibrated on folds the model did not see. Logistic regression is chosen over gradient
boosting for its exact per-entity explanation:

* **contribution** of feature ``j`` for entity ``i`` = ``β_j × z_ij``, the coefficient
  times the entity's standardised value — how much that feature moves this entity's
  log-odds of churning away from the average entity's. Contributions add up, with the
  intercept, to the (uncalibrated) log-odds. Positive pushes towards churn.

Which outcome is "churn" is the caller's choice: :func:`socialcrm.prediction.features`
builds the usual self-supervised one (no activity in the ``horizon`` after a cut-off),
and any 0/1 column a user provides works the same way.

References
----------
Seed 000: M. Wu, "My Chapter on Relationships: The R in Social CRM", Lithium, 2010.
J. Platt, "Probabilistic outputs for support vector machines", 1999.
A. Niculescu-Mizil, R. Caruana, "Predicting good probabilities with supervised
learning", ICML 2005.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from socialcrm.prediction.loyalty import label

C_GRID: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


class ChurnModel(ClassifierMixin, BaseEstimator):
    """Calibrated churn probability with per-entity drivers.

    Parameters
    ----------
    C : inverse L2 regularisation strength of the logistic regression, or ``"auto"``:
        chosen from :data:`C_GRID` by 3-fold cross-validated log-loss on the training rows
        (small populations with many features need more shrinkage than large ones).
    calibration : ``"sigmoid"`` (Platt), ``"isotonic"`` or ``"auto"`` (isotonic from
        ``isotonic_min`` rows on, where it has enough data not to overfit).
    cv : folds of the calibration.
    class_weight : passed to the logistic regression (``None`` keeps probabilities
        calibrated to the real churn rate).
    random_state : seed of the calibration folds.

    Attributes (after ``fit``)
    --------------------------
    feature_names_ : the columns used, in order.
    calibrated_ : the fitted :class:`CalibratedClassifierCV` (gives ``predict_proba``).
    explainer_ : the same pipeline fitted on all rows (gives the contributions).
    C_ : the regularisation strength used.
    coef_ : logistic coefficient per standardised feature (Series; + raises the risk).
    intercept_ : its intercept.
    base_rate_ : share of churners in the training data.

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"replies": rng.poisson(2, 500), "noise": rng.normal(size=500)})
    >>> y = rng.random(500) < 1 / (1 + np.exp(X["replies"] - 2))
    >>> m = ChurnModel().fit(X, y)
    >>> bool(m.coef_["replies"] < 0)
    True
    """

    def __init__(
        self,
        C: float | str = "auto",
        calibration: str = "sigmoid",
        cv: int = 5,
        class_weight: str | None = None,
        isotonic_min: int = 2000,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.calibration = calibration
        self.cv = cv
        self.class_weight = class_weight
        self.isotonic_min = isotonic_min
        self.random_state = random_state

    def _pipeline(self, C: float):
        return make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=C, class_weight=self.class_weight, max_iter=2000),
        )

    def _choose_C(self, X: pd.DataFrame, y: np.ndarray, folds: int) -> float:
        if self.C != "auto":
            return float(self.C)
        search = GridSearchCV(
            self._pipeline(1.0),
            {"logisticregression__C": list(C_GRID)},
            scoring="neg_log_loss",
            cv=StratifiedKFold(min(3, folds), shuffle=True, random_state=self.random_state),
        ).fit(X, y)
        return float(search.best_params_["logisticregression__C"])

    def fit(self, X: pd.DataFrame, y: Sequence[bool] | np.ndarray | pd.Series) -> ChurnModel:
        """Fit the explainer on all rows and the calibrated model on ``cv`` folds."""
        X = _frame(X)
        yv = np.asarray(y).astype(int)
        if len(yv) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(yv)}")
        counts = np.bincount(yv, minlength=2)
        if counts.min() < 2:
            raise ValueError(
                f"need churners and stayers to learn from; got {counts[1]} churned and"
                f" {counts[0]} stayed"
            )
        self.feature_names_ = list(X.columns)
        self.classes_ = np.array([0, 1])
        self.base_rate_ = float(yv.mean())
        method = self.calibration
        if method == "auto":
            method = "isotonic" if len(yv) >= self.isotonic_min else "sigmoid"
        folds = int(max(2, min(self.cv, counts.min())))
        self.C_ = self._choose_C(X, yv, folds)
        self.calibrated_ = CalibratedClassifierCV(self._pipeline(self.C_), method=method, cv=folds)
        self.calibrated_.fit(X, yv)
        self.explainer_ = self._pipeline(self.C_).fit(X, yv)
        lr = self.explainer_[-1]
        self.coef_ = pd.Series(lr.coef_.ravel(), index=self.feature_names_)
        self.intercept_ = float(lr.intercept_[0])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``(n, 2)`` calibrated probabilities of staying (column 0) and churning (1)."""
        return self.calibrated_.predict_proba(_frame(X)[self.feature_names_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where the churn probability is at least one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def risk(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability per row."""
        return self.predict_proba(X)[:, 1]

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per entity and feature, ``coef × standardised value`` (log-odds; + raises risk)."""
        X = _frame(X)[self.feature_names_]
        imp, scaler = self.explainer_[0], self.explainer_[1]
        z = scaler.transform(imp.transform(X))
        return pd.DataFrame(z * self.coef_.to_numpy(), columns=self.feature_names_, index=X.index)

    def drivers(
        self, X: pd.DataFrame, top: int = 3, min_contribution: float = 0.05
    ) -> list[list[dict]]:
        """The ``top`` features pushing each entity's risk up, largest first.

        Each driver is ``{"feature", "label", "value", "contribution"}``; a feature
        that lowers the risk, or raises the odds by less than ``min_contribution``
        (log-odds 0.05 ≈ 5% higher odds), is not a driver.
        """
        X = _frame(X)
        contrib = self.contributions(X)
        values = X[self.feature_names_].to_numpy()
        c = contrib.to_numpy()
        order = np.argsort(-c, axis=1)[:, :top]
        out: list[list[dict]] = []
        for i in range(len(c)):
            out.append(
                [
                    {
                        "feature": self.feature_names_[j],
                        "label": label(self.feature_names_[j]),
                        "value": None if pd.isna(values[i, j]) else float(values[i, j]),
                        "contribution": float(c[i, j]),
                    }
                    for j in order[i]
                    if c[i, j] > min_contribution
                ]
            )
        return out


def _frame(X: pd.DataFrame) -> pd.DataFrame:
    X = pd.DataFrame(X)
    return X.apply(pd.to_numeric, errors="coerce").astype(float)
