"""Stack Exchange dump adapter on the real conlang dump (and the quantum computing one).

Expected numbers are recomputed here from the XML text with plain regular expressions,
independently of lxml and of the adapter.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from socialcrm.ingest import stackexchange as se
from socialcrm.ingest.base import INTERACTION_SCHEMA, InputError

CONLANG = "stackexchange_conlang_dump"
SRC = CONLANG


def _rows(file: Path) -> list[dict[str, str]]:
    """Every ``<row .../>`` of a dump file as a dict of its raw attributes."""
    text = file.read_text(encoding="utf-8-sig")
    return [dict(re.findall(r'(\w+)="([^"]*)"', m)) for m in re.findall(r"<row [^\n]*/>", text)]


@pytest.fixture(scope="module")
def dump(shared_data: Path) -> Path:
    return shared_data / CONLANG


@pytest.fixture(scope="module")
def out(dump: Path) -> se.AdapterOutput:
    return se.read(dump)


@pytest.fixture(scope="module")
def rows(out: se.AdapterOutput) -> list[dict]:
    return out.interactions.to_pylist()


def _copy(dump: Path, tmp_path: Path) -> Path:
    target = tmp_path / CONLANG
    shutil.copytree(dump, target)
    for f in target.iterdir():
        f.chmod(0o644)
    return target


def test_schema_ids_and_constants(out: se.AdapterOutput, rows: list[dict]) -> None:
    assert out.interactions.schema == INTERACTION_SCHEMA
    ids = [r["interaction_id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert {r["source"] for r in rows} == {SRC}
    assert {r["channel"] for r in rows} == {"forum"}
    assert {r["visibility"] for r in rows} == {"public"}
    assert out.rejects == []
    assert all(r["actor"] for r in rows)


def test_counts_per_kind_match_the_xml(dump: Path, rows: list[dict]) -> None:
    posts = _rows(dump / "Posts.xml")
    qa = {p["Id"] for p in posts if p["PostTypeId"] in ("1", "2")}
    votes = _rows(dump / "Votes.xml")
    kinds = Counter(r["kind"] for r in rows)
    assert kinds["question"] == sum(p["PostTypeId"] == "1" for p in posts) == 54
    assert kinds["answer"] == sum(p["PostTypeId"] == "2" for p in posts) == 115
    assert kinds["comment"] == len(_rows(dump / "Comments.xml")) == 230
    assert kinds["accept"] == sum("AcceptedAnswerId" in p for p in posts) == 11
    assert kinds["view"] == sum(int(p.get("ViewCount", "0")) > 0 for p in posts) == 54
    # Up and down votes on posts in the dump (votes on deleted posts are skipped).
    n_votes = sum(v["VoteTypeId"] in ("2", "3") and v["PostId"] in qa for v in votes)
    assert kinds["endorse"] == n_votes == 1065
    assert n_votes < sum(v["VoteTypeId"] in ("2", "3") for v in votes)


def test_question_answers_and_accepted_answer(dump: Path, rows: list[dict]) -> None:
    by_id = {r["interaction_id"]: r for r in rows}
    q = by_id[f"{SRC}:post:1"]
    assert q["kind"] == "question"
    assert q["actor"] == f"{SRC}:user:14"
    assert q["conversation_id"] == f"{SRC}:q:1"
    assert q["text"].startswith("Are questions asked in conlangs accepted on this site?\n\n")
    assert "<p>" not in q["text"] and "<strong>" not in q["text"]
    assert q["value"] == 10.0  # Score
    answers = [r for r in rows if r["kind"] == "answer" and r["in_reply_to"] == f"{SRC}:post:1"]
    assert len(answers) == 3  # AnswerCount="3" in Posts.xml
    assert {a["conversation_id"] for a in answers} == {f"{SRC}:q:1"}
    assert {tuple(a["targets"]) for a in answers} == {(f"{SRC}:user:14",)}
    # AcceptedAnswerId="2"; answer 2 was posted by a deleted user ("user23").
    accept = by_id[f"{SRC}:accept:2"]
    assert accept["actor"] == f"{SRC}:user:14"
    assert accept["targets"] == [f"{SRC}:name:user23"]
    assert accept["in_reply_to"] == f"{SRC}:post:2"
    vote_day = next(
        v["CreationDate"]
        for v in _rows(dump / "Votes.xml")
        if v["PostId"] == "2" and v["VoteTypeId"] == "1"
    )
    answer_ts = by_id[f"{SRC}:post:2"]["ts"]
    assert accept["ts"] == max(datetime.fromisoformat(vote_day), answer_ts)


def test_accept_time_never_precedes_the_answer(rows: list[dict]) -> None:
    ts = {r["interaction_id"]: r["ts"] for r in rows}
    accepts = [r for r in rows if r["kind"] == "accept"]
    assert accepts
    assert all(a["ts"] >= ts[a["in_reply_to"]] for a in accepts)


def test_votes_on_one_post(dump: Path, rows: list[dict]) -> None:
    text = (dump / "Votes.xml").read_text(encoding="utf-8-sig")
    ups = len(re.findall(r'PostId="2" VoteTypeId="2"', text))
    downs = len(re.findall(r'PostId="2" VoteTypeId="3"', text))
    votes = [r for r in rows if r["kind"] == "endorse" and r["in_reply_to"] == f"{SRC}:post:2"]
    assert sum(v["value"] == 1 for v in votes) == ups > 0
    assert sum(v["value"] == -1 for v in votes) == downs
    assert {v["actor"] for v in votes} == {f"{SRC}:anonymous"}
    assert {tuple(v["targets"]) for v in votes} == {(f"{SRC}:name:user23",)}
    assert {v["conversation_id"] for v in votes} == {f"{SRC}:q:1"}


def test_views_and_comments(dump: Path, rows: list[dict]) -> None:
    by_id = {r["interaction_id"]: r for r in rows}
    view = by_id[f"{SRC}:views:1"]
    assert view["value"] == 172.0  # ViewCount="172"
    assert view["actor"] == f"{SRC}:anonymous" and view["targets"] == [f"{SRC}:user:14"]
    # Comment 2 is on post 3 (a question by user 19).
    owner_3 = next(p["OwnerUserId"] for p in _rows(dump / "Posts.xml") if p["Id"] == "3")
    c = by_id[f"{SRC}:comment:2"]
    assert c["kind"] == "comment" and c["actor"] == f"{SRC}:user:31"
    assert c["targets"] == [f"{SRC}:user:{owner_3}"]
    assert c["in_reply_to"] == f"{SRC}:post:3" and c["conversation_id"] == f"{SRC}:q:3"
    assert c["text"] == "I assumed the icon is a short form of `artificial languages`."
    # Comment 5 was written by a deleted user who kept only a display name.
    assert by_id[f"{SRC}:comment:5"]["actor"] == f"{SRC}:name:user23"


def test_comment_on_an_answer_joins_the_question_thread(dump: Path, rows: list[dict]) -> None:
    posts = {p["Id"]: p for p in _rows(dump / "Posts.xml")}
    on_answers = [
        c for c in _rows(dump / "Comments.xml") if posts[c["PostId"]]["PostTypeId"] == "2"
    ]
    assert on_answers
    by_id = {r["interaction_id"]: r for r in rows}
    for c in on_answers[:20]:
        row = by_id[f"{SRC}:comment:{c['Id']}"]
        assert row["conversation_id"] == f"{SRC}:q:{posts[c['PostId']]['ParentId']}"


def test_entity_hints_cover_every_user_and_lurker(dump: Path, out: se.AdapterOutput) -> None:
    users = _rows(dump / "Users.xml")
    hints = {h["handle"]: h for h in out.entities.to_pylist()}
    assert len(hints) == out.entities.num_rows
    user_handles = {h for h in hints if ":user:" in h}
    assert user_handles == {f"{SRC}:user:{u['Id']}" for u in users}
    assert len(user_handles) == 272
    community = hints[f"{SRC}:user:-1"]
    assert (community["kind"], community["role"]) == ("system", "system")
    assert hints[f"{SRC}:anonymous"]["kind"] == "system"
    adam = hints[f"{SRC}:user:1"]
    assert adam["display_name"] == "Adam Lear" and adam["role"] == "customer"
    attrs = json.loads(adam["attrs"])
    assert attrs["reputation"] == 101 and attrs["location"] == "New York, NY"
    # Badge counts recomputed from Badges.xml for user 2.
    badges = _rows(dump / "Badges.xml")
    bronze = sum(b["UserId"] == "2" and b["Class"] == "3" for b in badges)
    assert json.loads(hints[f"{SRC}:user:2"]["attrs"])["badges"]["bronze"] == bronze > 0
    assert json.loads(hints[f"{SRC}:name:user23"]["attrs"]) == {"deleted_user": True}
    # Lurkers: users who never posted or commented still have a hint.
    actors = {r for r in out.interactions.column("actor").to_pylist()}
    assert len(user_handles - actors) > 100


def test_post_meta(dump: Path) -> None:
    meta = se.read_post_meta(dump)
    assert meta.schema == se.POST_META_SCHEMA
    assert meta.num_rows == 54 + 115
    by_id = {r["post_id"]: r for r in meta.to_pylist()}
    q1 = by_id[1]
    assert q1["tags"] == ["discussion", "on-topic"]
    assert q1["accepted_answer_id"] == 2 and q1["answer_count"] == 3 and q1["view_count"] == 172
    assert q1["owner"] == f"{SRC}:user:14"
    a2 = by_id[2]
    assert a2["post_type"] == "answer" and a2["parent_id"] == 1
    assert a2["tags"] == q1["tags"] and a2["conversation_id"] == f"{SRC}:q:1"


def test_source_override_renames_ids_and_handles(dump: Path) -> None:
    out = se.read(dump, source="conlang")
    first = out.interactions.slice(0, 1).to_pylist()[0]
    assert first["interaction_id"] == "conlang:post:1" and first["actor"] == "conlang:user:14"


def test_bad_rows_are_rejected_with_their_lines(dump: Path, tmp_path: Path) -> None:
    copy = _copy(dump, tmp_path)
    posts = copy / "Posts.xml"
    lines = posts.read_text(encoding="utf-8-sig").split("\n")
    # Line numbers are 1-based; the file's first line is the XML declaration.
    i_missing = next(k for k, ln in enumerate(lines) if '<row Id="3" ' in ln)
    i_baddate = next(k for k, ln in enumerate(lines) if '<row Id="4" ' in ln)
    lines[i_missing] = lines[i_missing].replace('<row Id="3" ', "<row ")
    lines[i_baddate] = re.sub(r'CreationDate="[^"]*"', 'CreationDate="yesterday"', lines[i_baddate])
    posts.write_text("\n".join(lines), encoding="utf-8")
    out = se.read(copy)
    rejects = sorted(out.rejects, key=lambda r: r.line)
    assert [(Path(r.file).name, r.line) for r in rejects] == [
        ("Posts.xml", i_missing + 1),
        ("Posts.xml", i_baddate + 1),
    ]
    assert rejects[0].reason == "missing Id"
    assert "CreationDate 'yesterday'" in rejects[1].reason
    kinds = Counter(out.interactions.column("kind").to_pylist())
    assert kinds["question"] + kinds["answer"] == 54 + 115 - 2
    assert kinds["comment"] == 230


def test_truncated_posts_keep_rows_before_the_break(dump: Path, tmp_path: Path) -> None:
    copy = _copy(dump, tmp_path)
    data = (copy / "Posts.xml").read_bytes()
    cut = data[:150_000]
    (copy / "Posts.xml").write_bytes(cut)
    text = cut.decode("utf-8-sig", errors="ignore")
    complete = _rows_from_text(text)
    out = se.read(copy)
    broken = [r for r in out.rejects if r.file.endswith("Posts.xml")]
    assert len(broken) == 1
    assert broken[0].line == text.count("\n") + 1  # the last, partial line
    assert "XML broken" in broken[0].reason and "not" in broken[0].reason
    kinds = Counter(out.interactions.column("kind").to_pylist())
    assert kinds["question"] + kinds["answer"] == sum(
        r["PostTypeId"] in ("1", "2") for r in complete
    )
    assert kinds["comment"] == 230  # the other files are still read


def _rows_from_text(text: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'(\w+)="([^"]*)"', m)) for m in re.findall(r"<row [^\n]*/>", text)]


def test_truncated_votes_and_missing_optional_files(dump: Path, tmp_path: Path) -> None:
    copy = _copy(dump, tmp_path)
    votes = (copy / "Votes.xml").read_text(encoding="utf-8-sig").split("\n")
    (copy / "Votes.xml").write_text("\n".join(votes[:40]) + '\n  <row Id="99', encoding="utf-8")
    (copy / "Users.xml").unlink()
    (copy / "Badges.xml").unlink()
    out = se.read(copy)
    assert [Path(r.file).name for r in out.rejects] == ["Votes.xml"]
    assert out.rejects[0].line == 41
    kinds = Counter(out.interactions.column("kind").to_pylist())
    assert kinds["question"] == 54 and 0 < kinds["endorse"] < 40
    # Without Users.xml only the display-name and anonymous handles get hints.
    assert not any(":user:" in h for h in out.entities.column("handle").to_pylist())


def test_missing_inputs_are_input_errors(dump: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        se.read(tmp_path / "nope")
    with pytest.raises(InputError, match="expected a directory"):
        se.read(dump / "Posts.xml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no Posts\.xml"):
        se.read(tmp_path / "empty")
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "Posts.xml").write_text("Id,PostTypeId\n1,1\n")
    with pytest.raises(InputError, match="not readable XML"):
        se.read(garbage)


def test_quantum_computing_dump_whole(shared_data: Path) -> None:
    path = shared_data / "stackexchange_quantumcomputing_2018"
    out = se.read(path)
    posts = _rows(path / "Posts.xml")
    kinds = Counter(out.interactions.column("kind").to_pylist())
    assert kinds["question"] == 612 and kinds["answer"] == 1060
    assert kinds["accept"] == sum("AcceptedAnswerId" in p for p in posts) == 389
    assert out.rejects == []
    # Post 1826 has both an owner id and a display name: the id wins.
    owner = {
        r["interaction_id"]: r["actor"]
        for r in out.interactions.select(["interaction_id", "actor"]).to_pylist()
    }
    assert owner[f"{path.name}:post:1826"] == f"{path.name}:user:2047"
