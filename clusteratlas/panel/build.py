"""The region x cluster x year panel, following US Cluster Mapping (USCM) exactly.

This module owns the relational work: industry counts -> cluster aggregates -> location
quotients, shares, growth, expected job creation and the qualifying/significant/strong/strong10
flags. Every step is an Ibis expression, so the same code runs on DuckDB (default) and on
PySpark (``backend="spark"``). On DuckDB the expressions are compiled once per input schemas
and options (:mod:`clusteratlas.panel.sqlcache`) and run by :mod:`clusteratlas.panel.engine`,
which writes the result where it is wanted. Only the metrics asked for are computed
(:mod:`clusteratlas.panel.selection`). The rules and the USCM source files they come from are
listed in ``docs/panel.md``.

Notation: E = employment with suppressed cells filled, r = region, c = cluster, t = year,
T(c) = the traded total if c is traded and the local total if c is local, US = the national
record.

.. math::

    LQ_{rct} = \\frac{E_{rct} / E_{r,T(c),t}}{E_{US,ct} / E_{US,T(c),t}}

    \\text{region\\_share} = E_{rc}/E_{r,T(c)} \\qquad
    \\text{national\\_share} = E_{rc}/E_{US,c} \\qquad
    \\text{wage} = AP \\cdot 1000 / E^{reported}_{rc}

Flags use R type-7 quantiles (``d3.quantile``) within region type x traded cluster x year over
regions with E > 0 (custom regions pooled with economic areas):
``strong = LQ >= Q75(LQ) and LQ >= 1 and E > Q25(E) and Est > Q25(Est)``.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clusteratlas.data import suppression
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.panel import engine, selection, sqlcache
from clusteratlas.panel.engine import FLAG_POOL, PanelOptions
from clusteratlas.panel.selection import Selection
from clusteratlas.schema import CLUSTER_PANEL, REGION_TYPES

BACKENDS = ("duckdb", "spark")
LEVELS = ("cluster", "subcluster")
MEASURES = selection.MEASURES

#: Below this many regions the percentile flags say little; build_panel warns.
MIN_FLAG_REGIONS = engine.MIN_FLAG_REGIONS

#: Columns build_panel adds to :data:`clusteratlas.schema.CLUSTER_PANEL`.
PANEL_EXTRA = {
    "emp_region_group": "float64",  # E_{r,T(c)}: the region's traded (or local) employment
    "emp_national": "float64",  # E_{US,c}
    "prev_year": "Int64",  # previous year of the same region x cluster in the panel
    "emp_change": "float64",  # job creation E_t - E_prev (USCM emp_creation_tl)
    "emp_growth": "float64",  # CAGR of E between prev_year and year
    "expected_emp_change": "float64",  # E_prev * national cluster growth (report.js jobCreation)
    "competitive_effect": "float64",  # emp_change - expected_emp_change
    "est_change": "float64",
    "lq_change": "float64",
}

UNASSIGNED = ("na", "(industries not assigned to a subcluster)")

SUBCLUSTER_COLUMNS = {"subcluster_code": "string", "subcluster_name": "string"}


# -------------------------------------------------------------------------------------------
# backends and inputs
# -------------------------------------------------------------------------------------------
def connect(backend: str = "duckdb", *, session: Any = None) -> Any:
    """An Ibis backend: an in-memory DuckDB, or PySpark over ``session`` (local mode if None)."""
    if backend == "duckdb":
        return ibis.duckdb.connect()
    if backend == "spark":
        if session is None:
            from pyspark.sql import SparkSession

            session = (
                SparkSession.builder.master("local[1]")
                .appName("clusteratlas")
                .config("spark.sql.shuffle.partitions", "1")
                .config("spark.default.parallelism", "1")
                .config("spark.ui.enabled", "false")
                .getOrCreate()
            )
        return ibis.pyspark.connect(session)
    raise ParameterError("backend", f"unknown backend {backend!r}", allowed=", ".join(BACKENDS))


def _source(obj: Any, what: str) -> engine.Source | ir.Table:
    """Check an input: an Ibis table, a pandas frame, an Arrow table, or the path (or glob) of
    Parquet files the engine reads directly. Frames become Arrow."""
    if isinstance(obj, ir.Table):
        return obj
    if isinstance(obj, str | os.PathLike):
        return engine.parquet_files(obj, what)
    if isinstance(obj, pd.DataFrame):
        frame = obj
        blank = [c for c in ("emp", "est") if c in frame.columns and frame[c].isna().any()]
        for column in blank:
            warnings.warn(
                f"{what}: {int(frame[column].isna().sum())} row(s) have no {column!r} "
                "(suppressed without a size-class flag?) and count as 0; fill them first "
                "(clusteratlas.data.suppression) to avoid understating totals",
                stacklevel=4,
            )
        if "emp_flag" in frame.columns and "emp" in frame.columns:
            unfilled = frame["emp_flag"].eq("D") & frame["emp"].fillna(0).eq(0)
            if unfilled.any():
                warnings.warn(
                    f"{what}: {int(unfilled.sum())} row(s) are suppressed without a size class "
                    "(emp_flag 'D') and count as 0; fill them first to avoid understating "
                    "totals (clusteratlas.data.suppression, suppressed='hierarchy')",
                    stacklevel=4,
                )
        # through Arrow: fast for millions of rows, and strings/booleans travel the same way to
        # DuckDB and Spark (pandas extension dtypes do not)
        return engine.Arrow(pa.Table.from_pandas(obj, preserve_index=False))
    if isinstance(obj, pa.Table):
        return engine.Arrow(obj)
    raise InputError(
        f"{what} must be a pandas DataFrame, an Arrow table, an Ibis table or the path of "
        f"Parquet files, not {type(obj).__name__}"
    )


def _table(obj: Any, what: str, con: Any) -> ir.Table:
    """Accept any :func:`_source` input as an Ibis table on ``con``."""
    return _ibis(_source(obj, what), con)


def _ibis(source: engine.Source | ir.Table, con: Any, *, nan_option: bool = False) -> ir.Table:
    if isinstance(source, sqlcache.ParquetFiles):
        if nan_option and getattr(con, "name", "") == "duckdb":
            return con.read_parquet(source.pattern, can_have_nan=True)
        return con.read_parquet(source.pattern)
    if isinstance(source, engine.Arrow):
        return ibis.memtable(source.table)
    return source


def _require(table: ir.Table, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"{what} is missing column(s) {', '.join(map(repr, missing))}",
            hint=f"it has {', '.join(table.columns)}",
        )


def _vintage_expr(year: ir.IntegerValue) -> ir.IntegerValue:
    """USCM ``_naics_year`` as an expression (same rule as
    :func:`clusteratlas.data.clusters.naics_vintage_for_year`)."""
    return ibis.cases(
        (year < 2003, 1997),
        (year < 2008, 2002),
        (year < 2013, 2007),
        (year < 2017, 2012),
        else_=2017,
    )


def _prepare_counts(
    counts: ir.Table,
    what: str,
    *,
    nan_guard: bool = True,
    measures: Sequence[str] = MEASURES,
) -> ir.Table:
    """Cast the key columns and the ``measures`` needed (vintage from the USCM year rule if
    absent; a missing optional measure is 0, a missing emp_reported is emp).

    ``nan_guard`` turns NaN measures into NULL, so that sums skip them as pandas does.
    """
    _require(counts, ["year", "region_type", "region_id", "naics", "emp", "est"], what)
    columns = {
        "year": counts.year.cast("int64"),
        "region_type": counts.region_type.cast("string"),
        "region_id": counts.region_id.cast("string"),
        "naics": counts.naics.cast("string"),
        "naics_vintage": (
            counts.naics_vintage.cast("int64")
            if "naics_vintage" in counts.columns
            else _vintage_expr(counts.year.cast("int64"))
        ),
    }
    for measure in measures:
        if measure in counts.columns:
            value = counts[measure].cast("float64")
            # pandas NaN arrives as NULL on DuckDB but as NaN on Spark (and a Parquet file may
            # hold NaN): make both NULL
            columns[measure] = (
                value.isnan().ifelse(ibis.null("float64"), value) if nan_guard else value
            )
        elif measure == "emp_reported":
            columns[measure] = counts.emp.cast("float64")
        else:
            columns[measure] = ibis.literal(0.0, "float64")
    return counts.select(**columns)


def _prepare_definitions(definitions: ir.Table, level: str) -> ir.Table:
    needed = ["naics", "cluster_code", "cluster_name", "traded"]
    if level == "subcluster":
        needed += ["subcluster_code", "subcluster_name"]
    _require(definitions, needed, "cluster definitions")
    columns = {
        "naics": definitions.naics.cast("string"),
        "cluster_code": definitions.cluster_code.cast("string"),
        "cluster_name": definitions.cluster_name.cast("string"),
        "traded": definitions.traded.cast("boolean"),
    }
    if "naics_vintage" in definitions.columns:
        columns["def_vintage"] = definitions.naics_vintage.cast("int64")
    if level == "subcluster":
        # industries without a subcluster get their own bucket, so subclusters add up to clusters
        columns["subcluster_code"] = definitions.subcluster_code.cast("string").fill_null(
            UNASSIGNED[0]
        )
        columns["subcluster_name"] = definitions.subcluster_name.cast("string").fill_null(
            UNASSIGNED[1]
        )
    return definitions.select(**columns)


# -------------------------------------------------------------------------------------------
# relational steps (each an Ibis expression)
# -------------------------------------------------------------------------------------------
def aggregate_members(
    counts: ir.Table,
    members: ir.Table,
    region_types: Sequence[str],
    measures: Sequence[str] = MEASURES,
) -> ir.Table:
    """Sum base-unit counts (counties) into the aggregate regions of ``members``.

    USCM builds economic areas and custom regions by summing county records (suppression
    midpoints included); ``members`` is :data:`clusteratlas.schema.REGION_MEMBERS`.
    """
    _require(members, ["region_type", "region_id", "member_type", "member_id"], "region members")
    m = members.filter(members.region_type.isin(list(region_types))).select(
        agg_type=members.region_type.cast("string"),
        agg_id=members.region_id.cast("string"),
        member_type=members.member_type.cast("string"),
        member_id=members.member_id.cast("string"),
    )
    joined = counts.join(m, [counts.region_type == m.member_type, counts.region_id == m.member_id])
    return joined.group_by(
        region_type=joined.agg_type,
        region_id=joined.agg_id,
        year=joined.year,
        naics=joined.naics,
        naics_vintage=joined.naics_vintage,
    ).aggregate(**{k: joined[k].sum() for k in measures})


def aggregate_clusters(
    counts: ir.Table, definitions: ir.Table, *, level: str = "cluster", complete: bool = True
) -> ir.Table:
    """Region x cluster (or subcluster) x year sums of emp, emp_reported, est, ap, qp1.

    Industries are matched on the 6-digit code within the NAICS vintage of the year (the USCM
    crosswalk approach). With ``complete``, every region-year gets a row for every cluster of
    the definition (zeros where the region has none), as USCM publishes them.
    """
    sums = _cluster_sums(counts, definitions, level=level, keep_unmapped=False)
    return _complete(sums, definitions, level) if complete else sums


def _cluster_keys(level: str) -> list[str]:
    keys = ["cluster_code", "cluster_name", "traded"]
    return keys + (["subcluster_code", "subcluster_name"] if level == "subcluster" else [])


def _code_keys(level: str) -> list[str]:
    return ["cluster_code"] + (["subcluster_code"] if level == "subcluster" else [])


def _cluster_sums(
    counts: ir.Table,
    definitions: ir.Table,
    *,
    level: str,
    keep_unmapped: bool,
    measures: Sequence[str] = MEASURES,
    region_type: str | None = None,
) -> ir.Table:
    """Sums per region x year x cluster; with ``keep_unmapped`` industries outside the
    definitions stay in as a cluster_code NULL group. ``region_type``: the counts hold that
    one region type only (it is not a grouping key)."""
    predicates = [counts.naics == definitions.naics]
    if "def_vintage" in definitions.columns:
        predicates.append(counts.naics_vintage == definitions.def_vintage)
    how = "left" if keep_unmapped else "inner"
    joined = counts.join(definitions, predicates, how=how)
    # grouped by the region type only when it varies (one hash key less per input row); the
    # names stay keys: as any_value() aggregates they cost DuckDB ~25% more memory (measured)
    regions = ["region_id", "year"] if region_type else ["region_type", "region_id", "year"]
    sums = joined.group_by([*regions, *_cluster_keys(level)]).aggregate(
        **{k: joined[k].sum() for k in measures}
    )
    if region_type:
        sums = sums.mutate(region_type=ibis.literal(region_type))
    return sums.select("region_type", "region_id", "year", *_cluster_keys(level), *measures)


def _complete(
    sums: ir.Table,
    definitions: ir.Table,
    level: str,
    measures: Sequence[str] = MEASURES,
    region_years: ir.Table | None = None,
) -> ir.Table:
    """Every region-year (of ``region_years``, default those of ``sums``) x every cluster of
    the definitions, zeros where absent."""
    keys = _cluster_keys(level)
    code_keys = _code_keys(level)
    catalogue = definitions.group_by(code_keys).aggregate(
        **{k: definitions[k].max() for k in keys if k not in code_keys}
    )
    if region_years is None:
        region_years = sums.select("region_type", "region_id", "year").distinct()
    grid = region_years.cross_join(catalogue)
    on = ["region_type", "region_id", "year", *code_keys]
    mapped = sums.filter(sums.cluster_code.notnull())
    full = grid.left_join(mapped.select(*on, *measures), on)
    return full.select(
        *["region_type", "region_id", "year", *keys],
        **{k: full[k].fill_null(0.0) for k in measures},
    )


def _national_totals(national_clusters: ir.Table, level: str) -> ir.Table:
    """E_{US,c} per year x cluster (x subcluster) and E_{US,T(c)} (a window over year x
    traded) from rows with year, the code keys, traded and emp."""
    nat = national_clusters
    by_code = nat.group_by(["year", *_code_keys(level), "traded"]).aggregate(
        emp_national=nat.emp.sum()
    )
    group = ibis.window(group_by=["year", "traded"])
    return by_code.mutate(emp_national_group=by_code.emp_national.sum().over(group))


def _with_ratios(
    rc: ir.Table,
    national: ir.Table | None,
    sel: Selection,
    level: str,
    *,
    single_type: bool = False,
) -> ir.Table:
    """The denominators (window sums, one pass) and the ratios ``sel`` needs; zero
    denominators give null (e.g. wage where no employment is reported)."""

    def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.NumericValue:
        return num / den.nullif(0.0)

    t = rc
    if sel.has("emp_region_group"):
        # the region's traded (or local) employment: a window, not a self-join
        by = ["region_id", "year", "traded"]
        region = ibis.window(group_by=by if single_type else ["region_type", *by])
        t = t.mutate(emp_region_group=t.emp.sum().over(region))
    if national is not None and sel.has("emp_national"):
        keys = ["year", *_code_keys(level)]
        nat = national.select(*keys, "emp_national", "emp_national_group")
        t = t.left_join(nat, keys).select(*t.columns, "emp_national", "emp_national_group")
    columns: dict[str, ir.Value] = {}
    if sel.has("wage"):
        columns["wage"] = ratio(t.ap * 1000.0, t.emp_reported)
    if sel.has("region_share") or sel.has("lq"):
        share = ratio(t.emp, t.emp_region_group)
        if sel.has("region_share"):
            columns["region_share"] = share
        if sel.has("lq"):
            columns["lq"] = ratio(share, ratio(t.emp_national, t.emp_national_group))
    if sel.has("national_share"):
        columns["national_share"] = ratio(t.emp, t.emp_national)
    keep = [c for c in t.columns if c != "emp_national_group"]
    return t.select(*keep, **columns)


def cluster_metrics(
    region_clusters: ir.Table,
    national_clusters: ir.Table,
    *,
    flags: bool = True,
    growth: bool = True,
) -> ir.Table:
    """Location quotients, shares, wage, growth and flags from cluster aggregates.

    ``national_clusters`` holds E_{US,c,t} per cluster and year (columns year, cluster_code,
    traded, emp). Zero denominators give null (e.g. wage where no employment is reported).
    """
    level = "subcluster" if "subcluster_code" in region_clusters.columns else "cluster"
    sel = selection.select(None, growth=growth)
    panel = _with_ratios(region_clusters, _national_totals(national_clusters, level), sel, level)
    panel = _with_flags(panel, sel if flags else selection.select(["emp"]), level, pooled=True)
    if growth:
        panel = _with_growth(panel, level, sel)
    return panel


def _pool(region_type: ir.StringValue) -> ir.StringValue:
    expr = region_type
    for member, pool in FLAG_POOL.items():
        expr = (region_type == member).ifelse(pool, expr)
    return expr


def flag_thresholds(panel: ir.Table) -> ir.Table:
    """Type-7 quantiles per flag pool x traded cluster x year over regions with E > 0.

    Ibis compiles ``quantile`` to ``quantile_cont`` on DuckDB and to exact ``percentile`` on
    Spark; both interpolate linearly between order statistics (R type 7 = ``d3.quantile``),
    which the tests check against numpy's ``method="linear"`` on real data.
    """
    tagged = panel.mutate(flag_pool=_pool(panel.region_type))
    positive = tagged.filter(tagged.traded & (tagged.emp > 0))
    return positive.group_by(["flag_pool", "year", "cluster_code"]).aggregate(
        lq_q25=positive.lq.quantile(0.25),
        lq_q50=positive.lq.quantile(0.50),
        lq_q75=positive.lq.quantile(0.75),
        lq_q90=positive.lq.quantile(0.90),
        emp_q25=positive.emp.quantile(0.25),
        est_q25=positive.est.quantile(0.25),
        n_regions=positive.emp.count(),
    )


def _with_flags(panel: ir.Table, sel: Selection, level: str, *, pooled: bool) -> ir.Table:
    """The flags of ``sel`` (False for local clusters, subclusters and missing thresholds).

    Only the quantiles those flags compare with are computed. ``pooled``: the panel may hold
    several region types (thresholds per flag pool); else one (no pool column).
    """
    if not sel.flags:
        return panel
    if level == "subcluster":  # never flagged, as in USCM
        return panel.mutate(**{f: ibis.literal(False) for f in sel.flags})
    columns = panel.columns
    tagged = panel.mutate(flag_pool=_pool(panel.region_type)) if pooled else panel
    group = (["flag_pool"] if pooled else []) + ["year", "cluster_code"]
    positive = tagged.filter(tagged.traded & (tagged.emp > 0))
    quantiles = {
        name: positive.lq.quantile(q)
        for name, q in sorted({selection.FLAG_QUANTILE[f] for f in sel.flags})
    }
    q = positive.group_by(group).aggregate(
        **quantiles,
        emp_q25=positive.emp.quantile(0.25),
        est_q25=positive.est.quantile(0.25),
    )
    joined = tagged.left_join(q, group)
    base = joined.traded & (joined.emp > joined.emp_q25) & (joined.est > joined.est_q25)
    conditions = {
        "qualifying": lambda: joined.lq > joined.lq_q25,
        "significant": lambda: joined.lq > joined.lq_q50,
        "strong": lambda: (joined.lq >= joined.lq_q75) & (joined.lq >= 1.0),
        "strong10": lambda: (joined.lq >= joined.lq_q90) & (joined.lq >= 1.0),
    }
    return joined.select(
        *columns, **{f: (base & conditions[f]()).fill_null(False) for f in sel.flags}
    )


def _with_growth(panel: ir.Table, level: str, sel: Selection) -> ir.Table:
    """Change since the previous year present in the panel (USCM report.js / ranker.js), the
    columns of ``sel`` only.

    ``emp_growth`` is the CAGR (E_t/E_prev)^(1/(t-prev)) - 1; ``expected_emp_change`` =
    E_prev (E_US,c,t - E_US,c,prev)/E_US,c,prev, the national-growth shift-share benchmark.
    """
    group = ["region_type", "region_id", *_code_keys(level)]
    w = ibis.window(group_by=group, order_by="year")
    lags = {"prev_year": panel.year.lag().over(w), "_emp_prev": panel.emp.lag().over(w)}
    if sel.has("est_change"):
        lags["_est_prev"] = panel.est.lag().over(w)
    if sel.has("lq_change"):
        lags["_lq_prev"] = panel.lq.lag().over(w)
    if sel.has("expected_emp_change"):
        lags["_nat_prev"] = panel.emp_national.lag().over(w)
    t = panel.mutate(**lags)
    emp_prev = t._emp_prev
    new: dict[str, ir.Value] = {}
    if sel.has("emp_change"):
        new["emp_change"] = t.emp - emp_prev
    if sel.has("emp_growth"):
        span = (t.year - t.prev_year).cast("float64")
        growth_ok = (emp_prev > 0) & (t.emp >= 0)
        new["emp_growth"] = growth_ok.ifelse((t.emp / emp_prev) ** (1.0 / span) - 1.0, ibis.null())
    if sel.has("expected_emp_change"):
        new["expected_emp_change"] = (
            emp_prev * (t.emp_national - t._nat_prev) / t._nat_prev.nullif(0.0)
        )
    if sel.has("est_change"):
        new["est_change"] = t.est - t._est_prev
    if sel.has("lq_change"):
        new["lq_change"] = t.lq - t._lq_prev
    t = t.mutate(**new)
    if sel.has("competitive_effect"):
        t = t.mutate(competitive_effect=t.emp_change - t.expected_emp_change)
    drop = [c for c in t.columns if c.startswith("_")]
    if not sel.has("prev_year"):
        drop.append("prev_year")
    return t.drop(*drop)


# -------------------------------------------------------------------------------------------
# the panel as two expressions: the checks over the inputs, and the panel itself
# -------------------------------------------------------------------------------------------
def _base_expr(tables: Mapping[str, ir.Table], options: PanelOptions) -> ir.Table:
    """Counts -> cluster sums -> denominators and ratios: one scan of the counts, which
    :func:`_final_expr` reads twice (DuckDB computes the shared CTE once)."""
    sel, level = options.selection, options.level
    measures = sel.measures
    raw = _prepare_counts(
        tables["counts"], "counts", nan_guard=options.nan_guard, measures=measures
    )
    defs = _prepare_definitions(tables["definitions"], level)
    wanted = list(options.wanted)
    if "members" in tables:
        regional = aggregate_members(raw, tables["members"], wanted, measures)
        direct = raw.filter(raw.region_type.isin(wanted))
        regional = regional.union(direct.select(*regional.columns))
    else:
        regional = raw.filter(raw.region_type.isin(wanted))
    single = options.region_type if len(wanted) == 1 else None
    if options.complete:
        # every region-year with counts, even one whose industries are all unmapped
        sums = _cluster_sums(
            regional, defs, level=level, keep_unmapped=True, measures=measures,
            region_type=single,
        )  # fmt: skip
        region_years = sums.select("region_type", "region_id", "year").distinct()
        rc = _complete(sums, defs, level, measures, region_years)
    else:
        rc = _cluster_sums(
            regional, defs, level=level, keep_unmapped=False, measures=measures,
            region_type=single,
        )  # fmt: skip
    national = None
    if sel.has("emp_national"):
        if options.nation == "given":
            nat_counts = _prepare_counts(
                tables["national"], "national counts", nan_guard=options.nan_guard,
                measures=("emp",),
            )  # fmt: skip
        elif options.nation == "rows":
            nat_counts = raw.filter(raw.region_type == "nation")
        else:
            nat_counts = regional.filter(regional.region_type == options.region_type)
        nat = _cluster_sums(nat_counts, defs, level=level, keep_unmapped=False, measures=("emp",))
        national = _national_totals(nat, level)
    return _with_ratios(rc, national, sel, level, single_type=single is not None)


def _checks_expr(tables: Mapping[str, ir.Table], options: PanelOptions) -> ir.Table:
    """One row over the inputs: the rows and jobs in industries the definitions do not map,
    about how many regions of the type there are, and whether a measure holds a NaN."""
    sel, wanted = options.selection, list(options.wanted)
    raw = _prepare_counts(tables["counts"], "counts", nan_guard=False, measures=sel.measures)
    defs = _prepare_definitions(tables["definitions"], options.level)
    vintage = "def_vintage" in defs.columns
    known = defs.select(
        known_naics=defs.naics, **({"known_vintage": defs.def_vintage} if vintage else {})
    )
    known = known.distinct()
    keep = raw.region_type.isin(wanted)
    members = None
    if "members" in tables:
        members = tables["members"]
        of_type = members.filter(members.region_type.cast("string").isin(wanted))
        keep = keep | raw.region_type.isin(of_type.member_type.cast("string"))
    scan = raw.filter(keep)
    predicates = [scan.naics == known.known_naics]
    if vintage:
        predicates.append(scan.naics_vintage == known.known_vintage)
    joined = scan.left_join(known, predicates)
    unmapped = joined.known_naics.isnull()
    nan = ibis.literal(False)
    for measure in sel.measures:
        nan = nan | joined[measure].isnan().fill_null(False)
    checks = joined.aggregate(
        unmapped_rows=unmapped.cast("int64").sum().fill_null(0),
        unmapped_emp=joined.emp.sum(where=unmapped),
        n_regions=joined.region_id.approx_nunique(where=joined.region_type == options.region_type),
        has_nan=nan.any().fill_null(False),
    )
    if members is not None:
        grouped = members.filter(members.region_type.cast("string") == options.region_type)
        counted = grouped.aggregate(n_members=grouped.region_id.nunique())
        checks = checks.cross_join(counted)
        checks = checks.mutate(n_regions=ibis.greatest(checks.n_regions, checks.n_members))
    if "national" in tables and sel.has("emp_national"):
        nat = _prepare_counts(
            tables["national"], "national counts", nan_guard=False, measures=("emp",)
        )
        checks = checks.cross_join(
            nat.aggregate(national_nan=nat.emp.isnan().any().fill_null(False))
        )
        checks = checks.mutate(has_nan=checks.has_nan | checks.national_nan)
    return checks.select("unmapped_rows", "unmapped_emp", "n_regions", "has_nan")


def _final_expr(base: ir.Table, options: PanelOptions) -> ir.Table:
    """Flags, growth and the selected columns of the rows of the wanted type."""
    sel, level = options.selection, options.level
    panel = base
    pooled = len(options.wanted) > 1
    panel = _with_flags(panel, sel, level, pooled=pooled)
    if sel.growth:
        panel = _with_growth(panel, level, sel)
    if pooled:
        panel = panel.filter(panel.region_type == options.region_type)
    columns = [c for c in _output_columns(sel, level) if c in panel.columns]
    panel = panel.select(*columns)
    if options.sort:
        panel = panel.order_by(
            [
                "region_type",
                "region_id",
                "year",
                panel.cluster_code.length(),
                "cluster_code",
                *(["subcluster_code"] if level == "subcluster" else []),
            ]
        )
    return panel


def _output_columns(sel: Selection, level: str) -> list[str]:
    """Keys, labels (and subcluster labels), emp, then the selected metrics in panel order."""
    columns = list(sel.columns)
    if level == "subcluster":
        at = columns.index("cluster_name") + 1
        columns[at:at] = list(SUBCLUSTER_COLUMNS)
    return columns


def compile_panel(
    options: PanelOptions, descriptions: Mapping[str, sqlcache.Description]
) -> dict[str, str]:
    """The checks and panel SQL texts of ``options`` over placeholder tables with the
    described schemas (called by the engine on a cache miss)."""
    from ibis.backends.sql.datatypes import DuckDBType

    def dtype(kind: str, nullable: bool):
        try:
            return DuckDBType.from_string(kind, nullable=nullable)
        except Exception:  # ENUM and other types Ibis cannot parse: compared as text
            return ibis.dtype("string")

    tables = {
        role: ibis.table(
            ibis.schema({name: dtype(kind, null) for name, kind, null in columns}),
            name=sqlcache.PLACEHOLDER.format(role=role),
        )
        for role, columns in descriptions.items()
    }
    compile_ = ibis.duckdb.connect().compile
    return {
        "checks": str(compile_(_checks_expr(tables, options))),
        "panel": str(compile_(_panel_expr(tables, options))),
    }


def _panel_expr(tables: Mapping[str, ir.Table], options: PanelOptions) -> ir.Table:
    """The whole panel of ``options`` as one expression."""
    return _final_expr(_base_expr(tables, options), options)


# -------------------------------------------------------------------------------------------
# running the expressions
# -------------------------------------------------------------------------------------------
def _bindable(source: engine.Source | ir.Table) -> bool:
    """Whether ``source`` can stand in for a placeholder without Ibis' execution hooks (an
    Ibis expression holding in-memory tables needs Ibis to register them)."""
    return not isinstance(source, ir.Table) or not source.op().find(ops.InMemoryTable)


def _run(
    con: Any,
    sources: dict[str, engine.Source | ir.Table],
    options: PanelOptions,
    *,
    out: str | os.PathLike | None = None,
    into: str | None = None,
) -> engine.Outcome:
    """The panel of ``options``: on DuckDB from the compiled SQL (:mod:`.engine`), else (Spark,
    or Ibis in-memory inputs) through Ibis with the base table cached by the engine."""
    if getattr(con, "name", "") == "duckdb" and all(_bindable(s) for s in sources.values()):
        bound = {
            role: engine.Relation(f"({con.compile(s)})") if isinstance(s, ir.Table) else s
            for role, s in sources.items()
        }
        return engine.execute(
            con.con, bound, options, out=out, into=into, arrow=out is None and into is None
        )
    if into is not None:
        raise ParameterError("into", "writing into a store table needs the DuckDB backend")
    return _run_ibis(con, sources, options, out=out)


def _run_ibis(
    con: Any, sources: dict[str, engine.Source | ir.Table], options: PanelOptions, *, out=None
) -> engine.Outcome:
    """The same two expressions executed by Ibis. On Spark pandas NaN arrive as NaN, so the
    NaN guard is on from the start there."""
    duck = getattr(con, "name", "") == "duckdb"
    tables = {role: _ibis(s, con, nan_option=duck) for role, s in sources.items()}
    checks = con.to_pyarrow(_checks_expr(tables, options)).to_pylist()[0]
    _require_rows(checks["n_regions"], options.region_type)
    guard = bool(checks["has_nan"]) or not duck
    table = con.to_pyarrow(_panel_expr(tables, dataclasses.replace(options, nan_guard=guard)))
    if out is not None:
        from clusteratlas.atomic import atomic_path

        with atomic_path(out) as tmp:
            pq.write_table(table, tmp)
    return engine.Outcome(
        rows=table.num_rows,
        n_regions=int(checks["n_regions"] or 0),
        unmapped_rows=int(checks["unmapped_rows"] or 0),
        unmapped_emp=float(checks["unmapped_emp"] or 0.0),
        guarded=guard,
        table=None if out is not None else table,
    )


def _require_rows(n_regions: int | None, region_type: str) -> None:
    if not n_regions:
        raise InputError(
            f"no {region_type} rows to build a panel from",
            hint="check the counts' region_type values (or pass members= to aggregate counties)",
        )


# -------------------------------------------------------------------------------------------
# public API
# -------------------------------------------------------------------------------------------
def build_panel(
    counts: Any,
    definitions: Any,
    *,
    region_type: str,
    national: Any = None,
    backend: str = "duckdb",
    members: Any = None,
    level: str = "cluster",
    complete: bool = True,
    growth: bool = True,
    metrics: str | Sequence[str] | None = None,
    sort: bool = True,
    suppressed: str = "uscm",
    national_parents: Any = None,
    connection: Any = None,
) -> pd.DataFrame:
    """Build the region x cluster x year panel of one region type.

    Parameters
    ----------
    counts
        Industry counts (:data:`clusteratlas.schema.INDUSTRY_COUNTS` columns; ``emp`` with
        suppressed cells filled). Either at ``region_type`` already, or at the member level of
        ``members`` (e.g. counties) to be summed into msa / economic_area / custom regions.
    definitions
        :data:`clusteratlas.schema.CLUSTER_DEFINITIONS` (naics -> cluster, with naics_vintage).
    region_type
        One of state, county, msa, economic_area, custom (or nation).
    national
        National 6-digit counts (the USCM "country" record) for the LQ denominators and the
        national shares. If None, rows of ``counts`` with region_type "nation" are used, and
        failing those the sum over the regions built here (say so in your report).
    backend
        "duckdb" (default) or "spark" (Ibis PySpark backend, local mode unless ``connection``).
    level
        "cluster" or "subcluster" (subclusters are never flagged, as in USCM).
    complete
        Emit a row for every region x cluster x year, zeros where absent (as USCM does).
    growth
        Add the change columns (:data:`PANEL_EXTRA`) against the previous year in the panel
        (with ``metrics=None``).
    metrics
        Only these metrics (:mod:`clusteratlas.panel.selection`: e.g. ``"lq,strong"`` or
        ``["lq", "national_share", "flags"]``); only what they need is computed. Every row
        keeps the keys, cluster_name, traded and emp. None (default): all of them.
    sort
        Order the rows by region type, region, year, cluster (codes in natural order).
    suppressed
        How withheld cells are filled (:mod:`clusteratlas.data.suppression`). "uscm"
        (default): the national counts as USCM does (the CBP readers already put size-class
        midpoints into regional counts); "hierarchy": the regional counts too, from their own
        parent lines (read into pandas: an option for national/state files, not millions of
        county rows); "none": as given. ``national_parents``: national 2- to 5-digit lines.
        What was filled, per cluster, is in ``panel.attrs["suppression"]``.

    Every table input may be a pandas frame, an Arrow table, an Ibis table or the path (or
    glob) of Parquet files, which the engine then reads itself (the fastest way in for large
    inputs). NaN measures count as missing, as in pandas sums.

    Returns a pandas frame with the :data:`~clusteratlas.schema.CLUSTER_PANEL` columns plus
    :data:`PANEL_EXTRA` (and subcluster_code/name at subcluster level), or the selected ones.
    :func:`write_panel` writes the same panel straight to a Parquet file instead.

    On DuckDB the compiled SQL of the panel expressions is reused for inputs with the same
    schemas and options (:mod:`clusteratlas.panel.sqlcache`): only the first such call pays
    the ~0.1 s of building and compiling the Ibis expressions.
    """
    con, sources, options, report = _prepare(
        counts, definitions, region_type=region_type, national=national, backend=backend,
        members=members, level=level, complete=complete, growth=growth, metrics=metrics,
        sort=False, suppressed=suppressed, national_parents=national_parents,
        connection=connection,
    )  # fmt: skip
    outcome = _run(con, sources, options)
    _warn_outcome(outcome, options)
    # one region type by construction: its column needs neither ranking nor reordering
    panel = _finish(outcome.table, level, options.selection, constant=("region_type",), sort=sort)
    panel.attrs["suppression"] = report
    return panel


@dataclasses.dataclass
class PanelFile:
    """What :func:`write_panel` wrote: the file, its rows and columns, the number of regions
    (exact up to a few hundred, then a HyperLogLog estimate), the unmapped jobs left out and
    the per-cluster report of filled withheld cells."""

    path: str
    rows: int
    columns: list[str]
    n_regions: int
    unmapped_rows: int
    unmapped_emp: float
    suppression: list[dict]


def write_panel(
    counts: Any,
    definitions: Any,
    out: str | os.PathLike,
    *,
    region_type: str,
    national: Any = None,
    backend: str = "duckdb",
    members: Any = None,
    level: str = "cluster",
    complete: bool = True,
    growth: bool = True,
    metrics: str | Sequence[str] | None = None,
    sort: bool = False,
    suppressed: str = "uscm",
    national_parents: Any = None,
    connection: Any = None,
) -> PanelFile:
    """:func:`build_panel` written straight from the engine to the Parquet file ``out``
    (DuckDB ``COPY``, atomically; no pandas round trip), unsorted unless ``sort``."""
    con, sources, options, report = _prepare(
        counts, definitions, region_type=region_type, national=national, backend=backend,
        members=members, level=level, complete=complete, growth=growth, metrics=metrics,
        sort=sort, suppressed=suppressed, national_parents=national_parents,
        connection=connection,
    )  # fmt: skip
    outcome = _run(con, sources, options, out=out)
    _warn_outcome(outcome, options)
    return PanelFile(
        path=os.fspath(out),
        rows=outcome.rows,
        columns=_output_columns(options.selection, level),
        n_regions=outcome.n_regions,
        unmapped_rows=outcome.unmapped_rows,
        unmapped_emp=outcome.unmapped_emp,
        suppression=report,
    )


def build_into(
    table: str,
    counts: Any,
    definitions: Any,
    *,
    connection: Any,
    region_type: str,
    national: Any = None,
    members: Any = None,
    level: str = "cluster",
    complete: bool = True,
    growth: bool = True,
    metrics: str | Sequence[str] | None = None,
    suppressed: str = "uscm",
    national_parents: Any = None,
) -> tuple[engine.Outcome, list[dict]]:
    """:func:`build_panel` inserted by the engine into ``table`` of the DuckDB Ibis
    ``connection`` (a store's), replacing that table's rows of ``region_type``; columns the
    table lacks are added. Run it inside the store's transaction."""
    con, sources, options, report = _prepare(
        counts, definitions, region_type=region_type, national=national, backend="duckdb",
        members=members, level=level, complete=complete, growth=growth, metrics=metrics,
        sort=False, suppressed=suppressed, national_parents=national_parents,
        connection=connection,
    )  # fmt: skip
    outcome = _run(con, sources, options, into=table)
    _warn_outcome(outcome, options)
    return outcome, report


def _prepare(
    counts: Any,
    definitions: Any,
    *,
    region_type: str,
    national: Any,
    backend: str,
    members: Any,
    level: str,
    complete: bool,
    growth: bool,
    metrics: Any,
    sort: bool,
    suppressed: str,
    national_parents: Any,
    connection: Any,
) -> tuple[Any, dict, PanelOptions, list[dict]]:
    """Checked inputs as engine sources, the options, and the suppression report."""
    if region_type not in REGION_TYPES:
        raise ParameterError(
            "region_type", f"unknown region type {region_type!r}", allowed=", ".join(REGION_TYPES)
        )
    if level not in LEVELS:
        raise ParameterError("level", f"unknown level {level!r}", allowed=", ".join(LEVELS))
    sel = selection.select(metrics, growth=growth)
    con = connection if connection is not None else connect(backend)
    suppressed = suppression.check_method(suppressed)
    report: list[dict] = []
    if suppressed == "hierarchy":
        fill = suppression.fill_suppressed(_small_frame(counts, con), method="hierarchy")
        counts = pa.Table.from_pandas(fill.counts, preserve_index=False)
        report += fill.by_cluster(_small_frame(definitions, con)).to_dict("records")
    sources: dict[str, Any] = {"counts": _source(counts, "counts")}
    sources["definitions"] = _source(definitions, "cluster definitions")
    if members is not None:
        sources["members"] = _source(members, "region members")
    nation = "given"
    if national is None and sel.has("emp_national"):
        # the counts' own nation rows (one scan of the counts; small when present)
        given = _ibis(sources["counts"], con)
        _require(given, ["region_type"], "counts")
        rows = con.to_pyarrow(given.filter(given.region_type.cast("string") == "nation"))
        if rows.num_rows:
            national = rows
        else:
            engine.no_national_warning(region_type, stacklevel=4)
            nation = "regional"
    if national is not None and sel.has("emp_national"):
        national, filled = _filled_national(
            national, suppressed, national_parents, definitions, con
        )
        report += filled
        sources["national"] = _source(national, "national counts")
    options = PanelOptions(
        region_type=region_type,
        selection=sel,
        level=level,
        complete=complete,
        nation=nation,
        sort=sort,
    )
    return con, sources, options, report


def _warn_outcome(outcome: engine.Outcome, options: PanelOptions) -> None:
    engine.warn_outcome(outcome, options, stacklevel=4)


def panel_from_uscm(
    uscm_frame: Any,
    national_counts: Any,
    definitions: Any,
    *,
    suppressed: str = "uscm",
    national_parents: Any = None,
    backend: str = "duckdb",
    growth: bool = True,
    connection: Any = None,
) -> pd.DataFrame:
    """The panel from a USCM download already aggregated to region x cluster x year.

    ``uscm_frame`` has region_type, region_id, year, cluster_code, cluster_name, traded, emp,
    emp_reported, est, ap, qp1 (``clusteratlas.data.uscm.read_uscm``); national cluster
    employment comes from ``national_counts`` (6-digit national CBP) mapped with
    ``definitions``.

    Withheld national cells are filled by ``suppressed`` (:mod:`clusteratlas.data.suppression`:
    "uscm" by default, "hierarchy" or "none") from the national parent lines, given as
    ``national_parents`` or as rows of ``national_counts`` with 2- to 5-digit codes (e.g.
    :func:`clusteratlas.data.suppression.read_setzler_national_parents`). With the CBP 2016
    national 6-digit and 4-digit lines this reproduces USCM's published 2016 LQs (tested). What
    was filled, per cluster, is in ``panel.attrs["suppression"]`` (records).
    """
    con = connection if connection is not None else connect(backend)
    national_counts, report = _filled_national(
        national_counts, suppressed, national_parents, definitions, con
    )
    rc = _table(uscm_frame, "USCM frame", con)
    _require(
        rc,
        [
            "region_type",
            "region_id",
            "year",
            "cluster_code",
            "cluster_name",
            "traded",
            "emp",
            "est",
        ],
        "USCM frame",
    )
    rc = rc.select(
        region_type=rc.region_type.cast("string"),
        region_id=rc.region_id.cast("string"),
        year=rc.year.cast("int64"),
        cluster_code=rc.cluster_code.cast("string"),
        cluster_name=rc.cluster_name.cast("string"),
        traded=rc.traded.cast("boolean"),
        **{
            k: (rc[k].cast("float64") if k in rc.columns else ibis.literal(0.0, "float64"))
            for k in MEASURES
        },
    )
    defs = _prepare_definitions(_table(definitions, "cluster definitions", con), "cluster")
    nat = _prepare_counts(_table(national_counts, "national counts", con), "national counts")
    national_clusters = aggregate_clusters(nat, defs, complete=False)
    table = con.to_pyarrow(cluster_metrics(rc, national_clusters, growth=growth))
    panel = _finish(table, "cluster", selection.select(None, growth=growth))
    panel.attrs["suppression"] = report
    return panel


def _small_frame(obj: Any, con: Any) -> pd.DataFrame:
    """A small input (national counts, parent lines, definitions) as pandas."""
    if isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, pa.Table):
        return obj.to_pandas()
    source = _source(obj, "input")
    if isinstance(source, sqlcache.ParquetFiles):
        return con.execute(con.read_parquet(source.pattern))
    if isinstance(source, engine.Arrow):
        return source.table.to_pandas()
    return con.execute(source)


