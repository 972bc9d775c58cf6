"""The dashboard's pages: server-rendered (Jinja2), plots as inline SVG, a small script.

Pages call the same query functions as the REST API with the signed-in caller, so what a
page shows is exactly what that role may see through the API. Signing in stores the API
token in an HttpOnly, SameSite=Strict cookie; every form carries a CSRF value derived
from the token.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from socialcrm import __version__
from socialcrm.api.auth import Caller
from socialcrm.api.common import ApiError
from socialcrm.api.permissions import MATRIX, ROLES, allowed
from socialcrm.api.queries import conversations as conv_q
from socialcrm.api.queries import entities as ent_q
from socialcrm.api.queries import influence as inf_q
from socialcrm.api.queries import network as net_q
from socialcrm.api.queries import overview as ov_q
from socialcrm.api.queries import routing as rt_q
from socialcrm.api.queries.profile import profile as profile_q
from socialcrm.api.routes.deps import service_of as _svc
from socialcrm.routing.api import clock as routing_clock
from socialcrm.web import svg
from socialcrm.web.network import layout_positions, network_svg

COOKIE = "scrm_token"
COOKIE_MAX_AGE = 12 * 3600
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:;"
    " style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none';"
    " form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
SLA_COLUMNS = ("sla_due", "due_at", "sla_deadline", "first_response_due", "resolution_due")
REASON_COLUMNS = ("reasons", "reason", "priority_reasons")

router = APIRouter(include_in_schema=False)
env = Environment(
    loader=PackageLoader("socialcrm.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def entity_url(entity_id: str) -> str:
    return "/people/" + quote(str(entity_id), safe="")


def conversation_url(conversation_id: str) -> str:
    return "/conversations/" + quote(str(conversation_id), safe="")


env.globals.update(
    entity_url=entity_url, conversation_url=conversation_url, fmt=svg.fmt, version=__version__
)
env.filters["fmt"] = svg.fmt


class LoginRequired(Exception):
    """No valid token cookie: the page redirects to the sign-in page."""


def csrf_value(token: str) -> str:
    return hmac.new(token.encode(), b"socialcrm-csrf", hashlib.sha256).hexdigest()[:32]


def page_caller(request: Request, action: str) -> Caller:
    svc = _svc(request)
    token = request.cookies.get(COOKIE)
    caller = svc.verifier.verify(svc.cursor(), token) if token else None
    if caller is None:
        raise LoginRequired()
    if not allowed(caller.role, action):
        roles, covers = MATRIX[action]
        raise ApiError(
            403, f"role {caller.role!r} may not {covers} (allowed: {', '.join(sorted(roles))})"
        )
    return caller


async def check_csrf(request: Request) -> dict[str, Any]:
    form = dict(await request.form())
    token = request.cookies.get(COOKIE) or ""
    if not token or not hmac.compare_digest(str(form.get("csrf", "")), csrf_value(token)):
        raise ApiError(403, "the form expired or came from another site; reload the page")
    return form


def render(
    request: Request, template: str, caller: Caller | None, status: int = 200, **context: Any
) -> HTMLResponse:
    token = request.cookies.get(COOKIE) or ""
    html = env.get_template(template).render(
        request=request,
        caller=caller,
        csrf=csrf_value(token) if token else "",
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def html_error(request: Request, status: int, message: str) -> Response:
    if status == 401:
        return RedirectResponse("/login", status_code=303)
    return render(request, "error.html", None, status=status, status_code=status, message=message)


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


# -- sign in -------------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: str = "/", error: str | None = None) -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next), error=error)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    token = str(form.get("token", "")).strip()
    target = _safe_next(str(form.get("next", "/")))
    svc = _svc(request)
    if not token or svc.verifier.verify(svc.cursor(), token) is None:
        return render(
            request,
            "login.html",
            None,
            status=401,
            next=target,
            error="That token is not valid (or was revoked). Ask an admin for one.",
        )
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    await check_csrf(request)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


# -- overview ------------------------------------------------------------------------
@router.get("/")
def overview(request: Request, bucket: str = "week") -> HTMLResponse:
    caller = page_caller(request, "stats:read")
    svc = _svc(request)
    bucket = bucket if bucket in ov_q.BUCKETS else "week"
    stats = ov_q.stats(svc)
    plots: dict[str, dict[str, Any]] = {}

    act = ov_q.activity_series(svc, bucket)["points"]
    if act:
        totals: dict[str, int] = {}
        for p in act:
            totals[p["channel"]] = totals.get(p["channel"], 0) + p["interactions"]
        channels = sorted(totals, key=totals.get, reverse=True)  # type: ignore[arg-type]
        series: dict[str, list[tuple[str, float | None]]] = {c: [] for c in channels}
        for p in act:
            series[p["channel"]].append((p["period"], p["interactions"]))
        plots["activity"] = {"svg": svg.line_chart(series, label="interactions per " + bucket)}
    else:
        plots["activity"] = {
            "empty": {
                "detail": "no interactions yet",
                "how_to_fill": "run `socialcrm ingest FORMAT FILE`",
            }
        }

    sent = ov_q.sentiment_series(svc, bucket)
    if sent["points"]:
        plots["sentiment"] = {
            "svg": svg.line_chart(
                {"mean sentiment": [(p["period"], p["mean_sentiment"]) for p in sent["points"]]},
                label="mean message sentiment per " + bucket,
                y_min=-1,
                y_max=1,
                zero_line=True,
            )
        }
    else:
        plots["sentiment"] = {"empty": sent.get("stage")}

    tiers = inf_q.tiers(svc)
    if tiers["tiers"]:
        names = [str(t["tier"]) for t in tiers["tiers"]]
        plots["tiers"] = {
            "svg": svg.bar_chart(
                names,
                {
                    "this workspace": [t["share"] for t in tiers["tiers"]],
                    "Nielsen 90-9-1": [t["nielsen_share"] for t in tiers["tiers"]],
                },
                label="participation tiers",
                percent=True,
                notes=[f"{t['people']:,} people" for t in tiers["tiers"]],
            )
        }
    else:
        plots["tiers"] = {"empty": tiers.get("stage")}

    layers = net_q.layers(svc)
    if layers["layers"]:
        plots["layers"] = {
            "svg": svg.bar_chart(
                [str(r["layer"]) for r in layers["layers"]],
                {"mean strength": [r["mean_strength"] for r in layers["layers"]]},
                label="Dunbar layers: mean tie strength",
                notes=[f"{r['ties']:,} ties" for r in layers["layers"]],
            )
        }
        plots["tradeoff"] = {
            "svg": svg.bar_chart(
                [str(r["ties_per_ego"]) for r in layers["tradeoff"]],
                {"mean strength": [r["mean_strength"] for r in layers["tradeoff"]]},
                label="more ties, weaker ties: mean strength by number of ties",
                notes=[f"{r['egos']:,} people" for r in layers["tradeoff"]],
            ),
            "corr": layers.get("corr_log_ties_vs_mean_strength"),
        }
    else:
        plots["layers"] = {"empty": layers.get("stage")}
        plots["tradeoff"] = {"empty": layers.get("stage")}
    return render(request, "overview.html", caller, stats=stats, plots=plots, bucket=bucket)


# -- search and the 360° profile -----------------------------------------------------
@router.get("/search")
def search(request: Request, q: str = "", offset: int = 0) -> HTMLResponse:
    caller = page_caller(request, "entities:read")
    q = q[:200]
    results = ent_q.search(_svc(request), q or None, None, None, 25, max(0, offset)) if q else None
    return render(request, "search.html", caller, q=q, results=results)


@router.get("/people/{entity_id:path}")
def person(request: Request, entity_id: str) -> HTMLResponse:
    caller = page_caller(request, "entities:read")
    svc = _svc(request)
    data = profile_q(svc, caller, entity_id, recent=30)
    eid = data["entity"]["entity_id"]
    sentiment_svg = None
    if data["sentiment"] and data["sentiment"]["points"]:
        sentiment_svg = svg.sparkline(
            [p["sentiment"] for p in data["sentiment"]["points"] if p["sentiment"] is not None],
            label="sentiment of what this person said, oldest to newest",
            width=320,
            height=60,
        )
    merges = ent_q.merges(svc, eid, 20, 0)["items"]
    return render(
        request,
        "profile.html",
        caller,
        p=data,
        eid=eid,
        sentiment_svg=sentiment_svg,
        merges=merges,
        can_merge=allowed(caller.role, "identities:write"),
    )


@router.post("/people/merge")
async def merge(request: Request) -> Response:
    caller = page_caller(request, "identities:write")
    form = await check_csrf(request)
    keep, other = str(form.get("keep", "")).strip(), str(form.get("other", "")).strip()
    if not keep or not other:
        raise ApiError(400, "give the entity to keep and the one to merge into it")
    ent_q.merge(_svc(request), keep, other, str(form.get("reason", ""))[:2000])
    del caller
    return RedirectResponse(entity_url(keep), status_code=303)


@router.post("/people/unmerge")
async def unmerge(request: Request) -> Response:
    page_caller(request, "identities:write")
    form = await check_csrf(request)
    try:
        merge_id = int(str(form.get("merge_id", "")))
    except ValueError:
        raise ApiError(400, "merge_id must be a number") from None
    ent_q.unmerge(_svc(request), merge_id)
    back = _safe_next(str(form.get("back", "/")))
    return RedirectResponse(back, status_code=303)


@router.get("/conversations/{conversation_id:path}")
def conversation(request: Request, conversation_id: str) -> HTMLResponse:
    caller = page_caller(request, "conversations:read")
    data = conv_q.get_conversation(_svc(request), caller, conversation_id, limit=500)
    return render(request, "conversation.html", caller, c=data)


# -- network -------------------------------------------------------------------------
@router.get("/network")
def network(
    request: Request,
    entity: str | None = None,
    community: str | None = None,
    max_nodes: int = 40,
) -> HTMLResponse:
    caller = page_caller(request, "ties:read")
    svc = _svc(request)
    max_nodes = min(max(max_nodes, 2), 200)
    graph, drawing, error = None, None, None
    if entity or community:
        try:
            graph = net_q.graph(
                svc,
                entity=entity or None,
                community=None if entity else community,
                max_nodes=max_nodes,
            )
        except ApiError as exc:
            error = exc.message
        else:
            drawing = network_svg(graph, layout_positions(graph["nodes"], graph["edges"]))
    communities = inf_q.communities(svc, 50, 0)["items"]
    suggestions = []
    if not entity and not community:
        suggestions = ent_q.search(svc, None, None, None, 10, 0)["items"]
    return render(
        request,
        "network.html",
        caller,
        graph=graph,
        drawing=drawing,
        error=error,
        entity=entity or "",
        community=community or "",
        max_nodes=max_nodes,
        communities=communities,
        suggestions=suggestions,
    )


# -- influence -----------------------------------------------------------------------
@router.get("/influencers")
def influencers(request: Request, tier: str | None = None, offset: int = 0) -> HTMLResponse:
    caller = page_caller(request, "influence:read")
    data = inf_q.influencers(
        _svc(request), tier=tier or None, community=None, role=None, limit=50, offset=max(0, offset)
    )
    return render(
        request,
        "table.html",
        caller,
        title="Influencers",
        data=data,
        intro="People ranked by influence flowing over strong ties (seed 000).",
    )


@router.get("/advocates")
def advocates(request: Request, k: int = 25) -> HTMLResponse:
    caller = page_caller(request, "influence:read")
    k = min(max(k, 1), 1000)
    data = inf_q.advocates(_svc(request), k)
    return render(
        request,
        "table.html",
        caller,
        title="Advocates",
        data=data,
        intro="The k people whose networks together reach the most distinct others"
        " (seed 004: Vocalpoint's 600,000 leaders × 25 = 15 million).",
    )


@router.get("/communities")
def communities(request: Request, offset: int = 0) -> HTMLResponse:
    caller = page_caller(request, "influence:read")
    data = inf_q.communities(_svc(request), 50, max(0, offset))
    return render(
        request,
        "table.html",
        caller,
        title="Communities",
        data=data,
        intro="Communities found on the tie graph and their natural leaders.",
        link_column="community",
    )


# -- inbox ---------------------------------------------------------------------------
@router.get("/inbox")
def inbox(
    request: Request, done: str | None = None, error: str | None = None, view: str = "all"
) -> HTMLResponse:
    """The queue; ``view=unassigned`` (nobody holds them) or ``view=mine`` (the caller's)."""
    caller = page_caller(request, "queue:read")
    view = view if view in INBOX_VIEWS else "all"
    mine = (caller.entity_id or caller.name) if view == "mine" else None
    data = rt_q.queue(
        _svc(request),
        caller,
        status=None,
        assignee=mine,
        limit=100,
        offset=0,
        unassigned=view == "unassigned",
    )
    items = [_inbox_row(q) for q in data["items"]]
    return render(
        request,
        "inbox.html",
        caller,
        data=data,
        items=items,
        can_act=allowed(caller.role, "queue:act"),
        done=done,
        error=error,
        view=view,
        views=INBOX_VIEWS,
        now=routing_clock(_svc(request).ws).isoformat(
            timespec="seconds"
        ),  # SLA timers count from the workspace's clock
    )


INBOX_VIEWS = ("all", "unassigned", "mine")


def _inbox_row(q: dict[str, Any]) -> dict[str, Any]:
    """A queue row as the inbox shows it: priority, why (reason texts), the SLA that runs."""
    reasons = next((q[c] for c in REASON_COLUMNS if q.get(c)), None)
    if isinstance(reasons, list):
        # Only the terms that raised the priority: a zero contribution explains nothing.
        why = [
            str(r.get("text") or r.get("term")) if isinstance(r, dict) else str(r)
            for r in reasons
            if not isinstance(r, dict) or (r.get("contribution") or 0) > 0
        ]
    else:
        why = [str(reasons)] if reasons else []
    answered = q.get("first_response_at") is not None
    sla_order = ("resolution_due", *SLA_COLUMNS) if answered else SLA_COLUMNS
    sla_column = next((c for c in sla_order if q.get(c)), None)
    return {
        **q,
        "why": why,
        "sla_due": q.get(sla_column) if sla_column else None,
        "sla_kind": (sla_column or "").replace("_", " "),
        "priority_value": q.get("priority", q.get("score")),
    }


@router.post("/inbox/{operation}")
async def inbox_action(request: Request, operation: str) -> Response:
    caller = page_caller(request, "queue:act")
    form = await check_csrf(request)
    if operation not in ("claim", "resolve"):
        raise ApiError(404, f"no inbox action {operation!r}")
    cid = str(form.get("conversation_id", ""))
    fields = {"note": str(form.get("note", ""))[:10_000]} if operation == "resolve" else {}
    try:
        rt_q.act(_svc(request), caller, operation, cid, **fields)
    except ApiError as exc:
        return RedirectResponse("/inbox?" + urlencode({"error": exc.message}), status_code=303)
    past = {"claim": "claimed", "resolve": "resolved"}[operation]
    query = urlencode({"view": "mine", "done": f"{past} {cid}"})  # what the agent now holds
    return RedirectResponse("/inbox?" + query, status_code=303)


# -- the API, described --------------------------------------------------------------
@router.get("/api")
def api_reference(request: Request) -> HTMLResponse:
    caller = page_caller(request, "stats:read")
    spec = request.app.openapi()
    routes = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            routes.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": (op.get("description") or "").split("\n")[0],
                    "permission": op.get("x-permission", "none (public)"),
                }
            )
    return render(
        request,
        "api.html",
        caller,
        routes=routes,
        matrix=MATRIX,
        roles=ROLES,
        private_roles=_svc(request).settings.private_roles,
    )
