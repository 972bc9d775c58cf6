"""Participation tiers on a hand-made community, and the 90-9-1 split of a real dump."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialcrm.influence.tiers import tier_summary, tiers
from socialcrm.workspace import Workspace

HEADER = "interaction_id,ts,channel,actor,targets,in_reply_to,kind,value\n"


def community_csv(path: Path) -> Path:
    """u1 answers the questions of u2..u5 and is up-voted ten times; u2 and u3 accept
    u1's answers; u6..u20 only read (views)."""
    rows = []
    for i in range(2, 6):
        rows.append(f"q{i},2024-01-0{i}T10:00:00+00:00,forum,u{i},,,question,")
        rows.append(f"a{i},2024-01-0{i}T11:00:00+00:00,forum,u1,u{i},q{i},answer,")
    rows += [f"acc{i},2024-01-0{i}T12:00:00+00:00,forum,u{i},u1,a{i},accept," for i in (2, 3)]
    rows += [f"up{j},2024-01-06T00:00:00+00:00,forum,anon,u1,a2,endorse,1" for j in range(10)]
    rows += [f"v{i},2024-01-07T00:00:00+00:00,forum,u{i},u2,q2,view,1" for i in range(6, 21)]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_hand_made_community(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "t.duckdb")
    ws.ingest("canonical", [community_csv(tmp_path / "forum.csv")])
    ws.set_role("anon", "system")  # anonymous voters are not members
    t = {r["entity_id"]: r for r in tiers(ws.con).to_pylist()}
    assert len(t) == 20
    # u1: 4 answers + 10 up votes + 1.5 * 2 accepted = 17; u2, u3: question, accept and
    # one reply = 3; u4, u5: question and one reply = 2. Total 27: u1 alone holds > half.
    assert t["u1"]["contribution_score"] == 17.0
    assert (t["u1"]["accepted"], t["u1"]["endorsements"]) == (2, 10)
    assert t["u2"]["contribution_score"] == 3.0 and t["u4"]["contribution_score"] == 2.0
    assert t["u1"]["tier"] == "superuser"
    assert {t[f"u{i}"]["tier"] for i in range(2, 6)} == {"contributor"}
    assert {t[f"u{i}"]["tier"] for i in range(6, 21)} == {"lurker"}
    s = tier_summary(ws.con, tiers(ws.con))
    assert (s["lurker"]["count"], s["contributor"]["count"], s["superuser"]["count"]) == (15, 4, 1)
    assert s["superuser"]["share"] == pytest.approx(0.05)
    assert s["superuser"]["score_share"] == pytest.approx(17 / 27)
    assert s["anonymous_views"] == 15
    # asking superusers to hold 90% of contribution takes everyone who contributed
    strict = {r["entity_id"]: r["tier"] for r in tiers(ws.con, superuser_share=0.9).to_pylist()}
    assert sum(v == "superuser" for v in strict.values()) == 5
    ws.close()


def test_real_dump_split_beside_nielsen(shared_data: Path, tmp_path: Path) -> None:
    """Conlang Stack Exchange: most registered users never posted; a handful hold half."""
    ws = Workspace(tmp_path / "se.duckdb")
    ws.ingest("stackexchange", [shared_data / "stackexchange_conlang_dump"])
    table = tiers(ws.con)
    s = tier_summary(ws.con, table)
    users = ws.con.execute("SELECT count(*) FROM entities WHERE kind = 'person'").fetchall()[0][0]
    assert s["population"] == users
    assert s["lurker"]["share"] > 0.5
    assert 0 < s["superuser"]["count"] < 0.05 * users
    assert s["superuser"]["score_share"] >= 0.5
    assert s["anonymous_views"] > 0
    ws.close()
