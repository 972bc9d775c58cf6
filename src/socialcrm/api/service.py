"""The service behind the REST API and the dashboard: one workspace, its read model, its locks.

Both interfaces call the same query functions (:mod:`socialcrm.api.queries`,
:mod:`socialcrm.api.profile`) with a :class:`~socialcrm.api.auth.Caller`, so a page and an
endpoint can never disagree about what a role may see.

Concurrency: DuckDB connections are not shared between threads; each worker thread
reads through its own cursor of the workspace connection (cursors of one connection
see the same database, including committed writes). Writes (merge, unmerge, upload,
tokens) go through :meth:`Service.write`, one at a time, and refresh the read model
before they return, so a caller reads its own writes.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb

from socialcrm.api.auth import TokenVerifier
from socialcrm.api.readmodel import QueueView, ReadModel, json_safe_column, stamp
from socialcrm.workspace import Workspace

T = TypeVar("T")
log = logging.getLogger("socialcrm.api")

MAX_LIMIT = 500  # the largest page any list returns


class Service:
    """A workspace served to many threads: per-thread cursors, serial writes, a read model."""

    def __init__(self, ws: Workspace, *, refresh_interval: float = 1.0) -> None:
        self.ws = ws
        self.settings = ws.settings
        self.verifier = TokenVerifier(tuple(ws.settings.private_roles))
        self.refresh_interval = refresh_interval
        self.write_lock = threading.RLock()
        self._local = threading.local()
        self._cursor_lock = threading.Lock()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._model: ReadModel | None = None
        self._retired: list[ReadModel] = []
        self._model_lock = threading.Lock()
        self._checked = 0.0
        self._queue: QueueView | None = None
        self._queue_version = 0
        self._queue_lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._watching = False
        self._stop = threading.Event()

    # -- connections ---------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the workspace."""
        cur = getattr(self._local, "cur", None)
        if cur is None:
            with self._cursor_lock:
                cur = self.ws.con.cursor()
                self._cursors.append(cur)
            self._local.cur = cur
        return cur

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run a read query; rows as dicts with JSON-safe values."""
        cur = self.cursor().execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [{n: _clean(v) for n, v in zip(names, r, strict=True)} for r in cur.fetchall()]

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self.cursor().execute(sql, params or []).fetchall()  # no pending result left
        return rows[0][0] if rows else None

    def select_list(self, table: str, alias: str = "", exclude: tuple[str, ...] = ()) -> str:
        """Every column of a stage table, projected so JSON can carry the values."""
        types = self.model.types.get(table, {})
        return ", ".join(
            json_safe_column(c, t, alias) for c, t in types.items() if c not in exclude
        )

    # -- the read model ------------------------------------------------------------
    @property
    def model(self) -> ReadModel:
        """The read model of the current workspace version (rebuilt when it changed).

        While the watcher runs (a served app), this never touches the database: the
        watcher checks for changes in the background and swaps in a rebuilt model.
        """
        m = self._model
        if m is not None and self._watching:
            return m
        now = time.monotonic()
        if m is not None and now - self._checked < self.refresh_interval:
            return m
        current = stamp(self.cursor())
        self._checked = now
        if m is not None and m.stamp == current:
            return m
        return self.refresh()

    def refresh(self) -> ReadModel:
        """Rebuild the read model now (after a write, or when the workspace changed)."""
        with self._model_lock:
            current = stamp(self.cursor())
            if self._model is not None and self._model.stamp == current:
                return self._model
            with self.write_lock:  # the Ibis backend compiles over the workspace connection
                new = ReadModel.build(self.cursor(), self.ws.engine)
            # Requests may still read the previous version: drop it one rebuild later.
            for old in self._retired:
                old.drop(self.cursor())
            self._retired = [self._model] if self._model is not None else []
            self._model = new
            # A large read model is millions of long-lived objects; keep them out of the
            # garbage collector's scans (a full scan pauses every request for ~1 s at 1M).
            if new.timeline.table.num_rows > 200_000:
                gc.collect()
                gc.freeze()
            self._checked = time.monotonic()
            return new

    def queue_view(self) -> QueueView | None:
        """The routing queue in memory, or ``None`` before the routing stage exists."""
        m = self.model
        if not m.usable("routing_queue"):
            return None
        if self._queue_fresh(self._queue, m):
            return self._queue
        with self._queue_lock:
            if not self._queue_fresh(self._queue, m):
                self._queue = QueueView.build(self.cursor(), m, self._queue_version)
            return self._queue

    def _queue_fresh(self, q: QueueView | None, m: ReadModel) -> bool:
        return (
            q is not None
            and q.model is m
            and q.version == self._queue_version
            and (self._watching or time.monotonic() - q.built_at < self.refresh_interval)
        )

    # -- watching for changes --------------------------------------------------------
    def start_watching(self) -> None:
        """Check for changes every ``refresh_interval`` seconds in a background thread.

        Requests then never wait on the check (a query of ~10 ms under load), and a
        rebuild happens beside them: they read the previous version until it is swapped.
        Changes to the routing queue (claims, escalations by the routing stage) are
        detected from its size and latest ``updated_at``.
        """
        if self._watcher is not None or self.refresh_interval <= 0:
            return
        self.model  # noqa: B018 - build the first version before watching
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, name="socialcrm-watch", daemon=True)
        self._watching = True
        self._watcher.start()

    def _watch(self) -> None:
        queue_seen: tuple | None = None
        while not self._stop.wait(self.refresh_interval):
            try:
                m = self._model
                if m is None or stamp(self.cursor()) != m.stamp:
                    m = self.refresh()
                if m.usable("routing_queue"):
                    cols = m.columns["routing_queue"]
                    latest = "max(updated_at)" if "updated_at" in cols else "NULL"
                    seen = tuple(
                        self.cursor()
                        .execute(f"SELECT count(*), {latest} FROM routing_queue")
                        .fetchall()[0]
                    )
                    if queue_seen is not None and seen != queue_seen:
                        self._queue_version += 1
                        self.queue_view()
                    queue_seen = seen
            except duckdb.Error:
                log.exception("checking the workspace for changes failed; retrying")

    def stop_watching(self) -> None:
        self._watching = False
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=30)
            self._watcher = None

    # -- writes --------------------------------------------------------------------
    def write(self, change: Callable[[Workspace], T]) -> T:
        """Apply one change to the workspace, serially, and refresh the read model."""
        with self.write_lock:
            try:
                result = change(self.ws)
            finally:
                self._queue_version += 1
        self.refresh()
        return result

    def close(self) -> None:
        self.stop_watching()
        for m in [*self._retired, *([self._model] if self._model else [])]:
            m.drop(self.ws.con)
        for cur in self._cursors:
            with contextlib.suppress(duckdb.Error):
                cur.close()
        self._cursors.clear()


def _clean(v: Any) -> Any:
    """A DuckDB value as JSON can carry it (NaN and infinities become null)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list):
        return [_clean(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if type(v).__name__ == "Decimal":
        return float(v)
    return v


clean = _clean
