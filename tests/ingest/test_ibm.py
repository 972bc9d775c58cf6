"""The IBM customer-care dialogue adapter on real dialogues and on broken copies."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

import pytest

from socialcrm.ingest import ibm
from socialcrm.ingest.base import INTERACTION_SCHEMA, InputError


@pytest.fixture(scope="module")
def dev_path(shared_data: Path) -> Path:
    return shared_data / "ibm_twitter_customer_care" / "dev.json"


@pytest.fixture(scope="module")
def dev(dev_path: Path) -> list[dict]:
    return json.loads(dev_path.read_text(encoding="utf-8"))


def _one_per_line(dialogues: list, path: Path) -> Path:
    """A JSON array with record k on line k + 1, so expected lines are obvious."""
    path.write_text(
        "[\n" + ",\n".join(json.dumps(d) for d in dialogues) + "\n]\n", encoding="utf-8"
    )
    return path


def _rows(out: ibm.AdapterOutput) -> dict[str, dict]:
    return {r["interaction_id"]: r for r in out.interactions.to_pylist()}


def test_first_dialogues_map_turn_by_turn(dev: list, tmp_path: Path) -> None:
    path = tmp_path / "five.json"
    path.write_text(json.dumps(dev[:5], indent=4), encoding="utf-8")
    out = ibm.read(path)
    assert out.interactions.schema == INTERACTION_SCHEMA
    assert out.rejects == []
    # every dialogContent turn plus the agentURL turn
    assert out.interactions.num_rows == sum(len(d["dialogContent"]) + 1 for d in dev[:5]) == 11
    rows = _rows(out)
    client = rows["ibm:1245403438755852288"]
    assert client["actor"] == "twitter:CinVakas"
    assert client["targets"] == ["twitter:TeamYouTube"]
    assert client["conversation_id"] == "ibm:LgwAXtbbEm0mBvDrGmjk"
    assert client["in_reply_to"] is None
    assert client["ts"] == datetime(2020, 4, 1, 17, 31, 32)
    assert (client["source"], client["channel"], client["visibility"], client["kind"]) == (
        "ibm_twitter_customer_care",
        "twitter",
        "public",
        "message",
    )
    answer = rows["ibm:1245425308704149506"]  # agentURL of the first dialogue
    assert answer["actor"] == "twitter:TeamYouTube"
    assert answer["targets"] == ["twitter:CinVakas"]
    assert answer["in_reply_to"] == "ibm:1245403438755852288"
    assert answer["conversation_id"] == "ibm:LgwAXtbbEm0mBvDrGmjk"
    assert answer["text"] == dev[0]["agentURL"]["url_utterance"]
    # conversationDateTime 17:31:32 + duration 01:26:55 = 18:58:27; the snowflake adds ms.
    assert answer["ts"] == datetime(2020, 4, 1, 18, 58, 27, 135000)
    second = rows["ibm:1245373536128184320"]  # a client's second tweet, mentioning @YouTube
    assert second["in_reply_to"] == "ibm:1245370705795076096"
    assert second["targets"] == ["twitter:TeamYouTube", "twitter:YouTube"]
    hints = {h["handle"]: (h["kind"], h["role"]) for h in out.entities.to_pylist()}
    assert hints["twitter:TeamYouTube"] == ("brand", "brand")
    assert hints["twitter:CinVakas"] == ("person", "customer")


def test_whole_dev_file(dev: list, dev_path: Path) -> None:
    out = ibm.read(dev_path)
    assert out.rejects == []
    turns = sum(len(d["dialogContent"]) + 1 for d in dev)
    assert turns == 1211
    ids = out.interactions.column("interaction_id").to_pylist()
    assert len(ids) == len(set(ids)) == 1205  # six tweets appear in two dialogues
    rows = _rows(out)
    # The brand speaks in exactly the agent turns and the agentURL turns.
    brand_tweets = {f"ibm:{d['agentURL']['tweet_ID']}" for d in dev} | {
        f"ibm:{t['tweet_ID']}" for d in dev for t in d["dialogContent"] if "agent" in t
    }
    companies = {d["dialogHeader"]["company"] for d in dev}
    assert {i for i, r in rows.items() if r["actor"][len("twitter:") :] in companies} == (
        brand_tweets
    )
    brands = {h["handle"] for h in out.entities.to_pylist() if h["role"] == "brand"}
    assert brands == {f"twitter:{c}" for c in companies}
    # A repeated tweet keeps its first dialogue (record 61, before record 387).
    assert rows["ibm:1245214682287407105"]["conversation_id"] == "ibm:qJxIXxiBuAlVHGoCRGtt"
    # Two customers in one dialogue: the agent answers the latest one.
    assert rows["ibm:1245450925218484224"]["targets"] == ["twitter:Hedgehog91x"]
    assert rows["ibm:1245449622971133952"]["actor"] == "twitter:Hedgehog91x"
    assert hints_of(out, "twitter:TMobileHelp") == ("brand", "brand")


def hints_of(out: ibm.AdapterOutput, handle: str) -> tuple[str, str]:
    (hint,) = [h for h in out.entities.to_pylist() if h["handle"] == handle]
    return hint["kind"], hint["role"]


def test_snowflake_time_matches_every_timed_turn(dev: list) -> None:
    """The assumption behind the agentURL time: a tweet id encodes its creation time."""
    for d in dev:
        for t in d["dialogContent"]:
            stated = datetime.fromisoformat(t["datetime"]).replace(tzinfo=None)
            decoded = ibm.snowflake_time(int(t["tweet_ID"]))
            assert abs((decoded - stated).total_seconds()) < 1


def test_malformed_dialogues_are_rejected_whole(dev: list, tmp_path: Path) -> None:
    ds = copy.deepcopy(dev[:8])
    del ds[1]["dialogHeader"]["sessionID"]  # record 2
    ds[3]["dialogContent"][0]["datetime"] = "April 1st"  # record 4
    ds[4]["dialogContent"][0].pop("client")  # record 5: nobody speaks
    ds[5] = "not a dialogue"  # record 6
    del ds[6]["dialogContent"][0]["tweet_ID"]  # record 7: kept, with a fallback id
    path = _one_per_line(ds, tmp_path / "bad.json")
    out = ibm.read(path)
    got = {r.line: r.reason for r in out.rejects}
    assert {r.file for r in out.rejects} == {str(path)}
    assert sorted(got) == [3, 5, 6, 7]  # record k is on line k + 1
    assert got[3] == "record 2 (session ?): missing dialogHeader.sessionID"
    session4 = dev[3]["dialogHeader"]["sessionID"]
    assert got[5] == f"record 4 (session {session4}): turn 1 datetime 'April 1st' is not ISO 8601"
    assert "record 5" in got[6] and "exactly one of client/agent" in got[6]
    assert got[7] == "record 6 (session ?): a dialogue must be a JSON object"
    kept = [0, 2, 6, 7]
    assert out.interactions.num_rows == sum(len(ds[i]["dialogContent"]) + 1 for i in kept)
    assert out.rows_read == out.interactions.num_rows + 4
    session7 = dev[6]["dialogHeader"]["sessionID"]
    rows = _rows(out)
    assert f"ibm:{session7}:1" in rows
    following = [*dev[6]["dialogContent"][1:], dev[6]["agentURL"]][0]
    second = f"ibm:{following['tweet_ID']}"
    assert rows[second]["in_reply_to"] == f"ibm:{session7}:1"


def test_truncated_file_keeps_the_complete_dialogues(dev: list, tmp_path: Path) -> None:
    whole = _one_per_line(dev[:6], tmp_path / "whole.json").read_text(encoding="utf-8")
    cut = tmp_path / "cut.json"
    cut.write_text(whole[: whole.index(dev[4]["dialogHeader"]["sessionID"])], encoding="utf-8")
    out = ibm.read(cut)
    assert out.interactions.num_rows == sum(len(d["dialogContent"]) + 1 for d in dev[:4])
    (reject,) = out.rejects
    assert reject.line == 6  # record 5 starts on line 6
    assert "record 5: not valid JSON" in reject.reason and "truncated" in reject.reason
    # Cut just after a complete record: everything is read, the missing end is reported.
    after = tmp_path / "after.json"
    after.write_text(whole[: whole.index(",\n", whole.index(dev[2]["dialogHeader"]["sessionID"]))])
    out = ibm.read(after)
    assert out.interactions.num_rows == sum(len(d["dialogContent"]) + 1 for d in dev[:3])
    (reject,) = out.rejects
    assert "ends after record 3" in reject.reason


def test_unreadable_files_raise_input_error(dev: list, tmp_path: Path) -> None:
    head = tmp_path / "head.json"
    head.write_text(json.dumps(dev[:2], indent=4)[:300], encoding="utf-8")
    with pytest.raises(InputError, match=r"not valid JSON at line \d+ column \d+"):
        ibm.read(head)
    obj = tmp_path / "object.json"
    obj.write_text(json.dumps(dev[0]), encoding="utf-8")
    with pytest.raises(InputError, match="not a JSON array of dialogues"):
        ibm.read(obj)
    empty = tmp_path / "empty.json"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(InputError, match="empty file"):
        ibm.read(empty)
    none = tmp_path / "none.json"
    none.write_text("[]", encoding="utf-8")
    assert ibm.read(none).interactions.num_rows == 0
