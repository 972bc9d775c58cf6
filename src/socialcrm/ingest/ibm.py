"""IBM Twitter customer-care dialogues (JSON) → canonical interactions.

Source: Ganhotra et al., "Conversational Document Prediction to Assist Customer Care
Agents", EMNLP 2020 (github.com/IBM/twitter-customer-care-document-prediction,
Apache-2.0). A file is a JSON array of dialogues, each with ``dialogHeader``
(``company``, ``sessionID``, ...), ``dialogContent`` (turns keyed ``client``,
``client1``... or ``agent``, with ``datetime``, ``message``, ``tweet_ID``) and
``agentURL``, the agent's final tweet that links the resolving support document.

Mapping (one turn, one row): ``ibm:<tweet_ID>`` (a turn without a tweet id:
``ibm:<sessionID>:<turn number>``, turns numbered from 1 as ``agentURL.turn`` does),
source ``ibm_twitter_customer_care``, channel ``twitter``, kind ``message``, visibility
``public``, ``conversation_id`` ``ibm:<sessionID>`` (the dataset's own thread),
``in_reply_to`` the previous turn. Actor ``twitter:<name>``: the ``client``/``clientN``
name, or the ``agent`` name (in every dev dialogue the company itself; the company
when the name is empty). Targets: the other party — the company for a client turn,
the client the agent answers (the latest client turn before it) for an agent turn —
then the ``@``-mentioned handles. Entity hints: companies and agents are brands (kind
``brand``, role ``brand``), clients customers (a brand wins if a name is both).

``agentURL`` is read as the last turn: the dataset counts it in ``messageCount`` but
keeps it out of ``dialogContent``, and without it no dialogue has a brand answer. It
has no ``datetime``; its time is decoded from the tweet id, a Twitter snowflake
(milliseconds since 2010-11-04 01:42:54.657 UTC in bits 22 and up; Twitter
Engineering, "Announcing Snowflake", 2010) — exact for all 686 timed turns of
``dev.json``, whereas ``dialogHeader.duration`` drops whole days. Its ``doc_id`` and
``url`` are not interactions and are not carried over: evaluation scripts that route to
the resolving document read them from the raw file, keyed by ``sessionID``.

A dialogue is read whole or rejected whole (a partial one would break its reply
chain): a missing header field, a turn without a speaker, message or valid datetime, or
a non-numeric tweet id gives ``Reject(file, line where the dialogue starts, "record N
(session S): why")``, N counting dialogues from 1. A tweet that appears in two
dialogues (``dev.json`` repeats one dialogue under two session ids) is kept once, as it
is first read. Bytes that are not UTF-8 (JSON must be UTF-8) become U+FFFD.

A truncated or corrupt file is salvaged: the dialogues before the break are read and
the break is one reject at its line ("the file looks truncated..."). A file in which
not even the first dialogue can be read, or that is not a JSON array, raises
:class:`InputError`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from socialcrm.ingest import _twitter
from socialcrm.ingest.base import (
    AdapterOutput,
    InputError,
    Reject,
    entity_hints,
    interactions_table,
    require_path,
)

SOURCE = "ibm_twitter_customer_care"
PREFIX = "ibm"
SNOWFLAKE_EPOCH = datetime(2010, 11, 4, 1, 42, 54, 657000)  # naive UTC
_CLIENT_KEY = re.compile(r"client\d*")
_WS = re.compile(r"[ \t\n\r]*")
_RAW_CHARS = 200


class _Bad(ValueError):
    """Why one dialogue cannot be read."""


def _name(value: Any, what: str) -> str:
    name = str(value).strip().removeprefix("@") if isinstance(value, str | int) else ""
    if not name:
        raise _Bad(f"missing {what}")
    return name


def _tweet(value: Any, what: str) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        raise _Bad(f"{what} {text[:40]!r} is not a tweet id")
    return text


def _utc(value: Any, what: str) -> datetime:
    """ISO 8601 (``2020-04-01T17:31:32.000Z``) → naive UTC; no offset is read as UTC."""
    if not isinstance(value, str):
        raise _Bad(f"{what} has no datetime")
    try:
        ts = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Bad(f"{what} datetime {value[:40]!r} is not ISO 8601") from None
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def snowflake_time(tweet_id: int) -> datetime:
    """The UTC creation time encoded in a Twitter snowflake id (naive, millisecond precision)."""
    return SNOWFLAKE_EPOCH + timedelta(milliseconds=tweet_id >> 22)


def _turns(dialogue: Any) -> tuple[str, list[dict[str, Any]]]:
    """(session id, turns as canonical values) of one dialogue; raises :class:`_Bad`."""
    if not isinstance(dialogue, dict):
        raise _Bad("a dialogue must be a JSON object")
    header = dialogue.get("dialogHeader")
    if not isinstance(header, dict):
        raise _Bad("missing dialogHeader")
    session = _name(header.get("sessionID"), "dialogHeader.sessionID")
    company = _name(header.get("company"), "dialogHeader.company")
    content = dialogue.get("dialogContent")
    if not isinstance(content, list):
        raise _Bad("missing dialogContent (a list of turns)")
    turns: list[dict[str, Any]] = []
    for number, turn in enumerate(content, start=1):
        what = f"turn {number}"
        if not isinstance(turn, dict):
            raise _Bad(f"{what} is not a JSON object")
        speakers = [k for k in turn if k == "agent" or _CLIENT_KEY.fullmatch(k)]
        if len(speakers) != 1:
            raise _Bad(f"{what} needs exactly one of client/agent, found {speakers or 'none'}")
        role = "agent" if speakers[0] == "agent" else "client"
        if role == "agent":
            name = turn["agent"].strip() if isinstance(turn["agent"], str) else ""
            name = name.removeprefix("@") or company
        else:
            name = _name(turn[speakers[0]], f"{what} {speakers[0]}")
        message = turn.get("message")
        if not isinstance(message, str):
            raise _Bad(f"{what} has no message")
        turns.append(
            {
                "number": number,
                "tweet": _tweet(turn.get("tweet_ID"), f"{what} tweet_ID"),
                "role": role,
                "name": name,
                "ts": _utc(turn.get("datetime"), what),
                "text": message,
            }
        )
    final = dialogue.get("agentURL")
    if final is not None:
        if not isinstance(final, dict):
            raise _Bad("agentURL is not a JSON object")
        tweet = _tweet(final.get("tweet_ID"), "agentURL tweet_ID")
        if tweet is None:
            raise _Bad("agentURL has no tweet_ID, so its time is unknown")
        try:
            ts = snowflake_time(int(tweet))
        except OverflowError:
            raise _Bad(f"agentURL tweet_ID {tweet[:40]} is too large for a tweet id") from None
        if turns and ts < turns[-1]["ts"] - timedelta(seconds=1):
            raise _Bad(f"agentURL tweet_ID {tweet} encodes {ts}, before the turn it answers")
        message = final.get("url_utterance")
        if not isinstance(message, str):
            raise _Bad("agentURL has no url_utterance")
        if not turns or turns[-1]["tweet"] != tweet:
            turns.append(
                {
                    "number": len(turns) + 1,
                    "tweet": tweet,
                    "role": "agent",
                    "name": company,
                    "ts": ts,
                    "text": message,
                }
            )
    if not turns:
        raise _Bad("no turns")
    for turn in turns:
        turn["company"] = company
    return session, turns


class _Lines:
    """Line number of a position in ``text``, counting forward only (O(n) in total)."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def _records(text: str, file: str, rejects: list[Reject]) -> list[tuple[int, int, Any]]:
    """(record number, first line, parsed value) of each element of the top-level array.

    Elements are decoded one by one, so a break (truncation, corruption) loses only
    what follows it.
    """
    decoder = json.JSONDecoder()
    lines = _Lines(text)

    def skip(pos: int) -> int:
        return _WS.match(text, pos).end()  # type: ignore[union-attr]

    def stop(pos: int, reason: str) -> None:
        rejects.append(Reject(file, lines.at(pos), reason, text[pos : pos + _RAW_CHARS]))

    pos = skip(0)
    if pos == len(text):
        raise InputError(f"{file}: empty file (expected a JSON array of dialogues)")
    if text[pos] != "[":
        raise InputError(
            f"{file}: not a JSON array of dialogues: the file starts with {text[pos : pos + 20]!r}"
        )
    pos = skip(pos + 1)
    out: list[tuple[int, int, Any]] = []
    if text.startswith("]", pos):
        pos = skip(pos + 1)
    else:
        while True:
            try:
                value, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                where = f"line {exc.lineno} column {exc.colno}"
                if not out:
                    raise InputError(
                        f"{file}: not valid JSON at {where}: {exc.msg}"
                        " (no dialogue could be read; is the file truncated?)"
                    ) from None
                stop(
                    pos,
                    f"record {len(out) + 1}: not valid JSON ({exc.msg} at {where}); the file"
                    f" looks truncated or corrupt: the {len(out)} records before it were read,"
                    " nothing from here on",
                )
                return out
            out.append((len(out) + 1, lines.at(pos), value))
            pos = skip(end)
            if text.startswith(",", pos):
                pos = skip(pos + 1)
                continue
            if text.startswith("]", pos):
                pos = skip(pos + 1)
                break
            stop(
                pos,
                f"the file ends after record {len(out)} without the closing ']' (or has text"
                " where ',' or ']' belongs): it looks truncated; the records before were read",
            )
            return out
    if pos != len(text):
        stop(pos, "text after the closing ']' was ignored")
    return out


