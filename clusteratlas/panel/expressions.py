"""The panel as Ibis expressions: counts -> cluster sums -> ratios -> flags -> growth.

Owns the relational rules of US Cluster Mapping written once as Ibis expressions, so the
same code runs on DuckDB and on PySpark, and :func:`compile_panel` (the DuckDB SQL of the
checks and the panel statements, cached by :mod:`clusteratlas.panel.sqlcache`). The
notation and formulas are in :mod:`clusteratlas.panel.build`'s docstring and docs/panel.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir

from clusteratlas.errors import InputError
from clusteratlas.panel import selection, sqlcache
from clusteratlas.panel.options import FLAG_POOL, PanelOptions
from clusteratlas.panel.selection import Selection

LEVELS = ("cluster", "subcluster")
MEASURES = selection.MEASURES

UNASSIGNED = ("na", "(industries not assigned to a subcluster)")

SUBCLUSTER_COLUMNS = {"subcluster_code": "string", "subcluster_name": "string"}


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
    passed: Sequence[str] = (),
) -> ir.Table:
    """Cast the key columns and the ``measures`` needed (vintage from the USCM year rule if
    absent; a missing optional measure is 0, a missing emp_reported is emp); the columns
    ``passed`` are kept as text.

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
    columns.update({name: counts[name].cast("string") for name in passed})
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


@ibis.udf.agg.builtin(name="bitstring_agg")
def _bitstring_agg(value: int, low: int, high: int) -> str:  # type: ignore[empty-body]
    """DuckDB's ``bitstring_agg``: a bitstring of ``high - low + 1`` bits, bit ``value`` set."""


@ibis.udf.scalar.builtin(name="bit_count")
def _bit_count(bits: str) -> int:  # type: ignore[empty-body]
    """DuckDB's ``bit_count``: the bits set."""


def _checks_expr(tables: Mapping[str, ir.Table], options: PanelOptions) -> ir.Table:
    """One row over the inputs: the rows and jobs in industries the definitions do not map,
    about how many regions of the type there are, and whether a measure holds a NaN.

    With ``options.key_codes`` (DuckDB, counts with a ``source`` column) the same scan also
    counts repeated (source, year, region type, region, NAICS) keys (``key_surplus``, 0 when
    every key appears once). Grouping millions of rows by an (almost) unique key costs as much
    as the panel's own aggregation; instead the definitions' codes are numbered 0..K-1, the
    counts grouped by source x region x year only (tens of thousands of groups) and each
    group's mapped rows compared with the bits set in ``bitstring_agg(code number)``: fewer
    bits than rows means a code repeats. Rows of codes the definitions do not map never reach
    the panel (their jobs are reported as unmapped), so their repeats are not looked for. One
    scan for both checks: 0.18 s against 0.30 s for two over 5.1 M SYNTHETIC county rows
    (benchmarks/bench_panel.py)."""
    sel, wanted = options.selection, list(options.wanted)
    keyed = options.key_codes is not None
    raw = _prepare_counts(
        tables["counts"], "counts", nan_guard=False, measures=sel.measures,
        passed=("source",) if keyed else (),
    )  # fmt: skip
    defs = _prepare_definitions(tables["definitions"], options.level)
    vintage = "def_vintage" in defs.columns
    known = defs.select(
        known_naics=defs.naics, **({"known_vintage": defs.def_vintage} if vintage else {})
    )
    known = known.distinct()
    if keyed:
        known = known.mutate(code_number=ibis.row_number().cast("int32"))
    members = tables.get("members")

    def kept(region_type: ir.StringColumn) -> ir.BooleanColumn:
        """Rows (or groups) of the region types the panel is built from."""
        keep = region_type.isin(wanted)
        if members is not None:
            of_type = members.filter(members.region_type.cast("string").isin(wanted))
            keep = keep | region_type.isin(of_type.member_type.cast("string"))
        return keep

    # the key check reads every row (nation rows too); the other checks the rows kept
    scan = raw if keyed else raw.filter(kept(raw.region_type))
    predicates = [scan.naics == known.known_naics]
    if vintage:
        predicates.append(scan.naics_vintage == known.known_vintage)
    joined = scan.left_join(known, predicates)
    unmapped = joined.known_naics.isnull()
    nan = ibis.literal(False)
    for measure in sel.measures:
        nan = nan | joined[measure].isnan().fill_null(False)
    if keyed:
        # the groups' region type decides whether their rows count in the other checks
        groups = joined.group_by(["source", "region_type", "region_id", "year"]).aggregate(
            mapped=joined.code_number.count(),
            bits=_bitstring_agg(joined.code_number, 0, options.key_codes - 1),
            unmapped_rows=joined.count(where=unmapped),
            unmapped_emp=joined.emp.sum(where=unmapped),
            has_nan=nan.any(),
        )
        counted = kept(groups.region_type)
        checks = groups.aggregate(
            unmapped_rows=groups.unmapped_rows.sum(where=counted).fill_null(0),
            unmapped_emp=groups.unmapped_emp.sum(where=counted),
            n_regions=groups.region_id.approx_nunique(
                where=groups.region_type == options.region_type
            ),
            has_nan=groups.has_nan.any(where=counted).fill_null(False),
            key_surplus=(groups.mapped - _bit_count(groups.bits).fill_null(0)).sum(),
        )
    else:
        checks = joined.aggregate(
            unmapped_rows=unmapped.cast("int64").sum().fill_null(0),
            unmapped_emp=joined.emp.sum(where=unmapped),
            n_regions=joined.region_id.approx_nunique(
                where=joined.region_type == options.region_type
            ),
            has_nan=nan.any().fill_null(False),
            key_surplus=ibis.literal(0, "int64"),
        )
    if members is not None:
        grouped = members.filter(members.region_type.cast("string") == options.region_type)
        counted_members = grouped.aggregate(n_members=grouped.region_id.nunique())
        checks = checks.cross_join(counted_members)
        checks = checks.mutate(n_regions=ibis.greatest(checks.n_regions, checks.n_members))
    if "national" in tables and sel.has("emp_national"):
        nat = _prepare_counts(
            tables["national"], "national counts", nan_guard=False, measures=("emp",)
        )
        checks = checks.cross_join(
            nat.aggregate(national_nan=nat.emp.isnan().any().fill_null(False))
        )
        checks = checks.mutate(has_nan=checks.has_nan | checks.national_nan)
    return checks.select("unmapped_rows", "unmapped_emp", "n_regions", "has_nan", "key_surplus")


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
