"""Vectorised reading of line-oriented numeric files (edge lists, contact lists).

SNAP edge lists and SocioPatterns contact lists have millions of short lines. Reading
them with a Python loop would cost seconds per million; here the file becomes one Arrow
string array (line offsets found with NumPy, no copy) and each line is matched against
one RE2 pattern by Arrow, so only the lines that fail are looked at in Python (to say
why, with their line numbers).

Conventions shared by the adapters that use this module:

* blank lines and lines starting with ``#`` (SNAP's comment headers) are skipped;
* a first content line made only of names (``source,target,rating,time``) is a header
  and is skipped;
* ``.gz`` files are decompressed (SNAP distributes ``*.txt.gz``);
* bytes that are not UTF-8 are replaced, so such a line fails its pattern and is
  rejected with its line number instead of failing the whole file.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcrm.ingest.base import INTERACTION_SCHEMA, InputError, Reject, require_path

# Regex fragments (RE2 syntax) for field values. Digit counts are bounded so that
# the later casts can never overflow int64.
UINT = r"\d{1,18}"
UNIX_INT = r"\d{1,12}"
NUMBER = r"[+-]?(?:\d{1,18}(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?"
MAX_UNIX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z


@dataclass(frozen=True)
class Field:
    name: str
    pattern: str  # RE2 for the value alone
    what: str  # for messages: "an integer", "a number"


@dataclass
class ParsedLines:
    """The fields of the lines that matched (Arrow strings) and their 1-based line numbers."""

    fields: dict[str, pa.Array]
    lines: pa.Array  # int64, physical line numbers of the matched rows
    rejects: list[Reject]
    n_content: int  # non-blank, non-comment, non-header lines

    def __len__(self) -> int:
        return len(self.lines)


def default_source(path: Path) -> str:
    """The file's name without ``.gz`` and without its extension: ``CollegeMsg.txt.gz`` -> ``CollegeMsg``."""
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return Path(name).stem


