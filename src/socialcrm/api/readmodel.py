"""An in-memory read model of the workspace, so the agent's 360° view answers in microseconds.

DuckDB is built for scans, not for thousands of point lookups a second: every query
costs a fraction of a millisecond before it reads a row, and "everything this person
sent or received" is a scan of every interaction (handles sit in ``actor`` *and* in
``targets``). The service therefore keeps, per workspace version, Arrow copies of the
entity-keyed tables sorted by their key, with each key's row range in a dict
(:class:`KeyedIndex`): a lookup is a dict access and a zero-copy slice.

It is rebuilt when the workspace changes (new import, merge or unmerge, a stage table
replaced), detected by a cheap :func:`stamp` query, and at once after the service's own
writes. Everything here is derived; nothing is written to the workspace file.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from socialcrm.api.stages import usable
from socialcrm.store.views import edges, resolved_interactions

SNIPPET_CHARS = 280  # text kept per interaction in the read model (a tweet's length)

_ids = iter(range(1, 1 << 62))
_ids_lock = threading.Lock()


Rows = pa.Table | pa.RecordBatch  # what a KeyedIndex lookup returns


def _next_id() -> int:
    with _ids_lock:
        return next(_ids)


def stamp(cur: duckdb.DuckDBPyConnection) -> tuple:
    """A value that changes whenever anything the read model reflects changes.

    Tokens and the routing tables are left out: they change all day and the read model
    does not hold them (the queue has its own view, see :class:`QueueView`).
    """
    return cur.execute(
        """SELECT (SELECT coalesce(max(import_id), 0) FROM imports),
                  (SELECT count(*) FROM identity_merges),
                  (SELECT count(undone_at) FROM identity_merges),
                  (SELECT count(*) FROM identities),
                  (SELECT count(*) FROM entities),
                  (SELECT string_agg(table_name || ':' || table_oid || ':' || estimated_size, ','
                                     ORDER BY table_name)
                   FROM duckdb_tables() WHERE database_name = current_database()
                     AND schema_name = current_schema() AND table_name <> 'api_tokens'
                     AND NOT starts_with(table_name, 'routing_'))"""
    ).fetchall()[0]


def table_columns(cur: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Tables of the workspace and their columns, in order."""
    rows = cur.execute(
        """SELECT table_name, column_name FROM duckdb_columns()
           WHERE database_name = current_database() AND schema_name = current_schema()
           ORDER BY table_name, column_index"""
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


class KeyedIndex:
    """An Arrow table sorted by ``key`` with each key's row range: O(1) lookups, zero copy.

    Example
    -------
    >>> t = pa.table({"k": ["a", "a", "b"], "v": [1, 2, 3]})
    >>> KeyedIndex(t, "k").get("a").column("v").to_pylist()
    [1, 2]
    >>> KeyedIndex(t, "k", python=True).rows("a")
    [{'v': 1}, {'v': 2}]
    """

    def __init__(self, table: pa.Table, key: str, *, python: bool = False) -> None:
        self.table = table
        self.key = key
        self.ranges: dict[Any, tuple[int, int]] = {}
        if table.num_rows:
            ree = pc.run_end_encode(table.column(key).combine_chunks())
            ends = ree.run_ends.to_pylist()
            starts = [0, *ends[:-1]]
            self.ranges = dict(
                zip(ree.values.to_pylist(), zip(starts, ends, strict=True), strict=True)
            )
        # Slices of one record batch cost a third less than slices of a chunked table
        # (and every 360° view takes a few); a table too big for one batch stays chunked.
        self._sliced: Rows = table
        with contextlib.suppress(pa.ArrowInvalid):
            batches = table.combine_chunks().to_batches()
            if len(batches) == 1:
                self._sliced = batches[0]
        # Small tables read on every view (entities, identities, activity): Python columns,
        # so that reading rows is list lookups instead of an Arrow conversion (a few lists
        # for the garbage collector to walk, not an object per row).
        self._columns = table.to_pydict() if python else None
        self._arrow = list(zip(table.column_names, table.columns, strict=True))

    def get(self, value: Any) -> Rows:
        """The key's rows (zero rows if it has none), key column included."""
        span = self.ranges.get(value)
        if span is None:
            return self._sliced.slice(0, 0)
        return self._sliced.slice(span[0], span[1] - span[0])

    def rows(self, value: Any) -> list[dict[str, Any]]:
        """The key's rows as dicts, without the key column (the caller has it)."""
        span = self.ranges.get(value)
        if span is None:
            return []
        if self._columns is None:
            return self.get(value).drop_columns([self.key]).to_pylist()
        cols = [(n, c) for n, c in self._columns.items() if n != self.key]
        return [{n: c[i] for n, c in cols} for i in range(span[0], span[1])]

    def first(self, value: Any) -> dict[str, Any] | None:
        """The key's first row as a dict, key column included."""
        span = self.ranges.get(value)
        if span is None:
            return None
        i = span[0]
        if self._columns is not None:
            return {name: column[i] for name, column in self._columns.items()}
        # one scalar per column: a third of the cost of converting a one-row slice
        return {name: column[i].as_py() for name, column in self._arrow}

    def __contains__(self, value: object) -> bool:
        return value in self.ranges

    def __len__(self) -> int:
        return len(self.ranges)


def _iso(col: str) -> str:
    return f"strftime({col}, '%Y-%m-%dT%H:%M:%SZ')"


def numeric_column(
    columns: list[str], types: dict[str, str], candidates: tuple[str, ...]
) -> str | None:
    """The first candidate column that exists and is numeric (stages name things their way)."""
    for c in candidates:
        if c in columns and types.get(c, "").split("(")[0] in _NUMERIC:
            return c
    return None


_NUMERIC = {
    "DOUBLE",
    "FLOAT",
    "REAL",
    "DECIMAL",
    "INTEGER",
    "BIGINT",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
    "UBIGINT",
    "UINTEGER",
}
TIMELINE_COLUMNS = frozenset(
    [
        "entity_id",
        "ts",
        "interaction_id",
        "direction",
        "counterpart",
        "channel",
        "kind",
        "visibility",
        "source",
        "actor",
        "actor_entity",
        "conversation_id",
        "conv_private",
        "in_reply_to",
        "text",
        "value",
    ]
)
SENTIMENT_COLUMNS = ("sentiment", "sentiment_score", "compound", "sentiment_compound")
STRENGTH_ORDER = ("strength",)


@dataclass
class ReadModel:
    """The indexes of one workspace version; built by :meth:`build`, then read-only."""

    stamp: tuple
    columns: dict[str, list[str]]
    types: dict[str, dict[str, str]]
    cache_db: str  # an attached in-memory DuckDB holding the conversation summary
    entities: KeyedIndex
    identities: KeyedIndex
    timeline: KeyedIndex  # entity_id -> interactions sent or received, newest first
    summaries: KeyedIndex  # entity_id -> counts and first/last time, all and public only
    contacts: KeyedIndex  # entity_id -> counterparts by interaction count (before ties exist)
    conversations: KeyedIndex  # conversation_id -> summary row
    activity: KeyedIndex | None = None
    ties: KeyedIndex | None = None  # source_entity -> ties, strongest first
    metrics: KeyedIndex | None = None
    alerts: KeyedIndex | None = None  # entity_id -> next actions (alerts), most at stake first
    sentiment_column: str | None = None
    built_seconds: float = 0.0
    memo: dict[tuple, Any] = field(default_factory=dict)
    memo_lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """Cache an aggregate (a plot's series) for the life of this workspace version."""
        if key in self.memo:
            return self.memo[key]
        value = compute()
        with self.memo_lock:
            self.memo[key] = value
        return value

    def usable(self, table: str) -> bool:
        return usable(table, self.columns)

    @classmethod
    def build(cls, con: duckdb.DuckDBPyConnection, ws_engine: Any) -> ReadModel:
        """Build every index from the workspace (``con`` is a cursor of its connection)."""
        start = time.perf_counter()
        st = stamp(con)
        columns = table_columns(con)
        types: dict[str, dict[str, str]] = {}
        for table, column, dtype in con.execute(
            """SELECT table_name, column_name, data_type FROM duckdb_columns()
               WHERE database_name = current_database() AND schema_name = current_schema()"""
        ).fetchall():
            types.setdefault(table, {})[column] = dtype
        cache_db = f"scrm_api_cache_{_next_id()}"
        con.execute(f"ATTACH ':memory:' AS {cache_db}")

        resolved_sql, edges_sql = _view_sql(ws_engine, types)

        has_labels = usable("message_labels", columns)
        sentiment_col = (
            numeric_column(columns["message_labels"], types["message_labels"], SENTIMENT_COLUMNS)
            if has_labels
            else None
        )
        # Label columns beside the message's own (a stage may repeat e.g. ``channel``).
        label_cols = (
            [c for c in columns["message_labels"] if c not in TIMELINE_COLUMNS]
            if has_labels
            else []
        )

        # Messages with their conversation's privacy, once, for the timeline and summary.
        con.execute(
            f"""CREATE TABLE {cache_db}.msg AS
            SELECT r.interaction_id, r.source, r.channel, r.ts, r.actor, r.actor_entity,
                   r.conversation_id, r.in_reply_to, r.kind, r.visibility,
                   left(r.text, {SNIPPET_CHARS}) AS text, r.value,
                   bool_or(r.visibility = 'private') OVER (PARTITION BY r.conversation_id)
                       AS conv_private
            FROM ({resolved_sql}) r"""
        )
        con.execute(
            f"""CREATE TABLE {cache_db}.conv AS
            SELECT conversation_id,
                   count(*) AS messages,
                   count(*) FILTER (WHERE visibility = 'private') AS private_messages,
                   bool_or(conv_private) AS private,
                   min(ts) AS first_ts, max(ts) AS last_ts,
                   list_sort(list_distinct(list(channel))) AS channels,
                   count(DISTINCT actor_entity) AS participants,
                   arg_min(actor_entity, ts) AS started_by,
                   arg_max(actor_entity, ts) AS last_by,
                   arg_min(text, ts) AS first_text
            FROM {cache_db}.msg GROUP BY conversation_id"""
        )
        label_join = ""
        label_select = ""
        if has_labels:
            label_select = ", " + ", ".join(f'l."{c}"' for c in label_cols)
            label_join = "LEFT JOIN message_labels l ON l.interaction_id = t.interaction_id"
        timeline = con.sql(
            f"""WITH t AS (
                SELECT actor_entity AS entity_id, interaction_id, 'sent' AS direction,
                       CAST(NULL AS VARCHAR) AS counterpart
                FROM {cache_db}.msg
                UNION ALL
                SELECT DISTINCT target_entity, interaction_id, 'received', actor_entity
                FROM ({edges_sql})
            )
            SELECT t.entity_id, {_iso("m.ts")} AS ts, t.interaction_id, t.direction,
                   t.counterpart, m.channel, m.kind, m.visibility, m.source, m.actor,
                   m.actor_entity, m.conversation_id, m.conv_private, m.in_reply_to,
                   m.text, m.value{label_select}
            FROM t JOIN {cache_db}.msg m USING (interaction_id) {label_join}
            ORDER BY t.entity_id, m.ts DESC, t.interaction_id"""
        ).to_arrow_table()
        contacts = con.sql(
            f"""WITH e AS (SELECT actor_entity, target_entity, count(*) AS n
                           FROM ({edges_sql}) GROUP BY ALL),
            both_ways AS (
                SELECT actor_entity AS entity_id, target_entity AS other, n AS sent, 0 AS received
                FROM e
                UNION ALL
                SELECT target_entity, actor_entity, 0, n FROM e)
            SELECT entity_id, other, sum(sent)::BIGINT AS sent, sum(received)::BIGINT AS received,
                   (sum(sent) + sum(received))::BIGINT AS interactions
            FROM both_ways GROUP BY ALL ORDER BY entity_id, interactions DESC, other"""
        ).to_arrow_table()
        conv = con.sql(
            f"""SELECT conversation_id, messages, private_messages, private,
                       {_iso("first_ts")} AS first_ts, {_iso("last_ts")} AS last_ts,
                       channels, participants, started_by, last_by, first_text
                FROM {cache_db}.conv ORDER BY conversation_id"""
        ).to_arrow_table()
        entities = con.sql(
            "SELECT entity_id, kind, role, display_name, CAST(attrs AS VARCHAR) AS attrs,"
            f" {_iso('created_at')} AS created_at FROM entities ORDER BY entity_id"
        ).to_arrow_table()
        idents = con.sql(
            "SELECT entity_id, handle, source, link_rule, evidence,"
            " CASE WHEN contains(handle, ':') THEN split_part(handle, ':', 1) END AS channel"
            " FROM identities ORDER BY entity_id, handle"
        ).to_arrow_table()
        con.execute(f"DROP TABLE {cache_db}.msg")
        con.register(f"{cache_db}_timeline", timeline)
        summaries = con.sql(
            f"""SELECT entity_id,
                      count(*) AS interactions, min(ts) AS first_ts, max(ts) AS last_ts,
                      count(*) FILTER (direction = 'sent') AS sent,
                      count(*) FILTER (visibility = 'public') AS public_interactions,
                      min(ts) FILTER (visibility = 'public') AS public_first_ts,
                      max(ts) FILTER (visibility = 'public') AS public_last_ts,
                      count(*) FILTER (visibility = 'public' AND direction = 'sent')
                          AS public_sent
               FROM {cache_db}_timeline GROUP BY entity_id ORDER BY entity_id"""
        ).to_arrow_table()
        con.unregister(f"{cache_db}_timeline")

        model = cls(
            stamp=st,
            columns=columns,
            types=types,
            cache_db=cache_db,
            entities=KeyedIndex(entities, "entity_id", python=True),
            identities=KeyedIndex(idents, "entity_id", python=True),
            timeline=KeyedIndex(timeline, "entity_id"),
            summaries=KeyedIndex(summaries, "entity_id", python=True),
            contacts=KeyedIndex(contacts, "entity_id"),
            conversations=KeyedIndex(conv, "conversation_id", python=True),
            sentiment_column=sentiment_col,
        )
        if usable("entity_activity", columns):
            model.activity = _keyed(
                con, "entity_activity", "entity_id", "channel", columns, types, python=True
            )
        if usable("ties", columns):
            model.ties = _keyed(
                con, "ties", "source_entity", "strength DESC, target_entity", columns, types
            )
        if usable("entity_metrics", columns):
            model.metrics = _keyed(con, "entity_metrics", "entity_id", "entity_id", columns, types)
        if usable("next_actions", columns):
            order = (
                '"at_stake" DESC NULLS LAST'
                if "at_stake" in columns["next_actions"]
                else '"entity_id"'
            )
            model.alerts = _keyed(con, "next_actions", "entity_id", order, columns, types)
        model.built_seconds = time.perf_counter() - start
        return model

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        """Release the attached cache database."""
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DETACH {self.cache_db}")


_VIEW_SQL: dict[tuple, tuple[str, str]] = {}


def _view_sql(ws_engine: Any, types: dict[str, dict[str, str]]) -> tuple[str, str]:
    """The store's resolved-interactions and edges views as DuckDB SQL (compiled by Ibis once
    per schema: compiling costs more than running them on a small workspace)."""
    key = tuple(
        (table, tuple(sorted(types.get(table, {}).items())))
        for table in ("interactions", "identities")
    )
    if key not in _VIEW_SQL:
        interactions = ws_engine.table("interactions")
        identities = ws_engine.table("identities")
        _VIEW_SQL[key] = (
            ws_engine.backend.compile(resolved_interactions(interactions, identities)),
            ws_engine.backend.compile(edges(interactions, identities)),
        )
    return _VIEW_SQL[key]


def _keyed(
    con: duckdb.DuckDBPyConnection,
    table: str,
    key: str,
    order: str,
    columns: dict[str, list[str]],
    types: dict[str, dict[str, str]],
    *,
    python: bool = False,
) -> KeyedIndex:
    """A stage table as a KeyedIndex, timestamps as ISO strings and JSON as text."""
    select = ", ".join(_json_safe(c, types[table][c]) for c in columns[table])
    t = con.sql(
        f'SELECT {select} FROM "{table}" WHERE "{key}" IS NOT NULL ORDER BY "{key}", {order}'
    ).to_arrow_table()
    return KeyedIndex(t, key, python=python)


def _json_safe(column: str, dtype: str, qualifier: str = "") -> str:
    """A projection of ``column`` (of table alias ``qualifier``) whose values JSON can carry."""
    name = '"' + column.replace('"', '""') + '"'
    q = f"{qualifier}.{name}" if qualifier else name
    if dtype.startswith("TIMESTAMP") or dtype == "DATE":
        return f"strftime(CAST({q} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ') AS {name}"
    if dtype in ("JSON", "UUID", "INTERVAL", "BLOB") or dtype.startswith(
        ("STRUCT", "MAP", "UNION")
    ):
        return f"CAST({q} AS VARCHAR) AS {name}"
    if dtype.startswith("DECIMAL"):
        return f"CAST({q} AS DOUBLE) AS {name}"
    return f"{q} AS {name}"


json_safe_column = _json_safe


PRIORITY_COLUMNS = ("priority", "score")


@dataclass
class QueueView:
    """The routing queue in memory: in priority order, and by conversation.

    Kept apart from :class:`ReadModel` because it changes with every claim and answer:
    it is rebuilt after each write through the service and at most ``refresh_interval``
    seconds after any other change, and building it reads one small table.
    """

    model: ReadModel
    version: int
    built_at: float
    ordered: pa.Table  # queue rows by priority, with the conversation's privacy and opening
    by_conversation: KeyedIndex
    json_columns: tuple[str, ...] = ()
    # What requests derive from this version (what a role may list, first pages), kept
    # until the next version; filled on first use.
    derived: dict[tuple, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, con: duckdb.DuckDBPyConnection, model: ReadModel, version: int) -> QueueView:
        cols = model.columns["routing_queue"]
        types = model.types["routing_queue"]
        select = ", ".join(_json_safe(c, types[c], "q") for c in cols)
        extra = [f"c.{c}" for c in ("first_text", "started_by", "channels") if c not in cols]
        prio = next((c for c in PRIORITY_COLUMNS if c in cols), None)
        order = f'q."{prio}" DESC NULLS LAST, ' if prio else ""
        private = "coalesce(c.private, FALSE)"
        if "visibility" in cols:
            private += " OR coalesce(q.visibility = 'private', FALSE)"
        ordered = con.sql(
            f"""SELECT {select}, {", ".join([*extra, f"({private}) AS _private"])}
                FROM routing_queue q
                LEFT JOIN {model.cache_db}.conv c ON c.conversation_id = q.conversation_id
                WHERE q.conversation_id IS NOT NULL
                ORDER BY {order} q.conversation_id"""
        ).to_arrow_table()
        # Not ``python=True``: Python columns of every queued row would be ~20 objects per
        # row that the garbage collector walks on each full pass (tens of ms per 30k rows,
        # paid by whichever request triggers it); one row is read per claim, from Arrow.
        by_id = KeyedIndex(ordered.sort_by("conversation_id"), "conversation_id")
        json_columns = tuple(c for c in cols if types[c] == "JSON")
        return cls(model, version, time.monotonic(), ordered, by_id, json_columns)

    def rows(self, table: pa.Table) -> list[dict[str, Any]]:
        """Rows as dicts, JSON columns (e.g. the priority ``reasons``) decoded."""
        out = table.drop_columns(["_private"]).to_pylist()
        for r in out:
            decode_json(r, self.json_columns)
        return out

    def row(self, conversation_id: str) -> dict[str, Any] | None:
        r = self.by_conversation.first(conversation_id)
        return decode_json(r, self.json_columns) if r is not None else None


def decode_json(row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """Parse the JSON text of ``columns`` in place (left as text if it does not parse)."""
    for c in columns:
        value = row.get(c)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # orjson.JSONDecodeError is a ValueError
                row[c] = orjson.loads(value)
    return row
