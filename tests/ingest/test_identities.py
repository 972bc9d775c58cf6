"""Identities: every handle maps to one entity, with the rule that linked it and evidence.

A CRM export, a mailbox log and a Twitter export name the same customer with different
handles; the tests check the automatic rule (same e-mail), a declared mapping file,
roles from adapter hints and by hand, and that a merge can be undone exactly.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialcrm import Workspace
from socialcrm.cli import app
from socialcrm.ingest.base import entity_hints, interactions_table
from socialcrm.ingest.identities import IdentityError
from socialcrm.ingest.loader import commit_staged, stage_arrow

ANN = "email:ann.berg@example.com"

CRM_CSV = """\
interaction_id,ts,channel,actor,targets,kind,value
sf-1,2024-01-10T10:00:00+01:00,phone,salesforce:Ann.Berg@Example.com,employee:lars,call,240
sf-2,2024-01-11T10:00:00+01:00,phone,salesforce:bob@acme-corp.com,employee:lars,call,95
sf-3,2024-01-12T10:00:00+01:00,meeting,employee:lars,salesforce:Ann.Berg@Example.com,meeting,3600
"""

MAIL_JSONL = [
    {
        "interaction_id": "<m1@example.com>",
        "ts": "2024-01-09T08:00:00Z",
        "channel": "email",
        "actor": ANN,
        "targets": ["email:support@acme.com"],
        "kind": "email",
    },
    {
        "interaction_id": "<m2@acme.com>",
        "ts": "2024-01-09T09:00:00Z",
        "channel": "email",
        "actor": "email:support@acme.com",
        "targets": [ANN],
        "in_reply_to": "<m1@example.com>",
        "kind": "email",
    },
]

TWEETS_CSV = """\
interaction_id,ts,channel,actor,targets
t-1,2024-01-13T12:00:00Z,twitter,twitter:@annb,twitter:@AcmeSupport
t-2,2024-01-13T12:05:00Z,twitter,twitter:@AcmeSupport,twitter:@annb
"""


@pytest.fixture
def ws(tmp_path: Path):
    workspace = Workspace(tmp_path / "crm.duckdb")
    yield workspace
    workspace.close()


def load_all(ws: Workspace, tmp: Path) -> None:
    (tmp / "salesforce.csv").write_text(CRM_CSV)
    (tmp / "mailbox.jsonl").write_text("\n".join(json.dumps(r) for r in MAIL_JSONL))
    (tmp / "twitter.csv").write_text(TWEETS_CSV)
    ws.ingest("canonical", [tmp / "salesforce.csv", tmp / "mailbox.jsonl", tmp / "twitter.csv"])


def identity(ws: Workspace, handle: str) -> dict:
    (row,) = ws.query("SELECT * FROM identities WHERE handle = ?", [handle]).to_pylist()
    return row


def table(ws: Workspace, name: str, key: str) -> list[dict]:
    rows = ws.query(f"SELECT * FROM {name} ORDER BY {key}").to_pylist()
    for r in rows:  # JSON text: compare the value, not its spacing
        if r.get("attrs") is not None:
            r["attrs"] = json.loads(r["attrs"])
    return rows


def test_same_email_across_sources_is_one_entity(ws: Workspace, tmp_path: Path) -> None:
    load_all(ws, tmp_path)
    crm = identity(ws, "salesforce:Ann.Berg@Example.com")
    mail = identity(ws, ANN)
    assert crm["entity_id"] == mail["entity_id"] == ANN
    assert crm["link_rule"] == "same_email"
    assert crm["evidence"] == "handle contains the address ann.berg@example.com"
    assert crm["source"] == "salesforce"
    assert (mail["link_rule"], mail["evidence"]) == ("self", None)
    # a handle without an address is its own entity
    assert identity(ws, "twitter:@annb")["entity_id"] == "twitter:@annb"
    assert ws.query(
        "SELECT count(*) AS n FROM entities WHERE entity_id = ?", [ANN]
    ).to_pylist() == [{"n": 1}]
    handles = ws.identities_of("salesforce:Ann.Berg@Example.com")["handle"].to_pylist()
    assert handles == [ANN, "salesforce:Ann.Berg@Example.com"]
    # stages see one person across the phone, meeting and e-mail exports
    activity = {(r["entity_id"], r["channel"]): r for r in ws.activity().to_pylist()}
    assert activity[(ANN, "phone")]["sent"] == 1
    assert activity[(ANN, "email")]["sent"] == 1
    assert activity[(ANN, "email")]["received"] == 1
    assert activity[(ANN, "meeting")]["received"] == 1


def test_declared_mapping_wins_and_sticks(ws: Workspace, tmp_path: Path) -> None:
    load_all(ws, tmp_path)
    mapping = tmp_path / "crm-contacts.csv"
    mapping.write_text(f"handle,entity\ntwitter:@annb,{ANN}\nphone:+4512345678,{ANN}\n")
    assert ws.declare_identities(mapping) == 2
    tw = identity(ws, "twitter:@annb")
    assert (tw["entity_id"], tw["link_rule"], tw["evidence"]) == (ANN, "declared", "mapping file")
    # the phone handle is declared before any call from it was imported; the import keeps it
    calls = tmp_path / "ivr.csv"
    calls.write_text("interaction_id,ts,channel,actor\ni-1,1705000000,ivr,phone:+4512345678\n")
    ws.ingest("canonical", [calls])
    phone = identity(ws, "phone:+4512345678")
    assert (phone["entity_id"], phone["link_rule"]) == (ANN, "declared")
    assert set(ws.identities_of(ANN)["handle"].to_pylist()) == {
        ANN,
        "salesforce:Ann.Berg@Example.com",
        "twitter:@annb",
        "phone:+4512345678",
    }
    bad = tmp_path / "bad-mapping.csv"
    bad.write_text("handle,person\nx,y\n")
    with pytest.raises(IdentityError, match="needs columns handle,entity"):
        ws.declare_identities(bad)


def test_roles_from_adapter_hints_and_by_hand(ws: Workspace, tmp_path: Path) -> None:
    load_all(ws, tmp_path)
    ws.set_role("salesforce:bob@acme-corp.com", "superuser")  # by handle: sets the entity's role
    ws.set_role("employee:lars", "employee")
    # An adapter (e.g. Twitter customer care) says who the brand is, through the loader.
    rows = interactions_table(
        {
            "interaction_id": ["tw:9001"],
            "source": ["tw"],
            "channel": ["twitter"],
            "ts": [datetime(2024, 1, 13, 12, 10)],
            "actor": ["twitter:@AcmeSupport"],
            "targets": [["twitter:@annb"]],
            "kind": ["post"],
            "visibility": ["public"],
        }
    )
    hints = entity_hints(
        {
            "handle": ["twitter:@AcmeSupport", "email:bob@acme-corp.com"],
            "kind": ["brand", "person"],
            "role": ["brand", "customer"],
            "display_name": ["Acme Support", "Bob"],
            "attrs": ['{"verified": true}', None],
        }
    )
    stage_arrow(ws.con, rows, "tweets.json")
    report = commit_staged(ws.con, fmt="test", path="tweets.json", rows_read=1, entity_hints=hints)
    assert report.rows_inserted == 1
    entities = {e["entity_id"]: e for e in table(ws, "entities", "entity_id")}
    brand = entities["twitter:@AcmeSupport"]
    assert (brand["kind"], brand["role"], brand["display_name"]) == (
        "brand",
        "brand",
        "Acme Support",
    )
    assert brand["attrs"] == {"verified": True}
    bob = entities["email:bob@acme-corp.com"]
    assert bob["role"] == "superuser"  # a hint never overwrites a role set by hand
    assert bob["display_name"] == "Bob"  # but fills in what is missing
    assert entities["employee:lars"]["role"] == "employee"
    assert entities[ANN]["role"] == "customer"  # the default
    with pytest.raises(IdentityError, match="unknown role 'vip'"):
        ws.set_role(ANN, "vip")
    with pytest.raises(IdentityError, match="no entity or handle named 'nobody'"):
        ws.set_role("nobody", "customer")


def test_merge_then_unmerge_restores_everything(ws: Workspace, tmp_path: Path) -> None:
    load_all(ws, tmp_path)
    ws.set_role("twitter:@annb", "superuser")
    ws.con.execute(
        "UPDATE entities SET display_name = 'Ann B.', attrs = '{\"followers\": 120}'"
        " WHERE entity_id = 'twitter:@annb'"
    )
    identities_before = table(ws, "identities", "handle")
    entities_before = table(ws, "entities", "entity_id")

    merge_id = ws.merge(ANN, "twitter:@annb", reason="same person, confirmed by phone")
    tw = identity(ws, "twitter:@annb")
    assert tw["entity_id"] == ANN
    assert tw["link_rule"] == "manual_merge"
    assert tw["evidence"] == f"merge {merge_id}: same person, confirmed by phone"
    assert "twitter:@annb" not in {e["entity_id"] for e in table(ws, "entities", "entity_id")}
    assert identity(ws, "salesforce:Ann.Berg@Example.com")["link_rule"] == "same_email"  # untouched
    twitter_activity = [
        r for r in ws.activity().to_pylist() if r["channel"] == "twitter" and r["sent"]
    ]
    assert {r["entity_id"] for r in twitter_activity} == {ANN, "twitter:@AcmeSupport"}

    assert ws.unmerge(merge_id) == ["twitter:@annb"]
    assert table(ws, "identities", "handle") == identities_before
    assert table(ws, "entities", "entity_id") == entities_before

    with pytest.raises(IdentityError, match=f"merge {merge_id} was already undone"):
        ws.unmerge(merge_id)
    with pytest.raises(IdentityError, match="no merge with id 99"):
        ws.unmerge(99)
    with pytest.raises(IdentityError, match="no entity or handle named 'twitter:@nobody'"):
        ws.merge(ANN, "twitter:@nobody")
    with pytest.raises(IdentityError, match="already the same entity"):
        ws.merge(ANN, "salesforce:Ann.Berg@Example.com")


def test_handles_seen_after_a_merge_follow_it_and_come_back(ws: Workspace, tmp_path: Path) -> None:
    """A new handle with a merged-away entity's address must not re-create that entity."""
    load_all(ws, tmp_path)
    merge_id = ws.merge("twitter:@annb", ANN, reason="same person")
    later = tmp_path / "zendesk.csv"
    later.write_text(
        "interaction_id,ts,channel,actor\nz-1,2024-02-01T09:00:00Z,chat,zendesk:ANN.BERG@example.com\n"
    )
    ws.ingest("canonical", [later])
    zd = identity(ws, "zendesk:ANN.BERG@example.com")
    assert zd["entity_id"] == "twitter:@annb"
    assert zd["link_rule"] == "same_email"
    assert f"{ANN} is merged into twitter:@annb" in zd["evidence"]
    assert ANN not in {e["entity_id"] for e in table(ws, "entities", "entity_id")}

    handles = ws.unmerge(merge_id)
    assert set(handles) == {ANN, "salesforce:Ann.Berg@Example.com", "zendesk:ANN.BERG@example.com"}
    zd = identity(ws, "zendesk:ANN.BERG@example.com")
    assert (zd["entity_id"], zd["evidence"]) == (
        ANN,
        "handle contains the address ann.berg@example.com",
    )
    assert identity(ws, "twitter:@annb")["entity_id"] == "twitter:@annb"