def _filled_national(
    national: Any, method: str, parents: Any, definitions: Any, con: Any
) -> tuple[Any, list[dict]]:
    """The national counts with withheld cells filled by ``method`` (unchanged, and no
    report, when nothing is withheld and no parent lines are given), and the per-cluster
    records of what was filled."""
    method = suppression.check_method(method)
    if method == "none":
        return national, []
    if parents is None and isinstance(national, str | os.PathLike):
        files = engine.parquet_files(national, "national counts")
        if not engine.withheld_or_lines(engine._probe(), files):
            return national, []  # nothing withheld: the engine reads the files itself
    frame = _small_frame(national, con)
    codes = frame["naics"].astype(str).str.strip() if "naics" in frame.columns else None
    has_lines = codes is not None and bool((~codes.str.fullmatch(r"\d{6}")).any())
    nothing_to_fill = not has_lines and parents is None and suppression.withheld_count(frame) == 0
    if method == "none" or nothing_to_fill:
        return national, []
    fill = suppression.fill_suppressed(
        frame,
        method=method,
        parents=None if parents is None else _small_frame(parents, con),
    )
    defs = _small_frame(definitions, con)
    records = fill.by_cluster(defs).to_dict("records")
    unfilled = fill.unfilled
    if len(unfilled):
        warnings.warn(
            f"national counts: {len(unfilled)} withheld cell(s) without a size class and "
            "without a parent line to derive them from ("
            + ", ".join(f"{r.naics} in {r.year}" for r in unfilled.head(5).itertuples())
            + ") count as 0; give the national parent lines (national_parents=, e.g. "
            "clusteratlas.data.suppression.read_setzler_national_parents on setzler's "
            "CBP_national_industry4.csv) to fill them as USCM did",
            stacklevel=3,
        )
    return pa.Table.from_pandas(fill.counts, preserve_index=False), records


