"""Influencers, communities, advocates and participation tiers (issue 5), read from the
influence stage's tables.

Nielsen's 90-9-1 rule (Nielsen 2006, "Participation Inequality") is the reference split the
tier summary is shown beside; seed 004 (P&G's Vocalpoint) is how advocates are reported.
"""

from __future__ import annotations

from typing import Any

from socialcrm.api.common import ApiError, page
from socialcrm.api.service import Service
from socialcrm.api.stages import missing_note, present_note

NIELSEN = {"lurker": 0.90, "contributor": 0.09, "superuser": 0.01}
INFLUENCE_COLUMNS = ("influence", "influence_score", "pagerank")


def _metric_order(cols: list[str]) -> str:
    col = next((c for c in INFLUENCE_COLUMNS if c in cols), None)
    return f'm."{col}" DESC NULLS LAST, ' if col else ""


def influencers(
    svc: Service,
    *,
    tier: str | None,
    community: str | None,
    role: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """People by tie-weighted influence, most influential first."""
    m = svc.model
    if not m.usable("entity_metrics"):
        return page([], limit, offset, stage=missing_note("entity_metrics", m.columns))
    cols = m.columns["entity_metrics"]
    where, params = ["TRUE"], []
    for column, value in (("tier", tier), ("community", community)):
        if value is not None:
            if column not in cols:
                return page([], limit, offset, stage=missing_note("entity_metrics", m.columns))
            where.append(f'CAST(m."{column}" AS VARCHAR) = ?')
            params.append(value)
    if role is not None:
        where.append("e.role = ?")
        params.append(role)
    rows = svc.rows(
        f"""SELECT {svc.select_list("entity_metrics", "m")}, e.display_name, e.role
            FROM entity_metrics m LEFT JOIN entities e ON e.entity_id = m.entity_id
            WHERE {" AND ".join(where)}
            ORDER BY {_metric_order(cols)} m.entity_id LIMIT ? OFFSET ?""",
        [*params, limit + 1, offset],
    )
    return page(rows, limit, offset, stage=present_note("entity_metrics"))


def communities(svc: Service, limit: int, offset: int) -> dict[str, Any]:
    """Communities with their size and natural leaders (most influential inside)."""
    m = svc.model
    if m.usable("communities"):
        rows = svc.rows(
            f"SELECT {svc.select_list('communities')} FROM communities ORDER BY"
            f" {'size DESC, ' if 'size' in m.columns['communities'] else ''}community"
            " LIMIT ? OFFSET ?",
            [limit + 1, offset],
        )
        return page(rows, limit, offset, stage=present_note("communities"))
    if not m.usable("entity_metrics") or "community" not in m.columns["entity_metrics"]:
        return page([], limit, offset, stage=missing_note("communities", m.columns))
    order = _metric_order(m.columns["entity_metrics"]).replace("m.", "")
    rows = svc.rows(
        f"""SELECT CAST(community AS VARCHAR) AS community, count(*) AS members,
                   list(entity_id ORDER BY {order} entity_id)[1:3] AS leaders
            FROM entity_metrics WHERE community IS NOT NULL
            GROUP BY 1 ORDER BY members DESC, community LIMIT ? OFFSET ?""",
        [limit + 1, offset],
    )
    return page(rows, limit, offset, stage=present_note("entity_metrics"))


def community(svc: Service, community_id: str, limit: int, offset: int) -> dict[str, Any]:
    m = svc.model
    if not m.usable("entity_metrics") or "community" not in m.columns["entity_metrics"]:
        raise ApiError(
            404,
            "communities have not been computed in this workspace yet",
            stage=missing_note("entity_metrics", m.columns),
        )
    rows = svc.rows(
        f"""SELECT {svc.select_list("entity_metrics", "m")}, e.display_name, e.role
            FROM entity_metrics m LEFT JOIN entities e ON e.entity_id = m.entity_id
            WHERE CAST(m.community AS VARCHAR) = ?
            ORDER BY {_metric_order(m.columns["entity_metrics"])} m.entity_id
            LIMIT ? OFFSET ?""",
        [community_id, limit + 1, offset],
    )
    if not rows and offset == 0:
        raise ApiError(404, f"no community {community_id!r}")
    return page(rows, limit, offset, community=community_id)


def advocates(svc: Service, k: int) -> dict[str, Any]:
    """The k advocates chosen for distinct reach, with the seed-004 style summary.

    Read from an ``advocates`` table if a stage stored one, else computed on demand by the
    influence stage's ``Workspace.advocates(k)`` over the tie graph (once per workspace
    version and k).
    """
    m = svc.model
    if m.usable("advocates"):
        rows = svc.rows(f"SELECT {svc.select_list('advocates')} FROM advocates LIMIT ?", [k])
        return {"k": k, "items": rows, "stage": present_note("advocates")}
    choose = getattr(svc.ws, "advocates", None)
    if choose is None or not m.usable("ties"):
        return {"k": k, "items": [], "stage": missing_note("ties", m.columns)}

    def compute() -> dict[str, Any]:
        with svc.write_lock:  # it works on the workspace connection
            report = choose(k=k)
        d = report.as_dict() if hasattr(report, "as_dict") else dict(report)
        items = d.pop("advocates", [])
        d.pop("k", None)
        return {"k": k, "items": items, "report": d, "stage": present_note("ties")}

    return m.remember(("advocates", k), compute)


def tiers(svc: Service) -> dict[str, Any]:
    """The population's participation tiers beside Nielsen's 90/9/1."""
    m = svc.model
    if not m.usable("entity_metrics") or "tier" not in m.columns["entity_metrics"]:
        return {
            "tiers": [],
            "reference": NIELSEN,
            "stage": missing_note("entity_metrics", m.columns),
        }

    def compute() -> dict[str, Any]:
        rows = svc.rows(
            """SELECT CAST(tier AS VARCHAR) AS tier, count(*) AS people,
                      count(*) / sum(count(*)) OVER () AS share
               FROM entity_metrics WHERE tier IS NOT NULL GROUP BY 1 ORDER BY people DESC"""
        )
        for r in rows:
            r["nielsen_share"] = NIELSEN.get(str(r["tier"]).lower())
        return {"tiers": rows, "reference": NIELSEN, "stage": present_note("entity_metrics")}

    return m.remember(("tiers",), compute)