def test_cli_identities_show_merge_unmerge(tmp_path: Path) -> None:
    db = tmp_path / "crm.duckdb"
    with Workspace(db) as ws:
        load_all(ws, tmp_path)
    run = CliRunner().invoke

    shown = run(app, ["identities", "show", ANN, "--db", str(db)])
    assert shown.exit_code == 0
    out = " ".join(shown.output.split())
    assert f"salesforce:Ann.Berg@Example.com → {ANN} [same_email]" in out

    merged = run(
        app, ["identities", "merge", ANN, "twitter:@annb", "--reason", "same", "--db", str(db)]
    )
    assert merged.exit_code == 0, merged.output
    assert "merge 1" in merged.output and "unmerge 1" in " ".join(merged.output.split())
    shown = run(app, ["identities", "show", "twitter:@annb", "--db", str(db)])
    assert f"twitter:@annb → {ANN} [manual_merge] merge 1: same" in " ".join(shown.output.split())

    undone = run(app, ["identities", "unmerge", "1", "--db", str(db)])
    assert undone.exit_code == 0 and "twitter:@annb" in undone.output
    again = run(app, ["identities", "unmerge", "1", "--db", str(db)])
    assert again.exit_code == 2
    assert "error: merge 1 was already undone" in " ".join(again.output.split())
    unknown = run(app, ["identities", "merge", ANN, "nobody", "--db", str(db)])
    assert unknown.exit_code == 2
    assert "no entity or handle named 'nobody'" in unknown.output
    assert "Traceback" not in again.output + unknown.output
    with Workspace(db) as ws:
        assert identity(ws, "twitter:@annb")["entity_id"] == "twitter:@annb"


