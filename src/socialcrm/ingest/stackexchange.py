"""Stack Exchange data dumps: one unpacked site directory of XML files.

A dump (https://archive.org/details/stackexchange, CC BY-SA) is the public record of a
question-and-answer community: who asks, who answers, whose answer the asker accepted,
who votes and how many people only read. That is the material of seed 001's
community-first routing (superusers answering before staff) and of the 90-9-1
participation tiers, so every part of it becomes an interaction.

Files read, streamed with ``lxml.etree.iterparse`` (elements cleared as they go):
``Posts.xml`` (required), ``Comments.xml``, ``Votes.xml``, ``Users.xml``, ``Badges.xml``
(each optional: a missing one contributes nothing). ``PostHistory.xml``,
``PostLinks.xml`` and ``Tags.xml`` are not read.

**Names.** ``source`` is the directory's name (``stackexchange_quantumcomputing_2018``) or
the ``source`` argument; pass the same ``source`` for two dumps of one site so that their
users and posts meet. Handles:

* ``<source>:user:<UserId>`` for a registered user (``-1`` is the Community bot);
* ``<source>:name:<DisplayName>`` for a deleted or unregistered author, who keeps only a
  display name (``OwnerDisplayName``/``UserDisplayName`` without a user id); two such
  authors with the same name become one handle;
* ``<source>:anonymous`` for voters and readers, whom dumps do not name.

**Interactions** (channel ``forum``, visibility ``public``; ``conversation_id`` of a
whole thread is ``<source>:q:<question Id>``):

===========  ==========================  ===================  =============================
kind         interaction_id              actor -> targets     notes
===========  ==========================  ===================  =============================
question     ``<source>:post:<Id>``      owner -> []          text = Title, blank line,
                                                              Body without HTML; value =
                                                              Score
answer       ``<source>:post:<Id>``      owner -> [asker]     in_reply_to the question;
                                                              value = Score
comment      ``<source>:comment:<Id>``   author -> [post      in_reply_to the post; value
                                         owner]               = Score
accept       ``<source>:accept:<AnsId>`` asker -> [answerer]  in_reply_to the answer
endorse      ``<source>:vote:<Id>``      anonymous -> [post   up vote (VoteTypeId 2) value
                                         owner]               +1, down vote (3) value -1
view         ``<source>:views:<QId>``    anonymous -> [asker] value = ViewCount
===========  ==========================  ===================  =============================

Choices a reader should know:

* Only questions (PostTypeId 1) and answers (2) are posts here; tag wikis, wiki
  excerpts and moderator posts (3-8) are skipped, and so are votes on them.
* The accepted answer is the question's ``AcceptedAnswerId``. Dumps give no accept time;
  the accept vote (VoteTypeId 1) gives its day (dumps round vote times to the day), so
  ``ts`` is the later of that day and the answer's creation, or the answer's creation
  when there is no accept vote.
* A comment on a post missing from the dump keeps ``in_reply_to`` pointing at it, with
  no target and no ``conversation_id`` (threading then makes it its own root).
* Votes other than up and down (accept, favourite, close, spam, bounty, ...) do not
  become interactions; votes on posts missing from the dump (deleted posts) are skipped
  because nobody can be credited. Vote times are days (00:00 UTC).
* A question's lifetime ``ViewCount`` becomes one ``view`` row dated at the question's
  creation: it is the only trace of lurkers (DESIGN.md, participation tiers). Questions
  with no views get none.
* Tags are not in the canonical contract; :func:`read_post_meta` returns them with the
  other per-post numbers (accepted answer, view and answer counts) as an Arrow table.

**Entity hints** from ``Users.xml``: every user (with or without posts: users without
posts are the lurkers), kind ``person``, role ``customer``, ``display_name``, attrs
``{"reputation", "created", "last_access", "views", "up_votes", "down_votes",
"location", "badges": {"gold", "silver", "bronze"}}`` (badge counts from ``Badges.xml``).
The Community bot (Id -1) and the anonymous handle are kind ``system``, role
``system``; display-name-only authors get ``{"deleted_user": true}``.

**Rejects.** A row without a usable ``Id``, with a missing or malformed ``CreationDate``,
an answer without ``ParentId`` or a row without any author becomes a :class:`Reject`
with the file, the row's line and the reason; the other rows are kept. A file broken
part-way (a truncated download) keeps the rows before the break and is rejected from
the line where it breaks, with lxml's message. A ``Posts.xml`` that cannot be parsed at
all is an :class:`InputError`.

``rows_read`` counts the rows of ``Posts.xml``, ``Comments.xml`` and ``Votes.xml``, the
files interactions come from.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from lxml import etree

from socialcrm.ingest.base import (
    AdapterOutput,
    InputError,
    Reject,
    entity_hints,
    interactions_table,
    require_path,
)

CHANNEL = "forum"
QUESTION, ANSWER = 1, 2
UP_VOTE, DOWN_VOTE, ACCEPT_VOTE = 2, 3, 1
COMMUNITY_USER_ID = -1
BADGE_CLASSES = {1: "gold", 2: "silver", 3: "bronze"}

POST_META_SCHEMA = pa.schema(
    [
        ("interaction_id", pa.string()),
        ("conversation_id", pa.string()),
        ("post_id", pa.int64()),
        ("post_type", pa.string()),  # question | answer
        ("parent_id", pa.int64()),  # the question of an answer
        ("accepted_answer_id", pa.int64()),
        ("tags", pa.list_(pa.string())),  # a question's tags; an answer's are its question's
        ("view_count", pa.int64()),
        ("score", pa.int64()),
        ("answer_count", pa.int64()),
        ("comment_count", pa.int64()),
        ("owner", pa.string()),  # handle
        ("ts", pa.timestamp("us")),
    ]
)

_HTML_TAG = re.compile(r"<[^>]*>")
_BLANK_LINES = re.compile(r"\n{3,}")


class _BadRow(Exception):
    """A row that cannot be used; the message is the reason."""


@dataclass(slots=True)
class _Post:
    id: int
    type: int
    parent: int | None
    accepted: int | None
    ts: datetime
    owner: str
    score: int | None
    views: int | None
    answers: int | None
    comments: int | None
    title: str | None
    body: str
    tags: list[str]


@dataclass
class _Dump:
    """What the passes over the files collect."""

    path: Path
    source: str
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    names: dict[str, str] = field(default_factory=dict)  # name handle -> display name

    def user(self, user_id: str | None, display_name: str | None) -> str:
        """The handle of an author from a row's user id, else its display name."""
        if user_id is not None and user_id.strip():
            try:
                return f"{self.source}:user:{int(user_id)}"
            except ValueError:
                raise _BadRow(f"user id {user_id[:40]!r} is not an integer") from None
        if display_name is not None and display_name.strip():
            handle = f"{self.source}:name:{display_name.strip()}"
            self.names.setdefault(handle, display_name.strip())
            return handle
        raise _BadRow("no author: neither a user id nor a display name")

    @property
    def anonymous(self) -> str:
        return f"{self.source}:anonymous"


