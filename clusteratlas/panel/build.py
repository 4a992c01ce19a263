"""The region x cluster x year panel, following US Cluster Mapping (USCM) exactly.

This module owns the relational work: industry counts -> cluster aggregates -> location
quotients, shares, growth, expected job creation and the qualifying/significant/strong/strong10
flags. Every step is one Ibis expression, so the same code runs on DuckDB (default) and on
PySpark (``backend="spark"``). The rules and the USCM source files they come from are listed in
``docs/panel.md``.

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
import functools
import glob as globmod
import os
import re
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clusteratlas.data import suppression
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.panel import sqlcache
from clusteratlas.schema import CLUSTER_PANEL, REGION_TYPES

BACKENDS = ("duckdb", "spark")
LEVELS = ("cluster", "subcluster")
MEASURES = ("emp", "emp_reported", "est", "ap", "qp1")

#: Region types whose strong-cluster flags are computed in one pool (USCM ranks custom
#: regions together with BEA economic areas, ``cluster_calcs_reducer.js``).
FLAG_POOL = {"custom": "economic_area"}

#: Below this many regions the percentile flags say little; build_panel warns.
MIN_FLAG_REGIONS = 10

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


def _source(obj: Any, what: str) -> sqlcache.Source:
    """Check an input: an Ibis table, a pandas frame, an Arrow table, or the path (or glob) of
    Parquet files the engine reads directly. Frames become Arrow."""
    if isinstance(obj, ir.Table):
        return obj
    if isinstance(obj, str | os.PathLike):
        return _parquet_files(obj, what)
    if isinstance(obj, pd.DataFrame):
        frame = obj
        blank = [c for c in ("emp", "est") if c in frame.columns and frame[c].isna().any()]
        for column in blank:
            warnings.warn(
                f"{what}: {int(frame[column].isna().sum())} row(s) have no {column!r} "
                "(suppressed without a size-class flag?) and count as 0; fill them first "
                "(USCM uses the EMPFLAG midpoint) to avoid understating totals",
                stacklevel=4,
            )
        if "emp_flag" in frame.columns and "emp" in frame.columns:
            unfilled = frame["emp_flag"].eq("D") & frame["emp"].fillna(0).eq(0)
            if unfilled.any():
                warnings.warn(
                    f"{what}: {int(unfilled.sum())} row(s) are suppressed without a size class "
                    "(emp_flag 'D') and count as 0; fill them first to avoid understating "
                    "totals (USCM fills such cells from its overrides)",
                    stacklevel=4,
                )
        # through Arrow: fast for millions of rows, and strings/booleans travel the same way to
        # DuckDB and Spark (pandas extension dtypes do not)
        return pa.Table.from_pandas(obj, preserve_index=False)
    if isinstance(obj, pa.Table):
        return obj
    raise InputError(
        f"{what} must be a pandas DataFrame, an Arrow table, an Ibis table or the path of "
        f"Parquet files, not {type(obj).__name__}"
    )


def _parquet_files(path: str | os.PathLike, what: str) -> sqlcache.ParquetFiles:
    """A Parquet path or glob, checked before any engine sees it."""
    pattern = os.fspath(path)
    if not pattern.lower().endswith((".parquet", ".pq")):
        raise InputError(
            f"{what}: {pattern} is not a Parquet file; only Parquet is read directly",
            hint="read CSV/CBP files with clusteratlas.data (e.g. cbp.read_cbp) and pass the frame",
        )
    matches = sorted(globmod.glob(pattern))
    if not matches:
        raise InputError(f"{what}: no Parquet file at {pattern}", hint="check the path")
    first = None
    for match in matches:  # footers only: cheap, and a broken file is named before the engine
        try:
            schema = pq.read_schema(match).remove_metadata()
        except (OSError, pa.ArrowException) as error:
            raise InputError(
                f"{what}: {match} is not a readable Parquet file ({error})",
                hint="re-download or re-write the file",
            ) from error
        if first is None:
            first = (match, schema)
        elif not schema.equals(first[1]):
            raise InputError(
                f"{what}: {match} has other columns or types than {first[0]} "
                f"({schema.names} vs {first[1].names})",
                hint="the files of one glob must share one schema; pass them separately",
            )
    return sqlcache.ParquetFiles(pattern, footer_schema=first[1])


def _table(obj: Any, what: str, con: Any) -> ir.Table:
    """Accept any :func:`_source` input as an Ibis table on ``con``."""
    return _ibis(_source(obj, what), con)


def _ibis(source: sqlcache.Source, con: Any) -> ir.Table:
    if isinstance(source, sqlcache.ParquetFiles):
        if getattr(con, "name", "") == "duckdb" and sqlcache.nan_option_supported(con, source):
            # this path always applies the NaN guard: DuckDB must not fold it away (sqlcache)
            return con.read_parquet(source.pattern, can_have_nan=True)
        return con.read_parquet(source.pattern)
    return ibis.memtable(source) if isinstance(source, pa.Table) else source


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


def _prepare_counts(counts: ir.Table, what: str, *, nan_guard: bool = True) -> ir.Table:
    """Cast the count columns and add missing optional ones (vintage from the USCM year rule).

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
    for measure in MEASURES:
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
def aggregate_members(counts: ir.Table, members: ir.Table, region_types: Sequence[str]) -> ir.Table:
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
    ).aggregate(**{k: joined[k].sum() for k in MEASURES})


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