def keys_unique(ws: Workspace) -> tuple[int, int]:
    """Repeated handles and repeated entity ids (both must stay 0: no index enforces it)."""
    (row,) = ws.query(
        "SELECT (SELECT count(*) - count(DISTINCT handle) FROM identities) AS handles,"
        " (SELECT count(*) - count(DISTINCT entity_id) FROM entities) AS entities"
    ).to_pylist()
    return row["handles"], row["entities"]


def test_keys_stay_unique_through_imports_declarations_and_merges(
    ws: Workspace, tmp_path: Path
) -> None:
    load_all(ws, tmp_path)
    load_all(ws, tmp_path)  # the same files again
    mapping = tmp_path / "map.csv"
    # a handle already linked, one new, a line repeated exactly
    mapping.write_text(f"handle,entity\ntwitter:@annb,{ANN}\nphone:+45,{ANN}\nphone:+45,{ANN}\n")
    assert ws.declare_identities(mapping) == 2
    assert ws.declare_identities(mapping) == 2  # declared again: replaced, not repeated
    merge_id = ws.merge(ANN, "twitter:@AcmeSupport")
    assert keys_unique(ws) == (0, 0)
    # the merged-away entity is re-declared before the unmerge brings it back
    again = tmp_path / "again.csv"
    again.write_text("handle,entity\nx:new,twitter:@AcmeSupport\n")
    ws.declare_identities(again)
    ws.unmerge(merge_id)
    assert keys_unique(ws) == (0, 0)
    assert identity(ws, "twitter:@AcmeSupport")["entity_id"] == "twitter:@AcmeSupport"


