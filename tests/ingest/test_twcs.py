"""The twcs adapter on slices of the real Kaggle file and on broken copies of it."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from socialcrm.ingest import twcs
from socialcrm.ingest.base import INTERACTION_SCHEMA, InputError


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> Path:
    return shared_data / "twcs_head5000" / "twcs_first5000.csv"


def _first_records(sample: Path, n: int) -> bytes:
    """The header and the first ``n`` records, byte for byte (records may span lines)."""
    raw = sample.read_bytes().split(b"\n")
    reader = csv.reader(line.decode("utf-8") + "\n" for line in raw)
    for _ in range(n + 1):
        next(reader)
    return b"\n".join(raw[: reader.line_num]) + b"\n"


@pytest.fixture
def head300(sample: Path, tmp_path: Path) -> Path:
    path = tmp_path / "twcs_300.csv"
    path.write_bytes(_first_records(sample, 300))
    return path


def _rows(out: twcs.AdapterOutput) -> dict[str, dict]:
    return {r["interaction_id"]: r for r in out.interactions.to_pylist()}


def test_first_300_rows_map_to_canonical_tweets(head300: Path) -> None:
    out = twcs.read(head300)
    assert out.interactions.schema == INTERACTION_SCHEMA
    assert out.interactions.num_rows == 300
    assert out.rows_read == 300
    assert out.rejects == []
    rows = _rows(out)
    first = rows["twcs:1"]
    assert first["actor"] == "twitter:sprintcare"
    assert first["in_reply_to"] == "twcs:3"
    assert first["targets"] == ["twitter:115712"]
    assert first["ts"] == datetime(2017, 10, 31, 22, 10, 47)
    assert (first["source"], first["channel"], first["kind"], first["visibility"]) == (
        "twcs",
        "twitter",
        "message",
        "public",
    )
    assert first["conversation_id"] is None
    assert first["text"].startswith("@115712 I understand.")
    # Tweet 8 opens the thread: no parent, addressed to the brand it mentions.
    assert rows["twcs:8"]["in_reply_to"] is None
    assert rows["twcs:8"]["actor"] == "twitter:115712"
    assert rows["twcs:8"]["targets"] == ["twitter:sprintcare"]
    # Tweet 6 has a quoted, comma-separated response list and a parent 8.0 in the file.
    assert rows["twcs:6"]["in_reply_to"] == "twcs:8"


def test_entity_hints_split_brands_from_customers(head300: Path) -> None:
    out = twcs.read(head300)
    hints = {h["handle"]: (h["kind"], h["role"]) for h in out.entities.to_pylist()}
    assert hints["twitter:sprintcare"] == ("brand", "brand")
    assert hints["twitter:115712"] == ("person", "customer")
    assert len(hints) == out.entities.num_rows  # one hint per handle
    df = pd.read_csv(head300, dtype={"author_id": str})
    brands = {f"twitter:{a}" for a in df.loc[~df["inbound"], "author_id"]}
    assert {h for h, (kind, _) in hints.items() if kind == "brand"} == brands


def test_whole_sample_reads_every_tweet(sample: Path) -> None:
    out = twcs.read(sample)
    table = out.interactions
    assert table.num_rows == 5000
    assert out.rejects == []
    assert len(set(table.column("interaction_id").to_pylist())) == 5000
    brands = [h for h in out.entities.to_pylist() if h["role"] == "brand"]
    assert len(brands) == 76  # shared/data/README.md: "76 brands"
    rows = _rows(out)
    # Physical line 2589 holds bare carriage returns outside quotes: one tweet, kept whole.
    assert rows["twcs:3399"]["text"] == (
        "@AskPayPal \r\rI just love the start of email 😁 https://t.co/8u1Pf5rJoN"
    )
    assert rows["twcs:3400"]["actor"] == "twitter:AskPlayStation"
    # "@DELTA" is written as the author spells it, so the brand stays one identity.
    assert "twitter:Delta" in rows["twcs:611"]["targets"]
    assert "twitter:Delta" in rows["twcs:803"]["targets"]


def test_replies_target_the_parent_author(sample: Path) -> None:
    rows = _rows(twcs.read(sample))
    replies = [r for r in rows.values() if r["in_reply_to"] in rows]
    assert len(replies) > 3000
    for r in replies:
        parent_actor = rows[r["in_reply_to"]]["actor"]
        if parent_actor == r["actor"]:  # a thread its author continues targets no one new
            assert parent_actor not in r["targets"]
        else:
            assert r["targets"][0] == parent_actor


def _write_broken(sample: Path, path: Path) -> list[str]:
    """A twcs file with known faults at known physical lines; returns the ids that are fine."""
    header, *lines = _first_records(sample, 12).decode("utf-8").splitlines()
    good = lines[:6]  # six records on lines 2-7
    body = [
        header,  # line 1
        *good,  # lines 2-7
        '900,901,115712,True,Tue Oct 31 22:10:47 +0000 2017,"a quoted tweet\nover\nthree lines",,1.0',
        # ^ lines 8-10, valid
        "901,902,115712,True,yesterday at noon,@sprintcare hello,,",  # 11: bad timestamp
        "902,abc,115712,True,Tue Oct 31 22:10:47 +0000 2017,@sprintcare hi,,",  # 12: bad id
        "903,904,,True,Tue Oct 31 22:10:47 +0000 2017,@sprintcare who am I,,",  # 13: no author
        "904,905,115712,maybe,Tue Oct 31 22:10:47 +0000 2017,@sprintcare hi,,",  # 14
        "905,906,115712,True,Tue Oct 31 22:10:47 +0000 2017,too,many,commas,here",  # 15
        "906,907,115712,True,Tue Oct 31 22:10:47 +0000 2017," + "x" * 200_000 + ",,",  # 16
        "907,908,115712,True,Tue Oct 31 22:10:47 +0000 2017,@sprintcare after the big one,,",
        # ^ 17, valid
        "908,909,115712,True,Tue Oct 31 22:10:47 +0000 2017,@sprintcare hi,,not-a-number",  # 18
        "909,910,115712,True,Wed Oct 31 25:10:47 +0000 2017,@sprintcare hi,,",  # 19: hour 25
    ]
    data = "\n".join(body).encode("utf-8") + b"\n"
    # line 20: a Latin-1 line (the encoding mistake a spreadsheet export makes)
    data += (
        "910,911,115712,True,Tue Oct 31 22:12:00 +0000 2017,@sprintcare café crème,,8.0\n".encode(
            "latin-1"
        )
    )
    path.write_bytes(data)
    ids = [line.split(",")[1] for line in good]
    return [*ids, "901", "908", "911"]


def test_broken_lines_are_rejected_with_physical_line_and_reason(
    sample: Path, tmp_path: Path
) -> None:
    path = tmp_path / "broken.csv"
    kept = _write_broken(sample, path)
    limit = csv.field_size_limit()
    out = twcs.read(path)
    assert csv.field_size_limit() == limit  # the process-wide limit is left alone
    assert sorted(out.interactions.column("interaction_id").to_pylist()) == sorted(
        f"twcs:{i}" for i in kept
    )
    got = {r.line: r.reason for r in out.rejects}
    assert {r.file for r in out.rejects} == {str(path)}
    assert sorted(got) == [11, 12, 13, 14, 15, 16, 18, 19]
    assert "created_at 'yesterday at noon'" in got[11]
    assert "tweet_id 'abc' is not a number" in got[12]
    assert got[13] == "missing author_id"
    assert "inbound 'maybe'" in got[14]
    assert got[15].startswith("9 fields, expected 8")
    assert "longer than 131,072 characters" in got[16]
    assert "in_response_to_tweet_id 'not-a-number'" in got[18]
    assert "created_at 'Wed Oct 31 25:10:47" in got[19]
    assert out.rows_read == len(kept) + 8
    raw = {r.line: r.raw for r in out.rejects}
    assert raw[12].startswith("902,abc,115712")
    rows = _rows(out)
    assert rows["twcs:901"]["text"] == "a quoted tweet\nover\nthree lines"
    # Not UTF-8: decoded as Windows-1252 and kept (module docstring).
    assert rows["twcs:911"]["text"] == "@sprintcare café crème"
    assert rows["twcs:911"]["in_reply_to"] == "twcs:8"


def test_index_column_is_optional(tmp_path: Path) -> None:
    path = tmp_path / "kaggle_layout.csv"
    path.write_text(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "119237,105834,True,Wed Oct 11 06:55:44 +0000 2017,@AppleSupport causing the reply,119236,\n"
        "119236,AppleSupport,False,Wed Oct 11 13:25:49 +0000 2017,@105834 Thanks!,,119237\n",
        encoding="utf-8",
    )
    rows = _rows(twcs.read(path))
    assert rows["twcs:119236"]["in_reply_to"] == "twcs:119237"
    assert rows["twcs:119236"]["targets"] == ["twitter:105834"]
    assert rows["twcs:119237"]["ts"] == datetime(2017, 10, 11, 6, 55, 44)


def test_unreadable_inputs_raise_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        twcs.read(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        twcs.read(empty)
    other = tmp_path / "other.csv"
    other.write_text("id,name\n1,ann\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"lacks column.*tweet_id"):
        twcs.read(other)