def unmapped_industries(counts: Any, definitions: Any, *, backend: str = "duckdb") -> pd.DataFrame:
    """Industry codes of ``counts`` that the definitions do not map, with their employment."""
    con = connect(backend)
    raw = _prepare_counts(_table(counts, "counts", con), "counts")
    defs = _prepare_definitions(_table(definitions, "cluster definitions", con), "cluster")
    if "def_vintage" in defs.columns:
        known = defs.select(naics=defs.naics, naics_vintage=defs.def_vintage)
        anti = raw.anti_join(known, ["naics", "naics_vintage"])
    else:
        anti = raw.anti_join(defs.select("naics"), "naics")
    out = anti.group_by(["naics_vintage", "naics"]).aggregate(
        emp=anti.emp.sum(), est=anti.est.sum()
    )
    return con.execute(out.order_by(ibis.desc("emp")))


#: Row order of a panel: region type, region, year, then cluster codes in natural order.
SORT_KEYS = (("region_type", False), ("region_id", False), ("year", False), ("cluster_code", True))

#: Above this many key combinations the folded sort key could overflow int64.
_FOLD_LIMIT = 2**62


def _sort(table: pa.Table, constant: Sequence[str] = ()) -> pa.Table:
    """Rows ordered by :data:`SORT_KEYS` (then subcluster code), codes in natural order
    ("2" < "10").

    The sort is done here rather than by the engine: each key is ranked over its few distinct
    values, and the ranks r_k (with n_k distinct values) fold into one integer
    ``((r_1 n_2 + r_2) n_3 + r_3) ...`` whose argsort is the lexicographic order. That is
    cheaper than a multi-key sort, and the same on Spark. Keys with a single value drop out;
    columns the caller knows to be ``constant`` are neither ranked nor reordered. Ranking and
    reordering run column by column on a thread pool (Arrow's kernels release the GIL; one
    ``Table.take`` uses one core).
    """
    keys = [key for key in SORT_KEYS if key[0] not in constant]
    if "subcluster_code" in table.column_names:
        keys.append(("subcluster_code", True))
    with ThreadPoolExecutor(max_workers=min(len(keys), os.cpu_count() or 1)) as pool:
        ranked = list(pool.map(lambda key: _rank(table[key[0]], natural=key[1]), keys))
        composite = np.zeros(table.num_rows, dtype=np.int64)
        span = 1
        for ranks, n_distinct in ranked:
            if n_distinct <= 1:
                continue
            span *= n_distinct
            if span >= _FOLD_LIMIT:  # the folded key could overflow: lexsort (last key first)
                order = np.lexsort([ranks for ranks, _ in reversed(ranked)])
                break
            composite = composite * n_distinct + ranks
        else:
            # the panel's keys are unique (they are its GROUP BY keys), so a stable sort would
            # give the same order, ~40% slower
            order = np.argsort(composite)
        columns = list(
            pool.map(
                lambda name: table[name] if name in constant else table[name].take(order),
                table.column_names,
            )
        )
    return pa.Table.from_arrays(columns, schema=table.schema)


