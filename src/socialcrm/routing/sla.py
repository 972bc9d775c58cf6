"""Service levels: first-response and resolution clocks, hit / at risk / missed.

A conversation's targets come from its urgency (``[sla]`` in the policy); both clocks
start when it arrives. A clock is

* **hit** when its event (first response, satisfactory resolution) came before the due
  time;
* **missed** when the event came late, or has not come and the due time has passed;
* **at risk** when the event has not come and ``at_risk_share`` of the target has passed;
* **on track** otherwise.

Escalation on a clock (reassigning a silent assignee) is in :mod:`socialcrm.routing.refresh`.
Seed 001: customers on a community "will feel frustrated and disappointed" when they do
not "get a timely response"; the targets make "timely" explicit per urgency.

Example
-------
>>> import numpy as np
>>> t = lambda s: np.datetime64(s, "us")
>>> status(np.array([t("2024-01-01T10:00")]), np.array([t("2024-01-01T11:00")]),
...        np.array([np.datetime64("NaT", "us")]), t("2024-01-01T10:50"), 0.75).tolist()
['at risk']
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

HIT, AT_RISK, MISSED, ON_TRACK = "hit", "at risk", "missed", "on track"


def _t(values: object) -> np.ndarray:
    return pd.to_datetime(np.asarray(values, dtype=object).ravel()).to_numpy(dtype="datetime64[us]")


def status(
    arrived: np.ndarray,
    due: np.ndarray,
    done: np.ndarray,
    now: datetime | np.datetime64,
    at_risk_share: float,
) -> np.ndarray:
    """The status of one clock per conversation (arrays of timestamps; NaT = not yet)."""
    arrived, due, done = _t(arrived), _t(due), _t(done)
    now = np.datetime64(pd.Timestamp(now).to_datetime64(), "us")
    pending = np.isnat(done)
    risk_from = arrived + ((due - arrived) * at_risk_share).astype("timedelta64[us]")
    return np.select(
        [
            ~pending & (done <= due),
            ~pending,
            pending & (now > due),
            pending & (now >= risk_from),
        ],
        [HIT, MISSED, MISSED, AT_RISK],
        default=ON_TRACK,
    )


def add_status(queue: pd.DataFrame, now: datetime, at_risk_share: float) -> pd.DataFrame:
    """``first_response_sla`` and ``resolution_sla`` columns for queue rows."""
    out = queue.copy()
    if out.empty:
        out["first_response_sla"] = pd.Series(dtype=object)
        out["resolution_sla"] = pd.Series(dtype=object)
        return out
    out["first_response_sla"] = status(
        out.arrived_at, out.first_response_due, out.first_response_at, now, at_risk_share
    )
    out["resolution_sla"] = status(
        out.arrived_at, out.resolution_due, out.resolved_at, now, at_risk_share
    )
    return out
