"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets in ``../shared/data`` beside the repository (read-only)."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def spark_session():
    """One local Spark session (``local[2]``) shared by every ``@pytest.mark.spark`` test.

    :class:`socialcrm.store.engine.SparkEngine` calls ``getOrCreate`` and so reuses it;
    it is stopped once, at the end of the run (each start costs several seconds).
    """
    import os
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("socialcrm-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def at_once():
    """Run ``work(cursor, item)`` for every item in its own thread, all released together,
    each on its own cursor of ``con``; returns each result or the exception it raised."""
    import threading

    def run(con, work, items: list) -> list:  # type: ignore[no-untyped-def]
        barrier = threading.Barrier(len(items))
        results: list[object] = [None] * len(items)

        def go(i: int) -> None:
            cur = con.cursor()
            barrier.wait()
            try:
                results[i] = work(cur, items[i])
            except Exception as exc:  # the test reports whatever happened
                results[i] = exc
            finally:
                cur.close()

        threads = [threading.Thread(target=go, args=(i,)) for i in range(len(items))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    return run
