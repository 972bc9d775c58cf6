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
from socialcrm.ingest.loader import (
    REASON_SQL,
    ImportReport,
    Restage,
    commit_staged,
    drop_staged,
    stage_arrow,
)
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


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT")
_NUMERIC += ("UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")


def _is_numeric(dtype: str) -> bool:
    return dtype.split("(")[0] in _NUMERIC


def _trimmed(expr: str) -> str:
    """``nullif(trim(expr), '')``, trimming only strings that need it: trim() allocates a
    new string for every row, and these columns are almost always clean."""
    return (
        f"nullif(CASE WHEN {expr} LIKE ' %' OR {expr} LIKE '% ' THEN trim({expr})"
        f" ELSE {expr} END, '')"
    )


_OUT_OF_RANGE = (
    "CASE WHEN {col} IS NULL THEN 'missing ts'"
    " ELSE 'ts ' || CAST({col} AS VARCHAR) || ' is outside the years 1 to 9999' END"
)
_MIN_US = -62_135_596_800_000_000  # 0001-01-01 in microseconds since 1970
_MAX_US = 253_402_300_799_999_999  # 9999-12-31 23:59:59.999999
TS_RANGE = "BETWEEN TIMESTAMP '0001-01-01' AND TIMESTAMP '9999-12-31 23:59:59.999999'"


def _ts_expr(col: str, dtype: str) -> tuple[str, str]:
    """SQL for (ts as naive UTC TIMESTAMP, reason when it cannot be read)."""
    if dtype.startswith("TIMESTAMP WITH TIME ZONE"):
        # The instant's UTC wall time; plain arithmetic, where a cast goes through ICU.
        return f"make_timestamp(epoch_us({col}))", _OUT_OF_RANGE.format(col=col)
    if dtype.startswith(("TIMESTAMP", "DATE")):
        return f"CAST({col} AS TIMESTAMP)", _OUT_OF_RANGE.format(col=col)
    raw = f"CAST({col} AS VARCHAR)"
    # Each cast written once: a repeated TRY_CAST is hoisted by the optimiser and then
    # computed for every row, even those ``coalesce`` never reaches (a second per 10M).
    # Clamping just outside the year range keeps make_timestamp from overflowing; the
    # range itself is checked on the result (``TS_RANGE``).
    secs = f"CAST({col} AS DOUBLE)" if _is_numeric(dtype) else f"TRY_CAST({raw} AS DOUBLE)"
    micros = f"TRY_CAST({secs} * 1e6 AS BIGINT)"
    unix = f"make_timestamp(least(greatest({micros}, {_MIN_US - 1}), {_MAX_US + 1}))"
    if _is_numeric(dtype):
        ts = unix
    else:
        # ISO 8601 first (the common case in text files); a string is never both a
        # timestamp and a number, so the order only saves the failed number parse.
        ts = f"coalesce(make_timestamp(epoch_us(TRY_CAST({raw} AS TIMESTAMPTZ))), {unix})"
    err = (
        f"CASE WHEN {col} IS NULL OR trim({raw}) = '' THEN 'missing ts'"
        f" ELSE 'ts ''' || left({raw}, 60) || ''' is neither ISO 8601 nor Unix seconds"
        " of the years 1 to 9999' END"
    )
    return ts, err


