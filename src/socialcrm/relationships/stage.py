"""The relationship stage: from the canonical tables to ``tie_features``, ``ties``, ``tie_history``.

Pipeline (DESIGN.md "The flow"; one definition for DuckDB and Spark):

1. :func:`tie_edges` — the store's resolved ``edges`` view (:func:`socialcrm.store.views.edges`),
   with each message's ``sentiment`` from the conversation stage's ``message_labels`` when that
   table exists (else NULL, which the features read as neutral), and without entities of kind or
   role ``system`` (a dump's anonymous voters and readers are not anyone's relationship; the
   influence stage drops them the same way, :func:`socialcrm.influence.portable.current_ties`).
2. :func:`socialcrm.relationships.features.tie_features` — one row per ordered pair (Ibis).
3. :func:`score` — :class:`~socialcrm.relationships.strength.TieStrengthModel` adds ``strength``
   and one log-odds contribution per component (``time, intensity, reciprocity, trust``). The
   model is a few hundred small trees evaluated with numpy on Arrow batches, identically on any
   engine's output.
4. :func:`relative_ties` — rank and percentile of the tie in the source's and the target's
   network and its Dunbar layer (:func:`socialcrm.relationships.relative.relative_strength`,
   Ibis windows), plus the ego / population number-vs-strength trade-off.

History: :func:`history_features` computes the features as they stood at the end of every month
the data covers (only interactions before the month's end, recency measured from it), all months
in one query, and the same model scores them.

References: seed 000 (four components; relative strength; Dunbar layers); M. Granovetter, "The
strength of weak ties", AJS 78 (1973); E. Gilbert and K. Karahalios, "Predicting tie strength with
social media", CHI 2009; W.-X. Zhou, D. Sornette, R. Hill, R. Dunbar, "Discrete hierarchical
organization of social group sizes", Proc. R. Soc. B 272 (2005).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from socialcrm.relationships.features import DAY_S, WEEK_S, tie_features
from socialcrm.relationships.relative import ego_tradeoff, population_tradeoff, relative_strength
from socialcrm.relationships.strength import COMPONENTS, TieStrengthModel
from socialcrm.store.views import edges

SYSTEM = "system"


@dataclass(frozen=True)
class TieParams:
    """Settings of the relationship stage (``[relationships]`` in ``socialcrm.toml``).

    ``half_life_days`` defaults to the workspace's ``tie_half_life_days``.
    """

    half_life_days: float = 30.0
    encounter_gap_s: float = 60.0
    time_bin_minutes: int = 20
    max_neighbours: int = 150
    history: bool = True  # write monthly tie_history
    history_max_months: int = 12  # only the last this many months of the data
    batch_rows: int = 1_000_000  # ties scored per Arrow batch (bounds memory)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> TieParams:
        """Defaults, then ``tie_half_life_days``, then ``[relationships]``, then ``overrides``."""
        values: dict[str, Any] = {"half_life_days": float(settings.tie_half_life_days)}
        section: Mapping[str, Any] = (getattr(settings, "extra", {}) or {}).get("relationships", {})
        known = {f.name for f in fields(cls)}
        unknown = set(section) - known
        if unknown:
            raise ValueError(
                f"socialcrm.toml [relationships]: unknown keys {sorted(unknown)};"
                f" known: {sorted(known)}"
            )
        values.update(section)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def feature_kwargs(self) -> dict[str, Any]:
        return {
            "half_life_days": self.half_life_days,
            "encounter_gap_s": self.encounter_gap_s,
            "time_bin_minutes": self.time_bin_minutes,
            "max_neighbours": self.max_neighbours,
        }


def _has_table(engine: Any, name: str) -> bool:
    # not backend.list_tables(): Ibis 12 calls an API DuckDB 2 removed
    if engine.name == "duckdb":
        engine.con.complete()  # DuckDB 2: finish any pending result first
        rows = engine.con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()
        return bool(rows)
    return bool(engine.backend._session.catalog.tableExists(name))


def tie_edges(engine: Any) -> ir.Table:
    """The resolved edges the stage reads, with ``sentiment`` and without system entities."""
    inter, ids = engine.table("interactions"), engine.table("identities")
    e = edges(inter, ids)
    if _has_table(engine, "message_labels"):
        lab = engine.table("message_labels")
        lab = lab.select(l_iid=lab.interaction_id, sentiment=lab.sentiment.cast("float64"))
        e = e.left_join(lab, e.interaction_id == lab.l_iid).drop("l_iid")
    if _has_table(engine, "entities"):
        ents = engine.table("entities")
        system = ents.filter((ents.kind == SYSTEM) | (ents.role == SYSTEM)).select(
            sys_id=ents.entity_id
        )
        sys_ids = system.sys_id
        e = e.filter(~e.actor_entity.isin(sys_ids) & ~e.target_entity.isin(sys_ids))
    return e


def score(
    features: pd.DataFrame,
    model: TieStrengthModel | None = None,
    keep: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """``strength`` and each component's contribution for every row of ``features``.

    Returns ``features``' columns (or only ``keep``) followed by ``strength`` and
    ``time, intensity, reciprocity, trust`` (log-odds relative to an average tie:
    ``sigmoid(base + sum of the four) == strength``).
    """
    model = model or TieStrengthModel.default()
    out = features if keep is None else features[list(keep)]
    out = out.reset_index(drop=True).copy()
    if len(features) == 0:
        out["strength"] = pd.Series(dtype="float64")
        for c in COMPONENTS:
            out[c] = pd.Series(dtype="float64")
        return out
    contrib = model.contributions(features)
    out["strength"] = contrib["strength"].to_numpy(dtype=np.float64)
    for c in COMPONENTS:
        out[c] = contrib[c].to_numpy(dtype=np.float64)
    return out


def relative_ties(scored: ir.Table) -> ir.Table:
    """The ``ties`` contract: relative strength and the Dunbar layer label added to scored ties.

    ``percentile_in_source``: share of the source's ties at most this strong (1.0 = its
    strongest); ``percentile_in_target``: the same for the reverse tie b→a in b's network;
    ``rank_in_source`` / ``rank_in_target``: 1 = strongest; ``layer``: "5", "15", "50", "150" or
    "beyond" by ``rank_in_source``; ``layer_index``: 1..5.
    """
    rel = relative_strength(scored)
    return rel.rename(
        percentile_in_source="pct_in_source",
        percentile_in_target="pct_in_target",
        layer_index="layer",
    ).rename(layer="layer_name")


def tradeoff(ties: ir.Table) -> ir.Table:
    """Per ego and for the population: number of ties against mean strength (``tie_tradeoff``).

    One table: ``scope`` = ``ego`` rows (``entity``, ``n_ties``, ``mean_strength``, ...) and
    ``population`` rows (``size_bin``: egos with 1, 2-3, 4-7 ... ties; ``egos``; their mean
    strength; ``corr_log_ties_strength``, negative when more ties means weaker ties).
    """
    t = ties.rename(layer_name="layer", layer="layer_index")
    ego = ego_tradeoff(t)
    pop = population_tradeoff(ego)
    f8, i8, s = "float64", "int64", "string"
    ego_rows = ego.select(
        scope=ibis.literal("ego"),
        entity=ego.source_entity.cast(s),
        size_bin=ibis.null().cast(i8),
        egos=ibis.literal(1).cast(i8),
        n_ties=ego.n_ties.cast(f8),
        mean_strength=ego.mean_strength.cast(f8),
        total_strength=ego.total_strength.cast(f8),
        inner_mean_strength=ego.inner_mean_strength.cast(f8),
        corr_log_ties_strength=ibis.null().cast(f8),
    )
    pop_rows = pop.select(
        scope=ibis.literal("population"),
        entity=ibis.null().cast(s),
        size_bin=pop.size_bin.cast(i8),
        egos=pop.egos.cast(i8),
        n_ties=pop.mean_ties.cast(f8),
        mean_strength=pop.mean_strength.cast(f8),
        total_strength=pop.mean_total_strength.cast(f8),
        inner_mean_strength=ibis.null().cast(f8),
        corr_log_ties_strength=pop.corr_log_ties_strength.cast(f8),
    )
    return ego_rows.union(pop_rows, distinct=False)


# ---- history ---------------------------------------------------------------------------------
HISTORY_KEEP: tuple[str, ...] = ("period", "source_entity", "target_entity", "n_ab", "n_ba")


def history_periods(e: ir.Table, engine: Any, max_months: int) -> list[pd.Timestamp]:
    """First days of the months the data covers (first to last interaction), newest last."""
    if engine.name == "duckdb":
        engine.con.complete()  # DuckDB 2: finish any pending result first
    span = engine.to_arrow(e.aggregate(lo=e.ts.min(), hi=e.ts.max())).to_pylist()[0]
    if span["lo"] is None:
        return []
    lo = pd.Timestamp(span["lo"]).tz_localize(None).to_period("M").to_timestamp()
    hi = pd.Timestamp(span["hi"]).tz_localize(None).to_period("M").to_timestamp()
    months = list(pd.date_range(lo, hi, freq="MS"))
    return months[-max_months:]


def history_features(
    e: ir.Table, periods: list[pd.Timestamp], params: TieParams, engine: Any = None
) -> ir.Table:
    """Features at the end of every month in ``periods``, all months in one ``tie_features`` call.

    Month k's snapshot sees only interactions before the first day of the next month (its
    end), as the stage would have on that day. Running one query per month would repeat every
    join and window per month, so instead every month gets its own copy of the log: entity and
    interaction ids are prefixed with ``k|`` (months never mix) and times are moved forward by
    whole weeks so that every month ends within a week of the same instant. Whole-week shifts
    keep calendar days, weeks and times of day, so every feature is unchanged except the two
    measured from the end: ``recency_days`` and ``decayed_volume``, which are corrected exactly
    for the remaining offset. One approximation: the time-of-day mixing weights of the
    voluntary-time feature are estimated once over all months together.

    Returns the feature columns plus ``period`` (DATE, first day of the month).
    """
    ends = [(p + pd.offsets.MonthBegin(1)).tz_localize("UTC") for p in periods]
    last = int(ends[-1].timestamp())
    shifts, offsets = [], []
    for end in ends:
        gap = last - int(end.timestamp())
        shift = -(-gap // WEEK_S) * WEEK_S  # whole weeks, at least the gap
        shifts.append(shift)
        offsets.append(int(end.timestamp()) + shift)
    common = max(offsets)
    t = e.ts.epoch_seconds().cast("int64")
    copies = []
    for k, (end, shift) in enumerate(zip(ends, shifts, strict=True)):
        pre = f"{k}|"
        c = e.filter(t < int(end.timestamp()))
        copies.append(
            c.mutate(
                interaction_id=pre + c.interaction_id.cast("string"),
                in_reply_to=pre + c.in_reply_to.cast("string"),
                conversation_id=pre + c.conversation_id.cast("string"),
                actor_entity=pre + c.actor_entity.cast("string"),
                target_entity=pre + c.target_entity.cast("string"),
                ts=(c.ts.epoch_seconds().cast("int64") + shift).as_timestamp("s"),
            )
        )
    log = copies[0]
    for c in copies[1:]:
        log = log.union(c, distinct=False)
    if engine is not None:  # every feature reads the log several times: store it once
        store_expr(engine, "_tie_history_log", log)
        log = engine.table("_tie_history_log")
    f = tie_features(log, as_of=pd.Timestamp(common, unit="s", tz="UTC"), **params.feature_kwargs())
    k = f.source_entity.split("|")[0].cast("int64")
    delta_days = ibis.cases(
        *[(k == i, (common - off) / DAY_S) for i, off in enumerate(offsets)], else_=0.0
    )
    period = ibis.cases(
        *[(k == i, ibis.literal(p.date(), type="date")) for i, p in enumerate(periods)]
    )
    strip = f.source_entity.find("|") + 1
    return f.mutate(
        period=period,
        source_entity=f.source_entity.substr(strip),
        target_entity=f.target_entity.substr(f.target_entity.find("|") + 1),
        recency_days=f.recency_days - delta_days,
        decayed_volume=f.decayed_volume
        * (delta_days * math.log(2.0) / params.half_life_days).exp(),
    )


def features_expr(engine: Any, params: TieParams, as_of: datetime | None = None) -> ir.Table:
    """The ``tie_features`` expression over the engine's canonical tables."""
    return tie_features(tie_edges(engine), as_of=as_of, **params.feature_kwargs())


