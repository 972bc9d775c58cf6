"""The formats ``socialcrm ingest FORMAT PATH...`` understands, and the one way to run them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from socialcrm.ingest.base import AdapterOutput, InputError
from socialcrm.ingest.loader import ImportReport, commit_staged, stage_arrow


@dataclass(frozen=True)
class Format:
    name: str
    module: str  # socialcrm.ingest.<module>, exposing read(path, **options) -> AdapterOutput
    summary: str
    example: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "canonical",
            "canonical",
            "canonical CSV / JSON Lines / Parquet (any CRM, phone,"
            " IVR, e-mail log or meeting-notes export)",
            "socialcrm ingest canonical calls.csv",
        ),
        Format(
            "mbox",
            "mbox",
            "e-mail mailbox files, threaded by Message-ID/References",
            "socialcrm ingest mbox support-inbox.mbox",
        ),
        Format(
            "twcs",
            "twcs",
            "Kaggle 'Customer Support on Twitter' CSV",
            "socialcrm ingest twcs twcs.csv",
        ),
        Format(
            "ibm",
            "ibm",
            "IBM Twitter customer-care dialogues JSON",
            "socialcrm ingest ibm dev.json",
        ),
        Format(
            "stackexchange",
            "stackexchange",
            "Stack Exchange data dump directory (Posts/Comments/Votes/Users/Badges.xml)",
            "socialcrm ingest stackexchange ./dump",
        ),
        Format(
            "sociopatterns",
            "sociopatterns",
            "SocioPatterns face-to-face contacts 't i j' (+ --metadata 'id class gender')",
            "socialcrm ingest sociopatterns tij.dat",
        ),
        Format(
            "snap",
            "snap",
            "SNAP temporal edges 'src dst t' or signed ratings 'source,target,rating,time'",
            "socialcrm ingest snap CollegeMsg.txt",
        ),
    )
}


def adapter(fmt: str) -> Callable[..., AdapterOutput]:
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    module = importlib.import_module(f"socialcrm.ingest.{FORMATS[fmt].module}")
    return module.read


def ingest_path(
    con: duckdb.DuckDBPyConnection, fmt: str, path: Path, **options: object
) -> ImportReport:
    """Import one file (or dump directory) of a format into the store, atomically."""
    if fmt == "canonical":
        from socialcrm.ingest.canonical import ingest_canonical

        return ingest_canonical(con, Path(path), **options)  # type: ignore[arg-type]
    out = adapter(fmt)(Path(path), **options)
    stage_arrow(con, out.interactions, str(path))
    return commit_staged(
        con,
        fmt=fmt,
        path=str(path),
        rows_read=out.rows_read or out.interactions.num_rows + len(out.rejects),
        adapter_rejects=out.rejects,
        entity_hints=out.entities,
    )