def _canonical_select(
    columns: dict[str, str], source: str, relation: str, keep: str = "", extra: str = ""
) -> str:
    """The query from a file's columns (read from ``relation``) to canonical ones.

    Two levels: the inner SELECT reads and cleans each raw column once (``keep`` passes
    more of them through), the outer one derives prefixed ids, defaults and error
    messages from the clean values (plus the ``extra`` select items) without evaluating
    any of them twice.
    """
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InputError(
            f"missing required column(s) {', '.join(missing)}; found {', '.join(columns) or 'none'}"
            f" (required: {', '.join(REQUIRED)})"
        )

    def col(name: str) -> str:
        return f"CAST({_q(name)} AS VARCHAR)"

    def text(name: str) -> str:
        return _trimmed(col(name)) if name in columns else "CAST(NULL AS VARCHAR)"

    literal = _literal(source)
    src = f"coalesce({text('source')}, {literal})" if "source" in columns else literal
    ts, ts_err = _ts_expr("_ts_raw", columns["ts"])
    if "targets" not in columns:
        targets = "CAST([] AS VARCHAR[])"
    elif columns["targets"].endswith("[]"):
        t = f"CAST({_q('targets')} AS VARCHAR[])"
        # Only a list holding an empty item or one starting with a space (both sort
        # before '!') needs the per-item filter.
        targets = (
            f"CASE WHEN len({t}) = 0 OR list_min({t}) >= '!' THEN {t}"
            f" ELSE list_filter({t}, lambda x: trim(x) <> '') END"
        )
    else:
        # "a;b" splits as is; only a list with spaces or empty items needs the slow path.
        t = col("targets")
        targets = (
            f"CASE WHEN {t} IS NULL OR {t} = '' THEN CAST([] AS VARCHAR[])"
            f" WHEN contains({t}, ' ') OR contains({t}, ';;') OR starts_with({t}, ';')"
            f" OR ends_with({t}, ';') THEN list_filter(list_transform(string_split({t}, ';'),"
            f" lambda x: trim(x)), lambda x: x <> '') ELSE string_split({t}, ';') END"
        )
    if "value" not in columns:
        value, value_err = "CAST(NULL AS DOUBLE)", "CAST(NULL AS VARCHAR)"
    elif _is_numeric(columns["value"]):
        value, value_err = "CAST(_value_raw AS DOUBLE)", "CAST(NULL AS VARCHAR)"
    else:
        value = "TRY_CAST(_value_raw AS DOUBLE)"
        value_err = (
            "CASE WHEN _value IS NULL AND _value_raw IS NOT NULL AND trim(_value_raw) <> ''"
            " THEN 'value ''' || left(_value_raw, 60) || ''' is not a number' END"
        )
    kind = f"lower({text('kind')})" if "kind" in columns else "CAST(NULL AS VARCHAR)"
    visibility = (
        f"lower({text('visibility')})" if "visibility" in columns else "CAST(NULL AS VARCHAR)"
    )
    inner = {
        "_id": text("interaction_id"),
        "_source": src,
        "_prefix": f"{src} || ':'",
        "_channel": f"lower({text('channel')})",
        "_ts_raw": _q("ts"),
        "_actor": text("actor"),
        "_targets": targets,
        "_conversation": text("conversation_id"),
        "_reply": text("in_reply_to"),
        "_kind": kind,
        "_visibility": visibility,
        "_text": col("text") if "text" in columns else "CAST(NULL AS VARCHAR)",
        "_value_raw": (
            "CAST(NULL AS VARCHAR)"
            if "value" not in columns
            else _q("value")
            if _is_numeric(columns["value"])
            else col("value")
        ),
    }
    middle = {"_ts": ts, "_value": value}

    def prefixed(v: str) -> str:
        return f"CASE WHEN starts_with({v}, _prefix) THEN {v} ELSE _prefix || {v} END"

    outer = f"""
        {prefixed("_id")} AS interaction_id,
        _source AS source,
        _channel AS channel,
        CASE WHEN _ts {TS_RANGE} THEN _ts END AS ts,
        _actor AS actor,
        _targets AS targets,
        {prefixed("_conversation")} AS conversation_id,
        {prefixed("_reply")} AS in_reply_to,
        coalesce(_kind, 'message') AS kind,
        coalesce(_visibility, CASE WHEN _channel IN ({_PUBLIC}) THEN 'public' ELSE 'private' END)
            AS visibility,
        _text AS text,
        _value AS value,
        CASE WHEN _ts IS NULL OR NOT _ts {TS_RANGE} THEN {ts_err} END AS _ts_error,
        {value_err} AS _value_error"""
    keep = f", {keep}" if keep else ""
    extra = f", {extra}" if extra else ""
    return f"""SELECT {outer}{extra} FROM (
        SELECT *, {", ".join(f"{e} AS {n}" for n, e in middle.items())} FROM (
            SELECT {", ".join(f"{e} AS {n}" for n, e in inner.items())}{keep}
            FROM {relation}))"""