def _cluster_sums(
    counts: ir.Table, definitions: ir.Table, *, level: str, keep_unmapped: bool
) -> ir.Table:
    """Sums per region x year x cluster; with ``keep_unmapped`` industries outside the
    definitions stay in as a cluster_code NULL group (so one scan of the counts also tells
    what is not mapped)."""
    keys = _cluster_keys(level)
    predicates = [counts.naics == definitions.naics]
    if "def_vintage" in definitions.columns:
        predicates.append(counts.naics_vintage == definitions.def_vintage)
    how = "left" if keep_unmapped else "inner"
    joined = counts.join(definitions, predicates, how=how)
    return joined.group_by(["region_type", "region_id", "year", *keys]).aggregate(
        **{k: joined[k].sum() for k in MEASURES}
    )


def _complete(sums: ir.Table, definitions: ir.Table, level: str) -> ir.Table:
    """Every region-year of ``sums`` x every cluster of the definitions, zeros where absent."""
    keys = _cluster_keys(level)
    code_keys = ["cluster_code"] + (["subcluster_code"] if level == "subcluster" else [])
    catalogue = definitions.group_by(code_keys).aggregate(
        **{k: definitions[k].max() for k in keys if k not in code_keys}
    )
    region_years = sums.select("region_type", "region_id", "year").distinct()
    grid = region_years.cross_join(catalogue)
    on = ["region_type", "region_id", "year", *code_keys]
    mapped = sums.filter(sums.cluster_code.notnull())
    full = grid.left_join(mapped.select(*on, *MEASURES), on)
    return full.select(
        *["region_type", "region_id", "year", *keys],
        **{k: full[k].fill_null(0.0) for k in MEASURES},
    )


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
    rc = region_clusters
    is_sub = "subcluster_code" in rc.columns
    # Region traded/local totals come from the top-level clusters only (no double counting)
    totals = rc.group_by(["region_type", "region_id", "year", "traded"]).aggregate(
        emp_region_group=rc.emp.sum()
    )
    nat = national_clusters
    nat_keys = ["year", "cluster_code"] + (["subcluster_code"] if is_sub else [])
    nat_c = nat.group_by(nat_keys).aggregate(emp_national=nat.emp.sum())
    nat_t = nat.group_by(["year", "traded"]).aggregate(emp_national_group=nat.emp.sum())
    # one join chain and one select: every extra Ibis node costs building and compiling time
    joined = (
        rc.left_join(totals, ["region_type", "region_id", "year", "traded"])
        .left_join(nat_c, nat_keys)
        .left_join(nat_t, ["year", "traded"])
    )

    def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.NumericValue:
        return num / den.nullif(0.0)

    region_share = ratio(joined.emp, joined.emp_region_group)
    panel = joined.select(
        *rc.columns,
        "emp_region_group",
        "emp_national",
        wage=ratio(joined.ap * 1000.0, joined.emp_reported),
        region_share=region_share,
        national_share=ratio(joined.emp, joined.emp_national),
        lq=ratio(region_share, ratio(joined.emp_national, joined.emp_national_group)),
    )
    if flags and not is_sub:
        panel = _with_flags(panel)
    else:
        panel = panel.mutate(
            qualifying=ibis.literal(False),
            significant=ibis.literal(False),
            strong=ibis.literal(False),
            strong10=ibis.literal(False),
        )
    if growth:
        panel = _with_growth(panel, is_sub)
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
    return _thresholds(panel.mutate(flag_pool=_pool(panel.region_type)))


