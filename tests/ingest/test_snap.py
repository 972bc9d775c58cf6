"""SNAP adapters: CollegeMsg temporal edges and Bitcoin OTC signed ratings (slices and whole)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from socialcrm.ingest import snap
from socialcrm.ingest.base import INTERACTION_SCHEMA, InputError

COLLEGE = "snap_collegemsg/CollegeMsg.txt"
BITCOIN = "snap_bitcoin_trust/soc-sign-bitcoinotc.csv"


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC).replace(tzinfo=None)


def _head(src: Path, dst: Path, n: int) -> Path:
    """The first ``n`` lines of ``src``, byte for byte (CRLF kept)."""
    with src.open("rb") as fh:
        lines = [fh.readline() for _ in range(n)]
    dst.write_bytes(b"".join(lines))
    return dst


def test_temporal_slice(shared_data: Path, tmp_path: Path) -> None:
    path = _head(shared_data / COLLEGE, tmp_path / "CollegeMsg.txt", 1000)
    out = snap.read_temporal(path)
    t = out.interactions
    assert t.schema == INTERACTION_SCHEMA
    assert t.num_rows == out.rows_read == 1000 and out.rejects == []
    first = t.slice(0, 1).to_pylist()[0]
    # Line 1 of CollegeMsg.txt: "1 2 1082040961".
    assert first["interaction_id"] == "CollegeMsg:1"
    assert (first["actor"], first["targets"]) == ("CollegeMsg:1", ["CollegeMsg:2"])
    assert first["ts"] == _utc(1082040961)
    assert (first["channel"], first["kind"], first["visibility"]) == ("chat", "message", "private")
    assert set(t.column("channel").to_pylist()) == {"chat"}
    sms = snap.read_temporal(path, channel="sms")
    assert set(sms.interactions.column("channel").to_pylist()) == {"sms"}
    with pytest.raises(InputError, match="unknown channel"):
        snap.read_temporal(path, channel="pigeon")


def test_repeated_lines_are_distinct_messages(shared_data: Path) -> None:
    path = shared_data / COLLEGE
    lines = path.read_text().splitlines()
    assert lines[966] in lines[:966]  # line 967 repeats an earlier line exactly
    out = snap.read(path)
    ids = out.interactions.column("interaction_id")
    assert out.interactions.num_rows == len(lines) == 59_835
    assert len(ids.unique()) == len(lines) > len(set(lines))
    row = out.interactions.slice(966, 1).to_pylist()[0]
    assert row["interaction_id"] == "CollegeMsg:967"
    assert row["actor"] == "CollegeMsg:97" and row["targets"] == ["CollegeMsg:228"]
    # Stable: a second read gives the same ids.
    assert snap.read(path).interactions.column("interaction_id").equals(ids)


def test_signed_slice_with_crlf(shared_data: Path, tmp_path: Path) -> None:
    path = _head(shared_data / BITCOIN, tmp_path / "soc-sign-bitcoinotc.csv", 500)
    assert b"\r\n" in path.read_bytes()
    out = snap.read_signed(path)
    assert out.interactions.num_rows == 500 and out.rejects == []
    first = out.interactions.slice(0, 1).to_pylist()[0]
    # Line 1: "6,2,4,1289241912".
    assert first["interaction_id"] == "soc-sign-bitcoinotc:6:2:1289241912"
    assert (first["actor"], first["targets"]) == (
        "soc-sign-bitcoinotc:6",
        ["soc-sign-bitcoinotc:2"],
    )
    assert first["value"] == 4.0 and first["ts"] == _utc(1289241912)
    assert (first["kind"], first["channel"], first["visibility"]) == ("rating", "other", "public")


def test_signed_whole_file_and_sniffing(shared_data: Path) -> None:
    path = shared_data / BITCOIN
    lines = path.read_text().splitlines()
    out = snap.read(path)  # sniffed: commas -> signed ratings
    assert out.interactions.num_rows == len(lines) == 35_592
    values = out.interactions.column("value").to_pylist()
    negatives = sum(int(line.split(",")[2]) < 0 for line in lines)
    assert sum(v < 0 for v in values) == negatives == 3563
    assert min(values) == -10 and max(values) == 10
    assert set(out.interactions.column("kind").to_pylist()) == {"rating"}


def test_float_times_header_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text(
        "source,target,rating,time\n"  # header, skipped
        "1,2,-3,1289241912.5\n"
        "1,3,x,1289241912\n"  # rating not a number
        "1,2,5\n"  # missing field
        "007,4, 2 ,1289241913\n"  # leading zeros, spaces around a field
        "4,5,1,1e20\n"  # time out of range
        "a,5,1,1289241914\n"  # node id not an integer
    )
    out = snap.read(path)
    rows = out.interactions.to_pylist()
    assert [r["interaction_id"] for r in rows] == [
        "ratings:1:2:1289241912.5",
        "ratings:7:4:1289241913",
    ]
    assert rows[0]["ts"] == _utc(1289241912.5) and rows[0]["value"] == -3.0
    assert rows[1]["actor"] == "ratings:7" and rows[1]["value"] == 2.0
    assert [(r.line, r.reason) for r in out.rejects] == [
        (3, "field rating 'x' is not a number"),
        (4, "expected 4 ','-separated fields (source,target,rating,time), found 3"),
        (6, "time 1e20 is out of range"),
        (7, "field source 'a' is not an integer node id"),
    ]
    assert out.rows_read == 6


def test_temporal_bad_lines_and_comments(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "edges.txt"
    path.write_text(
        "# Directed temporal graph\n"  # SNAP comment header
        "1 2 1082040961\n"
        "1 2\n"
        "3 4 1082040961.5\n"
        "5 6 1082040962\n"
    )
    out = snap.read(path)
    assert out.interactions.column("interaction_id").to_pylist() == ["edges:2", "edges:5"]
    assert [(r.line, r.reason) for r in out.rejects] == [
        (3, "expected 3 whitespace-separated fields (src dst time), found 2"),
        (4, "field time '1082040961.5' is not Unix seconds (an integer)"),
    ]


def test_gzip_and_missing_or_foreign_files(shared_data: Path, tmp_path: Path) -> None:
    src = _head(shared_data / COLLEGE, tmp_path / "head.txt", 50)
    gz = tmp_path / "CollegeMsg.txt.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    out = snap.read(gz)
    assert out.interactions.num_rows == 50
    assert out.interactions.column("interaction_id")[0].as_py() == "CollegeMsg:1"
    with pytest.raises(InputError, match="no such file"):
        snap.read(tmp_path / "missing.txt")
    odd = tmp_path / "odd.txt"
    odd.write_text("1 2 3 4\n")
    with pytest.raises(InputError, match="not a SNAP edge list"):
        snap.read(odd)
    words = tmp_path / "words.txt"
    words.write_text("x1 y2 z3\nfoo bar 7\n")
    with pytest.raises(InputError, match="no line is a SNAP temporal edge"):
        snap.read_temporal(words)
