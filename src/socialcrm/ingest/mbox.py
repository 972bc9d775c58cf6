"""E-mail mbox files → canonical interactions.

Messages are split by Python's :mod:`mailbox` (every line starting ``From `` opens a
message, the mboxo/mboxrd rule) and parsed with :mod:`email` (RFC 5322 headers,
RFC 2047 encoded words, MIME). Threading follows RFC 5322 §3.6.4: ``In-Reply-To`` names
the parent, ``References`` the chain from the thread's root.

Mapping (one message, one row): ``email:<Message-ID without <>>`` — or, when a
message has none, ``email:<sha1 of From, Date and Subject>`` so a re-import is still
idempotent; source the file's name without extension; channel ``email``, kind
``email``, visibility ``private``; actor ``email:<lower-cased From address>``; targets
the To and Cc addresses the same way (without the sender); ``ts`` the ``Date`` header
in UTC (a date without zone, ``-0000``, is read as UTC); ``in_reply_to`` the first id
of ``In-Reply-To``, else the last of ``References``; ``conversation_id`` the first id
of ``References`` (the thread root), else null — threading then follows
``in_reply_to``, and a root message, null itself, is read as its own id, which is
what its replies carry.

Text is the subject, a blank line and the body: the first ``text/plain`` part that is
not an attachment, decoded with its declared charset (undecodable bytes replaced; an
unknown or missing charset is tried as UTF-8, then Windows-1252); a message with only
HTML gets its first ``text/html`` part with the tags removed.

Entity hints give the display name of each sender (``"Ann Lee" <ann@x.com>``), the
first one seen per address; kind and role stay unset — an mbox does not say who is
staff. A message without a usable ``From`` address or ``Date`` is rejected with its
number in the file ("message N") and the line of its ``From `` separator.
"""

from __future__ import annotations

import hashlib
import mailbox
import re
from datetime import UTC
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path

from socialcrm.ingest.base import (
    AdapterOutput,
    InputError,
    Reject,
    entity_hints,
    interactions_table,
    require_path,
)
from socialcrm.ingest.identities import EMAIL_RE

_MSG_ID = re.compile(r"<([^<>\s]+)>")
_EMAIL = re.compile(EMAIL_RE)
_RAW_CHARS = 200


class _Bad(ValueError):
    """Why one message cannot be read."""


class _Text(HTMLParser):
    """HTML → text: the character data outside ``script`` and ``style``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts)).strip()


def _unescape(text: str) -> str:
    """Undo the surrogate escapes :mod:`email` leaves for raw 8-bit header bytes.

    Such bytes are read as UTF-8 when they are, else as Windows-1252 (see :func:`_decode`);
    without this, the text could not even be stored.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _decode(text.encode("utf-8", "surrogateescape"), None)
    return text


def _decode(payload: bytes, charset: str | None) -> str:
    if charset:
        try:
            return payload.decode(charset, errors="replace")
        except LookupError:  # unknown charset name, e.g. "unknown-8bit"
            pass
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("cp1252", errors="replace")


def _body(msg: EmailMessage) -> str:
    """The first inline text/plain part, else the first text/html part as text."""
    html: str | None = None
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        text = _decode(payload, part.get_content_charset())
        if ctype == "text/plain":
            return text.replace("\r\n", "\n").strip("\n")
        if html is None:
            html = text
    return _html_text(html) if html is not None else ""


def _ids(text: str) -> list[str]:
    """Message ids in a raw header value, without angle brackets, in order."""
    found = _MSG_ID.findall(text)
    if found:
        return found
    bare = text.strip().strip("<>").strip()
    return [bare] if bare and " " not in bare else []


