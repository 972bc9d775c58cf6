"""The canonical file format: CSV, JSON Lines or Parquet (chosen by extension).

This is the contract with every CRM, call-centre or warehouse export (DESIGN.md):
required ``interaction_id``, ``ts`` (ISO 8601 with offset, or Unix seconds),
``channel``, ``actor``; optional ``source`` (default: the file's stem),
``targets`` (``;``-separated in CSV, a list in JSON Lines/Parquet),
``conversation_id``, ``in_reply_to``, ``kind`` (default ``message``),
``visibility`` (default public on forum/twitter/facebook/blog/review, private
otherwise), ``text`` and ``value``.

CSV and Parquet are read by DuckDB itself, never row by row in Python, which is
what keeps a 10-million-row import within a small factor of a bare ``COPY``.
``interaction_id`` is prefixed with ``source`` unless it already starts with it,
so ids from different systems never collide and a re-import is idempotent.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import duckdb
import pyarrow as pa

from socialcrm.ingest.base import InputError, Reject, interactions_table, require_path
from socialcrm.ingest.loader import REASON_SQL, ImportReport, commit_staged, stage_arrow
from socialcrm.store.schema import PUBLIC_CHANNELS

REQUIRED = ("interaction_id", "ts", "channel", "actor")
OPTIONAL = (
    "source",
    "targets",
    "conversation_id",
    "in_reply_to",
    "kind",
    "visibility",
    "text",
    "value",
)
MAX_LINE_BYTES = 8_000_000
_PUBLIC = ", ".join(f"'{c}'" for c in PUBLIC_CHANNELS)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ts_expr(col: str, dtype: str) -> tuple[str, str]:
    """SQL for (ts as naive UTC TIMESTAMP, reason when it cannot be read)."""
    if dtype.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"CAST({col} AS TIMESTAMP)", "NULL"
    if dtype.startswith("TIMESTAMP") or dtype == "DATE":
        return f"CAST({col} AS TIMESTAMP)", "NULL"
    if dtype in ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT", "UBIGINT", "DECIMAL"):
        secs = f"CAST({col} AS DOUBLE)"
    else:
        secs = f"TRY_CAST({col} AS DOUBLE)"
    raw = f"CAST({col} AS VARCHAR)"
    ts = (
        f"CASE WHEN {secs} BETWEEN -62135596800 AND 253402300799"
        f" THEN make_timestamp(CAST({secs} * 1e6 AS BIGINT))"
        f" ELSE CAST(TRY_CAST({raw} AS TIMESTAMPTZ) AS TIMESTAMP) END"
    )
    err = (
        f"CASE WHEN {col} IS NULL OR trim({raw}) = '' THEN 'missing ts'"
        f" ELSE 'ts ''' || left({raw}, 60) || ''' is neither ISO 8601 nor Unix seconds' END"
    )
    return ts, err


def _select_canonical(columns: dict[str, str], source: str) -> str:
    """The projection from a file's columns to canonical ones, with defaults."""
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InputError(
            f"missing required column(s) {', '.join(missing)}; found {', '.join(columns) or 'none'}"
            f" (required: {', '.join(REQUIRED)})"
        )

    def col(name: str, default: str = "NULL") -> str:
        return f"CAST({_q(name)} AS VARCHAR)" if name in columns else default

    def text(name: str) -> str:
        return f"nullif(trim({col(name)}), '')"

    src = f"coalesce({text('source')}, '{source.replace(chr(39), chr(39) * 2)}')"
    ts, ts_err = _ts_expr(_q("ts"), columns["ts"])
    if "targets" not in columns:
        targets = "CAST([] AS VARCHAR[])"
    elif columns["targets"].endswith("[]"):
        targets = f"list_filter(CAST({_q('targets')} AS VARCHAR[]), lambda x: trim(x) <> '')"
    else:
        targets = (
            f"list_filter(list_transform(string_split(coalesce({col('targets')}, ''), ';'),"
            f" lambda x: trim(x)), lambda x: x <> '')"
        )
    if "value" in columns:
        value = f"TRY_CAST({_q('value')} AS DOUBLE)"
        value_err = (
            f"CASE WHEN {_q('value')} IS NOT NULL AND trim(CAST({_q('value')} AS VARCHAR)) <> ''"
            f" AND {value} IS NULL THEN 'value ''' || left(CAST({_q('value')} AS VARCHAR), 60)"
            f" || ''' is not a number' END"
        )
    else:
        value, value_err = "CAST(NULL AS DOUBLE)", "CAST(NULL AS VARCHAR)"
    channel = f"lower({text('channel')})"

    def prefixed(name: str) -> str:
        v = text(name)
        return f"CASE WHEN starts_with({v}, {src} || ':') THEN {v} ELSE {src} || ':' || {v} END"

    return f"""
        {prefixed("interaction_id")} AS interaction_id,
        {src} AS source,
        {channel} AS channel,
        {ts} AS ts,
        {text("actor")} AS actor,
        {targets} AS targets,
        CASE WHEN {text("conversation_id")} IS NULL THEN NULL
             ELSE {prefixed("conversation_id")} END AS conversation_id,
        CASE WHEN {text("in_reply_to")} IS NULL THEN NULL
             ELSE {prefixed("in_reply_to")} END AS in_reply_to,
        coalesce(lower({text("kind")}), 'message') AS kind,
        coalesce(lower({text("visibility")}),
                 CASE WHEN {channel} IN ({_PUBLIC}) THEN 'public' ELSE 'private' END) AS visibility,
        {col("text")} AS text,
        {value} AS value,
        CASE WHEN {ts} IS NULL THEN {ts_err} END AS _ts_error,
        {value_err} AS _value_error
    """