def _thresholds(tagged: ir.Table) -> ir.Table:
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


def _with_flags(panel: ir.Table) -> ir.Table:
    columns = panel.columns
    # thresholds and the join read the same tagged table, so the engine computes it once
    tagged = panel.mutate(flag_pool=_pool(panel.region_type))
    q = _thresholds(tagged)
    joined = tagged.left_join(q, ["flag_pool", "year", "cluster_code"])
    size_ok = (joined.emp > joined.emp_q25) & (joined.est > joined.est_q25)
    base = joined.traded & size_ok

    def flag(condition: ir.BooleanValue) -> ir.BooleanValue:
        return (base & condition).fill_null(False)

    return joined.select(
        *columns,
        qualifying=flag(joined.lq > joined.lq_q25),
        significant=flag(joined.lq > joined.lq_q50),
        strong=flag((joined.lq >= joined.lq_q75) & (joined.lq >= 1.0)),
        strong10=flag((joined.lq >= joined.lq_q90) & (joined.lq >= 1.0)),
    )


def _with_growth(panel: ir.Table, is_sub: bool) -> ir.Table:
    """Change since the previous year present in the panel (USCM report.js / ranker.js).

    ``emp_growth`` is the CAGR (E_t/E_prev)^(1/(t-prev)) - 1; ``expected_emp_change`` =
    E_prev (E_US,c,t - E_US,c,prev)/E_US,c,prev, the national-growth shift-share benchmark.
    """
    group = ["region_type", "region_id", "cluster_code"] + (["subcluster_code"] if is_sub else [])
    w = ibis.window(group_by=group, order_by="year")
    lagged = panel.mutate(
        prev_year=panel.year.lag().over(w),
        _emp_prev=panel.emp.lag().over(w),
        _est_prev=panel.est.lag().over(w),
        _lq_prev=panel.lq.lag().over(w),
        _nat_prev=panel.emp_national.lag().over(w),
    )
    span = (lagged.year - lagged.prev_year).cast("float64")
    emp_prev = lagged._emp_prev
    growth_ok = (emp_prev > 0) & (lagged.emp >= 0)
    return (
        lagged.mutate(
            emp_change=lagged.emp - emp_prev,
            emp_growth=growth_ok.ifelse((lagged.emp / emp_prev) ** (1.0 / span) - 1.0, ibis.null()),
            expected_emp_change=emp_prev
            * (lagged.emp_national - lagged._nat_prev)
            / lagged._nat_prev.nullif(0.0),
            est_change=lagged.est - lagged._est_prev,
            lq_change=lagged.lq - lagged._lq_prev,
        )
        .mutate(
            competitive_effect=lambda t: t.emp_change - t.expected_emp_change,
        )
        .drop("_emp_prev", "_est_prev", "_lq_prev", "_nat_prev")
    )


