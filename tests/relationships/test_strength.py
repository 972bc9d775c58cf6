"""The strength model's dormancy term: silence past a grace period weakens a tie."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from socialcrm.relationships.strength import TieStrengthModel


def test_shipped_model_halves_the_odds_per_30_days_of_silence_after_two_weeks() -> None:
    m = TieStrengthModel.default()
    base = {f: 0.0 for f in m.feature_names_in_}
    base.update(n_ab=40, n_ba=35, n_pair=75, active_days=20, tie_age_days=300)
    X = pd.DataFrame([{**base, "recency_days": r} for r in (3.0, 14.0, 44.0, 74.0)])
    p = m.score_samples(X)
    logit = np.log(p / (1 - p))
    # trees see only a week of contact data, so 3 and 14 days score alike; beyond 14 days
    # each 30 days of silence takes ln 2 off the log-odds
    assert abs(logit[2] - logit[1] + math.log(2.0)) < 1e-6
    assert abs(logit[3] - logit[2] + math.log(2.0)) < 1e-6
    assert p[3] < p[2] < p[1]


def test_a_refit_keeps_the_term_only_while_its_data_never_pass_the_grace_period() -> None:
    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame({"n_ab": rng.integers(0, 50, n), "recency_days": rng.uniform(0, 10, n)})
    y = (X["n_ab"] + rng.normal(0, 5, n) > 25).astype(int)
    comps = {"time": ["recency_days"], "intensity": ["n_ab"]}
    short = TieStrengthModel(components=comps, n_rounds=10).fit(X, y)
    assert "recency_days" in short.prior_terms_
    long = X.assign(recency_days=rng.uniform(0, 200, n))
    assert (
        "recency_days"
        not in TieStrengthModel(components=comps, n_rounds=10).fit(long, y).prior_terms_
    )
