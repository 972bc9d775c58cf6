"""SocioPatterns face-to-face contact lists (``t i j``) and their metadata (``id class gender``).

SocioPatterns proximity sensors record, every 20 seconds, which pairs of wearers were
face to face (Cattuto et al., PLoS ONE 5(7):e11596, 2010; the Thiers13 high school data:
Mastrandrea, Fournet, Barrat, PLoS ONE 10(9):e0136497, 2015). Each line ``t i j`` says
that ``i`` and ``j`` were in contact during the 20-second interval ending at Unix time
``t``. Face-to-face contact is the offline channel seed 000 asks a social CRM to count
next to online messages, so each line becomes one canonical interaction:

==================  ==============================================================
``interaction_id``  ``<source>:<t>:<i>:<j>`` (``source`` defaults to the file stem,
                    e.g. ``tij_thiers13``)
``channel/kind``    ``meeting`` / ``meeting``; ``visibility`` ``private``
``ts``              ``t`` as UTC (Unix seconds; the published files use Unix time)
``actor``           ``sociopatterns:<i>``; ``targets`` ``[sociopatterns:<j>]``
``value``           20 (seconds of contact this line stands for)
==================  ==============================================================

Contact is symmetric: the file lists each pair once per interval (as ``i j``), so the
direction of actor -> target carries no meaning; stages that measure reciprocity must
treat ``meeting`` rows as mutual. ``conversation_id`` is left NULL.

The handle prefix ``sociopatterns`` is shared by every SocioPatterns file so that the
friendship survey and the contact list of one study meet on the same handles; when
importing two different studies into one store, pass ``prefix`` (e.g.
``"sociopatterns:thiers13"``) because their numeric ids overlap.

The metadata file (``id class gender``, whitespace separated) becomes entity hints:
kind ``person``, role ``customer``, attrs ``{"class": ..., "gender": ...}``.

Parsing is vectorised (:mod:`socialcrm.ingest.textlines`): the 188,508 lines of
``tij_thiers13.dat`` take a fraction of a second. Lines with the wrong number of fields
or a non-integer become rejects with their line numbers; the other lines are kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from socialcrm.ingest.base import AdapterOutput, Reject, entity_hints
from socialcrm.ingest.textlines import (
    UINT,
    UNIX_INT,
    Field,
    canonical_table,
    default_source,
    join,
    normalise_int,
    parse_lines,
    reject_mask,
    single_targets,
    unix_to_timestamp,
)

PREFIX = "sociopatterns"
INTERVAL_SECONDS = 20.0

CONTACT_FIELDS = [
    Field("t", UNIX_INT, "Unix seconds (an integer)"),
    Field("i", UINT, "an integer id"),
    Field("j", UINT, "an integer id"),
]
METADATA_FIELDS = [
    Field("id", UINT, "an integer id"),
    Field("class", r"\S+", "a class name"),
    Field("gender", r"\S+", "a gender code"),
]


def read(
    path: Path,
    metadata: Path | None = None,
    source: str | None = None,
    *,
    prefix: str = PREFIX,
) -> AdapterOutput:
    """Read a SocioPatterns ``t i j`` contact list (and optionally its metadata file)."""
    path = Path(path)
    src = source or default_source(path)
    parsed = parse_lines(path, CONTACT_FIELDS, what="SocioPatterns contact line")
    ts, out_of_range = unix_to_timestamp(pc.cast(parsed.fields["t"], pa.int64()))
    parsed = reject_mask(parsed, path, out_of_range, "time {} is out of range", parsed.fields["t"])
    ts = ts.filter(pc.invert(out_of_range))
    t = normalise_int(parsed.fields["t"])
    i = normalise_int(parsed.fields["i"])
    j = normalise_int(parsed.fields["j"])
    n = len(parsed)
    table = canonical_table(
        n,
        interaction_id=join(src, t, i, j),
        source=src,
        channel="meeting",
        ts=ts,
        actor=join(prefix, i),
        targets=single_targets(join(prefix, j)),
        kind="meeting",
        visibility="private",
        value=INTERVAL_SECONDS,
    )
    rejects = list(parsed.rejects)
    hints = entity_hints({})
    if metadata is not None:
        hints, meta_rejects = read_metadata(metadata, prefix=prefix)
        rejects += meta_rejects
    return AdapterOutput(table, hints, rejects, rows_read=parsed.n_content)


def read_metadata(path: Path, *, prefix: str = PREFIX) -> tuple[pa.Table, list[Reject]]:
    """Entity hints from a SocioPatterns ``id class gender`` file, and its unreadable lines.

    An id listed twice keeps its first line; the repeat is rejected.
    """
    path = Path(path)
    parsed = parse_lines(path, METADATA_FIELDS, what="SocioPatterns metadata line")
    ids = normalise_int(parsed.fields["id"]).to_pylist()
    classes = parsed.fields["class"].to_pylist()
    genders = parsed.fields["gender"].to_pylist()
    lines = parsed.lines.to_pylist()
    rejects = list(parsed.rejects)
    seen: dict[str, int] = {}
    cols: dict[str, list] = {"handle": [], "kind": [], "role": [], "attrs": []}
    for pid, cls, gender, line in zip(ids, classes, genders, lines, strict=True):
        if pid in seen:
            rejects.append(
                Reject(str(path), line, f"id {pid} already described on line {seen[pid]}")
            )
            continue
        seen[pid] = line
        cols["handle"].append(f"{prefix}:{pid}")
        cols["kind"].append("person")
        cols["role"].append("customer")
        cols["attrs"].append(json.dumps({"class": cls, "gender": gender}))
    rejects.sort(key=lambda r: r.line or 0)
    return entity_hints(cols), rejects