# -------------------------------------------------------------------------------------------
# public API
# -------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PanelOptions:
    """Everything besides the input schemas that shapes the panel expression.

    ``nation`` says where the national denominators come from: "given" (the ``national``
    input), "rows" (the counts' region_type "nation" rows) or "regional" (the sum over the
    regions built). Without ``nan_guard`` NaN measures are summed as they are (a NaN input
    then shows as NaN in the result: see :func:`build_panel`).
    """

    region_type: str
    level: str = "cluster"
    complete: bool = True
    growth: bool = True
    nation: str = "given"
    nan_guard: bool = True


def _panel_expr(
    tables: dict[str, ir.Table],
    options: PanelOptions,
    materialize: Any = None,
) -> ir.Table:
    """The whole panel of :func:`build_panel` as one Ibis expression over its input tables
    (roles counts, definitions, optional members and national).

    ``materialize`` may turn the cluster sums and the completed grid, each read several
    times, into engine tables (see :func:`_materialize`); by default they stay CTEs. Two
    constant columns ``_unmapped_rows``/``_unmapped_emp`` carry the unmapped-industry totals.
    """
    materialize = materialize or (lambda table: table)
    region_type, level = options.region_type, options.level
    raw = _prepare_counts(tables["counts"], "counts", nan_guard=options.nan_guard)
    defs = _prepare_definitions(tables["definitions"], level)

    wanted = [region_type]
    # custom regions are flagged in one pool with economic areas (USCM): build both
    wanted += [m for m, pool in FLAG_POOL.items() if pool == region_type]
    wanted += [pool for m, pool in FLAG_POOL.items() if m == region_type]
    if "members" in tables:
        regional = aggregate_members(raw, tables["members"], wanted)
        direct = raw.filter(raw.region_type.isin(wanted))
        regional = regional.union(direct.select(*regional.columns))
    else:
        regional = raw.filter(raw.region_type.isin(wanted))

    if options.nation == "given":
        nat_counts = _prepare_counts(
            tables["national"], "national counts", nan_guard=options.nan_guard
        )
    elif options.nation == "rows":
        nat_counts = raw.filter(raw.region_type == "nation")
    else:
        nat_counts = regional.filter(regional.region_type == region_type)
    # one scan of the counts: cluster sums plus a NULL-cluster group for unmapped industries.
    # It is read several times below (totals, thresholds, flags, lags), and so is the completed
    # grid; the engine computes each once (see _materialize).
    sums = materialize(_cluster_sums(regional, defs, level=level, keep_unmapped=True))
    if options.complete:
        region_clusters = materialize(_complete(sums, defs, level))
    else:
        region_clusters = sums.filter(sums.cluster_code.notnull())
    national_clusters = aggregate_clusters(nat_counts, defs, level=level, complete=False)
    panel = cluster_metrics(region_clusters, national_clusters, growth=options.growth)
    panel = panel.filter(panel.region_type == region_type)
    # the unmapped-industry totals ride along as two constant columns of the one result query
    # (instead of a second query over the sums)
    unmapped = sums.filter(sums.cluster_code.isnull())
    return panel.cross_join(
        unmapped.aggregate(_unmapped_rows=unmapped.count(), _unmapped_emp=unmapped.emp.sum())
    )


