"""Weakening-tie alerts: relationships whose strength fell, ranked by what is at stake.

Seed 000 closes on the reason to measure relationships at all: a measurement is "no good
if [it doesn't] provide you with a brake (and accelerator)" — the business must learn *in
time* that a relationship is cooling, while something can still be done. A tie's
strength (relationships stage: time, intensity, reciprocity, trust) is recorded every
month in ``tie_history``; an **alert** is a tie whose strength fell by more than
``drop_share`` of its earlier value over ``window`` periods.

Definitions
-----------
* ``strength_before`` = the tie's strength in period ``P - window``;
  ``strength_after`` = its strength in the latest period ``P`` (or ``as_of_period``).
  A tie present before and missing at ``P`` counts as strength 0 (the relationship
  stage keeps no row for a tie that no longer exists) — ``missing_after="skip"``
  drops such ties instead.
* ``drop = (before - after) / before``; an alert needs ``drop > drop_share`` and
  ``before >= min_strength`` (a fall from 0.02 to 0.01 is noise, not news).
* **kind**: ``brand`` when one end has ``role = 'brand'`` (the customer's relationship
  with the brand itself), else ``tie`` (a relationship inside the community). The
  **person** is the end who is not the brand (for a ``tie``, the tie's source: ties are
  directed and relative, DESIGN.md).
* **at stake**: ``w_value × value percentile + w_influence × influence percentile +
  w_tier × tier/2`` of the person, percentiles among the people scored who have a
  positive value (influence); a missing or zero measure counts 0. Alerts are ranked by
  it, then by the strength lost (``before - after``: losing a 0.8 tie matters more than
  losing a 0.1 tie, whatever the percentage).

Every alert carries its evidence in words: before and after strength, the periods, the
fall, and the person's value, influence and tier.

References: seed 000 (relationship measurement needs a predictive and an actionable
component); M. Granovetter, "The strength of weak ties", AJS 78 (1973); E. Gilbert and
K. Karahalios, "Predicting tie strength with social media", CHI 2009.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TIER_NAMES = {0: "lurker", 1: "contributor", 2: "superuser"}

ALERT_COLUMNS: tuple[str, ...] = (
    "alert_id",
    "kind",
    "person",
    "other",
    "other_name",
    "source_entity",
    "target_entity",
    "period_before",
    "period_after",
    "strength_before",
    "strength_after",
    "drop",
    "value",
    "influence",
    "tier_rank",
    "at_stake",
    "evidence",
)


@dataclass(frozen=True)
class AlertSettings:
    """Thresholds of :func:`weakening_ties` (``[prediction]`` in ``socialcrm.toml``)."""

    window: int = 3  # periods (months of tie_history) between before and after
    drop_share: float = 0.3  # alert when strength fell by more than this share
    min_strength: float = 0.1  # ignore ties weaker than this before the fall
    missing_after: str = "zero"  # "zero" or "skip": a tie gone from the later period
    w_value: float = 0.4
    w_influence: float = 0.4
    w_tier: float = 0.2


def period_start(period: pd.Series) -> pd.Series:
    """``tie_history.period`` (date, timestamp, ``'YYYY-MM'``) as a month-start timestamp."""
    p = pd.to_datetime(period.astype(str), errors="coerce", format="mixed")
    return p.dt.to_period("M").dt.to_timestamp()


def weakening_ties(
    history: pd.DataFrame,
    entities: pd.DataFrame | None = None,
    standing: pd.DataFrame | None = None,
    *,
    settings: AlertSettings = AlertSettings(),
    as_of_period: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Alerts for ties that weakened by more than ``settings.drop_share``.

    Parameters
    ----------
    history : ``period, source_entity, target_entity, strength`` (more columns ignored).
    entities : ``entity_id, role`` (and optionally ``display_name``, used in the
        evidence); without it no tie is recognised as a brand relationship.
    standing : ``entity_id, value, influence, tier_rank`` for the stakes; without it
        every alert is at stake 0 and the fall alone ranks them.
    as_of_period : the "after" period (default: the latest in ``history``).

    Returns
    -------
    DataFrame with :data:`ALERT_COLUMNS`, most at stake first.

    Example
    -------
    >>> h = pd.DataFrame({"period": ["2024-01", "2024-04"], "source_entity": ["ann"] * 2,
    ...                   "target_entity": ["acme"] * 2, "strength": [0.8, 0.2]})
    >>> e = pd.DataFrame({"entity_id": ["ann", "acme"], "role": ["customer", "brand"]})
    >>> a = weakening_ties(h, e)
    >>> a[["kind", "person", "strength_before", "strength_after"]].values.tolist()
    [['brand', 'ann', 0.8, 0.2]]
    """
    s = settings
    h = history[["period", "source_entity", "target_entity", "strength"]].copy()
    h["p"] = period_start(h["period"])
    h = h.dropna(subset=["p"])
    if h.empty:
        return empty_alerts()
    after_p = (
        pd.Timestamp(as_of_period).to_period("M").to_timestamp()
        if as_of_period is not None
        else h["p"].max()
    )
    before_p = (after_p.to_period("M") - s.window).to_timestamp()
    key = ["source_entity", "target_entity"]
    before = h[h["p"] == before_p].groupby(key, as_index=False)["strength"].max()
    after = h[h["p"] == after_p].groupby(key, as_index=False)["strength"].max()
    pairs = before.merge(after, on=key, how="left", suffixes=("_before", "_after"))
    if s.missing_after == "skip":
        pairs = pairs.dropna(subset=["strength_after"])
    pairs["strength_after"] = pairs["strength_after"].fillna(0.0)
    pairs = pairs[pairs["strength_before"] >= s.min_strength]
    pairs["drop"] = (pairs["strength_before"] - pairs["strength_after"]) / pairs["strength_before"]
    a = pairs[pairs["drop"] > s.drop_share].copy()

    roles = _roles(entities)
    src_brand = a["source_entity"].map(roles).eq("brand")
    tgt_brand = a["target_entity"].map(roles).eq("brand")
    a["kind"] = np.where(src_brand | tgt_brand, "brand", "tie")
    a["person"] = np.where(src_brand & ~tgt_brand, a["target_entity"], a["source_entity"])
    a["other"] = np.where(src_brand & ~tgt_brand, a["source_entity"], a["target_entity"])
    names = _names(entities)
    a["other_name"] = a["other"].map(names).fillna(a["other"]) if len(names) else a["other"]
    a["period_before"] = before_p.strftime("%Y-%m")
    a["period_after"] = after_p.strftime("%Y-%m")

    st = _standing(standing)
    a = a.merge(st, left_on="person", right_on="entity_id", how="left").drop(columns="entity_id")
    # Percentile among people with something at stake; nothing (0 or unknown) counts 0.
    measures = st.set_index("entity_id")[["value", "influence"]]
    pct = measures.where(measures > 0).rank(pct=True, method="max")
    a["value_pct"] = a["person"].map(pct["value"]).fillna(0.0) if len(pct) else 0.0
    a["influence_pct"] = a["person"].map(pct["influence"]).fillna(0.0) if len(pct) else 0.0
    a["at_stake"] = (
        s.w_value * a["value_pct"]
        + s.w_influence * a["influence_pct"]
        + s.w_tier * a["tier_rank"].fillna(0.0) / 2.0
    )
    a["lost"] = a["strength_before"] - a["strength_after"]
    a = a.sort_values(["at_stake", "lost", "drop"], ascending=[False, False, False])
    a = a.reset_index(drop=True)
    a["alert_id"] = [f"tie-{after_p:%Y%m}-{i + 1}" for i in range(len(a))]
    a["evidence"] = _evidence(a, s.window)
    return a[list(ALERT_COLUMNS)]