def _addresses(msg: EmailMessage, *names: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) of every address in the headers ``names``.

    A header email's parser cannot read (or reads as empty) still gives its addresses,
    found by pattern.
    """
    out: list[tuple[str, str]] = []
    for name in names:
        try:
            headers = msg.get_all(name) or []
            found = [
                (_unescape(a.display_name.strip()), _unescape(a.addr_spec.strip().lower()))
                for header in headers
                for a in getattr(header, "addresses", ())
            ]
        except Exception:  # the parser's errors on broken headers vary, see _row
            found = []
        found = [(n, a) for n, a in found if "@" in a and not a.startswith("@")]
        if not found:
            raw = _raw_header(msg, name, every=True)
            found = [("", a.lower()) for a in _EMAIL.findall(raw)]
        out.extend(found)
    return out


def _raw_header(msg: EmailMessage, name: str, *, every: bool = False) -> str:
    """A header as written in the file, unfolded (the first, or ``every`` one joined).

    Raw values never raise, and keep what the parsed value of a broken header loses.
    """
    values = [str(v) for k, v in msg.raw_items() if k.lower() == name.lower()]
    return _unescape(" ".join(" ".join(values if every else values[:1]).split()))


def _row(raw: bytes) -> tuple[dict, str]:
    """(canonical values, sender's display name) of one message; raises :class:`_Bad`."""
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        senders = _addresses(msg, "From")
        if not senders:
            raise _Bad(f"no From address (From: {_raw_header(msg, 'From')[:60]!r})")
        name, sender = senders[0]
        date = msg.get("Date")
        when = getattr(date, "datetime", None) if date is not None else None
        if when is None:
            raise _Bad(
                "no Date header"
                if date is None
                else f"Date {_raw_header(msg, 'Date')[:60]!r} is not a date"
            )
        ts = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
        subject = _unescape(str(msg.get("Subject", "") or "").strip())
        own = _ids(_raw_header(msg, "Message-ID"))
        if own:
            native = own[0]
        else:
            key = "\n".join(_raw_header(msg, h) for h in ("From", "Date", "Subject"))
            native = hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()
        references = _ids(_raw_header(msg, "References"))
        parent = (_ids(_raw_header(msg, "In-Reply-To")) or references[-1:] or [None])[0]
        actor = f"email:{sender}"
        targets = list(dict.fromkeys(f"email:{a}" for _, a in _addresses(msg, "To", "Cc")))
        body = _body(msg)
    except _Bad:
        raise
    except Exception as exc:
        # email's header parser raises assorted errors on malformed headers (IndexError,
        # HeaderParseError, even AttributeError "'Group' object has no attribute
        # 'local_part'" for a broken address list): one bad message must not stop the file.
        raise _Bad(f"unreadable message ({type(exc).__name__}: {exc})") from None
    return {
        "interaction_id": f"email:{native}",
        "ts": ts,
        "actor": actor,
        "targets": [t for t in targets if t != actor],
        "conversation_id": f"email:{references[0]}" if references else None,
        "in_reply_to": f"email:{parent}" if parent else None,
        "text": "\n\n".join(p for p in (subject, body) if p) or None,
    }, name


def _separator_lines(path: Path) -> list[int]:
    """Physical line of each ``From `` separator — the rule :mod:`mailbox` splits on."""
    with path.open("rb") as fh:
        return [n for n, line in enumerate(fh, start=1) if line.startswith(b"From ")]


def read(path: Path) -> AdapterOutput:
    """Read an mbox file into canonical e-mail interactions.

    Parameters
    ----------
    path : an mbox file (Thunderbird, Gmail Takeout, ``mutt``, mailing-list archives).

    Returns
    -------
    AdapterOutput with one row per readable message, sender display names as entity
    hints, and one reject per message without a From address or a Date.

    Example
    -------
    >>> out = read(Path("inbox.mbox"))  # doctest: +SKIP
    >>> out.interactions.column("source")[0].as_py()
    'inbox'
    """
    path = require_path(path)
    file = str(path)
    starts = _separator_lines(path)
    box = mailbox.mbox(path, create=False)
    try:
        keys = list(box.keys())
        if not keys and path.stat().st_size and path.read_bytes().strip():
            raise InputError(
                f"{file}: not an mbox file: no line starts with 'From ' (each message in an"
                " mbox begins with a 'From sender date' line)"
            )
        rows: list[dict] = []
        rejects: list[Reject] = []
        names: dict[str, str] = {}
        for number, key in enumerate(keys, start=1):
            raw = box.get_bytes(key)
            line = starts[number - 1] if number <= len(starts) else None
            try:
                row, name = _row(raw)
            except _Bad as exc:
                rejects.append(
                    Reject(
                        file,
                        line,
                        f"message {number}: {exc}",
                        raw[:_RAW_CHARS].decode("utf-8", "replace"),
                    )
                )
                continue
            rows.append(row)
            if name:
                names.setdefault(row["actor"], name)
    finally:
        box.close()

    n = len(rows)
    columns: dict[str, list] = {k: [r[k] for r in rows] for k in rows[0]} if rows else {}
    table = interactions_table(
        {
            **columns,
            "interaction_id": [r["interaction_id"] for r in rows],
            "source": [path.stem] * n,
            "channel": ["email"] * n,
            "kind": ["email"] * n,
            "visibility": ["private"] * n,
        }
    )
    entities = entity_hints({"handle": list(names), "display_name": list(names.values())})
    return AdapterOutput(table, entities, rejects, rows_read=n + len(rejects))