def _delimiter(path: Path) -> str:
    return "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else ","


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as fh:
        first = fh.readline(MAX_LINE_BYTES)
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: line 1 (header) is not UTF-8 ({exc.reason} at byte {exc.start});"
            " convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8"
        ) from None
    if not line.strip():
        raise InputError(f"{path}: empty file or empty header line")
    return [h.strip() for h in next(csv.reader(io.StringIO(line), delimiter=_delimiter(path)))]


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, source: str) -> tuple[int, list[Reject]]:
    header = _csv_header(path)
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise InputError(f"{path}: line 1 repeats column(s) {', '.join(sorted(dupes))}")
    columns = {h: "VARCHAR" for h in header}
    spec = "{" + ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in header) + "}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE raw_csv AS SELECT * FROM read_csv(?,
            columns = {spec}, header = true, auto_detect = false, delim = ?, quote = '"',
            escape = '"', strict_mode = true, store_rejects = true,
            rejects_table = 'csv_rejects', rejects_scan = 'csv_rejects_scan',
            max_line_size = {MAX_LINE_BYTES}, parallel = true)""",
        [str(path), _delimiter(path)],
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE staged AS
        SELECT {_select_canonical(columns, source)},
               CAST(rowid + 1 AS BIGINT) AS _k, ? AS _file, CAST(NULL AS BIGINT) AS _line
        FROM raw_csv""",
        [str(path)],
    )
    n_valid = con.execute("SELECT count(*) FROM raw_csv").fetchall()[0][0]
    con.execute("DROP TABLE raw_csv")
    rejects = _physical_lines(con, path, has_text="text" in columns)
    return int(n_valid) + len(rejects), rejects