def read_bytes(path: Path) -> bytes:
    """The file's bytes as valid UTF-8 (invalid bytes replaced), ``.gz`` decompressed."""
    path = require_path(path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        data = data.decode("utf-8", errors="replace").encode("utf-8")
    return data


def split_lines(data: bytes) -> pa.LargeStringArray:
    """One Arrow string per physical line (terminator kept), without copying the text."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    offsets = np.empty(len(newlines) + 2, dtype=np.int64)
    offsets[0] = 0
    offsets[1:-1] = newlines + 1
    offsets[-1] = len(buf)
    n = len(offsets) - 1
    if n and offsets[-1] == offsets[-2]:  # the file ends with a newline: no last line
        offsets = offsets[:-1]
        n -= 1
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _line_text(lines: pa.LargeStringArray, i: int) -> str:
    return lines[i].as_py().rstrip("\r\n")


def parse_lines(
    path: Path,
    fields: list[Field],
    *,
    sep: str = "whitespace",
    what: str = "line",
) -> ParsedLines:
    """Match every line of ``path`` against ``fields`` separated by ``sep``.

    ``sep`` is ``"whitespace"`` (one or more spaces or tabs) or a single character such
    as ``","``. Lines that do not match become :class:`Reject` rows with a reason naming
    the first field that is wrong. A file with content but no valid line at all is not
    this format: :class:`InputError`.
    """
    data = read_bytes(path)
    lines = split_lines(data)
    s = r"[ \t]+" if sep == "whitespace" else r"[ \t]*" + re.escape(sep) + r"[ \t]*"
    pattern = r"^[ \t]*" + s.join(f"(?P<{f.name}>{f.pattern})" for f in fields) + r"[ \t]*\r?\n?$"
    parsed = pc.extract_regex(lines, pattern)
    ok = pc.is_valid(parsed)
    skip = pc.match_substring_regex(lines, r"^\s*(?:#[^\n]*)?\n?$")  # blank or comment
    bad = pc.and_(pc.invert(ok), pc.invert(skip))
    bad_idx = pc.indices_nonzero(bad).to_numpy()
    # A header: the first content line, made of names only.
    if len(bad_idx):
        first_content = pc.indices_nonzero(pc.invert(skip))[0].as_py()
        if bad_idx[0] == first_content and _is_header(_line_text(lines, first_content), sep):
            bad_idx = bad_idx[1:]
    good_idx = pc.indices_nonzero(ok)
    good = parsed.filter(ok)
    out = {f.name: pc.cast(good.field(f.name), pa.string()) for f in fields}
    rejects = [
        Reject(
            str(path),
            int(i) + 1,
            _reason(_line_text(lines, int(i)), fields, sep),
            _line_text(lines, int(i))[:200],
        )
        for i in bad_idx
    ]
    n_content = len(good_idx) + len(rejects)
    if n_content and not len(good_idx):
        names = (" " if sep == "whitespace" else sep).join(f.name for f in fields)
        raise InputError(
            f"{path}: no line is a {what} '{names}'; line {rejects[0].line}: {rejects[0].reason}"
        )
    line_numbers = pc.add(pc.cast(good_idx, pa.int64()), 1)
    return ParsedLines(out, line_numbers, rejects, n_content)


def _split(text: str, sep: str) -> list[str]:
    if sep == "whitespace":
        return text.split()
    return [p.strip() for p in text.strip().split(sep)]


def _is_header(text: str, sep: str) -> bool:
    parts = _split(text, sep)
    return bool(parts) and all(re.fullmatch(r"[A-Za-z_][\w .-]*", p) for p in parts)


def _reason(text: str, fields: list[Field], sep: str) -> str:
    """Why one line does not match: the first problem found, in words."""
    parts = _split(text, sep)
    names = (" " if sep == "whitespace" else sep).join(f.name for f in fields)
    if len(parts) != len(fields):
        sep_name = "whitespace" if sep == "whitespace" else repr(sep)
        return f"expected {len(fields)} {sep_name}-separated fields ({names}), found {len(parts)}"
    for f, value in zip(fields, parts, strict=True):
        if not re.fullmatch(f.pattern, value):
            shown = value if len(value) <= 40 else value[:40] + "..."
            return f"field {f.name} {shown!r} is not {f.what}"
    return f"does not match '{names}'"


def unix_to_timestamp(seconds: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Unix seconds (int or float, as numbers) -> (timestamp[us], mask of out-of-range values)."""
    secs = pc.cast(seconds, pa.float64())
    out_of_range = pc.invert(
        pc.and_(
            pc.is_finite(secs),
            pc.and_(pc.greater_equal(secs, -62_135_596_800), pc.less_equal(secs, MAX_UNIX_SECONDS)),
        )
    )
    micros = pc.cast(pc.round(pc.multiply(pc.if_else(out_of_range, 0.0, secs), 1e6)), pa.int64())
    return pc.cast(micros, pa.timestamp("us")), out_of_range


def single_targets(handles: pa.Array) -> pa.ListArray:
    """Each handle as a one-element ``targets`` list, without a Python loop."""
    offsets = pa.array(np.arange(len(handles) + 1, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pc.cast(handles, pa.string()))


def join(*parts: pa.Array | str, sep: str = ":") -> pa.Array:
    """Element-wise ``sep.join(parts)``; plain strings are repeated."""
    return pc.binary_join_element_wise(*parts, sep)


def normalise_int(values: pa.Array) -> pa.Array:
    """``"007"`` -> ``"7"``: integers written differently are the same id."""
    return pc.cast(pc.cast(values, pa.int64()), pa.string())


def reject_mask(
    parsed: ParsedLines, path: Path, mask: pa.Array, reason: str, values: pa.Array | None = None
) -> ParsedLines:
    """Move the rows where ``mask`` is true to the rejects; ``reason`` may hold ``{}`` for the
    row's entry in ``values``."""
    if not pc.any(mask).as_py():
        return parsed
    bad_lines = parsed.lines.filter(mask).to_pylist()
    shown = values.filter(mask).to_pylist() if values is not None else [None] * len(bad_lines)
    keep = pc.invert(mask)
    rejects = parsed.rejects + [
        Reject(str(path), ln, reason.format(v)) for ln, v in zip(bad_lines, shown, strict=True)
    ]
    rejects.sort(key=lambda r: r.line or 0)
    return ParsedLines(
        {k: v.filter(keep) for k, v in parsed.fields.items()},
        parsed.lines.filter(keep),
        rejects,
        parsed.n_content,
    )


def canonical_table(n: int, **columns: pa.Array | str | float) -> pa.Table:
    """The canonical interactions table from Arrow columns; a plain value is repeated ``n``
    times and a missing column is NULL."""
    arrays = []
    for f in INTERACTION_SCHEMA:
        col = columns.get(f.name)
        if col is None:
            arrays.append(pa.nulls(n, f.type))
        elif isinstance(col, str | float | int):
            arrays.append(pa.repeat(pa.scalar(col, f.type), n))
        else:
            arrays.append(pc.cast(col, f.type))
    return pa.Table.from_arrays(arrays, schema=INTERACTION_SCHEMA)
