"""ChurnModel: calibrated probabilities and per-entity drivers on a set whose truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from socialcrm.prediction.churn import ChurnModel


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "replies_received": rng.poisson(3, n).astype(float),
            "days_since_last": rng.exponential(10, n),
            "noise": rng.normal(size=n),
        }
    )
    logit = -0.5 - 0.6 * (X["replies_received"] - 3) + 0.08 * (X["days_since_last"] - 10)
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < p).astype(int)
    return X, y, p.to_numpy()


def test_probabilities_are_calibrated_on_new_data():
    X, y, _ = _data(4000, 0)
    Xt, yt, pt = _data(4000, 1)
    m = ChurnModel().fit(X, y)
    risk = m.risk(Xt)
    assert risk.min() >= 0 and risk.max() <= 1
    # expected calibration error over deciles of predicted risk
    bins = pd.qcut(risk, 10, labels=False, duplicates="drop")
    frame = pd.DataFrame({"risk": risk, "y": yt, "bin": bins})
    per_bin = frame.groupby("bin").agg(pred=("risk", "mean"), obs=("y", "mean"), n=("y", "size"))
    ece = float((per_bin["n"] * (per_bin["pred"] - per_bin["obs"]).abs()).sum() / len(frame))
    assert ece < 0.04
    assert abs(risk.mean() - yt.mean()) < 0.03
    # close to the true probabilities it was generated from
    assert np.abs(risk - pt).mean() < 0.05


def test_contributions_explain_each_entity():
    X, y, _ = _data(2000, 2)
    m = ChurnModel().fit(X, y)
    assert m.coef_["replies_received"] < 0 < m.coef_["days_since_last"]
    assert abs(m.coef_["noise"]) < 0.15
    new = pd.DataFrame(
        {"replies_received": [0.0, 9.0], "days_since_last": [40.0, 1.0], "noise": [0.0, 0.0]}
    )
    c = m.contributions(new)
    # contributions plus the intercept are the explainer's log-odds
    logit = m.explainer_.decision_function(new)
    assert np.allclose(c.sum(axis=1) + m.intercept_, logit)
    d = m.drivers(new)
    assert {x["feature"] for x in d[0]} == {"replies_received", "days_since_last"}
    assert d[0][0]["contribution"] >= d[0][-1]["contribution"] > 0
    assert d[1] == [] or all(x["contribution"] > 0 for x in d[1])
    assert m.risk(new)[0] > 0.9 > 0.1 > m.risk(new)[1]


def test_needs_both_classes():
    X, _, _ = _data(100, 3)
    with pytest.raises(ValueError, match="churners and stayers"):
        ChurnModel().fit(X, np.zeros(100))