def _delimiter(path: Path) -> str:
    return "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else ","


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            first = fh.readline(MAX_LINE_BYTES)
    except (OSError, EOFError) as exc:  # e.g. a .gz file that is not gzip
        raise InputError(f"{path}: cannot be read ({exc})") from None
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


# The first rowid of ``staged``: 0 for a table made outside a transaction, 2**55 for one
# made inside (DuckDB numbers rows not yet committed from there), so line numbers count
# from this, not from 0.
_FIRST_ROWID = "(SELECT min(rowid) FROM staged)"


def _csv_query(path: Path, source: str, header: list[str], raw: bool = False) -> str:
    """The canonical query over ``read_csv`` of the file, every column read as text
    (with ``raw``, the file's columns also as they are, named by :func:`_raw_names`)."""
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise InputError(f"{path}: line 1 repeats column(s) {', '.join(sorted(dupes))}")
    columns = {h: "VARCHAR" for h in header}
    spec = "{" + ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in header) + "}"
    reader = f"""read_csv({_literal(str(path))},
            columns = {spec}, header = true, auto_detect = false,
            delim = {_literal(_delimiter(path))}, quote = '"', escape = '"', strict_mode = true,
            store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_rejects_scan',
            max_line_size = {MAX_LINE_BYTES}, parallel = true)"""
    names = _raw_names(header) if raw else ()
    return _canonical_select(
        columns,
        source,
        reader,
        keep=", ".join(f"{_q(h)} AS {n}" for h, n in zip(header, names, strict=False)),
        extra=", ".join(["CAST(NULL AS BIGINT) AS _line", *names]),
    )


def _raw_names(header: list[str]) -> tuple[str, ...]:
    return tuple(f"_raw{i}" for i in range(len(header)))


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _view_csv(con: duckdb.DuckDBPyConnection, path: Path, source: str) -> Restage:
    """``staged`` as a view over the file; the commit restages it if anything is off."""
    header = _csv_header(path)
    con.execute(f"CREATE TEMP VIEW staged AS {_csv_query(path, source, header, raw=True)}")
    return Restage(
        parser_rejected=_parser_rejected,
        stage=lambda c: _stage_csv(c, path, source, header),
        raw_columns=_raw_names(header),
    )


def _parser_rejected(con: duckdb.DuckDBPyConnection) -> bool:
    """Did the last read of the file drop lines it could not parse (``csv_rejects``)?"""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'csv_rejects' AND temporary"
    ).fetchall()[0][0]
    return bool(found) and bool(con.execute("SELECT count(*) FROM csv_rejects").fetchall()[0][0])