# ---- storing results on either engine ----------------------------------------------------------
def store_expr(engine: Any, name: str, expr: ir.Table) -> int:
    """Materialise ``expr`` as ``name``: a workspace table (DuckDB) or a checkpointed view (Spark)."""
    if engine.name == "duckdb":
        return engine.materialize(name, expr)
    session = engine.backend._session
    df = session.sql(str(engine.backend.compile(expr))).localCheckpoint(eager=True)
    df.createOrReplaceTempView(name)
    return int(df.count())


def store_arrow(engine: Any, name: str, table: pa.Table) -> int:
    """Store an Arrow table computed in Python (the scored ties) as ``name`` on the engine."""
    if engine.name == "duckdb":
        con = engine.con
        con.register("_ties_arrow_in", table)
        try:
            con.execute(
                f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _ties_arrow_in'
            ).fetchall()
        finally:
            con.unregister("_ties_arrow_in")
    else:
        session = engine.backend._session
        session.createDataFrame(table.to_pandas()).createOrReplaceTempView(name)
    return table.num_rows


def drop(engine: Any, name: str) -> None:
    """Remove an intermediate table or view the stage created."""
    if engine.name == "duckdb":
        engine.con.execute(f'DROP TABLE IF EXISTS "{name}"').fetchall()
    else:
        engine.backend._session.catalog.dropTempView(name)


