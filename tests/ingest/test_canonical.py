"""The canonical file format (CSV, JSON Lines, Parquet): types, defaults and bad input.

The rows are what a call-centre, e-mail-log or meeting-notes export looks like: phone
calls with their duration in ``value``, IVR sessions, e-mails, meetings, a forum post.
Every bad-input case of issue 2 is here: each reject is reported with its physical line
and reason, the valid rows of the same file are stored, the rejects are quarantined, and
re-importing the same file adds nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from socialcrm import Workspace
from socialcrm.cli import app
from socialcrm.ingest.base import InputError

SOCIALCRM = Path(sys.executable).with_name("socialcrm")


@pytest.fixture
def ws(tmp_path: Path):
    workspace = Workspace(tmp_path / "crm.duckdb")
    yield workspace
    workspace.close()


def stored(ws: Workspace, source: str | None = None) -> dict[str, dict]:
    """Stored interactions by id, as dicts."""
    where = "" if source is None else f"WHERE source = '{source}'"
    rows = ws.query(f"SELECT * FROM interactions {where} ORDER BY interaction_id").to_pylist()
    return {r["interaction_id"]: r for r in rows}


def quarantined(ws: Workspace) -> list[tuple[int, str]]:
    return [
        (r["line"], r["reason"])
        for r in ws.query("SELECT line, reason FROM quarantine ORDER BY line").to_pylist()
    ]


def utc(text: str) -> datetime:
    """A naive UTC datetime, the way the store keeps ``ts``."""
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def flat(text: str) -> str:
    """CLI output with Rich's line wrapping undone."""
    return " ".join(text.split())


CALLCENTRE_CSV = """\
interaction_id,ts,channel,actor,targets,kind,visibility,text,value
CALL-1001,2024-03-04T09:15:00+01:00,phone,phone:+4512345678,agent:mette,call,,Asks about invoice 2024-117,312.5
IVR-2001,1709543700,ivr,phone:+4512345678,,,,Pressed 2 (billing),45
MAIL-3001,2024-03-04T10:02:11-05:00,email,email:Ann.Berg@example.com,email:support@acme.com;email:billing@acme.com,email,,"Subject: refund, please",
MEET-4001,2024-03-05T14:00:00Z,MEETING,employee:lars,employee:mette ; email:ann.berg@example.com,meeting,,Quarterly review,3600
FORUM-5001,2024-03-06T08:00:00+00:00,forum,forum:annb,,post,,Is there a fix for the login bug?,
CHAT-6001,2024-03-06T08:30:00+00:00,chat,chat:visitor-9,,,public,Hi,
"""