def test_a_mapping_that_links_one_handle_to_two_entities_is_refused(
    ws: Workspace, tmp_path: Path
) -> None:
    load_all(ws, tmp_path)
    before = table(ws, "identities", "handle")
    mapping = tmp_path / "map.csv"
    mapping.write_text(f"handle,entity\ntwitter:@annb,{ANN}\ntwitter:@annb,email:other@x.org\n")
    with pytest.raises(
        IdentityError, match=r"twitter:@annb -> email:ann\.berg@example\.com, email:other@x\.org"
    ):
        ws.declare_identities(mapping)
    assert table(ws, "identities", "handle") == before


def test_two_imports_at_once_on_two_cursors_add_each_new_handle_once(
    ws: Workspace, tmp_path: Path, at_once
) -> None:
    """No index keeps handles unique; the identities write lock (store.locks) makes the
    second import wait for the first, so shared new handles are added once."""
    from socialcrm.ingest.canonical import ingest_canonical

    paths = []
    for name in ("a", "b"):
        rows = "".join(
            f"{name}{i},2024-05-01T10:00:00Z,chat,chat:shared{i % 50},chat:{name}-agent\n"
            for i in range(2000)
        )
        path = tmp_path / f"{name}.csv"
        path.write_text("interaction_id,ts,channel,actor,targets\n" + rows)
        paths.append(path)
    results = at_once(ws.con, lambda cur, path: ingest_canonical(cur, path).rows_inserted, paths)
    assert results == [2000, 2000], results
    assert keys_unique(ws) == (0, 0)
    assert ws.query("SELECT count(*) AS n FROM identities").to_pylist() == [{"n": 52}]
