"""Region-level summaries of a cluster panel: cluster strength, totals, strong-cluster lists,
and change between two chosen years.

These work on the pandas frame :func:`clusteratlas.panel.build.build_panel` returns (small:
one row per region x cluster x year), so they are plain pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusteratlas.errors import InputError, ParameterError
from clusteratlas.schema import require_columns

REGION_KEYS = ["region_type", "region_id", "year"]


#: region_summary's columns, in order
SUMMARY_COLUMNS = [
    *REGION_KEYS,
    "emp",
    "emp_traded",
    "emp_local",
    "est",
    "est_traded",
    "ap",
    "wage",
    "wage_traded",
    "n_clusters_present",
    "n_strong",
    "n_strong10",
    "strong_emp",
    "cluster_strength",
]
SUMMARY_NEEDS = ["traded", "emp", "emp_reported", "est", "ap", "strong"]


def region_summary(panel: pd.DataFrame) -> pd.DataFrame:
    """One row per region x year: totals and USCM cluster strength.

    ``aggregate_calcs_mapper.js`` ``calc_cluster_strength`` (traded, non-subcluster clusters):

    .. math::

        \\text{cluster\\_strength}_r = \\frac{\\sum_{c\\ strong} E_{rc}}{\\sum_{c\\ traded} E_{rc}}

    Columns: emp, emp_traded, emp_local, est, est_traded, ap, wage (AP x 1000 / reported
    employment), wage_traded, n_clusters_present (traded clusters with E > 0), n_strong,
    n_strong10, strong_emp (USCM ``str_emp_tl``), cluster_strength (``str_emp_per``). Sums
    skip missing values (a column with none counts 0), as pandas sums do.

    Computed by :func:`summary_expr` on DuckDB (the same expression ``clusteratlas panel
    build`` runs inside the store).
    """
    require_columns(panel, [*REGION_KEYS, *SUMMARY_NEEDS], what="cluster panel")
    if "subcluster_code" in panel.columns:
        raise InputError("region_summary needs a cluster-level panel, not a subcluster panel")
    import duckdb
    import pyarrow as pa

    from clusteratlas.panel import sqlcache

    columns = [*REGION_KEYS, *SUMMARY_NEEDS] + (["strong10"] if "strong10" in panel else [])
    table = pa.Table.from_pandas(panel.loc[:, columns], preserve_index=False)
    con = duckdb.connect()
    con.register("panel", table)
    description = sqlcache.describe_columns(con.execute("DESCRIBE panel").fetchall())
    text = summary_sql(description)
    out = con.execute(text.replace(sqlcache.placeholder("panel"), "panel")).df()
    dtypes = {
        **dict.fromkeys(SUMMARY_COLUMNS, "float64"),
        **dict.fromkeys(["n_clusters_present", "n_strong", "n_strong10"], "int64"),
        **{k: panel[k].dtype for k in REGION_KEYS},
    }
    return out.astype(dtypes).loc[:, SUMMARY_COLUMNS]


def summary_sql(description) -> str:
    """The compiled DuckDB SQL of :func:`summary_expr` over a placeholder "panel" table with
    the described columns (cached like the panel's own SQL)."""
    from clusteratlas.panel import sqlcache

    def build() -> dict[str, str]:
        import ibis
        from ibis.backends.sql.datatypes import DuckDBType

        schema = ibis.schema(
            {name: DuckDBType.from_string(kind, nullable=null) for name, kind, null in description}
        )
        panel = ibis.table(schema, name=sqlcache.PLACEHOLDER.format(role="panel"))
        expr = summary_expr(panel).order_by(REGION_KEYS)
        return {"summary": str(ibis.duckdb.connect().compile(expr))}

    return sqlcache.compiled({"query": "region_summary"}, {"panel": description}, build)["summary"]


def summary_expr(panel):
    """:func:`region_summary` as an Ibis expression over a cluster panel table."""
    import ibis

    t = panel
    traded = t.traded.fill_null(False)
    strong = t.strong.fill_null(False) & traded
    strong10 = t.strong10.fill_null(False) if "strong10" in t.columns else ibis.literal(False)
    strong10 = strong10 & traded

    def total(value):  # pandas sums skip missing values and give 0 for none
        return value.sum().fill_null(0.0)

    def count(condition):
        return condition.cast("int64").sum().fill_null(0)

    agg = t.group_by(REGION_KEYS).aggregate(
        emp=total(t.emp),
        emp_traded=total(traded.ifelse(t.emp, 0.0)),
        est=total(t.est),
        est_traded=total(traded.ifelse(t.est, 0.0)),
        ap=total(t.ap),
        ap_traded=total(traded.ifelse(t.ap, 0.0)),
        emp_reported=total(t.emp_reported),
        emp_reported_traded=total(traded.ifelse(t.emp_reported, 0.0)),
        n_clusters_present=count(traded & (t.emp > 0)),
        n_strong=count(strong),
        n_strong10=count(strong10),
        strong_emp=total(strong.ifelse(t.emp, 0.0)),
    )

    def ratio(num, den):
        return num / den.nullif(0.0)

    return agg.select(
        *REGION_KEYS,
        "emp",
        "emp_traded",
        emp_local=agg.emp - agg.emp_traded,
        est=agg.est,
        est_traded=agg.est_traded,
        ap=agg.ap,
        wage=ratio(agg.ap * 1000.0, agg.emp_reported),
        wage_traded=ratio(agg.ap_traded * 1000.0, agg.emp_reported_traded),
        n_clusters_present=agg.n_clusters_present,
        n_strong=agg.n_strong,
        n_strong10=agg.n_strong10,
        strong_emp=agg.strong_emp,
        cluster_strength=ratio(agg.strong_emp, agg.emp_traded),
    )


def strong_flags(panel: pd.DataFrame, *, which: str = "strong") -> pd.DataFrame:
    """The flagged (region, year, cluster) rows, strongest LQ first within each region-year.

    ``which`` is one of qualifying, significant, strong, strong10.
    """
    allowed = ("qualifying", "significant", "strong", "strong10")
    if which not in allowed:
        raise ParameterError("which", f"unknown flag {which!r}", allowed=", ".join(allowed))
    require_columns(
        panel,
        [*REGION_KEYS, "cluster_code", "cluster_name", "lq", "emp", which],
        what="cluster panel",
    )
    rows = panel.loc[panel[which]]
    columns = [*REGION_KEYS, "cluster_code", "cluster_name", "emp", "est", "lq", "national_share"]
    columns = [c for c in columns if c in rows.columns]
    return (
        rows.loc[:, columns]
        .sort_values([*REGION_KEYS, "lq"], ascending=[True, True, True, False])
        .reset_index(drop=True)
    )


def cagr(start: pd.Series | float, end: pd.Series | float, years: int | float) -> pd.Series | float:
    """Compound annual growth (end/start)^(1/years) - 1; undefined (NaN) where start <= 0."""
    if np.any(np.asarray(years) <= 0):
        raise ParameterError("years", "the end year must come after the start year")
    start_arr = np.asarray(start, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(
            start_arr > 0, (np.asarray(end, dtype=float) / start_arr) ** (1.0 / years) - 1.0, np.nan
        )
    return pd.Series(value, index=start.index) if isinstance(start, pd.Series) else float(value)


def change_between(panel: pd.DataFrame, start: int, end: int) -> pd.DataFrame:
    """Region x cluster change from ``start`` to ``end`` (USCM report.js ``jobCreation``).

    Columns: emp_start, emp_end, emp_change (job creation), emp_cagr, expected_emp_change =
    E_start x (E_US,c,end - E_US,c,start) / E_US,c,start, competitive_effect = actual -
    expected, est_change, lq_change, wage_cagr, national_share_change (the "specialization"
    chart's change). CAGRs are taken on unrounded values (USCM rounds on its maps; we don't).
    """
    if end <= start:
        raise ParameterError("end", f"must be after start ({start})")
    years = set(panel["year"].unique())
    for year in (start, end):
        if year not in years:
            raise ParameterError(
                "start/end",
                f"year {year} is not in the panel",
                allowed=", ".join(map(str, sorted(years))),
            )
    keys = ["region_type", "region_id", "cluster_code"]
    if "subcluster_code" in panel.columns:
        keys.append("subcluster_code")
    cols = [
        *keys,
        "cluster_name",
        "traded",
        "emp",
        "est",
        "lq",
        "wage",
        "emp_national",
        "national_share",
    ]
    a = panel.loc[panel["year"] == start, cols]
    b = panel.loc[panel["year"] == end, cols]
    both = a.merge(b.drop(columns=["cluster_name", "traded"]), on=keys, suffixes=("_start", "_end"))
    out = both.loc[:, [*keys, "cluster_name", "traded"]].copy()
    out["start_year"], out["end_year"] = start, end
    out["emp_start"], out["emp_end"] = both["emp_start"], both["emp_end"]
    out["emp_change"] = both["emp_end"] - both["emp_start"]
    out["emp_cagr"] = cagr(both["emp_start"], both["emp_end"], end - start)
    national_growth = _ratio(
        both["emp_national_end"] - both["emp_national_start"], both["emp_national_start"]
    )
    out["expected_emp_change"] = both["emp_start"] * national_growth
    out["competitive_effect"] = out["emp_change"] - out["expected_emp_change"]
    out["est_change"] = both["est_end"] - both["est_start"]
    out["lq_change"] = both["lq_end"] - both["lq_start"]
    out["wage_cagr"] = cagr(both["wage_start"], both["wage_end"], end - start)
    out["national_share_change"] = both["national_share_end"] - both["national_share_start"]
    return out.reset_index(drop=True)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype(float)
    return num.astype(float) / den.where(den != 0)


#: Readings of :func:`national_coverage`, in the order they are tested.
COVERAGE_READINGS = {
    "agrees": "the regions add up to the national count within the tolerance",
    "imputation": "the regions add up to more, by no more than their imputed (suppressed) jobs",
    "regions short": "the regions add up to less: regions left out of the panel (e.g. DC in a "
    "50-state file) or employment not assigned to any region",
    "inconsistent": "even the reported (unimputed) regional jobs exceed the national count",
}


def national_coverage(panel: pd.DataFrame, *, tolerance: float = 0.01) -> pd.DataFrame:
    """Per cluster x year: the national employment the LQs divide by against the sum of the
    panel's regions, and why they differ.

    With E the employment (suppressed cells imputed) and R the reported employment,

    .. math::

        \\text{gap}_{ct} = \\frac{\\sum_r E_{rct}}{E_{US,ct}} - 1 \\qquad
        \\text{imputed\\_share}_{ct} = 1 - \\frac{\\sum_r R_{rct}}{\\sum_r E_{rct}}

    ``reading`` is one of :data:`COVERAGE_READINGS`: "agrees" when ``|gap| <= tolerance``;
    "imputation" when the regions exceed the nation but their reported jobs alone do not (so
    the excess is what suppression imputation added; USCM's size-class midpoints overshoot
    where many cells are suppressed); "regions short" when the regions fall short; else
    "inconsistent". Needs ``emp_national`` (a panel from :func:`build_panel` or
    :func:`panel_from_uscm`) and one region type.
    """
    require_columns(
        panel,
        ["region_type", "year", "cluster_code", "cluster_name", "traded", "emp", "emp_reported"]
        + ["emp_national"],
        what="cluster panel",
    )
    if panel["region_type"].nunique() > 1:
        raise InputError(
            "national_coverage compares one region type with the nation, the panel has "
            + ", ".join(sorted(panel["region_type"].unique())),
            hint="filter the panel to one region type first",
        )
    if not 0 <= tolerance < 1:
        raise ParameterError("tolerance", f"must be in [0, 1), got {tolerance}")
    keys = ["year", "cluster_code", "cluster_name", "traded"]
    out = panel.groupby(keys, as_index=False, sort=True, observed=True).agg(
        emp_national=("emp_national", "first"),
        n_regions=("emp", lambda emp: int((emp > 0).sum())),
        regions_emp=("emp", "sum"),
        regions_emp_reported=("emp_reported", "sum"),
    )
    out["gap"] = _ratio(out["regions_emp"], out["emp_national"]) - 1
    out["imputed_share"] = 1 - _ratio(out["regions_emp_reported"], out["regions_emp"])
    reported_fits = out["regions_emp_reported"] <= out["emp_national"]
    both_zero = out["regions_emp"].eq(0) & out["emp_national"].fillna(0).eq(0)
    out["reading"] = np.select(
        [
            both_zero | (out["gap"].abs() <= tolerance),
            (out["gap"] > 0) & reported_fits,
            out["gap"] < 0,
        ],
        ["agrees", "imputation", "regions short"],
        default="inconsistent",
    )
    return out
