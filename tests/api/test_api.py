"""The REST API through the app, on a real workspace file (see conftest.py for the data)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from socialcrm.api import create_app
from socialcrm.api.auth import TOKEN_RE, create_token
from socialcrm.cli import app as cli_app
from socialcrm.workspace import Workspace

from .conftest import Built

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def auth(built: Built, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {built.tokens[role]}"}


@pytest.fixture(scope="module")
def client(built_workspace: Built) -> Iterator[TestClient]:
    with TestClient(create_app(built_workspace.path)) as c:
        yield c


@pytest.fixture()
def writable(workspace_copy: Path) -> Iterator[TestClient]:
    with TestClient(create_app(workspace_copy, refresh_interval=0)) as c:
        yield c


def handles_sql(client: TestClient, entity: str, visibility: str | None = None) -> int:
    """Interactions an entity sent or was addressed in (explicitly or by reply), by SQL."""
    vis = f"AND x.visibility = '{visibility}'" if visibility else ""
    return (
        client.app.state.service.cursor()
        .execute(
            f"""WITH h AS (SELECT handle FROM identities WHERE entity_id = ?)
        SELECT count(DISTINCT x.interaction_id) FROM interactions x
        LEFT JOIN interactions p ON p.interaction_id = x.in_reply_to
        WHERE (x.actor IN (SELECT handle FROM h)
               OR list_has_any(x.targets, (SELECT list(handle) FROM h))
               OR (p.actor IN (SELECT handle FROM h)
                   AND x.actor NOT IN (SELECT handle FROM h))) {vis}""",
            [entity],
        )
        .fetchone()[0]
    )


# -- schema, health, auth ----------------------------------------------------------------
def test_openapi_is_served_and_every_route_names_its_permission(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    ops = [(p, m, op) for p, ms in spec["paths"].items() for m, op in ms.items()]
    assert len(ops) >= 30
    assert all(p.startswith("/api/v1/") for p, _, _ in ops)
    unguarded = [(m, p) for p, m, op in ops if "x-permission" not in op]
    assert unguarded == [("get", "/api/v1/health")]


def test_health_needs_no_token(client: TestClient) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.json()["schema_version"] >= 2


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer scrm_1_" + "x" * 43, "Basic abc"])
def test_missing_or_bad_token_is_401_with_a_json_message(client: TestClient, header) -> None:
    r = client.get("/api/v1/stats", headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "unauthorized" and "token" in err["message"]


def test_me_reports_role_and_private_right(client: TestClient, built_workspace: Built) -> None:
    me = client.get("/api/v1/me", headers=auth(built_workspace, "analyst")).json()
    assert me["role"] == "analyst" and me["sees_private"] is False
    assert "queue:act" not in me["actions"] and "interactions:write" in me["actions"]
    assert client.get("/api/v1/me", headers=auth(built_workspace, "agent")).json()["sees_private"]


def test_errors_are_json_and_never_5xx_on_bad_input(
    client: TestClient, built_workspace: Built
) -> None:
    h = auth(built_workspace, "admin")
    cases = [
        ("/api/v1/interactions?limit=501", 422),
        ("/api/v1/interactions?limit=0", 422),
        ("/api/v1/interactions?since=yesterday", 422),
        ("/api/v1/interactions?visibility=secret", 422),
        ("/api/v1/stats/activity?bucket=year", 422),
        ("/api/v1/entities/%00%ff/profile", 404),
        ("/api/v1/no/such/route", 404),
        ("/api/v1/network", 400),
    ]
    for url, status in cases:
        r = client.get(url, headers=h)
        assert r.status_code == status, (url, r.text)
        assert r.json()["error"]["message"], url
    r = client.get("/api/v1/interactions?limit=501", headers=h)
    assert "limit" in r.json()["error"]["message"]


def test_lean_routes_check_parameters_and_tokens_like_the_others(
    client: TestClient, built_workspace: Built
) -> None:
    """The queue and the 360° view read their own parameters (``deps.Param``): the same
    answers as FastAPI's checks, and the same OpenAPI entries."""
    h = auth(built_workspace, "agent")
    person = client.get("/api/v1/entities", params={"limit": 1}, headers=h).json()["items"][0]
    profile = f"/api/v1/entities/{person['entity_id']}/profile"
    bad = [
        ("/api/v1/queue?limit=501", "query.limit: Input should be less than or equal to 500"),
        ("/api/v1/queue?limit=0", "query.limit: Input should be greater than or equal to 1"),
        ("/api/v1/queue?offset=x", "query.offset: Input should be a valid integer"),
        ("/api/v1/queue?unassigned=maybe", "query.unassigned: Input should be a valid boolean"),
        ("/api/v1/queue?status=" + "x" * 1001, "query.status: String should have at most 1000"),
        (profile + "?recent=201", "query.recent: Input should be less than or equal to 200"),
    ]
    for url, message in bad:
        r = client.get(url, headers=h)
        assert r.status_code == 422 and message in r.json()["error"]["message"], (url, r.text)
    assert client.get("/api/v1/queue?unassigned=TRUE&limit=3", headers=h).json()["limit"] == 3
    assert len(client.get(profile + "?recent=1", headers=h).json()["recent_interactions"]) <= 1
    for headers, status in (
        ({}, 401),
        ({"Authorization": "Basic " + built_workspace.tokens["agent"]}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": "bearer " + built_workspace.tokens["agent"]}, 200),
    ):
        assert client.get("/api/v1/queue", headers=headers).status_code == status, headers
    op = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/queue"]["get"]
    assert [p["name"] for p in op["parameters"]] == [
        "status", "assignee", "include_resolved", "unassigned", "limit", "offset"
    ]  # fmt: skip
    assert op["security"] == [{"HTTPBearer": []}] and op["x-permission"] == "queue:read"


# -- entities and the 360° view ----------------------------------------------------------
def test_search_finds_a_brand_by_part_of_its_handle(
    client: TestClient, built_workspace: Built
) -> None:
    h = auth(built_workspace, "agent")
    items = client.get("/api/v1/entities", params={"q": "chipotle"}, headers=h).json()["items"]
    assert [i["entity_id"] for i in items] == ["twitter:ChipotleTweets"]
    assert items[0]["activity"] > 0
    # wildcards typed by a user are literal
    assert client.get("/api/v1/entities", params={"q": "%"}, headers=h).json()["items"] == []
    by_handle = client.get(
        "/api/v1/entities", params={"q": built_workspace.private_handle}, headers=h
    ).json()["items"]
    assert by_handle[0]["entity_id"] == built_workspace.mixed_entity  # exact handle first


def test_entity_by_handle_lists_every_identity(client: TestClient, built_workspace: Built) -> None:
    r = client.get(
        f"/api/v1/entities/{built_workspace.private_handle}", headers=auth(built_workspace, "agent")
    ).json()
    assert r["entity_id"] == built_workspace.mixed_entity
    rules = {i["handle"]: i["link_rule"] for i in r["identities"]}
    assert rules == {
        built_workspace.mixed_entity: "self",
        built_workspace.private_handle: "manual_merge",
    }


def test_360_view_holds_every_channel_for_the_agent(
    client: TestClient, built_workspace: Built
) -> None:
    b = built_workspace
    p = client.get(f"/api/v1/entities/{b.mixed_entity}/profile", headers=auth(b, "agent")).json()
    assert p["entity"]["entity_id"] == b.mixed_entity
    assert p["channels"] == ["collegemsg", "twitter"]
    expected = handles_sql(client, b.mixed_entity)
    public = handles_sql(client, b.mixed_entity, "public")
    assert p["summary"]["interactions"] == expected
    assert expected > public > 0
    by_channel = {a["channel"]: a for a in p["activity"]["by_channel"]}
    assert set(by_channel) == {"chat", "twitter"}
    recent = p["recent_interactions"]
    assert len(recent) == 20
    assert [r["ts"] for r in recent] == sorted((r["ts"] for r in recent), reverse=True)
    # sections whose stage has not run say what fills them
    for table in ("ties", "entity_metrics", "routing_queue", "next_actions"):
        if table in p["stages"]:
            assert "socialcrm" in p["stages"][table]["how_to_fill"]


def test_360_view_hides_private_interactions_from_the_analyst(
    client: TestClient, built_workspace: Built
) -> None:
    b = built_workspace
    p = client.get(
        f"/api/v1/entities/{b.mixed_entity}/profile",
        params={"recent": 200},
        headers=auth(b, "analyst"),
    ).json()
    public = handles_sql(client, b.mixed_entity, "public")
    assert p["summary"]["interactions"] == public
    assert {r["visibility"] for r in p["recent_interactions"]} == {"public"}
    assert not set(json.dumps(p).split('"')) & b.private_ids


def test_entity_timeline_filters_and_pages(client: TestClient, built_workspace: Built) -> None:
    b = built_workspace
    h = auth(b, "admin")
    url = f"/api/v1/entities/{b.mixed_entity}/interactions"
    chats = client.get(url, params={"channel": "chat", "limit": 500}, headers=h).json()
    assert chats["items"] and {i["channel"] for i in chats["items"]} == {"chat"}
    first = client.get(url, params={"limit": 20}, headers=h).json()
    a = client.get(url, params={"limit": 10}, headers=h).json()
    c = client.get(url, params={"limit": 10, "offset": 10}, headers=h).json()
    assert a["has_more"] and a["next_offset"] == 10
    assert [i["interaction_id"] for i in a["items"] + c["items"]] == [
        i["interaction_id"] for i in first["items"]
    ]
    sent = client.get(url, params={"direction": "received", "limit": 500}, headers=h).json()
    assert sent["items"] and all(i["direction"] == "received" for i in sent["items"])
    window = client.get(
        url,
        params={"since": "2017-11-01T00:00:00Z", "until": "2017-11-02T00:00:00+00:00"},
        headers=h,
    ).json()["items"]
    assert window and all("2017-11-01" <= i["ts"] < "2017-11-02" for i in window)


# -- interactions --------------------------------------------------------------------------
def test_interactions_filter_search_and_order(client: TestClient, built_workspace: Built) -> None:
    h = auth(built_workspace, "agent")
    tw = client.get("/api/v1/interactions", params={"channel": "twitter", "limit": 50}, headers=h)
    items = tw.json()["items"]
    assert len(items) == 50 and {i["channel"] for i in items} == {"twitter"}
    assert [i["ts"] for i in items] == sorted((i["ts"] for i in items), reverse=True)
    asc = client.get("/api/v1/interactions", params={"order": "asc", "limit": 5}, headers=h)
    assert asc.json()["items"][0]["ts"].startswith("2004")  # CollegeMsg is older than twcs
    found = client.get("/api/v1/interactions", params={"q": "refund", "limit": 500}, headers=h)
    assert found.json()["items"]
    assert all("refund" in i["text"].lower() for i in found.json()["items"])


def test_private_interaction_by_id_is_404_for_a_role_without_the_right(
    client: TestClient, built_workspace: Built
) -> None:
    b = built_workspace
    pid = sorted(b.private_ids)[0]
    assert client.get(f"/api/v1/interactions/{pid}", headers=auth(b, "agent")).status_code == 200
    r = client.get(f"/api/v1/interactions/{pid}", headers=auth(b, "analyst"))
    assert r.status_code == 404 and pid not in r.text.replace(f"'{pid}'", "")
    one = client.get("/api/v1/interactions/twcs:1", headers=auth(b, "analyst")).json()
    assert one["actor"] == "twitter:sprintcare" and one["in_reply_to"] == "twcs:3"


# -- conversations ---------------------------------------------------------------------------
def test_conversation_list_and_detail(client: TestClient, built_workspace: Built) -> None:
    b = built_workspace
    h = auth(b, "analyst")
    convs = client.get("/api/v1/conversations", params={"limit": 20}, headers=h).json()
    assert len(convs["items"]) == 20 and not any(c["private"] for c in convs["items"])
    big = max(convs["items"], key=lambda c: c["messages"])
    detail = client.get(f"/api/v1/conversations/{big['conversation_id']}", headers=h).json()
    assert len(detail["messages"]) == big["messages"]
    ts = [m["ts"] for m in detail["messages"]]
    assert ts == sorted(ts)
    private_conv = sorted(b.private_ids)[0]  # a chat message is its own conversation
    assert client.get(f"/api/v1/conversations/{private_conv}", headers=h).status_code == 404
    assert (
        client.get(f"/api/v1/conversations/{private_conv}", headers=auth(b, "agent")).status_code
        == 200
    )
    chats = client.get(
        "/api/v1/conversations", params={"channel": "chat"}, headers=auth(b, "analyst")
    )
    assert chats.json()["items"] == []
    mine = client.get(
        "/api/v1/conversations", params={"entity": b.brand, "limit": 500}, headers=h
    ).json()["items"]
    assert mine and all("twitter" in c["channels"] for c in mine)


# -- upload ------------------------------------------------------------------------------------
ROWS = [
    {"interaction_id": "n1", "ts": "2024-05-01T10:00:00+02:00", "channel": "email",
     "actor": "email:ann@example.com", "targets": ["email:support@brand.example"],
     "text": "My order has not arrived."},
    {"interaction_id": "n2", "ts": "yesterday", "channel": "email", "actor": "email:bob@example.com"},
    {"interaction_id": "n3", "ts": 1714557600, "channel": "fax", "actor": "phone:+4512345678"},
    {"interaction_id": "n4", "ts": 1714557700, "channel": "phone", "actor": "phone:+4512345678",
     "targets": ["email:support@brand.example"], "kind": "call", "value": 312},
]  # fmt: skip


def test_upload_rows_reports_like_the_cli(writable: TestClient, built_workspace: Built) -> None:
    h = auth(built_workspace, "analyst")
    r = writable.post("/api/v1/interactions", json={"rows": ROWS, "source": "crm"}, headers=h)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["rows_read"], rep["rows_stored"], rep["rows_rejected"]) == (4, 2, 2)
    reasons = {x["line"]: x["reason"] for x in rep["rejects"]}
    assert "neither ISO 8601 nor Unix seconds" in reasons[2]
    assert reasons[3].startswith("unknown channel 'fax'")
    again = writable.post("/api/v1/interactions", json={"rows": ROWS, "source": "crm"}, headers=h)
    assert again.json()["rows_duplicate"] == 2 and again.json()["rows_stored"] == 0
    # the new rows are private (e-mail, phone): the agent sees them at once, the analyst not
    got = writable.get("/api/v1/interactions/crm:n4", headers=auth(built_workspace, "agent"))
    assert got.status_code == 200 and got.json()["value"] == 312
    assert writable.get("/api/v1/interactions/crm:n4", headers=h).status_code == 404
    prof = writable.get(
        "/api/v1/entities/email:support@brand.example/profile",
        headers=auth(built_workspace, "agent"),
    ).json()
    assert prof["summary"]["received"] == 2


