"""SNAP network files: temporal edge lists and signed rating lists.

The Stanford Large Network Dataset Collection (Leskovec and Krevl, 2014) publishes who
interacted with whom and when. Two shapes are read here, both vectorised
(:mod:`socialcrm.ingest.textlines`); wrong lines are rejected with their line numbers.

**Temporal edge lists** ``src dst unixtime`` (whitespace separated; e.g. ``CollegeMsg.txt``,
private messages of a UC Irvine online community, Panzarasa, Opsahl and Carley, JASIST
60(5), 2009) -> :func:`read_temporal`:

==================  ==============================================================
``interaction_id``  ``<source>:<line number>``: the same message can appear on two
                    identical lines (CollegeMsg has such repeats), so only its
                    position names it; stable as long as the file is not edited
``channel/kind``    ``chat`` (parameter) / ``message``; ``visibility`` ``private``
``actor/targets``   ``<source>:<src>`` -> ``[<source>:<dst>]``
==================  ==============================================================

**Signed ratings** ``source,target,rating,time`` (comma separated; e.g. Bitcoin OTC
``soc-sign-bitcoinotc.csv``, Kumar et al., ICDM 2016; time in Unix seconds, an integer
or a decimal) -> :func:`read_signed`: kind ``rating``, ``value`` = the rating (-10..+10
on Bitcoin OTC), channel ``other``, ``public`` (ratings on Bitcoin OTC are published),
``interaction_id`` ``<source>:<src>:<dst>:<time as written>``.

``source`` defaults to the file name without extensions (``CollegeMsg``,
``soc-sign-bitcoinotc``) and also namespaces the handles, because SNAP node ids are
numbers that mean nothing outside their file. ``conversation_id`` is left NULL (the
files carry no threads). Node ids must be non-negative integers; ``007`` and ``7`` are
the same node.

:func:`read` picks the reader by looking at the first content line: a comma -> signed,
three whitespace-separated fields -> temporal; anything else is an :class:`InputError`.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from socialcrm.ingest.base import AdapterOutput, InputError
from socialcrm.ingest.textlines import (
    NUMBER,
    UINT,
    UNIX_INT,
    Field,
    ParsedLines,
    canonical_table,
    default_source,
    join,
    normalise_int,
    parse_lines,
    read_bytes,
    reject_mask,
    single_targets,
    split_lines,
    unix_to_timestamp,
)
from socialcrm.store.schema import CHANNELS

TEMPORAL_FIELDS = [
    Field("src", UINT, "an integer node id"),
    Field("dst", UINT, "an integer node id"),
    Field("time", UNIX_INT, "Unix seconds (an integer)"),
]
SIGNED_FIELDS = [
    Field("source", UINT, "an integer node id"),
    Field("target", UINT, "an integer node id"),
    Field("rating", NUMBER, "a number"),
    Field("time", NUMBER, "Unix seconds (a number)"),
]


def read_temporal(path: Path, channel: str = "chat", source: str | None = None) -> AdapterOutput:
    """Read a SNAP temporal edge list ``src dst unixtime``: one private message per line."""
    path = Path(path)
    if channel not in CHANNELS:
        raise InputError(f"unknown channel {channel!r}; choose one of {', '.join(CHANNELS)}")
    src = source or default_source(path)
    parsed = parse_lines(path, TEMPORAL_FIELDS, what="SNAP temporal edge")
    parsed, ts = _with_ts(parsed, path, pc.cast(parsed.fields["time"], pa.int64()))
    n = len(parsed)
    a, b = normalise_int(parsed.fields["src"]), normalise_int(parsed.fields["dst"])
    table = canonical_table(
        n,
        interaction_id=join(src, pc.cast(parsed.lines, pa.string())),
        source=src,
        channel=channel,
        ts=ts,
        actor=join(src, a),
        targets=single_targets(join(src, b)),
        kind="message",
        visibility="private",
        value=pa.nulls(n, pa.float64()),
    )
    return AdapterOutput(table, rejects=parsed.rejects, rows_read=parsed.n_content)


def read_signed(path: Path, source: str | None = None) -> AdapterOutput:
    """Read a SNAP signed rating list ``source,target,rating,time``: one public rating per line."""
    path = Path(path)
    src = source or default_source(path)
    parsed = parse_lines(path, SIGNED_FIELDS, sep=",", what="SNAP signed rating")
    parsed, ts = _with_ts(parsed, path, pc.cast(parsed.fields["time"], pa.float64()))
    n = len(parsed)
    a, b = normalise_int(parsed.fields["source"]), normalise_int(parsed.fields["target"])
    table = canonical_table(
        n,
        interaction_id=join(src, a, b, parsed.fields["time"]),
        source=src,
        channel="other",
        ts=ts,
        actor=join(src, a),
        targets=single_targets(join(src, b)),
        kind="rating",
        visibility="public",
        value=pc.cast(parsed.fields["rating"], pa.float64()),
    )
    return AdapterOutput(table, rejects=parsed.rejects, rows_read=parsed.n_content)


def read(path: Path, source: str | None = None, channel: str = "chat") -> AdapterOutput:
    """Read either SNAP shape, chosen from the first line that is not blank, ``#`` or a header.

    A comma on that line means a signed rating list (:func:`read_signed`); otherwise three
    whitespace-separated fields mean a temporal edge list (:func:`read_temporal` with
    ``channel``).
    """
    path = Path(path)
    lines = split_lines(read_bytes(path))
    first = ""
    for k in range(min(len(lines), 1000)):
        text = lines[k].as_py().strip()
        if text and not text.startswith("#") and any(ch.isdigit() for ch in text):
            first = text
            break
    if "," in first:
        return read_signed(path, source)
    if len(first.split()) == 3:
        return read_temporal(path, channel=channel, source=source)
    raise InputError(
        f"{path}: not a SNAP edge list: expected 'src dst unixtime' or"
        f" 'source,target,rating,time', first data line is {first[:80]!r}"
    )


def _with_ts(parsed: ParsedLines, path: Path, seconds: pa.Array) -> tuple[ParsedLines, pa.Array]:
    ts, bad = unix_to_timestamp(seconds)
    parsed = reject_mask(parsed, path, bad, "time {} is out of range", parsed.fields["time"])
    return parsed, ts.filter(pc.invert(bad))
