"""The prediction API and CLI on a real Stack Exchange dump (quantum computing, 2018).

The workspace is built once per module with the real adapter. The relationship stage's
``tie_history`` is written by hand here (two months of a few real users' ties), so the
alerts and actions have known inputs whatever the relationship stage computes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from socialcrm import Workspace
from socialcrm.cli import app
from socialcrm.prediction import api

SRC = "stackexchange_quantumcomputing_2018"


def user(uid: int) -> str:
    return f"{SRC}:user:{uid}"


@pytest.fixture(scope="module")
def ws(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    w = Workspace(tmp_path_factory.mktemp("pred") / "se.duckdb")
    w.ingest("stackexchange", [shared_data / SRC])
    w.con.execute(f"UPDATE entities SET role = 'brand' WHERE entity_id = '{user(-1)}'")
    w.con.execute("UPDATE entities SET kind = 'brand' WHERE role = 'brand'")
    # Two months of ties: user 26's ties to the "brand" and to user 15 weaken.
    w.con.execute(
        f"""CREATE TABLE tie_history AS SELECT * FROM (VALUES
            ('2018-05', '{user(26)}', '{user(-1)}', 0.8), ('2018-08', '{user(26)}', '{user(-1)}', 0.2),
            ('2018-05', '{user(26)}', '{user(15)}', 0.6), ('2018-08', '{user(26)}', '{user(15)}', 0.5),
            ('2018-05', '{user(15)}', '{user(26)}', 0.6), ('2018-08', '{user(15)}', '{user(26)}', 0.1))
        AS t(period, source_entity, target_entity, strength)"""
    )
    yield w
    w.close()


@pytest.fixture(scope="module")
def churn_table(ws: Workspace) -> pd.DataFrame:
    return api.churn(ws)


def test_churn_scores_current_members_with_drivers(churn_table):
    c = churn_table
    assert len(c) > 200
    assert c["churn_risk"].between(0, 1).all()
    assert c["churn_risk"].is_monotonic_decreasing
    assert c.attrs["train_rows"] > 150 and 0.3 < c.attrs["train_churn_rate"] < 0.95
    # on this site, people who went quiet recently are the likeliest to stay quiet
    recent = c["days_since_last"] < 7
    assert c.loc[recent, "churn_risk"].mean() < c.loc[~recent, "churn_risk"].mean()
    with_drivers = c[c["drivers"].map(len) > 0]
    assert len(with_drivers) > 0.5 * len(c)
    first = with_drivers.iloc[0]
    assert first["top_driver"].startswith(first["drivers"][0]["label"])
    assert "system" not in set(c["entity_id"].str.split(":").str[-1])


def test_loyalty_from_a_user_file(ws, tmp_path):
    users = ws.con.sql(
        """SELECT entity_id AS handle,
                  ln(1 + TRY_CAST(json_extract_string(attrs, '$.reputation') AS DOUBLE)) AS log_rep,
                  CASE WHEN json_extract_string(attrs, '$.location') IS NULL THEN 'unknown'
                       ELSE 'given' END AS location,
                  TRY_CAST(json_extract_string(attrs, '$.views') AS DOUBLE) AS profile_views
           FROM entities WHERE role = 'customer' AND entity_id IN
             (SELECT actor FROM interactions WHERE kind IN ('question', 'answer'))"""
    ).df()
    extra = pd.DataFrame(
        {
            "handle": ["twitter:@nobody", "nope", "x"],
            "log_rep": 1.0,
            "location": "given",
            "profile_views": 1.0,
        }
    )
    path = tmp_path / "outcome.csv"
    pd.concat([users, extra]).to_csv(path, index=False)
    r = api.predict_loyalty(ws, "log_rep", path, ["location", "profile_views"], n_bootstrap=30)
    assert r.counts["unmatched"] == 3 and r.counts["matched"] == len(users)
    m = r.model
    # reputation is earned from what others do to you: relationship features dominate
    assert m.block_share_["relationship"] > 0.6
    assert m.q2_ > 0.3
    assert "location" in m.levels_
    text = r.report()
    assert "Relationship features explain" in text and "of log_rep" in text
    assert f"{len(users):,} of {len(users) + 3:,} rows matched an entity" in text
    assert "brand_tie_strength" in r.dropped  # no `ties` table in this workspace


def test_loyalty_errors_are_actionable(ws, tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"who": ["a"], "y": [1]}).to_csv(path, index=False)
    with pytest.raises(api.PredictionError, match="needs a column naming the entity"):
        api.predict_loyalty(ws, "y", path)
    pd.DataFrame({"handle": ["nobody"] * 20, "y": np.arange(20)}).to_csv(path, index=False)
    with pytest.raises(api.PredictionError, match="none of the 20 values"):
        api.predict_loyalty(ws, "y", path)
    with pytest.raises(api.PredictionError, match="missing column"):
        api.predict_loyalty(ws, "renewed", path)


def test_alerts_from_tie_history(ws):
    a = api.alerts(ws)
    assert set(zip(a["source_entity"], a["target_entity"], strict=True)) == {
        (user(26), user(-1)),
        (user(15), user(26)),
    }
    brand = a[a["kind"] == "brand"].iloc[0]
    assert brand["person"] == user(26)
    assert "fell from 0.80 to 0.20 (-75%) between 2018-05 and 2018-08" in brand["evidence"]


def test_actions_give_every_alert_an_action_with_a_reason(ws, churn_table):
    acts = api.actions(ws, churn_table=churn_table)
    alert_rows = acts[acts["subject"] == "alert"]
    assert len(alert_rows) == 2
    assert set(alert_rows["rule"]) <= {
        "brand_tie_weakening",
        "vip_brand_negative",
        "monitor",
        "influencer_tie_weak",
        "superuser_quiet",
        "lurker_first_post",
        "at_risk",
        "at_risk_unanswered",
    }
    brand = alert_rows[alert_rows["entity_id"] == user(26)].iloc[0]
    assert brand["rule"] in {"brand_tie_weakening", "vip_brand_negative"}
    assert "0.80 to 0.20" in brand["reason"]
    assert acts["reason"].str.len().min() > 20
    people = acts[acts["subject"] == "entity"]
    assert (people["rule"] != "monitor").all()
    assert set(people["rule"]) <= {
        "at_risk",
        "at_risk_unanswered",
        "lurker_first_post",
        "superuser_quiet",
    }


def test_cli_commands(ws, tmp_path):
    runner = CliRunner()
    db = str(ws.path)
    ws.con.execute("CHECKPOINT")
    out = runner.invoke(app, ["alerts", "--db", db])
    assert out.exit_code == 0, out.output
    assert "fell from 0.80 to 0.20" in " ".join(out.output.split())
    out = runner.invoke(app, ["actions", "--db", db, "--limit", "3"])
    assert out.exit_code == 0, out.output
    assert "why:" in out.output
    path = tmp_path / "o.csv"
    pd.DataFrame({"handle": ["nobody"] * 20, "y": np.arange(20)}).to_csv(path, index=False)
    out = runner.invoke(
        app, ["predict", "loyalty", "--outcome", "y", "--data", str(path), "--db", db]
    )
    assert out.exit_code == 2 and "none of the 20 values" in " ".join(out.output.split())


def test_windowed_tie_features_match_the_relationship_stage_on_that_window(ws):
    ibis = pytest.importorskip("ibis")
    rel = pytest.importorskip("socialcrm.relationships.features")
    strength = pytest.importorskip("socialcrm.relationships.strength")
    from socialcrm.prediction.features import windowed_tie_features
    from socialcrm.store.views import edges

    b = ibis.duckdb.from_connection(ws.con)
    e = edges(b.table("interactions"), b.table("identities"))
    every = b.to_pyarrow(rel.tie_features(e)).to_pandas()
    label = (every["n_ab"] > 0) & (every["n_ba"] > 0)  # any real notion of a strong tie will do
    model = strength.TieStrengthModel(n_rounds=10).fit(every[list(rel.FEATURES)], label)
    as_of, start = pd.Timestamp("2018-04-01"), pd.Timestamp("2018-03-01")
    cohort = pd.DataFrame(
        {
            "entity_id": [user(26), user(26), user(15)],
            "start": [start, pd.Timestamp("2018-08-30"), start],
            "as_of": [as_of, pd.Timestamp("2018-08-30"), as_of],  # the 2nd window is empty
        }
    )
    got = windowed_tie_features(ws.con, cohort, model=model)
    assert pd.isna(got.loc[1, "strongest_tie"]) and got.loc[1, "strong_ties"] == 0
    assert got.loc[0, "strongest_tie"] != got.loc[2, "strongest_tie"]
    # One window alone equals the relationship stage run on that window's edges directly
    # (with several windows, the population's time-of-day mixing weights are shared).
    one = windowed_tie_features(ws.con, cohort.head(1), model=model)
    mine = e.filter(
        ((e.actor_entity == user(26)) | (e.target_entity == user(26)))
        & (e.ts >= start)
        & (e.ts < as_of)
        & ~e.actor_entity.endswith(":anonymous")
        & ~e.target_entity.endswith(":anonymous")
    )
    direct = b.to_pyarrow(rel.tie_features(mine, as_of=as_of)).to_pandas()
    direct = direct[direct["source_entity"] == user(26)]
    s = model.score_samples(direct[list(rel.FEATURES)])
    assert len(direct) > 3
    assert one.loc[0, "strongest_tie"] == pytest.approx(s.max(), rel=1e-5)
    assert one.loc[0, "strong_ties"] == (s >= 0.5).sum()


def test_the_as_of_setting_dates_the_predictions(ws, monkeypatch):
    """``[prediction] as_of`` in socialcrm.toml moves the churn date back (the bundled
    demo uses it: its sources end at different times); a bad date is a clear error."""
    assert api._as_of(ws, None) > pd.Timestamp("2018-09-01")  # after the newest interaction

    def setting(value: str) -> None:
        extra = {"prediction": {"as_of": value}}
        monkeypatch.setattr(ws, "settings", dataclasses.replace(ws.settings, extra=extra))

    setting("2018-08-01T00:00:00+02:00")
    assert api._as_of(ws, None) == pd.Timestamp("2018-07-31 22:00")  # in UTC
    c = api.churn(ws)
    assert pd.Timestamp(c.attrs["as_of"]) == pd.Timestamp("2018-07-31 22:00")
    assert c["days_since_last"].min() >= 0  # nobody is scored on what came later
    setting("last tuesday")
    with pytest.raises(api.PredictionError, match="not an ISO date"):
        api._as_of(ws, None)