def _cacheable(con: Any, sources: dict[str, sqlcache.Source]) -> bool:
    """Whether the compiled-SQL cache (:mod:`clusteratlas.panel.sqlcache`) can run the panel:
    DuckDB that computes a shared CTE once (so the panel is one statement) and inputs that
    bind without Ibis' execution hooks."""
    return (
        getattr(con, "name", "") == "duckdb"
        and _duckdb_materializes_ctes()
        and all(sqlcache.bindable(source) for source in sources.values())
    )


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
        Add the change columns (:data:`PANEL_EXTRA`) against the previous year in the panel.
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
    :data:`PANEL_EXTRA` (and subcluster_code/name at subcluster level), sorted by region type,
    region, year, cluster.

    On DuckDB the compiled SQL of the panel expression is reused for inputs with the same
    schemas and options (:mod:`clusteratlas.panel.sqlcache`): only the first such call pays
    the ~0.1 s of building and compiling the Ibis expression.
    """
    if region_type not in REGION_TYPES:
        raise ParameterError(
            "region_type", f"unknown region type {region_type!r}", allowed=", ".join(REGION_TYPES)
        )
    if level not in LEVELS:
        raise ParameterError("level", f"unknown level {level!r}", allowed=", ".join(LEVELS))
    con = connection if connection is not None else connect(backend)
    suppressed = suppression.check_method(suppressed)
    report: list[dict] = []
    if suppressed == "hierarchy":
        fill = suppression.fill_suppressed(_small_frame(counts, con), method="hierarchy")
        counts = pa.Table.from_pandas(fill.counts, preserve_index=False)
        report += fill.by_cluster(_small_frame(definitions, con)).to_dict("records")
    sources = {"counts": _source(counts, "counts")}
    sources["definitions"] = _source(definitions, "cluster definitions")
    if members is not None:
        sources["members"] = _source(members, "region members")
    if national is None:
        # the counts' own nation rows (one scan of the counts; small when present)
        given = _ibis(sources["counts"], con)
        _require(given, ["region_type"], "counts")
        rows = con.to_pyarrow(given.filter(given.region_type.cast("string") == "nation"))
        if rows.num_rows:
            national = rows
        else:
            warnings.warn(
                "no national counts given: the national denominators are the sum over the "
                f"{region_type} regions built here (USCM uses the national CBP record)",
                stacklevel=2,
            )
    if national is not None:
        national, filled = _filled_national(
            national, suppressed, national_parents, definitions, con
        )
        report += filled
        sources["national"] = _source(national, "national counts")
        nation = "given"
    else:
        nation = "regional"
    options = PanelOptions(region_type, level, complete, growth, nation)
    if _cacheable(con, sources):
        schemas = {role: sqlcache.source_schema(con, s) for role, s in sources.items()}

        def run_cached(options: PanelOptions) -> pa.Table:
            query = sqlcache.compiled(
                con,
                dataclasses.asdict(options),
                schemas,
                lambda tables: _panel_expr(tables, options),
            )
            return sqlcache.run(con, query, sources, parquet_nan=options.nan_guard)

        # Frames reach DuckDB with NaN as NULL, so the NaN -> NULL guard on every input value
        # is usually wasted work (~5% of a one-year county panel). A NaN that got in anyway
        # propagates through the sums into the result: then the guarded query runs instead.
        table = run_cached(dataclasses.replace(options, nan_guard=False))
        if _has_nan(table):
            table = run_cached(options)
    else:
        temporaries: list[ir.Table] = []
        tables = {role: _ibis(s, con) for role, s in sources.items()}
        panel = _panel_expr(tables, options, lambda t: _materialize(con, t, temporaries))
        try:
            table = con.to_pyarrow(panel)
        finally:
            for temporary in temporaries:
                _drop_temporary(con, temporary)
    _warn_unmapped(table)
    if table.num_rows == 0:
        raise InputError(
            f"no {region_type} rows to build a panel from",
            hint="check the counts' region_type values (or pass members= to aggregate counties)",
        )
    n_regions = pc.count_distinct(table["region_id"]).as_py()
    if level == "cluster" and n_regions < MIN_FLAG_REGIONS:
        warnings.warn(
            f"only {n_regions} {region_type} region(s): strong-cluster flags compare a region with "
            "the other regions of its type, so build the panel for all of them (e.g. all states) "
            "to get USCM's flags",
            stacklevel=2,
        )
    # one region type by construction: its column needs neither ranking nor reordering
    panel = _finish(table, level, growth, constant=("region_type",))
    panel.attrs["suppression"] = report
    return panel


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
    panel = _finish(table, "cluster", growth)
    panel.attrs["suppression"] = report
    return panel


def _small_frame(obj: Any, con: Any) -> pd.DataFrame:
    """A small input (national counts, parent lines, definitions) as pandas."""
    if isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, pa.Table):
        return obj.to_pandas()
    if isinstance(obj, ir.Table):
        return con.execute(obj)
    source = _source(obj, "input")
    if isinstance(source, sqlcache.ParquetFiles):
        return pq.ParquetDataset(globmod.glob(source.pattern)).read().to_pandas()
    return source.to_pandas() if isinstance(source, pa.Table) else con.execute(source)


def _filled_national(
    national: Any, method: str, parents: Any, definitions: Any, con: Any
) -> tuple[Any, list[dict]]:
    """The national counts with withheld cells filled by ``method`` (unchanged, and no
    report, when nothing is withheld and no parent lines are given), and the per-cluster
    records of what was filled."""
    method = suppression.check_method(method)
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


def _has_nan(table: pa.Table) -> bool:
    """Whether any floating-point column of ``table`` holds a NaN."""
    return any(
        pc.any(pc.is_nan(table[name])).as_py()
        for name, kind in zip(table.column_names, table.schema.types, strict=True)
        if pa.types.is_floating(kind)
    )


def _warn_unmapped(table: pa.Table) -> None:
    """Warn about the jobs in unmapped industries (columns added by :func:`build_panel`)."""
    if table.num_rows and table["_unmapped_rows"][0].as_py():
        warnings.warn(
            f"{float(table['_unmapped_emp'][0].as_py() or 0):,.0f} jobs are in industry codes the "
            "cluster definitions do not map and are left out (list them with "
            "unmapped_industries())",
            stacklevel=3,
        )


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


def _materialize(con: Any, table: ir.Table, temporaries: list[ir.Table]) -> ir.Table:
    """Compute ``table`` once into a temporary table on old DuckDB versions (else unchanged).

    ``table`` is read several times by the panel query. Ibis emits it as one CTE; DuckDB 2
    materializes a CTE referenced more than once (checked in its query profile), so one query
    computes it once with no temporary table, extra compilation or write on top. Older DuckDB
    could inline such a CTE (the 6-digit join and aggregation would run once per reference),
    hence the temporary table there. Spark plans the query as a whole.
    """
    if getattr(con, "name", "") != "duckdb" or _duckdb_materializes_ctes():
        return table
    temporary = con.create_table(ibis.util.gen_name("cluster_aggregate"), table, temp=True)
    temporaries.append(temporary)  # dropped by the caller once the panel is read
    return temporary


@functools.cache
def _duckdb_materializes_ctes() -> bool:
    import duckdb

    version = tuple(int(part) for part in re.findall(r"\d+", duckdb.__version__)[:2])
    return version >= (2, 0)


def _drop_temporary(con: Any, table: ir.Table) -> None:
    """Drop a table made by :func:`_materialize` (user connections stay clean)."""
    if getattr(con, "name", "") != "duckdb":
        return
    try:
        name = table.get_name().rsplit(".", 1)[-1]
    except AttributeError:  # an expression, not a materialized table
        return
    if name.startswith("ibis_cluster_aggregate"):
        con.raw_sql(f'DROP TABLE IF EXISTS temp.main."{name}"').fetchall()


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
    table: pa.Table, level: str, growth: bool, constant: Sequence[str] = ()
) -> pd.DataFrame:
    """The published columns and dtypes in :func:`_sort` order (picked and ordered on the
    Arrow side, which Arrow does faster than pandas); ``constant`` as in :func:`_sort`."""
    columns = dict(CLUSTER_PANEL)
    if level == "subcluster":
        columns = {
            **{k: v for k, v in columns.items() if k != "cluster_name"},
            "cluster_name": "string",
            **SUBCLUSTER_COLUMNS,
        }
    extra = (
        PANEL_EXTRA if growth else {k: PANEL_EXTRA[k] for k in ("emp_region_group", "emp_national")}
    )
    columns.update(extra)
    # sorted after the query and after dropping the helper columns: less to reorder
    return _sort(table.select(list(columns)), constant).to_pandas().astype(columns)