def _read_batches(engine: Any, name: str, rows: int) -> Iterator[pd.DataFrame]:
    if engine.name == "duckdb":
        engine.con.complete()
        reader = engine.con.sql(f'SELECT * FROM "{name}"').to_arrow_reader(rows)
        got = False
        for batch in reader:
            got = True
            yield batch.to_pandas()
        if not got:
            yield engine.con.sql(f'SELECT * FROM "{name}" LIMIT 0').df()
    else:
        yield engine.to_arrow(engine.table(name)).to_pandas()


def _score_table(
    engine: Any, src: str, dst: str, model: TieStrengthModel, rows: int, keep: tuple | None
) -> int:
    parts = [
        pa.Table.from_pandas(score(b, model, keep), preserve_index=False)
        for b in _read_batches(engine, src, rows)
    ]
    table = pa.concat_tables(parts, promote_options="permissive")
    return store_arrow(engine, dst, table)


TIES_FIRST: tuple[str, ...] = (
    "source_entity",
    "target_entity",
    "strength",
    *COMPONENTS,
    "percentile_in_source",
    "percentile_in_target",
    "rank_in_source",
    "rank_in_target",
    "layer",
    "layer_index",
    "source_ties",
)


def run(
    engine: Any,
    params: TieParams | None = None,
    model: TieStrengthModel | None = None,
    *,
    as_of: datetime | None = None,
    history: bool | None = None,
) -> dict[str, int]:
    """Run the whole relationship stage on ``engine`` and store its tables; return row counts.

    Tables: ``tie_features``, ``ties`` (the contract, see :func:`relative_ties`),
    ``tie_tradeoff`` and, unless ``history`` is false, ``tie_history``.
    """
    params = params or TieParams()
    model = model or TieStrengthModel.default()
    history = params.history if history is None else history
    store_expr(engine, "_tie_edges", tie_edges(engine))  # read many times below: compute once
    e = engine.table("_tie_edges")
    feats = tie_features(e, as_of=as_of, **params.feature_kwargs())
    out = {"tie_features": store_expr(engine, "tie_features", feats)}
    _score_table(engine, "tie_features", "_ties_scored", model, params.batch_rows, None)
    rel = relative_ties(engine.table("_ties_scored"))
    rest = [c for c in rel.columns if c not in TIES_FIRST]
    out["ties"] = store_expr(engine, "ties", rel.select(*TIES_FIRST, *rest))
    drop(engine, "_ties_scored")
    out["tie_tradeoff"] = store_expr(engine, "tie_tradeoff", tradeoff(engine.table("ties")))
    if history:
        periods = history_periods(e, engine, params.history_max_months)
        if periods:
            store_expr(
                engine, "_tie_history_features", history_features(e, periods, params, engine)
            )
            keep = (*HISTORY_KEEP, "recency_days")
            out["tie_history"] = _score_table(
                engine, "_tie_history_features", "tie_history", model, params.batch_rows, keep
            )
            drop(engine, "_tie_history_features")
            drop(engine, "_tie_history_log")
    drop(engine, "_tie_edges")
    return out