def read(path: Path, source: str | None = None) -> AdapterOutput:
    """Read an unpacked Stack Exchange dump directory (see the module docs for the mapping)."""
    dump = _open(path, source)
    posts = _read_posts(dump)
    cols: dict[str, list] = {
        k: []
        for k in (
            "interaction_id",
            "ts",
            "actor",
            "targets",
            "conversation_id",
            "in_reply_to",
            "kind",
            "text",
            "value",
        )
    }

    def add(*row: object) -> None:
        """One interaction: the values of ``cols``' keys, in order (text, value optional)."""
        row = row + (None,) * (len(cols) - len(row))
        for values, v in zip(cols.values(), row, strict=True):
            values.append(v)

    src = dump.source
    for p in posts.values():
        if p.type == QUESTION:
            text = (p.title or "") + "\n\n" + _strip_html(p.body)
            add(
                _post_id(src, p.id),
                p.ts,
                p.owner,
                [],
                _thread_id(src, p.id),
                None,
                "question",
                text.strip(),
                _float(p.score),
            )
        else:
            parent = posts.get(p.parent)
            targets = [parent.owner] if parent is not None else []
            add(
                _post_id(src, p.id),
                p.ts,
                p.owner,
                targets,
                _thread_id(src, p.parent),
                _post_id(src, p.parent),
                "answer",
                _strip_html(p.body),
                _float(p.score),
            )

    for c in _read_comments(dump, posts):
        add(*c)

    accept_days: dict[int, datetime] = {}
    for v in _read_votes(dump, posts, accept_days):
        add(*v)

    for q in posts.values():
        if q.type != QUESTION:
            continue
        a = posts.get(q.accepted) if q.accepted is not None else None
        if a is not None and a.type == ANSWER:
            day = accept_days.get(a.id)
            ts = max(day, a.ts) if day is not None else a.ts
            add(
                f"{src}:accept:{a.id}",
                ts,
                q.owner,
                [a.owner],
                _thread_id(src, q.id),
                _post_id(src, a.id),
                "accept",
            )
        if q.views:
            add(
                f"{src}:views:{q.id}",
                q.ts,
                dump.anonymous,
                [q.owner],
                _thread_id(src, q.id),
                _post_id(src, q.id),
                "view",
                None,
                float(q.views),
            )

    n = len(cols["interaction_id"])
    cols.update(source=[src] * n, channel=[CHANNEL] * n, visibility=["public"] * n)
    table = interactions_table(cols)
    hints = _read_users(dump)
    dump.rejects.sort(key=lambda r: (r.file, r.line or 0))
    return AdapterOutput(table, hints, dump.rejects, rows_read=dump.rows_read)


