"""The mbox adapter on a small realistic mailbox built with Python's email library.

No mbox ships in shared data, so the fixture writes one the way mail clients do:
a support thread with Message-ID / In-Reply-To / References, a multipart reply with an
HTML alternative and an attachment, a Latin-1 reply with an encoded subject, a message
without Message-ID, and two broken messages.
"""

from __future__ import annotations

import mailbox
import re
from datetime import datetime
from email.message import EmailMessage
from email.mime.text import MIMEText
from pathlib import Path

import pytest

from socialcrm.ingest import mbox
from socialcrm.ingest.base import INTERACTION_SCHEMA, InputError


def _plain(headers: dict[str, str], body: str) -> EmailMessage:
    msg = EmailMessage()
    for k, v in headers.items():
        msg[k] = v
    msg.set_content(body)
    return msg


@pytest.fixture
def support_mbox(tmp_path: Path) -> Path:
    root = _plain(
        {
            "From": "Ann Lee <Ann.Lee@Example.com>",
            "To": "Acme Support <support@acme.example>",
            "Cc": "Bob Stone <BOB@example.org>",
            "Subject": "Router keeps dropping",
            "Date": "Mon, 02 Mar 2020 10:00:00 +0100",
            "Message-ID": "<root-1@example.com>",
        },
        "Hi,\nmy router drops the connection every hour.\nAnn",
    )
    reply = EmailMessage()
    reply["From"] = "Acme Support <support@acme.example>"
    reply["To"] = "Ann Lee <ann.lee@example.com>"
    reply["Subject"] = "Re: Router keeps dropping"
    reply["Date"] = "Mon, 02 Mar 2020 09:30:00 -0500"
    reply["Message-ID"] = "<reply-2@acme.example>"
    reply["In-Reply-To"] = "<root-1@example.com>"
    reply["References"] = "<root-1@example.com>"
    reply.set_content("Please update the firmware.\n-- Acme")
    reply.add_alternative("<p>Please <b>update</b> the firmware.</p>", subtype="html")
    reply.add_attachment(
        b"%PDF-1.4 guide", maintype="application", subtype="pdf", filename="guide.pdf"
    )
    latin = MIMEText("Merci, ça marche à nouveau.", "plain", "iso-8859-1")
    latin["From"] = "=?iso-8859-1?q?Ann_L=E9e?= <ann.lee@example.com>"
    latin["To"] = "support@acme.example"
    latin["Subject"] = "=?iso-8859-1?q?Re=3A_=E7a_marche?="
    latin["Date"] = "Tue, 03 Mar 2020 08:15:00 +0000"
    latin["Message-ID"] = "<thanks-3@example.com>"
    latin["References"] = "<root-1@example.com> <reply-2@acme.example>"
    no_from = _plain(
        {
            "To": "support@acme.example",
            "Subject": "who am I",
            "Date": "Tue, 03 Mar 2020 09:00:00 +0000",
            "Message-ID": "<nofrom-4@example.com>",
        },
        "anonymous",
    )
    bad_date = MIMEText("no idea", "plain", "utf-8")  # compat32 keeps the raw Date
    bad_date["From"] = "eve@example.net"
    bad_date["To"] = "support@acme.example"
    bad_date["Subject"] = "when?"
    bad_date["Date"] = "sometime last week"
    bad_date["Message-ID"] = "<baddate-5@example.net>"
    html_only = EmailMessage()
    html_only["From"] = "newsletter@shop.example"
    html_only["To"] = "ann.lee@example.com"
    html_only["Subject"] = "Spring sale"
    html_only["Date"] = "Wed, 04 Mar 2020 12:00:00 +0000"
    html_only.set_content(
        "<html><style>p {}</style><p>20% off</p><p>this week</p></html>", subtype="html"
    )
    # Raw 8-bit headers in UTF-8 and a Windows-1252 body, as old clients send them.
    raw_8bit = (
        "From: Jürgen Groß <j.gross@example.de>\nTo: support@acme.example\n"
        "Subject: Grüße\nDate: Thu, 05 Mar 2020 07:00:00 +0100\nMessage-ID: <gruss-7@example.de>\n"
        "Content-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: 8bit\n\n"
    ).encode() + "Danke – es läuft.\n".encode("cp1252")
    # Address lists Python's header parser raises on (AttributeError, IndexError).
    broken_lists = (
        b"From: Carl <carl@example.com>\nTo: undisclosed-recipients:; <ops@acme.example>\n"
        b"Cc: billing@acme.example, :;\nSubject: invoice\n"
        b"Date: Fri, 06 Mar 2020 10:00:00 +0000\nMessage-ID: <inv-8@example.com>\n\nsee above\n"
    )
    path = tmp_path / "support.mbox"
    box = mailbox.mbox(path)
    for msg in (root, reply, latin, no_from, bad_date, html_only, raw_8bit, broken_lists):
        box.add(msg)
    box.close()
    return path