def read(path: Path) -> AdapterOutput:
    """Read an IBM customer-care dialogue file (``train/dev/test.json``) into canonical rows.

    Parameters
    ----------
    path : the JSON file, a list of dialogues.

    Returns
    -------
    AdapterOutput with one row per turn (``agentURL`` included), brand and customer
    hints, and one reject per unreadable dialogue; ``rows_read`` counts rows plus rejects.

    Example
    -------
    >>> out = read(Path("../shared/data/ibm_twitter_customer_care/dev.json"))  # doctest: +SKIP
    >>> out.interactions.num_rows
    1205
    """
    path = require_path(path)
    file = str(path)
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    rejects: list[Reject] = []
    rows: list[dict[str, Any]] = []
    for number, line, dialogue in _records(text, file, rejects):
        try:
            session, turns = _turns(dialogue)
        except _Bad as exc:
            header = dialogue.get("dialogHeader") if isinstance(dialogue, dict) else None
            sid = header.get("sessionID") if isinstance(header, dict) else None
            rejects.append(
                Reject(
                    file,
                    line,
                    f"record {number} (session {sid if isinstance(sid, str | int) else '?'}): {exc}",
                    json.dumps(dialogue, ensure_ascii=False)[:_RAW_CHARS],
                )
            )
            continue
        previous: str | None = None
        client: str | None = None
        clients = [t["name"] for t in turns if t["role"] == "client"]
        for turn in turns:
            native = turn["tweet"] or f"{session}:{turn['number']}"
            iid = f"{PREFIX}:{native}"
            if turn["role"] == "client":
                client = turn["name"]
                other = [turn["company"]]
            else:
                other = [client] if client else clients
            rows.append(
                {**turn, "iid": iid, "session": session, "parent": previous, "other": other}
            )
            previous = iid

    seen: set[str] = set()
    unique = []  # a tweet repeated in a later dialogue keeps its first reading
    for r in rows:
        if r["iid"] not in seen:
            seen.add(r["iid"])
            unique.append(r)
    spelling = _twitter.case_map([r["company"] for r in unique] + [r["name"] for r in unique])
    actors = [f"twitter:{r['name']}" for r in unique]
    n = len(unique)
    table = interactions_table(
        {
            "interaction_id": [r["iid"] for r in unique],
            "source": [SOURCE] * n,
            "channel": ["twitter"] * n,
            "ts": [r["ts"] for r in unique],
            "actor": actors,
            "targets": [
                _twitter.targets(r["other"], r["text"], a, spelling)
                for r, a in zip(unique, actors, strict=True)
            ],
            "conversation_id": [f"{PREFIX}:{r['session']}" for r in unique],
            "in_reply_to": [r["parent"] for r in unique],
            "kind": ["message"] * n,
            "visibility": ["public"] * n,
            "text": [r["text"] for r in unique],
        }
    )
    brand: dict[str, bool] = {}
    for r in unique:
        brand[f"twitter:{r['company']}"] = True
        handle = f"twitter:{r['name']}"
        brand[handle] = brand.get(handle, False) or r["role"] == "agent"
    hints = sorted(brand.items())
    entities = entity_hints(
        {
            "handle": [h for h, _ in hints],
            "kind": ["brand" if b else "person" for _, b in hints],
            "role": ["brand" if b else "customer" for _, b in hints],
        }
    )
    rejects.sort(key=lambda r: r.line or 0)
    return AdapterOutput(table, entities, rejects, rows_read=n + len(rejects))