def read_post_meta(path: Path, source: str | None = None) -> pa.Table:
    """Per-post facts the canonical rows do not carry: tags, accepted answer, counts.

    One row per question and answer (:data:`POST_META_SCHEMA`), keyed by the same
    ``interaction_id`` as :func:`read`, for routing (tag expertise) and influence
    evaluations. Rows :func:`read` rejects are absent here too.
    """
    dump = _open(path, source)
    posts = _read_posts(dump)
    src = dump.source
    rows = []
    for p in posts.values():
        thread = p.id if p.type == QUESTION else p.parent
        q = posts.get(thread)
        rows.append(
            {
                "interaction_id": _post_id(src, p.id),
                "conversation_id": _thread_id(src, thread),
                "post_id": p.id,
                "post_type": "question" if p.type == QUESTION else "answer",
                "parent_id": p.parent,
                "accepted_answer_id": p.accepted,
                "tags": q.tags if q is not None else [],
                "view_count": p.views,
                "score": p.score,
                "answer_count": p.answers,
                "comment_count": p.comments,
                "owner": p.owner,
                "ts": p.ts,
            }
        )
    return pa.Table.from_pylist(rows, schema=POST_META_SCHEMA)


# --- the passes over the files -------------------------------------------------------


def _open(path: Path, source: str | None) -> _Dump:
    path = require_path(Path(path), directory=True)
    if not (path / "Posts.xml").is_file():
        present = sorted(p.name for p in path.glob("*.xml"))
        raise InputError(
            f"{path}: no Posts.xml; a Stack Exchange dump directory holds Posts.xml"
            f" (and Comments.xml, Votes.xml, Users.xml, Badges.xml);"
            f" found {', '.join(present) or 'no XML files'}"
        )
    return _Dump(path, source or path.resolve().name)


def _rows(dump: _Dump, name: str, *, required: bool = False) -> Iterator[etree._Element]:
    """Stream the ``<row>`` elements of one file, clearing each after use.

    Broken XML stops the file: the rows before the break were already yielded, the rest
    is one :class:`Reject` at the line lxml reports.
    """
    file = dump.path / name
    if not file.is_file():
        return
    n = 0
    try:
        for _, el in etree.iterparse(
            str(file), events=("end",), tag="row", huge_tree=True, resolve_entities=False
        ):
            n += 1
            yield el
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno and exc.lineno > 0 else None
        if required and n == 0:
            raise InputError(f"{file}: not readable XML: {exc.msg}") from None
        dump.rejects.append(
            Reject(
                str(file),
                line,
                f"XML broken at line {line} ({exc.msg}); {n} rows before it were read,"
                " the rest of the file was not (truncated or corrupt file?)",
            )
        )


