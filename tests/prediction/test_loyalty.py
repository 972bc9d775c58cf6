"""LoyaltyPLS on data whose answer is known: an outcome that depends on one block only.

Synthetic data is right here: the point is that the block decomposition recovers a
split we built in (block A explains everything, block B nothing), which no real data
set can certify.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cross_decomposition import PLSRegression
from sklearn.metrics import r2_score

from socialcrm.prediction.loyalty import LoyaltyPLS, vip_scores


def _blocks(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a1 = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "tie_strength": a1,
            "strong_ties": 0.6 * a1 + 0.8 * rng.normal(size=n),  # collinear with the first
            "reciprocity": rng.normal(size=n),
            "price": rng.normal(size=n),
            "tenure": rng.exponential(2.0, size=n),
            "region": rng.choice(["north", "south", "east"], size=n),
        }
    )
    return X


def test_outcome_of_block_a_only_is_credited_to_block_a():
    X = _blocks()
    rng = np.random.default_rng(1)
    y = (
        X["tie_strength"]
        + 0.5 * X["strong_ties"]
        + 0.7 * X["reciprocity"]
        + 0.3 * rng.normal(size=len(X))
    )
    m = LoyaltyPLS(
        relationship=["tie_strength", "strong_ties", "reciprocity"],
        confounders=["price", "tenure", "region"],
        n_bootstrap=100,
    ).fit(X, y)
    assert m.block_share_["relationship"] > 0.97
    assert m.block_share_["confounders"] < 0.03
    assert sum(m.block_share_.values()) == pytest.approx(1.0)
    assert sum(m.block_r2_.values()) == pytest.approx(m.r2_)
    assert m.r2_ > 0.9 and m.q2_ > 0.9
    # VIP ranks block A's three features above every confounder column (one-hot levels too)
    top3 = set(m.vip_.sort_values(ascending=False).index[:3])
    assert top3 == {"tie_strength", "strong_ties", "reciprocity"}
    assert (m.vip_[["tie_strength", "strong_ties", "reciprocity"]] > 1).all()
    est, lo, hi = m.interval("block_share", "relationship")
    assert lo > 0.93 and hi <= 1.0 and est > 0.97
    # dropping the relationship block destroys the fit; dropping confounders does not
    assert m.unique_r2_["relationship"] > 0.85
    assert abs(m.unique_r2_["confounders"]) < 0.02
    assert (m.coef_[["tie_strength", "strong_ties", "reciprocity"]] > 0).all()


def test_outcome_of_confounders_only_is_credited_to_confounders():
    X = _blocks(seed=3)
    rng = np.random.default_rng(4)
    y = 2 * X["price"] + (X["region"] == "south") + 0.3 * rng.normal(size=len(X))
    m = LoyaltyPLS(
        relationship=["tie_strength", "strong_ties", "reciprocity"],
        confounders=["price", "tenure", "region"],
        n_bootstrap=50,
    ).fit(X, y)
    assert m.block_share_["confounders"] > 0.95
    s = m.summary().set_index("variable")
    assert s.index[0] == "price"
    assert s.loc["region", "strongest_level"] == "region=south"
    assert s.loc["region", "direction"] == "+"
    assert s.loc["price", "direction"] == "+"


def test_report_reads_like_a_business_statement():
    X = _blocks(seed=5)
    rng = np.random.default_rng(6)
    y = (X["tie_strength"] + 0.4 * X["price"] + rng.normal(size=len(X)) > 0).astype(int)
    m = LoyaltyPLS(
        relationship=["tie_strength", "strong_ties", "reciprocity"],
        confounders=["price", "tenure", "region"],
        n_bootstrap=50,
        outcome_name="retention",
    ).fit(X, y)
    text = m.report()
    assert "Relationship features explain" in text and "of retention" in text
    assert "Confounders explain" in text
    assert "strength of the tie to the brand" in text or "tie strength" in text
    assert "95% bootstrap over 50 resamples" in text
    # relationship block (the stronger driver here) is reported first
    assert text.index("Relationship features explain") < text.index("Confounders explain")


def test_vip_identities_match_their_definition():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(250, 6))
    y = X[:, 0] - X[:, 3] + rng.normal(size=250)
    for a in (1, 2, 4):
        pls = PLSRegression(a).fit(X, y)
        vip, r2 = vip_scores(pls)
        assert (vip**2).sum() == pytest.approx(6.0)
        assert r2.sum() == pytest.approx(r2_score(y, pls.predict(X).ravel()))


def test_missing_values_and_prediction():
    X = _blocks(n=200, seed=7)
    rng = np.random.default_rng(8)
    y = X["tie_strength"] + 0.2 * rng.normal(size=len(X))
    X.loc[:20, "price"] = np.nan
    X.loc[10:30, "region"] = None
    m = LoyaltyPLS(confounders=["price", "tenure", "region"], n_bootstrap=0).fit(X, y)
    assert "region=(missing)" in m.feature_names_
    pred = m.predict(X.head(5))
    assert pred.shape == (5,)
    assert np.corrcoef(m.predict(X), y)[0, 1] > 0.9
    assert m.intervals_.empty


def test_errors_say_what_is_wrong():
    X = _blocks(n=50)
    with pytest.raises(ValueError, match="column 'prize'"):
        LoyaltyPLS(confounders=["prize"]).fit(X, X["price"])
    with pytest.raises(ValueError, match="same for every entity"):
        LoyaltyPLS(confounders=["price"]).fit(X, np.ones(len(X)))
    with pytest.raises(ValueError, match="two blocks"):
        LoyaltyPLS(relationship=["price"], confounders=["price"]).fit(X, X["tenure"])


def test_collinear_one_hot_levels_do_not_blow_up():
    # The outcome needs 4 components; the confounder block alone is one column whose two
    # one-hot levels are collinear (rank 1). Refitting that block with more components
    # than its rank used to divide by ~0 (a confounders-only Q² far below 0, so a
    # relationship "unique" R² above 1).
    rng = np.random.default_rng(9)
    n = 300
    a = rng.normal(size=n)
    b = 0.9 * a + 0.3 * rng.normal(size=n)
    c = rng.normal(size=n)
    X = pd.DataFrame(
        {"tie": a, "ties": b, "recip": c, "location": rng.choice(["given", "unknown"], size=n)}
    )
    y = a - b + 0.5 * c + 0.1 * rng.normal(size=n)
    m = LoyaltyPLS(
        relationship=["tie", "ties", "recip"], confounders=["location"], n_bootstrap=30
    ).fit(X, y)
    assert m.n_components_ >= 2
    assert 0.9 < m.unique_r2_["relationship"] <= 1.0
    assert np.isfinite(m.intervals_[["estimate", "low", "high"]].to_numpy()).all()
