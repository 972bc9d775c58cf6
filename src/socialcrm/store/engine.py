"""Engines that run the same stage definitions: DuckDB (embedded default) and Apache Spark.

A stage is a plain function from Ibis tables to an Ibis table (see
:mod:`socialcrm.store.views` and the stage modules). Ibis compiles the one expression
to DuckDB SQL or to Spark SQL, so a stage is written once and both engines give the
same answer, which tests check. DuckDB reads the workspace file directly; Spark reads
Parquet snapshots of the canonical tables, which is also how a cluster would see them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

CANONICAL_TABLES = ("interactions", "identities", "entities")


class Engine(Protocol):
    name: str

    def table(self, name: str) -> ir.Table: ...

    def to_arrow(self, expr: ir.Table) -> pa.Table: ...


class DuckDBEngine:
    """Stages over the workspace's own DuckDB connection."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.backend = ibis.duckdb.from_connection(con)

    def table(self, name: str) -> ir.Table:
        return self.backend.table(name)

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.backend.to_pyarrow(expr)

    def materialize(self, name: str, expr: ir.Table) -> int:
        """Store a stage's output as a workspace table (replacing the previous run)."""
        # Plain SQL rather than backend.create_table(overwrite=True): that path builds a
        # DROP statement sqlglot >= 30 renders without its table name.
        sql = self.backend.compile(expr)
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')
        return int(self.con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0])


class SparkEngine:
    """Stages on Apache Spark over Parquet snapshots of the canonical tables.

    ``master`` defaults to ``local[*]``; point it at a cluster (``spark://...``, ``yarn``)
    to run the same stages distributed. Spark needs a JRE (17+).
    """

    name = "spark"

    def __init__(self, parquet_dir: Path, master: str | None = None) -> None:
        from pyspark.sql import SparkSession

        os.environ.setdefault("PYSPARK_PYTHON", _python())
        builder = (
            SparkSession.builder.master(
                master or os.environ.get("SOCIALCRM_SPARK_MASTER", "local[*]")
            )
            .appName("socialcrm")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.memory", "2g")
        )
        self.session = builder.getOrCreate()
        self.session.sparkContext.setLogLevel("ERROR")
        self.backend = ibis.pyspark.connect(self.session)
        self.parquet_dir = Path(parquet_dir)
        for path in sorted(self.parquet_dir.glob("*.parquet")):
            self.backend.read_parquet(str(path), table_name=path.stem)

    def table(self, name: str) -> ir.Table:
        return self.backend.table(name)

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.backend.to_pyarrow(expr)

    @classmethod
    def from_duckdb(
        cls,
        con: duckdb.DuckDBPyConnection,
        tables: tuple[str, ...] = CANONICAL_TABLES,
        directory: Path | None = None,
        master: str | None = None,
    ) -> SparkEngine:
        """Snapshot workspace tables to Parquet and open Spark over them."""
        directory = Path(directory or tempfile.mkdtemp(prefix="socialcrm-spark-"))
        directory.mkdir(parents=True, exist_ok=True)
        for name in tables:
            # Spark has no JSON type: hand it plain strings.
            cols = con.execute(f'DESCRIBE "{name}"').fetchall()
            select = ", ".join(
                f'CAST("{c}" AS VARCHAR) AS "{c}"' if t == "JSON" else f'"{c}"' for c, t, *_ in cols
            )
            con.execute(
                f"COPY (SELECT {select} FROM \"{name}\") TO '{directory / name}.parquet' (FORMAT parquet)"
            )
        return cls(directory, master=master)

    def stop(self) -> None:
        self.session.stop()


def _python() -> str:
    import sys

    return sys.executable


Stage = Callable[[Engine], ir.Table]
