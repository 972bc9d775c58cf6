"""SocioPatterns contact-list adapter on the Thiers13 high school data (slices and whole)."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from socialcrm.ingest import sociopatterns as sp
from socialcrm.ingest.base import INTERACTION_SCHEMA, InputError

FOLDER = "sociopatterns_highschool2013"


@pytest.fixture(scope="module")
def data(shared_data: Path) -> Path:
    return shared_data / FOLDER


def _slice(data: Path, tmp_path: Path, n: int, extra: list[str] | None = None) -> Path:
    lines = (data / "tij_thiers13.dat").read_text().splitlines()[:n]
    target = tmp_path / "tij_thiers13.dat"
    target.write_text("\n".join(lines + (extra or [])) + "\n")
    return target


def _utc(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC).replace(tzinfo=None)


def test_slice_maps_each_line_to_one_meeting(data: Path, tmp_path: Path) -> None:
    path = _slice(data, tmp_path, 2000)
    out = sp.read(path)
    t = out.interactions
    assert t.schema == INTERACTION_SCHEMA
    assert t.num_rows == out.rows_read == 2000 and out.rejects == []
    first = t.slice(0, 1).to_pylist()[0]
    # First line of the file: "1385982020\t454\t640".
    assert first == {
        "interaction_id": "tij_thiers13:1385982020:454:640",
        "source": "tij_thiers13",
        "channel": "meeting",
        "ts": _utc(1385982020),
        "actor": "sociopatterns:454",
        "targets": ["sociopatterns:640"],
        "conversation_id": None,
        "in_reply_to": None,
        "kind": "meeting",
        "visibility": "private",
        "text": None,
        "value": 20.0,
    }


def test_contact_seconds_of_a_pair_match_a_line_count(data: Path, tmp_path: Path) -> None:
    path = _slice(data, tmp_path, 5000)
    pairs = Counter(tuple(line.split()[1:]) for line in path.read_text().splitlines())
    (i, j), n = pairs.most_common(1)[0]
    out = sp.read(path)
    rows = out.interactions.select(["actor", "targets", "value"]).to_pylist()
    seconds = sum(
        r["value"]
        for r in rows
        if r["actor"] == f"sociopatterns:{i}" and r["targets"] == [f"sociopatterns:{j}"]
    )
    assert seconds == 20 * n and n > 10


def test_whole_file_is_fast_and_complete(data: Path) -> None:
    start = time.perf_counter()
    out = sp.read(data / "tij_thiers13.dat", metadata=data / "metadata_2013.txt")
    elapsed = time.perf_counter() - start
    n_lines = sum(1 for _ in (data / "tij_thiers13.dat").open())
    assert out.interactions.num_rows == n_lines == 188_508
    assert out.rejects == []
    assert elapsed < 5, f"{elapsed:.1f} s for 188k lines"
    ids = out.interactions.column("interaction_id")
    assert len(ids.unique()) == n_lines
    ts = out.interactions.column("ts").to_pylist()
    assert min(ts).date().isoformat() == "2013-12-02"


def test_metadata_becomes_entity_hints(data: Path, tmp_path: Path) -> None:
    out = sp.read(_slice(data, tmp_path, 10), metadata=data / "metadata_2013.txt")
    meta_lines = [ln.split() for ln in (data / "metadata_2013.txt").read_text().splitlines()]
    hints = {h["handle"]: h for h in out.entities.to_pylist()}
    assert len(hints) == len({m[0] for m in meta_lines})
    h = hints["sociopatterns:650"]  # first line: "650 2BIO1 F"
    assert (h["kind"], h["role"]) == ("person", "customer")
    assert json.loads(h["attrs"]) == {"class": "2BIO1", "gender": "F"}
    classes = Counter(json.loads(h["attrs"])["class"] for h in hints.values())
    assert len(classes) == 9  # 2BIO1-3, MP, MP*1, MP*2, PC, PC*, PSI*


def test_bad_lines_are_rejected_with_line_numbers(data: Path, tmp_path: Path) -> None:
    extra = [
        "",  # blank: skipped silently
        "# a comment",  # skipped silently
        "1385982040 abc 640",  # non-integer id
        "1385982040 454",  # too few fields
        "1385982040 1 2 3",  # too many fields
        "13859820.5 1 2",  # non-integer time
        "1385982040   7\t8  ",  # odd whitespace but valid
    ]
    path = _slice(data, tmp_path, 100, extra)
    with path.open("ab") as fh:
        fh.write(b"1385982060 \xff\xfe 9\n")  # not UTF-8
    out = sp.read(path)
    assert out.interactions.num_rows == 101
    got = [(r.line, r.reason) for r in out.rejects]
    assert got == [
        (103, "field i 'abc' is not an integer id"),
        (104, "expected 3 whitespace-separated fields (t i j), found 2"),
        (105, "expected 3 whitespace-separated fields (t i j), found 4"),
        (106, "field t '13859820.5' is not Unix seconds (an integer)"),
        (108, "field i '\ufffd\ufffd' is not an integer id"),
    ]
    assert out.rejects[0].raw == "1385982040 abc 640"
    assert all(r.file == str(path) for r in out.rejects)
    last = out.interactions.slice(100, 1).to_pylist()[0]
    assert last["actor"] == "sociopatterns:7" and last["targets"] == ["sociopatterns:8"]
    assert out.rows_read == 106


def test_bad_metadata_lines_and_duplicates(data: Path, tmp_path: Path) -> None:
    meta = tmp_path / "meta.txt"
    meta.write_text("1\tPC\tM\n2\tPC\n1\tMP\tF\nx\tPC\tF\n3 PSI* Unknown\n")
    out = sp.read(_slice(data, tmp_path, 5), metadata=meta)
    assert [(Path(r.file).name, r.line) for r in out.rejects] == [
        ("meta.txt", 2),
        ("meta.txt", 3),
        ("meta.txt", 4),
    ]
    assert "already described on line 1" in out.rejects[1].reason
    hints = {h["handle"]: json.loads(h["attrs"]) for h in out.entities.to_pylist()}
    assert hints == {
        "sociopatterns:1": {"class": "PC", "gender": "M"},
        "sociopatterns:3": {"class": "PSI*", "gender": "Unknown"},
    }


def test_prefix_and_source_parameters(data: Path, tmp_path: Path) -> None:
    out = sp.read(_slice(data, tmp_path, 1), source="thiers13", prefix="sociopatterns:thiers13")
    row = out.interactions.to_pylist()[0]
    assert row["interaction_id"] == "thiers13:1385982020:454:640"
    assert row["actor"] == "sociopatterns:thiers13:454"


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        sp.read(tmp_path / "missing.dat")
    with pytest.raises(InputError, match="expected a file"):
        sp.read(tmp_path)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match=r"no line is a SocioPatterns contact line 't i j'"):
        sp.read(wrong)
    empty = tmp_path / "empty.dat"
    empty.write_text("")
    out = sp.read(empty)
    assert out.interactions.num_rows == 0 and out.rejects == []