def _rows(out: mbox.AdapterOutput) -> dict[str, dict]:
    return {r["interaction_id"]: r for r in out.interactions.to_pylist()}


def test_thread_maps_to_canonical_emails(support_mbox: Path) -> None:
    out = mbox.read(support_mbox)
    assert out.interactions.schema == INTERACTION_SCHEMA
    assert out.interactions.num_rows == 6
    assert out.rows_read == 8
    rows = _rows(out)
    root = rows["email:root-1@example.com"]
    assert root["actor"] == "email:ann.lee@example.com"
    assert root["targets"] == ["email:support@acme.example", "email:bob@example.org"]
    assert root["ts"] == datetime(2020, 3, 2, 9, 0)  # 10:00 +0100 in UTC
    assert (root["source"], root["channel"], root["kind"], root["visibility"]) == (
        "support",
        "email",
        "email",
        "private",
    )
    assert root["in_reply_to"] is None and root["conversation_id"] is None
    assert root["text"] == (
        "Router keeps dropping\n\nHi,\nmy router drops the connection every hour.\nAnn"
    )

    reply = rows["email:reply-2@acme.example"]
    assert reply["in_reply_to"] == "email:root-1@example.com"
    assert reply["conversation_id"] == "email:root-1@example.com"
    assert reply["ts"] == datetime(2020, 3, 2, 14, 30)
    assert reply["text"] == "Re: Router keeps dropping\n\nPlease update the firmware.\n-- Acme"
    assert "PDF" not in reply["text"]

    thanks = rows["email:thanks-3@example.com"]
    assert thanks["text"] == "Re: ça marche\n\nMerci, ça marche à nouveau."
    assert thanks["in_reply_to"] == "email:reply-2@acme.example"  # last of References
    assert thanks["conversation_id"] == "email:root-1@example.com"  # first of References
    assert thanks["actor"] == "email:ann.lee@example.com"

    gruss = rows["email:gruss-7@example.de"]
    assert gruss["text"] == "Grüße\n\nDanke – es läuft."
    assert gruss["ts"] == datetime(2020, 3, 5, 6, 0)
    # Unparsable address lists still yield their addresses (found by pattern).
    assert rows["email:inv-8@example.com"]["targets"] == [
        "email:ops@acme.example",
        "email:billing@acme.example",
    ]


def test_message_without_id_gets_a_stable_hash(support_mbox: Path) -> None:
    first = mbox.read(support_mbox)
    (hashed,) = [i for i in _rows(first) if "@" not in i]
    assert re.fullmatch(r"email:[0-9a-f]{40}", hashed)
    assert hashed in _rows(mbox.read(support_mbox))  # same id on re-import
    news = _rows(first)[hashed]
    assert news["text"] == "Spring sale\n\n20% off\nthis week"  # HTML only: tags removed


def test_display_names_become_hints(support_mbox: Path) -> None:
    hints = {h["handle"]: h for h in mbox.read(support_mbox).entities.to_pylist()}
    assert hints["email:ann.lee@example.com"]["display_name"] == "Ann Lee"  # first seen
    assert hints["email:support@acme.example"]["display_name"] == "Acme Support"
    assert hints["email:j.gross@example.de"]["display_name"] == "Jürgen Groß"  # raw 8-bit
    assert "email:newsletter@shop.example" not in hints  # no display name given
    assert hints["email:ann.lee@example.com"]["role"] is None  # an mbox does not say


def test_broken_messages_are_rejected_with_number_and_line(support_mbox: Path) -> None:
    out = mbox.read(support_mbox)
    lines = support_mbox.read_text(encoding="utf-8", errors="replace").split("\n")
    separators = [n for n, line in enumerate(lines, start=1) if line.startswith("From ")]
    assert len(separators) == 8
    got = {r.reason.split(":")[0]: r for r in out.rejects}
    assert sorted(got) == ["message 4", "message 5"]
    assert got["message 4"].line == separators[3]
    assert "no From address" in got["message 4"].reason
    assert got["message 5"].line == separators[4]
    assert "Date 'sometime last week' is not a date" in got["message 5"].reason
    assert {r.file for r in out.rejects} == {str(support_mbox)}


def test_not_an_mbox(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some text\nno separators\n", encoding="utf-8")
    with pytest.raises(InputError, match="not an mbox file"):
        mbox.read(path)
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"")
    assert mbox.read(empty).interactions.num_rows == 0