def _rank(column: pa.ChunkedArray, *, natural: bool = False) -> tuple[np.ndarray, int]:
    """Each row's rank among the column's distinct values (nulls last, as DuckDB sorts) and
    the number of distinct values; ``natural`` orders strings by length, then by code point
    (byte order, as the engines)."""
    encoded = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
    values = encoded.dictionary.to_pylist()

    def key(index: int) -> tuple:
        value = values[index]
        if value is None:
            return (1,)
        return (0, len(value), value) if natural else (0, value)

    ranks = np.empty(len(values), dtype=np.int64)
    ranks[sorted(range(len(values)), key=key)] = np.arange(len(values))
    return ranks[encoded.indices.to_numpy(zero_copy_only=False)], len(values)


def _finish(
    table: pa.Table,
    level: str,
    sel: Selection,
    constant: Sequence[str] = (),
    *,
    sort: bool = True,
) -> pd.DataFrame:
    """The panel's columns in their published order and dtypes (picked and ordered on the
    Arrow side, which Arrow does faster than pandas), in :func:`_sort` order if ``sort``;
    ``constant`` as in :func:`_sort`."""
    columns = dict(CLUSTER_PANEL)
    if level == "subcluster":
        columns = {
            **{k: v for k, v in columns.items() if k != "cluster_name"},
            "cluster_name": "string",
            **SUBCLUSTER_COLUMNS,
        }
    columns.update(PANEL_EXTRA)
    columns = {k: v for k, v in columns.items() if k in table.column_names}
    picked = table.select(list(columns))
    # sorted after the query and after dropping the helper columns: less to reorder
    return (_sort(picked, constant) if sort else picked).to_pandas().astype(columns)