def _reject(dump: _Dump, name: str, el: etree._Element, reason: str) -> None:
    raw = etree.tostring(el, encoding="unicode")[:200]
    dump.rejects.append(Reject(str(dump.path / name), el.sourceline, reason, raw))


def _read_posts(dump: _Dump) -> dict[int, _Post]:
    posts: dict[int, _Post] = {}
    first_line: dict[int, int] = {}
    for el in _rows(dump, "Posts.xml", required=True):
        dump.rows_read += 1
        try:
            pid = _req_int(el, "Id")
            ptype = _req_int(el, "PostTypeId")
            if ptype not in (QUESTION, ANSWER):
                continue
            if pid in posts:
                raise _BadRow(f"post Id {pid} repeats the row on line {first_line[pid]}")
            parent = _opt_int(el, "ParentId")
            if ptype == ANSWER and parent is None:
                raise _BadRow("answer without ParentId")
            posts[pid] = _Post(
                id=pid,
                type=ptype,
                parent=parent if ptype == ANSWER else None,
                accepted=_opt_int(el, "AcceptedAnswerId"),
                ts=_ts(el),
                owner=dump.user(el.get("OwnerUserId"), el.get("OwnerDisplayName")),
                score=_opt_int(el, "Score"),
                views=_opt_int(el, "ViewCount"),
                answers=_opt_int(el, "AnswerCount"),
                comments=_opt_int(el, "CommentCount"),
                title=el.get("Title"),
                body=el.get("Body") or "",
                tags=_tags(el.get("Tags")),
            )
            first_line[pid] = el.sourceline
        except _BadRow as exc:
            _reject(dump, "Posts.xml", el, str(exc))
    return posts


def _read_comments(dump: _Dump, posts: dict[int, _Post]) -> Iterator[tuple]:
    src = dump.source
    for el in _rows(dump, "Comments.xml"):
        dump.rows_read += 1
        try:
            cid = _req_int(el, "Id")
            post_id = _req_int(el, "PostId")
            ts = _ts(el)
            actor = dump.user(el.get("UserId"), el.get("UserDisplayName"))
        except _BadRow as exc:
            _reject(dump, "Comments.xml", el, str(exc))
            continue
        post = posts.get(post_id)
        thread = None
        if post is not None:
            thread = _thread_id(src, post.id if post.type == QUESTION else post.parent)
        targets = [post.owner] if post is not None else []
        yield (
            f"{src}:comment:{cid}",
            ts,
            actor,
            targets,
            thread,
            _post_id(src, post_id),
            "comment",
            el.get("Text"),
            _float(_opt_int(el, "Score")),
        )


def _read_votes(
    dump: _Dump, posts: dict[int, _Post], accept_days: dict[int, datetime]
) -> Iterator[tuple]:
    """Up and down votes as ``endorse`` rows; accept-vote days into ``accept_days``."""
    src = dump.source
    for el in _rows(dump, "Votes.xml"):
        dump.rows_read += 1
        try:
            vid = _req_int(el, "Id")
            vtype = _req_int(el, "VoteTypeId")
            if vtype not in (UP_VOTE, DOWN_VOTE, ACCEPT_VOTE):
                continue
            post_id = _req_int(el, "PostId")
            ts = _ts(el)
        except _BadRow as exc:
            _reject(dump, "Votes.xml", el, str(exc))
            continue
        if vtype == ACCEPT_VOTE:
            accept_days[post_id] = ts
            continue
        post = posts.get(post_id)
        if post is None:  # a deleted post or a tag wiki: nobody to credit
            continue
        thread = post.id if post.type == QUESTION else post.parent
        yield (
            f"{src}:vote:{vid}",
            ts,
            dump.anonymous,
            [post.owner],
            _thread_id(src, thread),
            _post_id(src, post_id),
            "endorse",
            None,
            1.0 if vtype == UP_VOTE else -1.0,
        )