def test_csv_rows_are_stored_with_types_and_defaults(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "callcentre.csv"
    path.write_text(CALLCENTRE_CSV)
    (report,) = ws.ingest("canonical", [path])
    assert (report.rows_read, report.rows_inserted, report.rows_rejected) == (6, 6, 0)

    rows = stored(ws)
    assert set(rows) == {
        "callcentre:CALL-1001",
        "callcentre:IVR-2001",
        "callcentre:MAIL-3001",
        "callcentre:MEET-4001",
        "callcentre:FORUM-5001",
        "callcentre:CHAT-6001",
    }
    call = rows["callcentre:CALL-1001"]
    assert call["source"] == "callcentre"  # the file's stem
    assert call["ts"] == datetime(2024, 3, 4, 8, 15)  # +01:00 converted to UTC
    assert call["targets"] == ["agent:mette"]
    assert call["kind"] == "call"
    assert call["visibility"] == "private"  # phone is a private channel
    assert call["value"] == pytest.approx(312.5)  # call duration, a DOUBLE

    ivr = rows["callcentre:IVR-2001"]
    assert ivr["ts"] == datetime.fromtimestamp(1709543700, UTC).replace(tzinfo=None)
    assert ivr["kind"] == "message"  # default kind
    assert ivr["targets"] == []
    assert isinstance(ivr["value"], float) and ivr["value"] == 45.0

    mail = rows["callcentre:MAIL-3001"]
    assert mail["ts"] == utc("2024-03-04T10:02:11-05:00") == datetime(2024, 3, 4, 15, 2, 11)
    assert mail["targets"] == ["email:support@acme.com", "email:billing@acme.com"]
    assert mail["text"] == "Subject: refund, please"
    assert mail["value"] is None

    meeting = rows["callcentre:MEET-4001"]
    assert meeting["channel"] == "meeting"  # channel names are case-insensitive
    assert meeting["targets"] == ["employee:mette", "email:ann.berg@example.com"]
    assert meeting["value"] == 3600.0

    assert rows["callcentre:FORUM-5001"]["visibility"] == "public"  # forum: public by default
    assert rows["callcentre:CHAT-6001"]["visibility"] == "public"  # explicit beats default

    types = dict(
        ws.con.execute("SELECT column_name, column_type FROM (DESCRIBE interactions)").fetchall()
    )
    assert types["ts"] == "TIMESTAMP" and types["value"] == "DOUBLE"
    assert types["targets"] == "VARCHAR[]"


def test_jsonl_lists_unix_seconds_and_explicit_source(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "email-log.jsonl"
    records = [
        {
            "interaction_id": "m-1",
            "ts": "2024-05-01T12:00:00+02:00",
            "channel": "email",
            "actor": "email:ann@example.com",
            "targets": ["email:support@acme.com", "email:sales@acme.com"],
            "kind": "email",
            "text": "Where is my order #5521?",
        },
        {
            "interaction_id": "m-2",
            "ts": 1714564800,
            "channel": "email",
            "actor": "email:support@acme.com",
            "targets": ["email:ann@example.com"],
            "in_reply_to": "m-1",
            "kind": "email",
            "value": 2,
        },
        {
            "interaction_id": "crm:77",
            "source": "crm",
            "ts": "2024-05-02T09:00:00Z",
            "channel": "phone",
            "actor": "phone:+4511111111",
            "value": "95.5",
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    (report,) = ws.ingest("canonical", [path])
    assert (report.rows_inserted, report.rows_rejected) == (3, 0)

    rows = stored(ws)
    assert set(rows) == {"email-log:m-1", "email-log:m-2", "crm:77"}
    first, reply = rows["email-log:m-1"], rows["email-log:m-2"]
    assert first["ts"] == datetime(2024, 5, 1, 10, 0)
    assert first["targets"] == ["email:support@acme.com", "email:sales@acme.com"]
    assert reply["ts"] == datetime(2024, 5, 1, 12, 0)  # 1714564800 Unix seconds
    assert reply["in_reply_to"] == "email-log:m-1"  # references are prefixed like ids
    assert reply["conversation_id"] == "email-log:m-1"
    assert reply["value"] == 2.0
    # An id already carrying its source is not prefixed twice.
    assert rows["crm:77"]["source"] == "crm" and rows["crm:77"]["value"] == 95.5
    assert rows["crm:77"]["targets"] == [] and rows["crm:77"]["visibility"] == "private"


def test_parquet_timezones_lists_and_unix_seconds(ws: Workspace, tmp_path: Path) -> None:
    meetings = pa.table(
        {
            "interaction_id": ["MTG-1", "MTG-2"],
            "ts": pa.array(
                [datetime(2024, 6, 3, 9, 0, tzinfo=UTC), datetime(2024, 6, 4, 13, 30, tzinfo=UTC)],
                type=pa.timestamp("us", tz="Europe/Copenhagen"),
            ),
            "channel": ["meeting", "meeting"],
            "actor": ["employee:lars", "employee:mette"],
            "targets": pa.array(
                [["email:ann@example.com", "employee:mette"], []], type=pa.list_(pa.string())
            ),
            "kind": ["meeting", "meeting"],
            "text": ["Onboarding call notes", "Renewal negotiation"],
            "value": [1800.0, 2700.0],
        }
    )
    pq.write_table(meetings, tmp_path / "meeting-notes.parquet")
    ivr = pa.table(
        {
            "interaction_id": pa.array([1, 2], type=pa.int64()),
            "ts": pa.array([1717405200, 1717405260], type=pa.int64()),
            "channel": ["ivr", "ivr"],
            "actor": ["phone:+4522222222", "phone:+4533333333"],
            "value": pa.array([12, 75], type=pa.int32()),
        }
    )
    pq.write_table(ivr, tmp_path / "ivr.parquet")
    reports = ws.ingest("canonical", [tmp_path / "meeting-notes.parquet", tmp_path / "ivr.parquet"])
    assert [r.rows_inserted for r in reports] == [2, 2]

    rows = stored(ws)
    m1 = rows["meeting-notes:MTG-1"]
    assert m1["ts"] == datetime(2024, 6, 3, 9, 0)  # a zoned timestamp is stored in UTC
    assert m1["targets"] == ["email:ann@example.com", "employee:mette"]
    assert m1["value"] == 1800.0 and m1["visibility"] == "private"
    assert rows["meeting-notes:MTG-2"]["targets"] == []
    i1 = rows["ivr:1"]
    assert i1["ts"] == datetime.fromtimestamp(1717405200, UTC).replace(tzinfo=None)
    assert i1["value"] == 12.0 and i1["kind"] == "message" and i1["source"] == "ivr"


# Physical lines: 1 header, 2-4 a call whose note spans three lines, 5 bad ts, 6 invalid
# UTF-8, 7 a 3 MB note, 8 one column too many, 9-10 a two-line e-mail, 11 unknown channel,
# 12 non-numeric value, 13 valid, 14 one column short, 15 valid, 16 unterminated quote
# (which swallows line 17).
HUGE = "x" * 3_000_000
BAD_LINES = [
    b"interaction_id,ts,channel,actor,targets,kind,value,text",
    b'C1,2024-03-01T09:15:00+01:00,phone,phone:+4512345678,agent:mette,call,312,"Customer says:\n'
    b'the invoice is wrong\nand wants a call back"',
    b"C2,yesterday,phone,phone:+4512345678,,call,60,",
    b'C3,2024-03-01T10:00:00Z,email,email:ann@example.com,,email,,"caf\xe9 au lait"',
    b'C4,2024-03-01T10:05:00Z,email,email:ann@example.com,,email,,"' + HUGE.encode() + b'"',
    b"C5,2024-03-01T10:06:00Z,email,email:ann@example.com,,email,,ok,surplus",
    b'C6,2024-03-01T10:07:00Z,email,email:ann@example.com,email:support@acme.com,email,,"Hello,\n'
    b'regards, Ann"',
    b"C7,2024-03-01T10:08:00Z,fax,fax:+4599999999,,message,,",
    b"C8,2024-03-01T10:09:00Z,phone,phone:+4512345678,,call,ten minutes,",
    b"C9,2024-03-01T10:10:00Z,sms,sms:+4512345678,,message,,thanks",
    b"C10,2024-03-01T10:11:00Z,sms",
    b"C11,2024-03-01T10:12:00Z,ivr,phone:+4512345678,,message,30,",
    b'C12,2024-03-01T10:13:00Z,sms,sms:+4512345678,,message,,"never closed',
    b"C13,2024-03-01T10:14:00Z,sms,sms:+4512345678,,message,,lost",
]


def write_bad_csv(path: Path) -> Path:
    path.write_bytes(b"\n".join(BAD_LINES) + b"\n")
    return path


def test_bad_csv_rows_are_reported_by_physical_line(ws: Workspace, tmp_path: Path) -> None:
    path = write_bad_csv(tmp_path / "calls.csv")
    (report,) = ws.ingest("canonical", [path])

    assert set(stored(ws)) == {"calls:C1", "calls:C6", "calls:C9", "calls:C11"}
    assert stored(ws)["calls:C1"]["text"].count("\n") == 2  # the multi-line note is intact
    reasons = dict(quarantined(ws))
    assert sorted(reasons) == [5, 6, 7, 8, 11, 12, 14, 16]
    assert "'yesterday' is neither ISO 8601 nor Unix seconds" in reasons[5]
    assert "not utf-8" in reasons[6].lower()
    assert "text longer than 1,000,000 characters" in reasons[7]
    assert "too many columns" in reasons[8]
    assert "unknown channel 'fax'" in reasons[11]
    assert "value 'ten minutes' is not a number" in reasons[12]
    assert "missing columns" in reasons[14]
    assert "unterminated quote" in reasons[16] and "fix the quote" in reasons[16]
    assert report.rows_inserted == 4
    assert report.rows_rejected == 8
    assert {(r.line, r.file) for r in report.rejects} == {(line, str(path)) for line in reasons}
    files = ws.query("SELECT DISTINCT file, import_id FROM quarantine").to_pylist()
    assert files == [{"file": str(path), "import_id": report.import_id}]


def test_truncated_last_line_is_rejected_and_the_rest_kept(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"\n".join([*BAD_LINES[:2], BAD_LINES[9], b"C99,2024-03-01T11:"]))
    (report,) = ws.ingest("canonical", [path])
    assert set(stored(ws)) == {"export:C1", "export:C9"}
    assert report.rows_rejected == 1
    ((line, reason),) = quarantined(ws)
    assert line == 6 and "missing columns" in reason


def test_reimport_adds_nothing(ws: Workspace, tmp_path: Path) -> None:
    path = write_bad_csv(tmp_path / "calls.csv")
    first = ws.ingest("canonical", [path])[0]
    counts = ws.status()
    second = ws.ingest("canonical", [path])[0]
    assert first.rows_inserted == 4
    assert (second.rows_inserted, second.rows_duplicate, second.rows_rejected) == (0, 4, 8)
    after = ws.status()
    for key in ("interactions", "quarantined", "entities", "identities", "conversations"):
        assert after[key] == counts[key], key
    assert len(after["imports"]) == 2


def test_repeated_id_in_one_file_keeps_the_first(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "chat.csv"
    path.write_text(
        "interaction_id,ts,channel,actor,text\n"
        + "".join(f"x{i},2024-01-01T00:00:0{i}Z,chat,chat:u{i},text {i}\n" for i in range(5))
        + "x1,2024-01-02T00:00:00Z,chat,chat:u1,repeat one\n"
        + "x3,2024-01-02T00:00:00Z,chat,chat:u3,repeat three\n"
    )
    (report,) = ws.ingest("canonical", [path])
    assert (report.rows_inserted, report.rows_duplicate) == (5, 2)
    texts = {k: v["text"] for k, v in stored(ws).items()}
    assert texts == {f"chat:x{i}": f"text {i}" for i in range(5)}


def test_bad_jsonl_lines(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    good = {"ts": "2024-02-01T10:00:00Z", "channel": "meeting", "actor": "employee:lars"}
    path.write_bytes(
        b"\n".join(
            [
                json.dumps({"interaction_id": "n1", **good}).encode(),
                b'{"interaction_id": "n2", "ts": ',  # truncated record
                b"[1, 2, 3]",
                json.dumps({"interaction_id": "n3", **good, "text": "caf\u00e9"}).encode(),
                b'{"interaction_id": "n4", "text": "caf\xe9"}',  # latin-1 byte
                json.dumps({"interaction_id": "n5", **good, "channel": "pigeon"}).encode(),
                json.dumps({"interaction_id": "n6", **good, "ts": "soon"}).encode(),
            ]
        )
    )
    (report,) = ws.ingest("canonical", [path])
    assert set(stored(ws)) == {"notes:n1", "notes:n3"}
    assert stored(ws)["notes:n3"]["text"] == "café"
    reasons = dict(quarantined(ws))
    assert sorted(reasons) == [2, 3, 5, 6, 7]
    assert reasons[2].startswith("invalid JSON")
    assert "JSON object" in reasons[3]
    assert "not UTF-8" in reasons[5]
    assert "unknown channel 'pigeon'" in reasons[6]
    assert "'soon' is neither ISO 8601 nor Unix seconds" in reasons[7]
    assert report.rows_rejected == 5


def test_bad_parquet_rows_are_numbered_by_row(ws: Workspace, tmp_path: Path) -> None:
    table = pa.table(
        {
            "interaction_id": ["p1", "p2", "p3", None],
            "ts": ["2024-01-01T00:00:00+01:00", "2024-01-01T01:00:00Z", "later", "2024-01-01"],
            "channel": ["phone", "carrier-pigeon", "phone", "phone"],
            "actor": ["phone:+45", "phone:+45", "phone:+45", "phone:+45"],
            "value": ["10", "20", "30", "40"],
        }
    )
    pq.write_table(table, tmp_path / "calls.parquet")
    (report,) = ws.ingest("canonical", [tmp_path / "calls.parquet"])
    assert set(stored(ws)) == {"calls:p1"}
    assert stored(ws)["calls:p1"]["ts"] == datetime(2023, 12, 31, 23, 0)
    reasons = dict(quarantined(ws))
    assert sorted(reasons) == [2, 3, 4]
    assert "unknown channel 'carrier-pigeon'" in reasons[2]
    assert "'later'" in reasons[3]
    assert reasons[4] == "missing interaction_id"
    assert report.rows_rejected == 3


def test_timestamps_outside_years_1_to_9999_are_rejected(ws: Workspace, tmp_path: Path) -> None:
    # Unix seconds of year 33658, of 29720 BC and beyond BIGINT microseconds: each row is
    # rejected with its reason (never an overflow error that aborts the whole file).
    path = tmp_path / "calls.csv"
    path.write_text(
        "interaction_id,ts,channel,actor\n"
        "c1,1714564800,phone,phone:+45\n"
        "c2,1e12,phone,phone:+45\n"
        "c3,-1e12,phone,phone:+45\n"
        "c4,9e30,phone,phone:+45\n"
        "c5,253402300799,phone,phone:+45\n"
    )
    numbers = pa.table(
        {
            "interaction_id": ["n1", "n2"],
            "ts": [1714564800.0, 1e13],
            "channel": ["chat", "chat"],
            "actor": ["chat:a", "chat:a"],
        }
    )
    pq.write_table(numbers, tmp_path / "chats.parquet")

    reports = ws.ingest("canonical", [path, tmp_path / "chats.parquet"])

    assert set(stored(ws)) == {"calls:c1", "calls:c5", "chats:n1"}
    assert stored(ws)["calls:c5"]["ts"] == datetime(9999, 12, 31, 23, 59, 59)
    reasons = quarantined(ws)
    assert [line for line, _ in reasons] == [2, 3, 4, 5]  # csv lines 3-5, parquet row 2
    assert all("of the years 1 to 9999" in reason for _, reason in reasons)
    assert [r.rows_rejected for r in reports] == [3, 1]


def test_missing_required_column_is_a_clear_error(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "crm-export.csv"
    path.write_text("id,ts,channel,actor\n1,2024-01-01T00:00:00Z,phone,phone:+45\n")
    with pytest.raises(
        InputError, match=r"crm-export\.csv: missing required column\(s\) interaction_id"
    ):
        ws.ingest("canonical", [path])
    assert ws.status()["interactions"] == 0
    assert ws.status()["imports"] == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "crm-export.csv",
            b"id,ts,channel,actor\n1,2024-01-01,phone,x\n",
            "missing required column(s) interaction_id",
        ),
        ("empty.csv", b"", "empty file"),
        ("latin1.csv", b"interaction_id,ts,channel,actor,r\xe9sum\xe9\n", "is not UTF-8"),
        ("twice.csv", b"interaction_id,ts,channel,actor,ts\n", "repeats column(s) ts"),
        ("broken.parquet", b"PAR1 this is not parquet", "not a readable Parquet file"),
        ("notes.txt", b"hello", "unknown extension '.txt'"),
    ],
)
def test_cli_whole_file_errors_exit_cleanly(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    db = tmp_path / "crm.duckdb"
    result = CliRunner().invoke(app, ["ingest", "canonical", str(path), "--db", str(db)])
    assert result.exit_code == 1
    assert message in flat(result.output)
    assert str(path) in flat(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_subprocess_reports_without_traceback(tmp_path: Path) -> None:
    """The real console script: a missing column and a bad row, no traceback."""
    missing = tmp_path / "crm-export.csv"
    missing.write_text("id,ts,channel,actor\n1,2024-01-01T00:00:00Z,phone,phone:+45\n")
    bad = write_bad_csv(tmp_path / "calls.csv")
    db = tmp_path / "crm.duckdb"
    out = subprocess.run(
        [str(SOCIALCRM), "ingest", "canonical", str(bad), str(missing), "--db", str(db)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "Traceback" not in text
    assert f"error: {missing}: missing required column(s) interaction_id" in flat(text)
    assert f"{bad}:11: unknown channel 'fax'" in flat(text)  # the good file's rejects still shown
    assert "stored 4" in flat(text)


def test_a_bad_field_in_a_column_validation_does_not_read_is_still_quarantined(
    ws: Workspace, tmp_path: Path
) -> None:
    """A clean-looking CSV is checked from a view and inserted by a second read; a field
    that is not UTF-8 in ``targets`` (which no validation rule reads) must still be found
    by the check, so the row is quarantined and the others stored."""
    path = tmp_path / "chat.csv"
    path.write_bytes(
        b"interaction_id,ts,channel,actor,targets,in_reply_to,text\n"
        b"a1,2024-03-01T10:00:00Z,chat,chat:u1,chat:u2,,hello\n"
        b"a2,2024-03-01T10:01:00Z,chat,chat:u2,chat:caf\xe9,a1,hi\n"
        b"a3,2024-03-01T10:02:00Z,chat,chat:u1,chat:u2,a2,ok\n"
    )
    (report,) = ws.ingest("canonical", [path])
    assert (report.rows_read, report.rows_inserted, report.rows_rejected) == (3, 2, 1)
    assert set(stored(ws)) == {"chat:a1", "chat:a3"}
    ((line, reason),) = quarantined(ws)
    assert line == 3 and "invalid encoding" in reason