def empty_alerts() -> pd.DataFrame:
    """No alerts, with the column types real alerts have (so stored tables keep them)."""
    floats = ALERT_COLUMNS[ALERT_COLUMNS.index("strength_before") : ALERT_COLUMNS.index("evidence")]
    return pd.DataFrame(
        {c: pd.Series(dtype=float if c in floats else "string") for c in ALERT_COLUMNS}
    )


def _names(entities: pd.DataFrame | None) -> pd.Series:
    if entities is None or entities.empty or "display_name" not in entities:
        return pd.Series(dtype=object)
    return entities.set_index("entity_id")["display_name"].dropna()


def _roles(entities: pd.DataFrame | None) -> pd.Series:
    if entities is None or entities.empty:
        return pd.Series(dtype=object)
    return entities.set_index("entity_id")["role"]


def _standing(standing: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["entity_id", "value", "influence", "tier_rank"]
    if standing is None:
        return pd.DataFrame(columns=cols).astype(
            {"value": float, "influence": float, "tier_rank": float}
        )
    st = standing.copy()
    for c in cols[1:]:
        st[c] = pd.to_numeric(st[c], errors="coerce").astype(float) if c in st else np.nan
    return st[cols].drop_duplicates("entity_id")


def _evidence(a: pd.DataFrame, window: int) -> pd.Series:
    if a.empty:
        return pd.Series(dtype=object)
    what = np.where(a["kind"] == "brand", "relationship with the brand ", "tie to ")
    tier = a["tier_rank"].map(TIER_NAMES).fillna("tier unknown")
    return (
        pd.Series(what, index=a.index)
        + a["other_name"].astype(str)
        + " fell from "
        + a["strength_before"].map("{:.2f}".format)
        + " to "
        + a["strength_after"].map("{:.2f}".format)
        + " ("
        + a["drop"].map("-{:.0%}".format)
        + f") between {a['period_before'].iloc[0]} and {a['period_after'].iloc[0]}"
        + f" ({window} months); value "
        + a["value"].map(lambda v: "n/a" if pd.isna(v) else f"{v:,.0f}")
        + ", influence "
        + a["influence"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.2g}")
        + ", "
        + tier
    )