def _physical_lines(con: duckdb.DuckDBPyConnection, path: Path, has_text: bool) -> list[Reject]:
    """Physical line numbers for parser rejects and for rows that validation will reject.

    DuckDB numbers rejected records as if every record sat on one line; a quoted field
    spanning lines shifts everything after it. With ``k`` the index of a parsed record,
    ``m`` the index of a parser reject at record line ``L_m``, the record line of ``k`` is
    ``1 + k + #{m : L_m - m < 1 + k}``; adding the newlines inside earlier parsed records
    gives the line a user sees in an editor.
    """
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _pr AS
        SELECT line, any_value(error_type) AS etype, any_value(error_message) AS message,
               any_value(csv_line) AS raw
        FROM csv_rejects GROUP BY line"""
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _pr AS"
        " SELECT *, line - row_number() OVER (ORDER BY line) AS key FROM _pr"
    )
    con.execute("DROP TABLE IF EXISTS csv_rejects")
    con.execute("DROP TABLE IF EXISTS csv_rejects_scan")
    nl = "len(text) - len(replace(text, chr(10), ''))" if has_text else "0"
    where = "strpos(text, chr(10)) > 0" if has_text else "false"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ml AS
        SELECT _k, sum({nl}) OVER (ORDER BY _k) AS nl_upto FROM staged WHERE {where}"""
    )
    rows = con.execute(
        """SELECT p.line + coalesce((SELECT max(nl_upto) FROM _ml WHERE _ml._k <= p.key - 1), 0),
                  p.etype, p.message, p.raw
        FROM _pr p ORDER BY p.line"""
    ).fetchall()
    con.execute(
        f"""UPDATE staged s SET _line = e.rl
                + coalesce((SELECT max(nl_upto) FROM _ml WHERE _ml._k < e._k), 0)
        FROM (SELECT b._k, 1 + b._k + (SELECT count(*) FROM _pr WHERE _pr.key < 1 + b._k) AS rl
              FROM staged b WHERE ({REASON_SQL}) IS NOT NULL) e
        WHERE s._k = e._k"""
    )
    con.execute("DROP TABLE _ml")
    con.execute("DROP TABLE _pr")
    out = []
    for line, etype, message, raw in rows:
        reason = f"{etype.lower()}: {message}"
        if etype == "UNQUOTED VALUE":
            reason += " (the rest of the file after this line could not be read; fix the quote)"
        out.append(Reject(str(path), int(line), reason, (raw or "")[:200]))
    return out


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, source: str) -> int:
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = {name: dtype for name, dtype, *_ in described}
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE staged AS
        SELECT {_select_canonical(columns, source)},
               ? AS _file, CAST(file_row_number + 1 AS BIGINT) AS _line
        FROM read_parquet(?, file_row_number = true)""",
        [str(path), str(path)],
    )
    return int(con.execute("SELECT count(*) FROM staged").fetchall()[0][0])


def _read_jsonl(path: Path, source: str) -> tuple[pa.Table, list[Reject], list[int]]:
    """JSON Lines in Python: each line is one record, so line numbers are exact."""
    cols: dict[str, list] = {k: [] for k in REQUIRED + OPTIONAL}
    lines: list[int] = []
    rejects: list[Reject] = []
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                rejects.append(Reject(str(path), lineno, f"not UTF-8 ({exc.reason})"))
                continue
            except json.JSONDecodeError as exc:
                rejects.append(
                    Reject(
                        str(path),
                        lineno,
                        f"invalid JSON: {exc.msg} at column {exc.colno}",
                        raw[:200].decode("utf-8", "replace"),
                    )
                )
                continue
            if not isinstance(rec, dict):
                rejects.append(Reject(str(path), lineno, "a JSON object is expected on each line"))
                continue
            for k in cols:
                v = rec.get(k)
                if k == "targets" and isinstance(v, list):
                    v = ";".join(str(x) for x in v)
                elif v is not None and not isinstance(v, str):
                    v = json.dumps(v) if isinstance(v, dict | list) else str(v)
                cols[k].append(v)
            lines.append(lineno)
    table = pa.table({k: pa.array(v, type=pa.string()) for k, v in cols.items()})
    return table, rejects, lines


def _stage_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path, source: str
) -> tuple[int, list[Reject]]:
    table, rejects, lines = _read_jsonl(path, source)
    table = table.append_column("_physical_line", pa.array(lines, type=pa.int64()))
    con.complete()  # DuckDB 2 refuses register() while a result is unfetched
    con.register("_jsonl", table)
    columns = {k: "VARCHAR" for k in REQUIRED + OPTIONAL}
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE staged AS
        SELECT {_select_canonical(columns, source)}, ? AS _file, _physical_line AS _line
        FROM _jsonl""",
        [str(path)],
    )
    con.unregister("_jsonl")
    return table.num_rows + len(rejects), rejects


def ingest_canonical(
    con: duckdb.DuckDBPyConnection, path: Path, *, source: str | None = None
) -> ImportReport:
    """Import one canonical CSV / JSON Lines / Parquet file into the store."""
    path = require_path(path)
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    src = source or path.name[: len(path.name) - len(suffix)]  # calls.csv.gz -> calls
    rejects: list[Reject] = []
    try:
        if suffix in (".csv", ".csv.gz", ".tsv", ".tsv.gz"):
            n, rejects = _stage_csv(con, path, src)
        elif suffix in (".parquet", ".pq"):
            n = _stage_parquet(con, path, src)
        elif suffix in (".jsonl", ".ndjson", ".json"):
            n, rejects = _stage_jsonl(con, path, src)
        else:
            raise InputError(f"{path}: unknown extension {suffix!r}; use .csv, .jsonl or .parquet")
    except InputError as exc:
        # Name the file: `socialcrm ingest canonical a.csv b.csv` must say which one.
        if str(exc).startswith(str(path)):
            raise
        raise InputError(f"{path}: {exc}") from None
    return commit_staged(con, fmt="canonical", path=str(path), rows_read=n, adapter_rejects=rejects)


def empty_canonical() -> pa.Table:
    return interactions_table({})


__all__ = ["ingest_canonical", "stage_arrow"]