def _read_badges(dump: _Dump) -> dict[int, Counter]:
    badges: dict[int, Counter] = {}
    for el in _rows(dump, "Badges.xml"):
        try:
            uid = _req_int(el, "UserId")
            cls = BADGE_CLASSES.get(_opt_int(el, "Class") or 0)
        except _BadRow as exc:
            _reject(dump, "Badges.xml", el, str(exc))
            continue
        if cls is not None:
            badges.setdefault(uid, Counter())[cls] += 1
    return badges


def _read_users(dump: _Dump) -> pa.Table:
    badges = _read_badges(dump)
    cols: dict[str, list] = {"handle": [], "kind": [], "role": [], "display_name": [], "attrs": []}

    def hint(handle: str, kind: str, role: str, name: str | None, attrs: dict) -> None:
        cols["handle"].append(handle)
        cols["kind"].append(kind)
        cols["role"].append(role)
        cols["display_name"].append(name)
        cols["attrs"].append(json.dumps(attrs))

    seen: set[int] = set()
    for el in _rows(dump, "Users.xml"):
        try:
            uid = _req_int(el, "Id")
            if uid in seen:
                raise _BadRow(f"user Id {uid} appears twice")
            reputation = _opt_int(el, "Reputation")
            views = _opt_int(el, "Views")
            up, down = _opt_int(el, "UpVotes"), _opt_int(el, "DownVotes")
        except _BadRow as exc:
            _reject(dump, "Users.xml", el, str(exc))
            continue
        seen.add(uid)
        attrs = {
            "reputation": reputation,
            "created": el.get("CreationDate"),
            "last_access": el.get("LastAccessDate"),
            "views": views,
            "up_votes": up,
            "down_votes": down,
            "location": el.get("Location"),
            "badges": {c: badges.get(uid, Counter())[c] for c in BADGE_CLASSES.values()},
        }
        system = uid == COMMUNITY_USER_ID
        hint(
            f"{dump.source}:user:{uid}",
            "system" if system else "person",
            "system" if system else "customer",
            el.get("DisplayName"),
            attrs,
        )
    for handle, name in sorted(dump.names.items()):
        hint(handle, "person", "customer", name, {"deleted_user": True})
    hint(
        dump.anonymous,
        "system",
        "system",
        "anonymous voters and readers",
        {"note": "Stack Exchange dumps do not name voters or readers"},
    )
    return entity_hints(cols)


# --- field helpers -------------------------------------------------------------------


def _req_int(el: etree._Element, name: str) -> int:
    value = el.get(name)
    if value is None or not value.strip():
        raise _BadRow(f"missing {name}")
    try:
        return int(value)
    except ValueError:
        raise _BadRow(f"{name} {value[:40]!r} is not an integer") from None


def _opt_int(el: etree._Element, name: str) -> int | None:
    value = el.get(name)
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise _BadRow(f"{name} {value[:40]!r} is not an integer") from None


def _ts(el: etree._Element) -> datetime:
    """``CreationDate`` (UTC, ISO 8601 without offset in dumps) as a naive UTC datetime."""
    value = el.get("CreationDate")
    if value is None or not value.strip():
        raise _BadRow("missing CreationDate")
    try:
        ts = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _BadRow(f"CreationDate {value[:40]!r} is not an ISO 8601 timestamp") from None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


def _tags(value: str | None) -> list[str]:
    """``<qiskit><gates>`` (dumps until 2023) or ``|qiskit|gates|`` (later) -> names."""
    if not value:
        return []
    if value.startswith("|"):
        return [t for t in value.split("|") if t]
    return re.findall(r"<([^<>]+)>", value)


def _strip_html(body: str) -> str:
    """Plain text of a post body: tags removed, entities decoded, blank runs collapsed."""
    return _BLANK_LINES.sub("\n\n", html.unescape(_HTML_TAG.sub("", body))).strip()


def _float(value: int | None) -> float | None:
    return None if value is None else float(value)


def _post_id(source: str, post_id: int | None) -> str | None:
    return None if post_id is None else f"{source}:post:{post_id}"


def _thread_id(source: str, question_id: int | None) -> str | None:
    return None if question_id is None else f"{source}:q:{question_id}"