def _write(rows: list[dict], path: Path) -> Path:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif path.suffix == ".csv":
        buf = io.StringIO()
        w = csv.DictWriter(
            buf,
            fieldnames=[
                "interaction_id",
                "ts",
                "channel",
                "actor",
                "targets",
                "kind",
                "text",
                "value",
            ],
        )
        w.writeheader()
        for r in rows:
            w.writerow({**r, "targets": ";".join(r.get("targets", []))})
        path.write_text(buf.getvalue())
    else:
        cols = ["interaction_id", "ts", "channel", "actor"]
        pq.write_table(pa.table({c: [str(r.get(c)) for r in rows] for c in cols}), path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_upload_file_gives_the_same_report_as_the_cli(
    suffix: str, built_workspace: Built, tmp_path: Path
) -> None:
    upload = _write(ROWS, tmp_path / f"crm{suffix}")
    api_db, cli_db = tmp_path / "api.duckdb", tmp_path / "cli.duckdb"
    shutil.copy(built_workspace.path, api_db)
    shutil.copy(built_workspace.path, cli_db)
    with TestClient(create_app(api_db)) as c, upload.open("rb") as fh:
        r = c.post(
            "/api/v1/interactions/upload",
            files={"file": (upload.name, fh)},
            headers=auth(built_workspace, "admin"),
        )
    assert r.status_code == 200, r.text
    rep = r.json()
    with Workspace(cli_db) as ws:
        (cli,) = ws.ingest("canonical", [upload])
    assert (rep["rows_read"], rep["rows_stored"], rep["rows_duplicate"], rep["rows_rejected"]) == (
        cli.rows_read,
        cli.rows_inserted,
        cli.rows_duplicate,
        cli.rows_rejected,
    )
    assert [(x["line"], x["reason"]) for x in rep["rejects"]] == [
        (x.line, x.reason) for x in cli.rejects
    ]
    assert rep["rows_rejected"] == 2 and rep["file"] == upload.name and rep["source"] == "crm"


def test_upload_rejects_an_unknown_extension_and_an_empty_body(
    writable: TestClient, built_workspace: Built
) -> None:
    h = auth(built_workspace, "admin")
    r = writable.post("/api/v1/interactions/upload", files={"file": ("a.xlsx", b"x")}, headers=h)
    assert r.status_code == 400 and "extension" in r.json()["error"]["message"]
    r = writable.post("/api/v1/interactions/upload", files={"file": ("a.csv", b"")}, headers=h)
    assert r.status_code == 400 and "empty" in r.json()["error"]["message"]
    assert writable.post("/api/v1/interactions", json={"rows": []}, headers=h).status_code == 400


# -- identities --------------------------------------------------------------------------------
def test_merge_and_unmerge_through_the_api(writable: TestClient, built_workspace: Built) -> None:
    h = auth(built_workspace, "analyst")
    a, b = built_workspace.customers[0], built_workspace.customers[1]
    r = writable.post(
        "/api/v1/entities/merge", json={"keep": a, "other": b, "reason": "test"}, headers=h
    )
    assert r.status_code == 200, r.text
    merge_id = r.json()["merge_id"]
    ids = writable.get(f"/api/v1/entities/{a}", headers=h).json()["identities"]
    assert {i["handle"] for i in ids} == {a, b}
    assert writable.get(f"/api/v1/entities/{b}", headers=h).json()["entity_id"] == a
    again = writable.post("/api/v1/entities/merge", json={"keep": a, "other": b}, headers=h)
    assert (
        again.status_code == 409 and "already the same entity" in again.json()["error"]["message"]
    )
    r = writable.post("/api/v1/entities/unmerge", json={"merge_id": merge_id}, headers=h)
    assert r.status_code == 200 and r.json()["handles"] == [b]
    assert writable.get(f"/api/v1/entities/{b}", headers=h).json()["entity_id"] == b
    assert (
        writable.post(
            "/api/v1/entities/unmerge", json={"merge_id": merge_id}, headers=h
        ).status_code
        == 409
    )
    assert (
        writable.post("/api/v1/entities/unmerge", json={"merge_id": 999}, headers=h).status_code
        == 404
    )
    assert (
        writable.post(
            "/api/v1/entities/merge", json={"keep": a, "other": "nobody"}, headers=h
        ).status_code
        == 404
    )
    merges = writable.get("/api/v1/merges", params={"entity": a}, headers=h).json()["items"]
    assert merges[0]["merge_id"] == merge_id and merges[0]["undone_at"]


# -- stages not there yet ------------------------------------------------------------------------
def test_lists_of_missing_stages_are_empty_with_the_command(
    workspace_copy: Path, built_workspace: Built
) -> None:
    with Workspace(workspace_copy) as ws:  # a workspace where those stages have not run
        for table in ("ties", "entity_metrics", "communities", "next_actions"):
            ws.con.execute(f"DROP TABLE IF EXISTS {table}")
    h = auth(built_workspace, "agent")
    with TestClient(create_app(workspace_copy, refresh_interval=0)) as client:
        stages = {s["table"]: s for s in client.get("/api/v1/stages", headers=h).json()["items"]}
        assert stages["entity_activity"]["available"] and not stages["ties"]["available"]
        for url, table in [
            ("/api/v1/ties", "ties"),
            ("/api/v1/influencers", "entity_metrics"),
            ("/api/v1/communities", "communities"),
            ("/api/v1/alerts", "next_actions"),
        ]:
            body = client.get(url, headers=h).json()
            assert body["items"] == [] and body["stage"]["table"] == table, url
            assert "socialcrm" in body["stage"]["how_to_fill"]
        pair = client.get("/api/v1/ties/pair", params={"a": "x", "b": "y"}, headers=h)
        assert pair.status_code == 404


def test_network_of_a_brand(client: TestClient, built_workspace: Built) -> None:
    b = built_workspace
    g = client.get(
        "/api/v1/network", params={"entity": b.brand, "max_nodes": 15}, headers=auth(b, "agent")
    ).json()
    assert g["center"] == b.brand and 2 <= len(g["nodes"]) <= 15
    ids = {n["id"] for n in g["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in g["edges"])
    assert all(0 <= e["weight"] <= 1 for e in g["edges"])
    assert all(0 <= n["x"] <= 1 and 0 <= n["y"] <= 1 for n in g["nodes"])
    assert any(e["source"] == b.brand for e in g["edges"])


# -- the stages' real outputs ----------------------------------------------------------------------
def test_profile_and_lists_show_the_real_stage_outputs(
    client: TestClient, built_workspace: Built
) -> None:
    b = built_workspace
    b.need("relationships")
    h = auth(b, "agent")
    p = client.get(f"/api/v1/entities/{b.brand}/profile", headers=h).json()
    assert "ties" not in p["stages"] and p["ties"]
    strengths = [t["strength"] for t in p["ties"]]
    assert strengths == sorted(strengths, reverse=True) and all(0 <= s <= 1 for s in strengths)
    assert {"time", "intensity", "reciprocity", "trust", "layer"} <= set(p["ties"][0])
    other = p["ties"][0]["target_entity"]
    pair = client.get("/api/v1/ties/pair", params={"a": b.brand, "b": other}, headers=h).json()
    assert pair["a_to_b"]["rank_in_source_ties"] == 1 and "number 1 of" in pair["reading"]
    ego = client.get("/api/v1/ties", params={"entity": b.brand, "limit": 5}, headers=h).json()
    assert [t["target_entity"] for t in ego["items"]] == [t["target_entity"] for t in p["ties"][:5]]
    assert ego["has_more"] and ego["ties_total"] > 5
    layers = client.get("/api/v1/ties/layers", headers=h).json()
    assert layers["layers"][0]["layer"] == "5" and layers["tradeoff"]
    means = [r["mean_strength"] for r in layers["layers"]]
    assert means == sorted(means, reverse=True)  # more ties, weaker ties (the trade-off)
    # conversations with the conversation stage's labels and reasons
    convs = client.get("/api/v1/conversations", params={"limit": 5}, headers=h).json()["items"]
    assert convs and all(c["pattern"] and c["pattern_reason"] for c in convs)
    one = client.get(f"/api/v1/conversations/{convs[0]['conversation_id']}", headers=h).json()
    assert one["labels"]["customer_degree"] and one["messages"]
    assert all("labels" in m for m in one["messages"])
    trend = client.get("/api/v1/stats/sentiment", headers=h).json()
    assert trend["points"] and trend["column"] == "sentiment"
    # alerts with their next action (prediction stage)
    alerts = client.get("/api/v1/alerts", params={"limit": 500}, headers=h).json()
    if "prediction" not in b.stage_errors:
        assert alerts["items"] and all(a["action"] and a["reason"] for a in alerts["items"])
        stakes = [a["at_stake"] for a in alerts["items"] if a.get("at_stake") is not None]
        assert stakes == sorted(stakes, reverse=True)
    b.need("influence")
    assert p["influence"]["influence"] > 0 and "tier" in p["influence"]
    customer = client.get(f"/api/v1/entities/{b.mixed_entity}/profile", headers=h).json()
    assert customer["influence"]["tier"] in {"superuser", "contributor", "lurker"}
    tiers = client.get("/api/v1/tiers", headers=h).json()["tiers"]
    assert abs(sum(t["share"] for t in tiers) - 1) < 1e-9
    top = client.get("/api/v1/influencers", params={"limit": 3}, headers=h).json()["items"]
    assert top[0]["influence"] >= top[1]["influence"] >= top[2]["influence"]
    comms = client.get("/api/v1/communities", headers=h).json()["items"]
    assert comms[0]["size"] >= comms[1]["size"]
    g = client.get("/api/v1/network", params={"community": str(comms[0]["community"])}, headers=h)
    assert g.json()["weight_source"] == "ties.strength" and g.json()["nodes"]
    adv = client.get("/api/v1/advocates", params={"k": 3}, headers=h)
    assert adv.status_code == 200, adv.text


def test_private_tie_evidence_is_withheld_from_roles_without_the_private_right(
    client: TestClient, built_workspace: Built
) -> None:
    b = built_workspace
    b.need("relationships")
    params = {"entity": b.mixed_entity, "limit": 500}
    full = client.get("/api/v1/ties", params=params, headers=auth(b, "agent")).json()["items"]
    private = [t for t in full if t["private_share"] > 0]
    assert private and all("last_ts" in t for t in private)
    seen = client.get("/api/v1/ties", params=params, headers=auth(b, "analyst")).json()["items"]
    by_target = {t["target_entity"]: t for t in seen}
    for t in private:  # strength and its components stay; the evidence does not
        shown = by_target[t["target_entity"]]
        assert shown["strength"] == t["strength"] and "evidence_withheld" in shown
        assert not {"last_ts", "first_ts", "channels", "private_share"} & set(shown)
    prof = client.get(f"/api/v1/entities/{b.mixed_entity}/profile", headers=auth(b, "analyst"))
    assert all("last_ts" not in t for t in prof.json()["ties"] if "evidence_withheld" in t)


def test_queue_from_the_routing_stage_claim_reply_resolve(
    workspace_copy: Path, built_workspace: Built
) -> None:
    b = built_workspace
    b.need("routing")
    with TestClient(create_app(workspace_copy, refresh_interval=0)) as c:
        h = auth(b, "agent")
        queue = c.get("/api/v1/queue", params={"limit": 500}, headers=h).json()
        prios = [q["priority"] for q in queue["items"]]
        assert prios and prios == sorted(prios, reverse=True)
        assert all(q["reasons"] and q["status"] != "resolved" for q in queue["items"])
        assert any(q["visibility"] == "private" for q in queue["items"])
        page2 = c.get("/api/v1/queue", params={"limit": 5, "offset": 5}, headers=h).json()
        assert [q["conversation_id"] for q in page2["items"]] == [
            q["conversation_id"] for q in queue["items"][5:10]
        ]
        public = c.get("/api/v1/queue", params={"limit": 500}, headers=auth(b, "analyst")).json()
        assert public["items"] and all(q["visibility"] == "public" for q in public["items"])
        assert not {q["conversation_id"] for q in public["items"]} & b.private_ids
        free = [q for q in public["items"] if q["assignee"] is None]
        assert free, "the router assigned every public conversation"
        queued = free[0]["conversation_id"]
        detail = c.get(f"/api/v1/conversations/{queued}", headers=h).json()
        assert detail["queue"]["priority"] == free[0]["priority"]
        # the token names no staff entity: the routing stage refuses, with its reason
        claim = c.post(f"/api/v1/queue/{queued}/claim", headers=h)
        assert claim.status_code in (404, 409) and "test-agent" in claim.text
        ws = c.app.state.service.ws
        agent = b.customers[-1]  # a fresh employee: the router already filled the brands' caps
        ws.set_role(agent, "employee")
        staff = {"Authorization": f"Bearer {create_token(ws.con, 's', 'agent', agent)[1]}"}
        got = c.post(f"/api/v1/queue/{queued}/claim", headers=staff)
        assert got.status_code == 200, got.text
        row = c.get(f"/api/v1/conversations/{queued}", headers=staff).json()["queue"]
        assert row["assignee"] == agent
        mine = c.get("/api/v1/queue", params={"assignee": agent}, headers=staff).json()
        assert [q["conversation_id"] for q in mine["items"]] == [queued]
        again = c.post(f"/api/v1/queue/{queued}/claim", headers=h)
        assert again.status_code in (404, 409)
        said = c.post(
            f"/api/v1/queue/{queued}/reply", json={"text": "We are on it."}, headers=staff
        )
        assert said.status_code == 200, said.text
        reply_id = said.json()["result"]["interaction_id"]
        logged = c.get(f"/api/v1/interactions/{reply_id}", headers=staff).json()
        assert logged["text"] == "We are on it." and logged["conversation_id"] == queued
        done = c.post(f"/api/v1/queue/{queued}/resolve", json={"note": "ok"}, headers=staff)
        assert done.status_code == 200, done.text
        still = c.get("/api/v1/queue", params={"limit": 500}, headers=h).json()["items"]
        assert queued not in {q["conversation_id"] for q in still}
        c.post("/login", data={"token": b.tokens["agent"]})
        inbox = c.get("/inbox").text
        free_rows = [q for q in still[:100] if q["assignee"] is None]
        assert inbox.count('class="claim"') == len(free_rows)  # assigned rows: no claim
        assert 'class="sla"' in inbox
        overview = c.get("/").text
        for plot in ("activity", "sentiment", "tiers", "layers", "tradeoff"):
            section = overview.split(f'id="plot-{plot}"')[1].split("</section>")[0]
            if plot != "tiers" or "influence" not in b.stage_errors:
                assert "<svg" in section, plot


# -- tokens ----------------------------------------------------------------------------------------
def test_admin_creates_and_revokes_tokens_through_the_api(
    writable: TestClient, built_workspace: Built
) -> None:
    h = auth(built_workspace, "admin")
    r = writable.post("/api/v1/tokens", json={"name": "carol", "role": "agent"}, headers=h)
    assert r.status_code == 201
    token, token_id = r.json()["token"], r.json()["token_id"]
    assert TOKEN_RE.match(token)
    me = writable.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["name"] == "carol" and me["role"] == "agent"
    listed = writable.get("/api/v1/tokens", headers=h).text
    assert "carol" in listed and TOKEN_RE.match(token).group(2) not in listed
    assert writable.delete(f"/api/v1/tokens/{token_id}", headers=h).status_code == 200
    assert (
        writable.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    assert writable.delete(f"/api/v1/tokens/{token_id}", headers=h).status_code == 409
    bad = writable.post("/api/v1/tokens", json={"name": "x", "role": "root"}, headers=h)
    assert bad.status_code == 422


def test_cli_tokens_create_list_revoke(workspace_copy: Path) -> None:
    runner = CliRunner()
    db = ["--db", str(workspace_copy)]
    made = runner.invoke(cli_app, ["tokens", "create", "--role", "analyst", "--name", "bob", *db])
    assert made.exit_code == 0, made.output
    token = next(line for line in made.output.splitlines() if TOKEN_RE.match(line.strip())).strip()
    with Workspace(workspace_copy) as ws:
        stored = ws.con.execute(
            "SELECT token_hash, salt FROM api_tokens WHERE name = 'bob'"
        ).fetchone()
    secret = TOKEN_RE.match(token).group(2)
    assert token not in stored and secret not in stored[0] and secret not in stored[1]
    listed = runner.invoke(cli_app, ["tokens", "list", *db])
    assert "bob" in listed.output and "analyst" in listed.output
    token_id = TOKEN_RE.match(token).group(1)
    assert runner.invoke(cli_app, ["tokens", "revoke", token_id, *db]).exit_code == 0
    with TestClient(create_app(workspace_copy)) as c:
        assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    bad = runner.invoke(cli_app, ["tokens", "create", "--role", "root", "--name", "x", *db])
    assert bad.exit_code == 2 and "unknown role" in bad.output


# -- the dashboard without a browser -----------------------------------------------------------
def test_sign_in_sets_an_httponly_cookie_and_forms_need_csrf(
    writable: TestClient, built_workspace: Built
) -> None:
    assert writable.get("/", follow_redirects=False).headers["location"].startswith("/login")
    bad = writable.post("/login", data={"token": "scrm_1_nope"}, follow_redirects=False)
    assert bad.status_code == 401
    r = writable.post(
        "/login",
        data={"token": built_workspace.tokens["analyst"], "next": "//evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = writable.get("/")
    assert page.status_code == 200 and "<svg" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    forged = writable.post(
        "/people/merge", data={"keep": "twitter:115712", "other": "twitter:115713"}
    )
    assert forged.status_code == 403
    for url in [
        "/search?q=apple",
        f"/people/{built_workspace.brand}",
        "/network?entity=" + built_workspace.brand,
        "/influencers",
        "/advocates",
        "/communities",
        "/inbox",
        "/api",
        "/people/nobody",
    ]:
        r = writable.get(url)
        assert r.status_code == (404 if url.endswith("nobody") else 200), url
