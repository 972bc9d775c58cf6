"""Prediction and action as functions of a :class:`~socialcrm.workspace.Workspace`.

* :func:`predict_loyalty` — PLS of a user-provided outcome on relationship features and
  named confounders (:mod:`.loyalty`);
* :func:`churn` — calibrated churn risk per person with its drivers (:mod:`.churn`);
* :func:`alerts` — weakening ties and brand relationships (:mod:`.alerts`);
* :func:`actions` — the next best action for each alert and each person at risk
  (:mod:`.actions`);
* :func:`analyze_predictions` — stores ``predictions``, ``tie_alerts`` and
  ``next_actions`` in the workspace.

Settings come from the ``[prediction]`` section of ``socialcrm.toml`` (keys and defaults
in :data:`DEFAULTS`); keyword arguments override them.

Churn is learned from the workspace's own history, the usual self-supervised set-up:
people active in the ``active_days`` before a past cut-off ``as_of - horizon_days`` are
described with the features of the ``window_days`` before it and labelled *churned* when
they did nothing in the following ``horizon_days``; the model then scores everyone active
before ``as_of`` the same way. Only inputs that can be read as of a past date are used
(``tie_history``, or the ties of each window scored by the relationship stage when there
is no history — never the current ``ties``; no ``entity_metrics``), so training does not
see the future.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from socialcrm.prediction.actions import ActionSettings, next_best_actions
from socialcrm.prediction.alerts import AlertSettings, empty_alerts, weakening_ties
from socialcrm.prediction.churn import ChurnModel
from socialcrm.prediction.features import (
    ACTIVITY_FEATURES,
    EDGE_FEATURES,
    RELATIONSHIP_FEATURES,
    TIE_FEATURES,
    cohort_at,
    entity_features,
    entity_standing,
    table_exists,
    windowed_tie_features,
)
from socialcrm.prediction.loyalty import LoyaltyPLS

if TYPE_CHECKING:
    from socialcrm.workspace import Workspace

DEFAULTS: dict[str, Any] = {
    "as_of": "",  # the prediction date (ISO); empty: just after the newest interaction
    "horizon_days": 56.0,  # churn: no activity for this long after the cut-off
    "window_days": 28.0,  # churn: features from this many days before the cut-off
    "active_days": 90.0,  # churn: who counts as a current member (active this recently)
    "strong_tie_threshold": 0.5,  # a tie at least this strong is "strong"
    "alert_window": 3,  # alerts: months of tie_history between before and after
    "drop_share": 0.3,  # alerts: fall in strength that raises an alert
    "min_strength": 0.1,  # alerts: ties weaker than this before are not watched
    "high_risk": 0.5,  # actions: churn probability that calls for action
    "high_value_pct": 0.8,
    "quiet_days": 21.0,
    "new_days": 7.0,
    "n_bootstrap": 200,
}
PEOPLE_SQL = "SELECT entity_id, display_name, role FROM entities WHERE role NOT IN ('system', 'brand', 'employee') AND kind <> 'system'"
ENTITY_COLUMNS = ("entity_id", "entity", "handle")


class PredictionError(Exception):
    """A prediction that cannot be made; the message says why and what to do."""


def prediction_settings(ws: Workspace, **overrides: Any) -> dict[str, Any]:
    """:data:`DEFAULTS`, then ``[prediction]`` in ``socialcrm.toml``, then ``overrides``."""
    out = dict(DEFAULTS)
    section = ws.settings.extra.get("prediction", {}) if ws.settings.extra else {}
    unknown = set(section) - set(DEFAULTS)
    if unknown:
        raise PredictionError(
            f"socialcrm.toml [prediction]: unknown key(s) {', '.join(sorted(unknown))};"
            f" known: {', '.join(DEFAULTS)}"
        )
    out.update(section)
    out.update({k: v for k, v in overrides.items() if v is not None})
    return out


def _as_of(ws: Workspace, as_of: datetime | None) -> pd.Timestamp:
    """The date predictions are made as of: ``as_of`` if given, else ``[prediction] as_of``
    in socialcrm.toml (a history whose sources end at different times), else just after
    the newest interaction."""
    if as_of is not None:
        return pd.Timestamp(as_of)
    setting = prediction_settings(ws)["as_of"]
    if setting:
        try:
            ts = pd.Timestamp(str(setting))
        except ValueError:
            raise PredictionError(
                f"socialcrm.toml [prediction] as_of = {setting!r} is not an ISO date or time"
            ) from None
        return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
    return _now(ws) + pd.Timedelta(seconds=1)


def _now(ws: Workspace) -> pd.Timestamp:
    ws.con.complete()
    ts = ws.con.execute("SELECT max(ts) FROM interactions").fetchone()[0]
    if ts is None:
        raise PredictionError("the workspace has no interactions; ingest some first")
    return pd.Timestamp(ts)


# -- outcomes ---------------------------------------------------------------------------


def read_table(data: str | Path | pd.DataFrame) -> pd.DataFrame:
    """A user's file as a DataFrame: CSV, Parquet or JSON Lines, chosen by extension."""
    if isinstance(data, pd.DataFrame):
        return data.copy()
    path = Path(data)
    if not path.is_file():
        raise PredictionError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".jsonl", ".ndjson"):
        return pd.read_json(path, lines=True)
    if suffix in (".csv", ".txt", ".tsv"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    raise PredictionError(
        f"{path}: read CSV, Parquet or JSON Lines files (got {suffix or 'no extension'})"
    )


def load_outcomes(
    ws: Workspace,
    data: str | Path | pd.DataFrame,
    columns: list[str],
    entity_col: str | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The user's rows joined to entities through ``identities``.

    The entity column (``entity_col``, else the first of ``entity_id, entity, handle``)
    may hold handles or entity ids. Returns ``(table, counts)`` where ``table`` has
    ``entity_id`` and ``columns``, one row per entity (the first row wins when two handles
    of one entity appear), and ``counts`` says how many rows matched.
    """
    df = read_table(data)
    name = "data" if isinstance(data, pd.DataFrame) else str(data)
    if entity_col is None:
        entity_col = next((c for c in ENTITY_COLUMNS if c in df.columns), None)
        if entity_col is None:
            raise PredictionError(
                f"{name}: needs a column naming the entity ({', '.join(ENTITY_COLUMNS)}) or"
                f" --entity-column; columns are {', '.join(map(str, df.columns))}"
            )
    missing = [c for c in [entity_col, *columns] if c not in df.columns]
    if missing:
        raise PredictionError(
            f"{name}: missing column(s) {', '.join(missing)}; columns are"
            f" {', '.join(map(str, df.columns))}"
        )
    keys = pd.DataFrame({"key": df[entity_col].astype(str), "_row": np.arange(len(df))})
    ws.con.complete()
    ws.con.register("_pred_keys", keys)
    try:
        resolved = ws.con.sql(
            """SELECT k._row, coalesce(e.entity_id, i.entity_id) AS entity_id FROM _pred_keys k
            LEFT JOIN entities e ON e.entity_id = k.key
            LEFT JOIN identities i ON i.handle = k.key"""
        ).df()
    finally:
        ws.con.unregister("_pred_keys")
    df = df.assign(_row=np.arange(len(df))).merge(resolved, on="_row").sort_values("_row")
    matched = df[df["entity_id"].notna()]
    counts = {
        "rows": len(df),
        "matched": len(matched),
        "unmatched": int(df["entity_id"].isna().sum()),
        "duplicates": int(matched["entity_id"].duplicated().sum()),
    }
    if matched.empty:
        examples = ", ".join(map(repr, df[entity_col].astype(str).head(3)))
        raise PredictionError(
            f"{name}: none of the {len(df)} values of column {entity_col!r} is a known handle"
            f" or entity (e.g. {examples}); check `socialcrm identities show HANDLE`"
        )
    matched = matched.drop_duplicates("entity_id")
    return matched[["entity_id", *columns]].reset_index(drop=True), counts


# -- loyalty ----------------------------------------------------------------------------


@dataclass
class LoyaltyResult:
    """A fitted :class:`LoyaltyPLS`, the table it was fitted on and how rows matched."""

    model: LoyaltyPLS
    table: pd.DataFrame
    counts: dict[str, int]
    as_of: pd.Timestamp
    dropped: list[str] = field(default_factory=list)

    def report(self) -> str:
        c = self.counts
        note = (
            f"{c['matched']:,} of {c['rows']:,} rows matched an entity"
            f" ({c['unmatched']:,} unknown handles, {c['duplicates']:,} repeated entities);"
            f" relationship features as of {self.as_of:%Y-%m-%d}."
        )
        if self.dropped:
            note += f" Not used (no data or constant): {', '.join(self.dropped)}."
        return self.model.report() + "\n" + note


def predict_loyalty(
    ws: Workspace,
    outcome_col: str,
    data: str | Path | pd.DataFrame,
    confounders: list[str] | tuple[str, ...] = (),
    *,
    entity_col: str | None = None,
    relationship: list[str] | None = None,
    as_of: datetime | None = None,
    window_days: float | None = None,
    n_bootstrap: int | None = None,
    random_state: int = 0,
) -> LoyaltyResult:
    """PLS of ``outcome_col`` on relationship features against ``confounders``.

    Parameters
    ----------
    outcome_col : the outcome column of ``data`` (numeric or 0/1: retained, renewed...).
    data : CSV/Parquet/JSON Lines file or DataFrame with an entity column (handle or
        entity id), the outcome and the confounder columns.
    confounders : columns of ``data`` (price, tenure, product, region...; text columns
        are one-hot encoded), or names of computed features (``tenure_days``, ``activity``).
    relationship : relationship features to use (default: every one of
        :data:`~socialcrm.prediction.features.RELATIONSHIP_FEATURES` that has data).
    as_of, window_days : relationship features from ``[as_of - window_days, as_of)``
        (default: the whole history up to the last interaction).

    Example
    -------
    >>> r = predict_loyalty(ws, "renewed", "renewals.csv", ["price", "region"])  # doctest: +SKIP
    >>> print(r.report())                                                         # doctest: +SKIP
    """
    cfg = prediction_settings(ws, n_bootstrap=n_bootstrap)
    file_conf = [c for c in confounders if c not in ACTIVITY_FEATURES + RELATIONSHIP_FEATURES]
    table, counts = load_outcomes(ws, data, [outcome_col, *file_conf], entity_col)
    as_of_ts = _as_of(ws, as_of)
    if window_days is None:
        first = pd.Timestamp(ws.con.execute("SELECT min(ts) FROM interactions").fetchone()[0])
        window_days = (as_of_ts - first).total_seconds() / 86400 + 1
    feats = entity_features(
        ws.con,
        cohort_at(table["entity_id"], as_of_ts, window_days),
        strong_tie_threshold=float(cfg["strong_tie_threshold"]),
        use_current_ties=True,
    )
    feat_cols = [c for c in (*ACTIVITY_FEATURES, *RELATIONSHIP_FEATURES) if c not in table.columns]
    X = table.join(feats[feat_cols])
    rel = list(relationship) if relationship is not None else list(RELATIONSHIP_FEATURES)
    rel = [c for c in rel if c not in confounders]  # a named confounder is not a relationship
    dropped = [c for c in rel if X[c].notna().sum() == 0 or X[c].nunique(dropna=True) < 2]
    rel = [c for c in rel if c not in dropped]
    if not rel:
        raise PredictionError(
            "no relationship feature has data for these entities; run `socialcrm analyze`"
            " or check that the entities in the file have interactions"
        )
    conf = list(confounders)
    model = LoyaltyPLS(
        relationship=rel,
        confounders=conf,
        n_bootstrap=int(cfg["n_bootstrap"]),
        random_state=random_state,
        outcome_name=outcome_col,
    ).fit(X[[*rel, *conf]], X[outcome_col])
    return LoyaltyResult(model, X, counts, as_of_ts, dropped)


# -- churn ------------------------------------------------------------------------------


CHURN_FEATURES: tuple[str, ...] = ACTIVITY_FEATURES + EDGE_FEATURES + TIE_FEATURES


def _active_people(ws: Workspace, as_of: pd.Timestamp, active_days: float) -> pd.DataFrame:
    ws.con.complete()
    return ws.con.execute(
        f"""SELECT p.entity_id, p.display_name FROM ({PEOPLE_SQL}) p
        WHERE p.entity_id IN (
            SELECT i.entity_id FROM interactions x JOIN identities i ON i.handle = x.actor
            WHERE x.ts >= ? AND x.ts < ? AND x.kind <> 'view')
        ORDER BY p.entity_id""",
        [as_of - pd.Timedelta(days=active_days), as_of],
    ).df()


def _active_after(
    ws: Workspace, ids: pd.Series, start: pd.Timestamp, end: pd.Timestamp
) -> pd.Series:
    ws.con.complete()
    active = ws.con.execute(
        """SELECT DISTINCT i.entity_id FROM interactions x JOIN identities i ON i.handle = x.actor
        WHERE x.ts >= ? AND x.ts < ? AND x.kind <> 'view'""",
        [start, end],
    ).df()["entity_id"]
    return ids.isin(set(active))


def _features_with_ties(ws: Workspace, cohort: pd.DataFrame, strong: float) -> pd.DataFrame:
    """:func:`entity_features`, with tie features from each window's own ties when no
    ``tie_history`` gives them as of the cut-off (and the relationship stage is installed)."""
    feats = entity_features(ws.con, cohort, strong_tie_threshold=strong)
    if table_exists(ws.con, "tie_history"):
        return feats
    ties = windowed_tie_features(ws.con, cohort, strong)
    if ties is not None:
        for col in TIE_FEATURES:
            feats[col] = ties[col].to_numpy()
    return feats


def _driver_text(d: dict) -> str:
    v = d["value"]
    if v is None:
        return f"{d['label']} (unknown)"
    return f"{d['label']} ({v:,.0f})" if abs(v) >= 10 else f"{d['label']} ({v:.2g})"


def churn(
    ws: Workspace,
    *,
    as_of: datetime | None = None,
    horizon_days: float | None = None,
    window_days: float | None = None,
    active_days: float | None = None,
    top: int = 3,
) -> pd.DataFrame:
    """Calibrated probability that each current member goes quiet for ``horizon_days``.

    Returns one row per person active in the ``active_days`` before ``as_of`` (default:
    the last interaction), riskiest first: ``entity_id, display_name, churn_risk,
    top_driver, top_driver_feature, drivers`` (list of ``{feature, label, value,
    contribution}``) and the features. ``df.attrs`` holds the training summary
    (cut-off, rows, churn rate, coefficients).
    """
    cfg = prediction_settings(
        ws, horizon_days=horizon_days, window_days=window_days, active_days=active_days
    )
    h, w, act = float(cfg["horizon_days"]), float(cfg["window_days"]), float(cfg["active_days"])
    now = _as_of(ws, as_of)
    cut = now - pd.Timedelta(days=h)
    train_people = _active_people(ws, cut, act)
    if len(train_people) < 20:
        span = ws.con.execute("SELECT min(ts), max(ts) FROM interactions").fetchone()
        raise PredictionError(
            f"churn is learned from who went quiet after {cut:%Y-%m-%d} (as_of minus"
            f" horizon_days={h:g}); only {len(train_people)} people were active before it."
            f" The workspace spans {span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d}; ingest more"
            " history or lower horizon_days in socialcrm.toml [prediction]"
        )
    strong = float(cfg["strong_tie_threshold"])
    train = _features_with_ties(ws, cohort_at(train_people["entity_id"], cut, w), strong)
    y = ~_active_after(ws, train["entity_id"], cut, now)
    cols = [c for c in CHURN_FEATURES if train[c].notna().any() and train[c].nunique() > 1]
    try:
        model = ChurnModel().fit(train[cols], y)
    except ValueError as exc:
        raise PredictionError(f"cannot learn churn at cut-off {cut:%Y-%m-%d}: {exc}") from None
    people = _active_people(ws, now, act)
    feats = _features_with_ties(ws, cohort_at(people["entity_id"], now, w), strong)
    feats.insert(1, "display_name", people["display_name"].to_numpy())
    feats["churn_risk"] = model.risk(feats[cols])
    drivers = model.drivers(feats[cols], top=top)
    feats["drivers"] = drivers
    feats["top_driver_feature"] = [d[0]["feature"] if d else None for d in drivers]
    feats["top_driver"] = [_driver_text(d[0]) if d else None for d in drivers]
    out = feats.sort_values("churn_risk", ascending=False).reset_index(drop=True)
    lead = [
        "entity_id",
        "display_name",
        "churn_risk",
        "top_driver",
        "top_driver_feature",
        "drivers",
    ]
    out = out[lead + [c for c in out.columns if c not in lead]]
    out.attrs = {
        "as_of": str(now),
        "cutoff": str(cut),
        "horizon_days": h,
        "window_days": w,
        "train_rows": len(train),
        "train_churn_rate": float(y.mean()),
        "features": cols,
        "coefficients": {k: float(v) for k, v in model.coef_.items()},
    }
    return out


# -- alerts and actions -----------------------------------------------------------------


def _entities(ws: Workspace) -> pd.DataFrame:
    ws.con.complete()
    return ws.con.sql("SELECT entity_id, role, display_name FROM entities").df()


def alerts(
    ws: Workspace,
    *,
    window: int | None = None,
    drop_share: float | None = None,
    min_strength: float | None = None,
    as_of_period: str | None = None,
) -> pd.DataFrame:
    """Weakening ties and brand relationships from ``tie_history``, most at stake first.

    Without a ``tie_history`` table (the relationship stage has not run) the result is
    empty and ``df.attrs["note"]`` says so.
    """
    cfg = prediction_settings(
        ws, alert_window=window, drop_share=drop_share, min_strength=min_strength
    )
    settings = AlertSettings(
        window=int(cfg["alert_window"]),
        drop_share=float(cfg["drop_share"]),
        min_strength=float(cfg["min_strength"]),
    )
    if not table_exists(ws.con, "tie_history"):
        out = empty_alerts()
        out.attrs["note"] = (
            "no tie_history table: run `socialcrm analyze` (relationship stage) first"
        )
        return out
    ws.con.complete()
    history = ws.con.sql(
        "SELECT CAST(period AS VARCHAR) AS period, source_entity, target_entity, strength"
        " FROM tie_history"
    ).df()
    ents = _entities(ws)
    people = ents.loc[~ents["role"].isin(["system", "brand"]), "entity_id"]
    standing = entity_standing(ws.con, people)
    out = weakening_ties(history, ents, standing, settings=settings, as_of_period=as_of_period)
    out.attrs["settings"] = settings.__dict__
    return out


def _staff_ties(ws: Workspace) -> pd.DataFrame:
    """Each person's strongest tie to an employee (either direction), from ``ties``."""
    if not table_exists(ws.con, "ties"):
        return pd.DataFrame(columns=["entity_id", "staff", "staff_strength"])
    ws.con.complete()
    return ws.con.sql(
        """WITH t AS (
            SELECT source_entity AS p, target_entity AS s, strength FROM ties
            UNION ALL SELECT target_entity, source_entity, strength FROM ties)
        SELECT t.p AS entity_id, arg_max(coalesce(e.display_name, t.s), t.strength) AS staff,
               max(t.strength) AS staff_strength
        FROM t JOIN entities e ON e.entity_id = t.s AND e.role = 'employee'
        GROUP BY t.p"""
    ).df()


def actions(
    ws: Workspace,
    *,
    as_of: datetime | None = None,
    alerts_table: pd.DataFrame | None = None,
    churn_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The next best action for each alert and each person whose situation calls for one.

    Uses :func:`alerts` and :func:`churn` (computed here unless given); when churn cannot
    be learned (too little history) the churn rules stay silent and ``df.attrs["notes"]``
    says why.
    """
    cfg = prediction_settings(ws)
    notes: list[str] = []
    a = alerts_table if alerts_table is not None else alerts(ws)
    if "note" in a.attrs:
        notes.append(a.attrs["note"])
    if churn_table is None:
        try:
            churn_table = churn(ws, as_of=as_of)
        except PredictionError as exc:
            notes.append(f"churn risk not available: {exc}")
    now = _as_of(ws, as_of)
    if churn_table is not None:
        ctx = churn_table.copy()
    else:
        people = _active_people(ws, now, float(cfg["active_days"]))
        ctx = entity_features(
            ws.con, cohort_at(people["entity_id"], now, float(cfg["window_days"]))
        )
        ctx.insert(1, "display_name", people["display_name"].to_numpy())
    # Alerted people who are no longer active still need their context.
    extra = sorted(set(a["person"]) - set(ctx["entity_id"])) if not a.empty else []
    if extra:
        more = entity_features(ws.con, cohort_at(extra, now, float(cfg["window_days"])))
        names = _entities(ws).set_index("entity_id")["display_name"]
        more.insert(1, "display_name", more["entity_id"].map(names))
        ctx = pd.concat([ctx, more], ignore_index=True)
    # Percentiles among everyone in the context (value and influence are skewed).
    for col in ("value", "influence"):
        ctx[f"{col}_pct"] = (
            ctx[col].rank(pct=True, method="max") if ctx[col].notna().any() else np.nan
        )
        ctx.loc[ctx[col].fillna(0) <= 0, f"{col}_pct"] = 0.0
    ctx = ctx.merge(_staff_ties(ws), on="entity_id", how="left")
    settings = ActionSettings(
        high_value_pct=float(cfg["high_value_pct"]),
        quiet_days=float(cfg["quiet_days"]),
        new_days=float(cfg["new_days"]),
        high_risk=float(cfg["high_risk"]),
    )
    out = next_best_actions(a, ctx, settings)
    out.attrs["notes"] = notes
    return out


# -- stored tables ----------------------------------------------------------------------


def analyze_predictions(ws: Workspace) -> dict[str, int]:
    """Store ``predictions`` (churn risk), ``tie_alerts`` and ``next_actions`` tables.

    A part that cannot run (no history for churn, no ``tie_history`` for alerts) stores
    an empty table, so readers always find the three tables.
    """
    import warnings

    try:
        ch = churn(ws)
    except PredictionError as exc:
        ch = None
        warnings.warn(f"churn risk skipped: {exc}", stacklevel=2)
    a = alerts(ws)
    if "note" in a.attrs:
        warnings.warn(f"tie alerts skipped: {a.attrs['note']}", stacklevel=2)
    acts = actions(ws, alerts_table=a, churn_table=ch)
    preds = pd.DataFrame(
        {
            "entity_id": ch["entity_id"] if ch is not None else pd.Series(dtype=str),
            "model": "churn",
            "as_of": pd.Timestamp(ch.attrs["as_of"]) if ch is not None else pd.NaT,
            "horizon_days": ch.attrs["horizon_days"] if ch is not None else np.nan,
            "score": ch["churn_risk"] if ch is not None else pd.Series(dtype=float),
            "top_driver": ch["top_driver"] if ch is not None else pd.Series(dtype=str),
            "drivers": ch["drivers"].map(json.dumps) if ch is not None else pd.Series(dtype=str),
        }
    )
    counts = {}
    ws.con.complete()
    for name, df in (("predictions", preds), ("tie_alerts", a), ("next_actions", acts)):
        df = pd.DataFrame(df).copy()
        df.attrs = {}
        ws.con.register("_pred_out", df)
        try:
            ws.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _pred_out')
        finally:
            ws.con.unregister("_pred_out")
        counts[name] = len(df)
    return counts