def _stage_csv(
    con: duckdb.DuckDBPyConnection, path: Path, source: str, header: list[str]
) -> tuple[int, list[Reject]]:
    """``staged`` as a temp table in file order (``rowid`` counts parsed records from
    :data:`_FIRST_ROWID`, from which :func:`_physical_lines` derives line numbers);
    returns rows read and the parser's rejects."""
    con.execute("DROP TABLE IF EXISTS csv_rejects")
    con.execute("DROP TABLE IF EXISTS csv_rejects_scan")
    con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS {_csv_query(path, source, header)}")
    n_valid = con.execute("SELECT count(*) FROM staged").fetchall()[0][0]
    rejects = _physical_lines(con, path, has_text="text" in header)
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
        SELECT rowid - {_FIRST_ROWID} + 1 AS _k, sum({nl}) OVER (ORDER BY rowid) AS nl_upto
        FROM staged WHERE {where}"""
    )
    rows = con.execute(
        """SELECT p.line + coalesce((SELECT max(nl_upto) FROM _ml WHERE _ml._k <= p.key - 1), 0),
                  p.etype, p.message, p.raw
        FROM _pr p ORDER BY p.line"""
    ).fetchall()
    out = []
    for line, etype, message, raw in rows:
        reason = f"{etype.lower()}: {message}"
        if etype == "UNQUOTED VALUE":
            reason += " (the rest of the file after this line could not be read; fix the quote)"
        out.append(Reject(str(path), int(line), reason, (raw or "")[:200]))
    return out


def _number_rejected(con: duckdb.DuckDBPyConnection) -> None:
    """Physical lines of the staged rows validation rejects (see :func:`_physical_lines`).

    Run by the commit only when it finds such rows: a per-row pass over every import
    would cost a third of a second per 10M rows to number nothing.
    """
    con.execute(
        f"""UPDATE staged s SET _line = e.rl
                + coalesce((SELECT max(nl_upto) FROM _ml WHERE _ml._k < e._k), 0)
        FROM (SELECT b.rowid AS _rid, b.rowid - {_FIRST_ROWID} + 1 AS _k,
                     2 + b.rowid - {_FIRST_ROWID}
                     + (SELECT count(*) FROM _pr WHERE _pr.key < 2 + b.rowid - {_FIRST_ROWID})
                     AS rl
              FROM staged b WHERE ({REASON_SQL}) IS NOT NULL) e
        WHERE s.rowid = e._rid"""
    )


def _drop_line_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name in ("_ml", "_pr", "csv_rejects", "csv_rejects_scan"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, source: str) -> int:
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
    columns = {name: dtype for name, dtype, *_ in described}
    # A view, not a copy: the commit reads the file once to validate and once to insert,
    # which costs less than writing every row to a temp table and reading it back.
    literal = _literal(str(path))
    query = _canonical_select(
        columns,
        source,
        f"read_parquet({literal}, file_row_number = true)",
        keep="file_row_number",
        extra=f"{literal} AS _file, CAST(file_row_number + 1 AS BIGINT) AS _line,"
        " file_row_number AS _row",
    )
    con.execute(f"CREATE TEMP VIEW staged AS {query}")
    return int(con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall()[0][0])


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
    query = _canonical_select(
        columns,
        source,
        "_jsonl",
        keep="_physical_line",
        extra="_physical_line AS _line",
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS {query}")
    con.unregister("_jsonl")
    return table.num_rows + len(rejects), rejects


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def ingest_canonical(
    con: duckdb.DuckDBPyConnection, path: Path, *, source: str | None = None
) -> ImportReport:
    """Import one canonical CSV / JSON Lines / Parquet file into the store."""
    path = require_path(path)
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    src = source or path.name[: len(path.name) - len(suffix)]  # calls.csv.gz -> calls
    rejects: list[Reject] = []
    row_key = "rowid"
    number_rejected = None
    restage = None
    drop_staged(con)
    try:
        if suffix in (".csv", ".csv.gz", ".tsv", ".tsv.gz"):
            n, restage = 0, _view_csv(con, path, src)  # rows read: counted by the commit
            number_rejected = _number_rejected
        elif suffix in (".parquet", ".pq"):
            n, row_key = _stage_parquet(con, path, src), "_row"
        elif suffix in (".jsonl", ".ndjson", ".json"):
            n, rejects = _stage_jsonl(con, path, src)
        else:
            raise InputError(f"{path}: unknown extension {suffix!r}; use .csv, .jsonl or .parquet")
    except InputError as exc:
        # Name the file: `socialcrm ingest canonical a.csv b.csv` must say which one.
        if str(exc).startswith(str(path)):
            raise
        raise InputError(f"{path}: {exc}") from None
    except (duckdb.IOException, duckdb.InvalidInputException) as exc:
        # A file DuckDB cannot read at all (corrupt Parquet pages, broken gzip): a message,
        # not a traceback. Row-level problems never get here, they are quarantined.
        raise InputError(f"{path}: cannot be read ({_first_line(exc)})") from None
    try:
        return commit_staged(
            con,
            fmt="canonical",
            path=str(path),
            rows_read=n,
            adapter_rejects=rejects,
            row_key=row_key,
            file=str(path),
            number_rejected=number_rejected,
            restage=restage,
        )
    except (duckdb.IOException, duckdb.InvalidInputException) as exc:
        # Parquet pages and CSV lines are first read in the commit (staged is a view).
        raise InputError(f"{path}: cannot be read ({_first_line(exc)})") from None
    finally:
        _drop_line_tables(con)


def empty_canonical() -> pa.Table:
    return interactions_table({})


__all__ = ["ingest_canonical", "stage_arrow"]
