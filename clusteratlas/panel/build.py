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
from collections.abc import Sequence
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
from clusteratlas.errors import InputError, ParameterError, SuppressedDataWarning
from clusteratlas.panel import engine, selection, sqlcache
from clusteratlas.panel.expressions import (
    LEVELS,
    MEASURES,
    SUBCLUSTER_COLUMNS,
    _checks_expr,
    _output_columns,
    _panel_expr,
    _prepare_counts,
    _prepare_definitions,
    _require,
    aggregate_clusters,
    cluster_metrics,
)
from clusteratlas.panel.options import PanelOptions
from clusteratlas.panel.selection import Selection
from clusteratlas.schema import CLUSTER_PANEL, REGION_TYPES

BACKENDS = ("duckdb", "spark")

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


def _source(obj: Any, what: str, definitions: Any = None) -> engine.Source | ir.Table:
    """Check an input: an Ibis table, a pandas frame, an Arrow table, or the path (or glob) of
    Parquet files the engine reads directly. Frames become Arrow. ``definitions``: the checked
    cluster definitions (Parquet files let the key check of counts use them)."""
    if isinstance(obj, ir.Table):
        return obj
    if isinstance(obj, str | os.PathLike):
        files = definitions if isinstance(definitions, engine.ParquetFiles) else None
        return engine.parquet_files(obj, what, definitions=files)
    if isinstance(obj, pd.DataFrame):
        frame = obj
        blank = [c for c in ("emp", "est") if c in frame.columns and frame[c].isna().any()]
        for column in blank:
            warnings.warn(
                f"{what}: {int(frame[column].isna().sum())} row(s) have no {column!r} "
                "(suppressed without a size-class flag?) and count as 0; fill them first "
                "(clusteratlas.data.suppression) to avoid understating totals",
                category=SuppressedDataWarning,
                stacklevel=4,
            )
        if "emp_flag" in frame.columns and "emp" in frame.columns:
            unfilled = frame["emp_flag"].eq("D") & frame["emp"].fillna(0).eq(0)
            if unfilled.any():
                warnings.warn(
                    f"{what}: {int(unfilled.sum())} row(s) are suppressed without a size class "
                    "(emp_flag 'D') and count as 0; fill them first to avoid understating "
                    "totals (clusteratlas.data.suppression, suppressed='hierarchy')",
                    category=SuppressedDataWarning,
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
    engine.settle_key(sources)
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
    defs = _source(definitions, "cluster definitions")
    sources: dict[str, Any] = {
        "counts": _source(counts, "counts", definitions=defs),
        "definitions": defs,
    }
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
            category=SuppressedDataWarning,
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
