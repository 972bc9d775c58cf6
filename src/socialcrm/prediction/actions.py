"""Next best action: one recommended action, with its reason, per alert and per person at risk.

Seed 000: "Telling you that you are going at 100 mph is no good if they don't provide you
with a brake (and accelerator)." Churn risk (:mod:`.churn`) and weakening-tie alerts
(:mod:`.alerts`) are the speedometer; this module is the pedal. Rules, not a learned
policy: a team must be able to read why the system asks it to act, and there is no
outcome data of past actions to learn a policy from. The rules follow seed 000's four
components of a relationship (a brand can act on *reciprocity* and *trust*: answer,
reach out, invite) and seed 001's community-first routing (superusers answer newcomers).

The rules, in the order they are tried (the first that matches gives the action):

=========================  ==============================================  ===================================  ==========================================
rule                       when                                            action                               by
=========================  ==============================================  ===================================  ==========================================
``vip_brand_negative``     brand-tie alert, value in the top 20%, and      proactive outreach: a personal       the staff member with the strongest tie
                           their recent messages are negative (mean         call or message that names the       to them (else the account team)
                           sentiment ≤ -0.05)                               problem before they do
``superuser_quiet``        superuser (tier 2) with no activity for          personal invitation: ask them back   the community manager
                           ``quiet_days`` (21) days or more                 to answer an open question in their
                                                                            topic, thank them for past help
``lurker_first_post``      first own message within ``new_days`` (7)        welcome them and answer fast: route  a superuser close to the topic
                           days (a lurker until now when they registered    their question first, within the     (community-first window), then staff
                           earlier)                                         community-first window
``brand_tie_weakening``    any other brand-tie alert                        check in personally: ask how things  the staff member with the strongest tie
                                                                            are going and whether they need      (else the account team)
                                                                            help
``influencer_tie_weak``    community tie alert where the person is a        reconnect: invite both into a        the community manager
                           superuser or in the top 20% of influence         conversation on a shared topic
``at_risk_unanswered``     churn risk ≥ ``high_risk`` (0.5) and their       answer them now and connect them to  a superuser close to the topic
                           top driver is a relationship gap (few ties,      a superuser in their topic
                           no replies, slow replies)
``at_risk``                churn risk ≥ ``high_risk``                       retention contact about their top    the staff member with the strongest tie
                                                                            churn driver                         (else the account team)
``monitor``                an alert no rule above covers                    watch: no action yet                 nobody
=========================  ==============================================  ===================================  ==========================================

A person with several weakening ties gets one action, for the alert most at stake; the
reason counts the others. Every recommendation carries its ``reason`` in words, built
from the same numbers the rule tested (the fall of the tie, the days of silence, the
churn probability and its driver), so an agent can judge it before acting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from socialcrm.prediction.features import EDGE_FEATURES, TIE_FEATURES

ACTION_COLUMNS: tuple[str, ...] = (
    "subject",
    "entity_id",
    "display_name",
    "rule",
    "action",
    "by",
    "reason",
    "alert_id",
    "churn_risk",
    "at_stake",
)

# Relationship gaps a community can close (a churn driver among these → community action).
RELATIONSHIP_DRIVERS: frozenset[str] = frozenset(EDGE_FEATURES + TIE_FEATURES)


@dataclass(frozen=True)
class ActionSettings:
    """Thresholds of the rules (``[prediction]`` in ``socialcrm.toml``)."""

    high_value_pct: float = 0.8  # value percentile of a "high-value" customer
    high_influence_pct: float = 0.8
    negative_sentiment: float = -0.05  # VADER's own threshold for negative
    quiet_days: float = 21.0
    new_days: float = 7.0
    high_risk: float = 0.5


@dataclass(frozen=True)
class Rule:
    """One row of the rules table: a vectorised condition and how to word the result."""

    name: str
    when: str
    action: str
    by: str
    condition: Callable[[pd.DataFrame, ActionSettings], pd.Series]
    reason: Callable[[pd.Series], str]


def _col(df: pd.DataFrame, name: str, default: object = np.nan) -> pd.Series:
    return df[name] if name in df else pd.Series(default, index=df.index)


def _is_brand_alert(df: pd.DataFrame) -> pd.Series:
    return _col(df, "alert_kind", "").eq("brand")


def _staff(r: pd.Series) -> str:
    return str(r["staff"]) if isinstance(r.get("staff"), str) else "the account team"


def _closest(r: pd.Series) -> str:
    """A sentence naming the staff member closest to them, when the ties say who."""
    if not isinstance(r.get("staff"), str):
        return ""
    s = r.get("staff_strength")
    how = f" (tie strength {s:.2f})" if pd.notna(s) else ""
    return f" {r['staff']} has the strongest tie to them{how}."


def _risk(r: pd.Series) -> str:
    return f"{_name(r)} has a churn risk of {r['churn_risk']:.0%}"


def _name(r: pd.Series) -> str:
    n = r.get("display_name")
    return str(n) if isinstance(n, str) and n else str(r["entity_id"])


def _tie_fall(r: pd.Series) -> str:
    other = r.get("other_name")
    other = str(other) if isinstance(other, str) and other else str(r["other"])
    what = f"relationship with {other}" if r.get("alert_kind") == "brand" else f"tie to {other}"
    more = r.get("more_alerts")
    also = f" (and {int(more)} more of their ties weakened)" if pd.notna(more) and more > 0 else ""
    return (
        f"their {what} fell from {r['strength_before']:.2f} to {r['strength_after']:.2f}"
        f" ({r['drop']:.0%} down) between {r['period_before']} and {r['period_after']}{also}"
    )


def _driver(r: pd.Series) -> str:
    d = r.get("top_driver")
    return f"; main driver: {d}" if isinstance(d, str) and d else ""


RULES: tuple[Rule, ...] = (
    Rule(
        "vip_brand_negative",
        "brand-tie alert, high value, negative recent messages",
        "proactive outreach: a personal call or message that names the problem before they do",
        "strongest staff tie",
        lambda d, s: (
            _is_brand_alert(d)
            & _col(d, "value_pct", 0.0).ge(s.high_value_pct)
            & _col(d, "own_sentiment").le(s.negative_sentiment)
        ),
        lambda r: (
            f"{_name(r)} is a high-value customer (value percentile {r['value_pct']:.0%});"
            f" {_tie_fall(r)}; their recent messages are negative (sentiment"
            f" {r['own_sentiment']:+.2f}).{_closest(r)}"
        ),
    ),
    Rule(
        "superuser_quiet",
        "superuser silent for quiet_days",
        "personal invitation: ask them back to answer an open question in their topic,"
        " and thank them for past help",
        "community manager",
        lambda d, s: _col(d, "tier_rank").ge(2) & _col(d, "days_since_last").ge(s.quiet_days),
        lambda r: (
            f"{_name(r)} is a superuser and has been quiet for"
            f" {r['days_since_last']:.0f} days; superusers carry the community's answers"
            " (90-9-1), and a personal invitation is how they are brought back."
        ),
    ),
    Rule(
        "lurker_first_post",
        "first own message within new_days",
        "welcome them and answer fast: route their question first, within the"
        " community-first window",
        "a superuser close to the topic, then staff",
        lambda d, s: _col(d, "tenure_days").le(s.new_days),
        lambda r: (
            f"{_name(r)} posted for the first time {r['tenure_days']:.0f} day(s) ago"
            + (
                f" after {r['registered_days'] - r['tenure_days']:.0f} days of only reading"
                if pd.notna(r.get("registered_days"))
                and r["registered_days"] - r["tenure_days"] >= 1
                else ""
            )
            + (
                "; nobody has answered yet"
                if pd.notna(r.get("replied_share")) and r["replied_share"] == 0
                else ""
            )
            + ". A fast, warm first answer is what turns a newcomer into a regular."
        ),
    ),
    Rule(
        "brand_tie_weakening",
        "any other brand-tie alert",
        "check in personally: ask how things are going and whether they need help",
        "strongest staff tie",
        lambda d, s: _is_brand_alert(d),
        lambda r: f"{_name(r)}: {_tie_fall(r)}.{_closest(r)}",
    ),
    Rule(
        "influencer_tie_weak",
        "community tie alert for a superuser or top-influence person",
        "reconnect: invite both into a conversation on a shared topic",
        "community manager",
        lambda d, s: (
            _col(d, "alert_kind", "").eq("tie")
            & (_col(d, "tier_rank").ge(2) | _col(d, "influence_pct", 0.0).ge(s.high_influence_pct))
        ),
        lambda r: (
            f"{_name(r)} is influential (influence percentile"
            f" {r.get('influence_pct', 0.0):.0%}); {_tie_fall(r)}. Influence flows along strong"
            " ties (seed 000): a cooling tie of an influencer weakens what reaches the others."
        ),
    ),
    Rule(
        "at_risk_unanswered",
        "high churn risk driven by a relationship gap",
        "answer them now and connect them to a superuser in their topic",
        "a superuser close to the topic",
        lambda d, s: (
            _col(d, "churn_risk").ge(s.high_risk)
            & _col(d, "top_driver_feature", "").isin(RELATIONSHIP_DRIVERS)
        ),
        lambda r: f"{_risk(r)}{_driver(r)}: a relationship gap the community can close.",
    ),
    Rule(
        "at_risk",
        "high churn risk",
        "retention contact about their main churn driver",
        "strongest staff tie",
        lambda d, s: _col(d, "churn_risk").ge(s.high_risk),
        lambda r: f"{_risk(r)}{_driver(r)}.{_closest(r)}",
    ),
)

MONITOR = Rule(
    "monitor",
    "an alert no other rule covers",
    "watch: no action yet",
    "nobody",
    lambda d, s: pd.Series(True, index=d.index),
    lambda r: f"{_name(r)}: {_tie_fall(r)}; no rule calls for action yet.",
)


def rules_table() -> pd.DataFrame:
    """The rules as a table (name, when, action, by), in the order they are tried."""
    return pd.DataFrame(
        [
            {"rule": r.name, "when": r.when, "action": r.action, "by": r.by}
            for r in (*RULES, MONITOR)
        ]
    )


def next_best_actions(
    alerts: pd.DataFrame | None,
    context: pd.DataFrame,
    settings: ActionSettings = ActionSettings(),
) -> pd.DataFrame:
    """One action per alerted person (per kind of alert), and per person whose own
    situation triggers a rule.

    Parameters
    ----------
    alerts : :func:`socialcrm.prediction.alerts.weakening_ties` output (may be empty).
    context : one row per entity: ``entity_id`` and any of ``display_name, tier_rank,
        days_since_last, tenure_days, registered_days, replied_share, own_sentiment,
        value_pct, influence_pct, churn_risk, top_driver, top_driver_feature, staff``.
        A missing column makes the rules that need it not fire.
    settings : the thresholds.

    Returns
    -------
    DataFrame with :data:`ACTION_COLUMNS`: alerts first (most at stake first), then
    people by churn risk.
    """
    ctx = context.drop_duplicates("entity_id").set_index("entity_id", drop=False)
    parts = []
    if alerts is not None and not alerts.empty:
        a = alerts.rename(columns={"kind": "alert_kind"}).drop(
            columns=[c for c in ("value", "influence", "tier_rank") if c in ctx], errors="ignore"
        )
        # One action per person and kind of alert: the most at stake (alerts come ranked),
        # the others counted in the reason.
        a["more_alerts"] = a.groupby(["person", "alert_kind"])["person"].transform("size") - 1
        a = a.drop_duplicates(["person", "alert_kind"])
        a = a.merge(ctx, left_on="person", right_index=True, how="left")
        a["entity_id"] = a["person"]
        a["subject"] = "alert"
        parts.append(a)
    covered = set(parts[0]["entity_id"]) if parts else set()
    people = ctx[~ctx["entity_id"].isin(covered)].reset_index(drop=True).copy()
    people["subject"] = "entity"
    parts.append(people)
    d = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    if d.empty:
        floats = {"churn_risk", "at_stake"}
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c in floats else "string") for c in ACTION_COLUMNS}
        )
    chosen = pd.Series(pd.NA, index=d.index, dtype=object)
    for rule in RULES:
        hit = rule.condition(d, settings).fillna(False).astype(bool) & chosen.isna()
        chosen[hit] = rule.name
    is_alert = d["subject"].eq("alert")
    chosen[is_alert & chosen.isna()] = MONITOR.name
    d["rule"] = chosen
    d = d[d["rule"].notna()].copy()
    by_name = {r.name: r for r in (*RULES, MONITOR)}
    d["action"] = d["rule"].map(lambda n: by_name[n].action)
    d["by"] = [
        _staff(r) if by_name[r["rule"]].by == "strongest staff tie" else by_name[r["rule"]].by
        for _, r in d.iterrows()
    ]
    d["reason"] = [by_name[r["rule"]].reason(r) for _, r in d.iterrows()]
    for c in ACTION_COLUMNS:
        if c not in d:
            d[c] = np.nan
    d["alert_id"] = d["alert_id"].astype("string")
    d["_order"] = np.where(d["subject"].eq("alert"), 0, 1)
    d = d.sort_values(
        ["_order", "at_stake", "churn_risk"], ascending=[True, False, False], na_position="last"
    )
    return d[list(ACTION_COLUMNS)].reset_index(drop=True)
