r"""Policy diagnostics: a region's clusters against the seven APEC cluster-policy guideline areas.

APEC "Best Practices Guidelines on Industrial Clustering for SMEs" (2005; seed 002) lists seven
areas: infrastructure, sources of technology, human resources, cross-border linkage,
e-commerce, division of labour, entry of new firms; the cluster-internationalization entry
(seed 003) adds the external-linkage view. For each area this module computes only proxies the
loaded data can measure, each with its formula and data source, the region's value and its
percentile among all regions of the type and among its peers. Areas the data cannot measure say
which data would. There is no composite score: the evidence is shown, not invented.

Percentile = 100 x (rank - 0.5) / n with rank 1 = lowest value (so higher = better-endowed;
for "lower is better" indicators the direction column says so); ``rank_all`` is the place
among all regions counted from the highest (1 = highest, ties share the best place).

Internationalization (seed 003, macro level; APEC "cross-border linkage"), from what the store
has (:func:`internationalization`):

.. math::

    \text{traded share}_r = \frac{\sum_{c\ traded} E_{rc}}{\sum_c E_{rc}}, \qquad
    \text{exports/GDP}_r = \frac{X_{r,t}}{\text{GDP}_{r,t}}, \qquad
    \text{exports per worker}_r = \frac{X_{r,t}}{\sum_c E_{rc}}

with exports X and GDP converted to dollars from their ``unit`` (USD, USD_thousand,
USD_million), t the panel year when the exports have it, else their latest year before it.
Where the store has no exports for the region type, or none for the region, the row says
"not measured" and which data would measure it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clusteratlas.errors import InputError, ParameterError
from clusteratlas.results import Result

AREAS = (
    "infrastructure",
    "sources of technology",
    "human resources",
    "cross-border linkage",
    "e-commerce",
    "division of labour",
    "entry of new firms",
)

#: what would measure each area where the loaded data cannot (public sources named)
DATA_NEEDED = {
    "infrastructure": "broadband coverage (FCC National Broadband Map), utility capacity, industrial land and park inventories",
    "sources of technology": "patents by inventor county (USPTO PatentsView), R&D spending (NSF HERD/BERD), NAICS 5417 employment (CBP 6-digit)",
    "human resources": "educational attainment (ACS), occupational skills (BLS OEWS), labour force (BLS LAUS)",
    "cross-border linkage": "exports by state/metro of origin (Census origin-of-movement, ITA metro exports), FDI jobs (BEA AMNE)",
    "e-commerce": "NAICS 454110 electronic shopping employment (CBP 6-digit), business broadband adoption (ACS / Census ABS technology module)",
    "division of labour": "input-output supplier links (BEA I-O tables), subcluster panels (CBP 6-digit by region)",
    "entry of new firms": "establishment births (Census BDS), new business applications (Census BFS)",
}


@dataclass
class Indicator:
    area: str
    indicator: str
    formula: str
    source: str
    values: pd.Series  # by region_id, all regions of the type (empty: not measurable here)
    direction: str = "higher = more"
    #: what would measure it where the loaded data has no value (the region or its type)
    needs: str = ""


#: dollars per unit of an OUTCOMES money unit
USD_PER_UNIT = {"USD": 1.0, "USD_thousand": 1e3, "USD_million": 1e6}

#: where exports by region of origin come from, per region type
EXPORTS_NEEDED = {
    "state": "state exports by state of origin of movement (Census USA Trade Online 'State "
    "Exports by NAICS Commodities', or the Census API intltrade/exports/statenaics through "
    "`clusteratlas run --fetch`); the offline folder has US totals and metro exports only",
    "msa": "metro exports (ITA Metropolitan Export data, the data catalog's ita_exports)",
    "county": "exports by county of origin, which no public source publishes (ITA publishes "
    "metro exports: use region type msa)",
    "economic_area": "exports by economic area, which no public source publishes (ITA "
    "publishes metro exports: use region type msa)",
}
GDP_NEEDED = {
    "state": "state GDP (BEA SAGDP2N)",
    "msa": "metro GDP (BEA CAGDP2 for MSAs)",
    "county": "county GDP (BEA CAGDP2)",
    "economic_area": "county GDP (BEA CAGDP2) summed to economic areas",
}


@dataclass
class PolicyDiagnostics(Result):
    """Diagnostics of one region: one row per (area, indicator) with value and percentiles."""

    region_id: str
    region_type: str
    year: int
    table: pd.DataFrame
    peers: list[str]
    notes: list[str] = field(default_factory=list)

    def tidy(self) -> pd.DataFrame:
        """One row per (area, indicator): value and percentiles among all regions and peers."""
        return self.table.copy()

    @property
    def caption(self) -> str:
        return f"Policy diagnostics for {self.region_type} {self.region_id} ({self.year})"

    def summary(self) -> str:
        lines = [
            f"Policy diagnostics for {self.region_type} {self.region_id} ({self.year}); APEC guideline areas",
            f"peers: {', '.join(self.peers) if self.peers else 'none'}",
        ]
        for area in AREAS:
            part = self.table.loc[self.table["area"] == area]
            lines.append(f"\n{area}:")
            for row in part.itertuples(index=False):
                if row.measured:
                    lines.append(
                        f"  {row.indicator:<46} {row.value:>12.4g}  pct(all) {row.percentile_all:5.1f}"
                        f"  rank {row.rank_all:.0f}/{row.n_regions}"
                        + (
                            f"  pct(peers) {row.percentile_peers:5.1f}"
                            if np.isfinite(row.percentile_peers)
                            else ""
                        )
                    )
                elif row.indicator.startswith("("):
                    lines.append(f"  not measured here; would need: {row.data_needed}")
                else:
                    lines.append(f"  {row.indicator:<46} not measured: needs {row.data_needed}")
        return "\n".join(lines)


def percentile(values: pd.Series, region: str) -> float:
    """100 (rank - 0.5) / n of ``region`` among the finite values (rank 1 = lowest)."""
    finite = values[np.isfinite(values.astype(float))]
    if region not in finite.index or finite.empty:
        return float("nan")
    rank = finite.rank(method="average")[region]
    return float(100.0 * (rank - 0.5) / len(finite))


def _cluster_lq(panel: pd.DataFrame, pattern: str) -> tuple[pd.Series, str]:
    rows = panel.loc[panel["cluster_name"].str.contains(pattern, case=False, regex=True)]
    if rows.empty:
        return pd.Series(dtype=float), ""
    name = rows["cluster_name"].iloc[0]
    return rows.groupby("region_id")["lq"].first(), name


def indicators(
    panel: pd.DataFrame,
    summary: pd.DataFrame,
    outcomes: pd.DataFrame | None,
    related: pd.DataFrame | None,
    region_type: str = "state",
) -> list[Indicator]:
    """Every measurable indicator over all regions (``panel`` = one year, one region type)."""
    out: list[Indicator] = []
    src = "cluster panel (CBP via USCM method)"
    lq, name = _cluster_lq(panel, r"transportation and logistics")
    if name:
        out.append(
            Indicator(
                "infrastructure",
                f"LQ of '{name}' (logistics capacity proxy)",
                "LQ = (E_rc/E_r,traded)/(E_US,c/E_US,traded)",
                src,
                lq,
            )
        )
    lq, name = _cluster_lq(panel, r"education and knowledge creation")
    if name:
        out.append(
            Indicator(
                "sources of technology",
                f"LQ of '{name}' (holds NAICS 5417 R&D services)",
                "LQ as above",
                src,
                lq,
            )
        )
    s = summary.set_index("region_id")
    out.append(
        Indicator(
            "human resources",
            "average traded wage ($)",
            "AP_traded x 1000 / E_reported,traded",
            src,
            s["wage_traded"].astype(float),
        )
    )
    out.append(
        Indicator(
            "human resources",
            "average wage, all clusters ($)",
            "AP x 1000 / E_reported",
            src,
            s["wage"].astype(float),
        )
    )
    if outcomes is not None and {"labor_force", "population"} <= set(outcomes["outcome"]):
        o = outcomes.loc[outcomes["outcome"].isin(["labor_force", "population"])]
        last = int(o.groupby("outcome")["year"].max().min())
        wide = o.loc[o["year"] == last].pivot_table(
            index="region_id", columns="outcome", values="value"
        )
        out.append(
            Indicator(
                "human resources",
                f"labour-force participation {last}",
                "labour force / civilian noninstitutional population",
                "BLS LAUS",
                wide["labor_force"] / wide["population"],
            )
        )
    if related is not None and not related.empty:
        strong = panel.loc[panel["strong"] & panel["traded"], ["region_id", "cluster_code"]]
        present = panel.loc[panel["emp"] > 0, ["region_id", "cluster_code"]].assign(present=True)
        links = strong.merge(related[["cluster_code", "related_cluster_code"]], on="cluster_code")
        links = links.merge(
            present.rename(columns={"cluster_code": "related_cluster_code"}),
            on=["region_id", "related_cluster_code"],
            how="left",
        )
        coverage = links.groupby("region_id")["present"].apply(
            lambda v: v.fillna(False).astype(bool).mean()
        )
        out.append(
            Indicator(
                "cross-border linkage",
                "related-cluster coverage of strong clusters",
                "share of clusters related to the region's strong clusters that are present (E > 0)",
                "USCM related clusters (Delgado-Porter-Stern 2016)",
                coverage.reindex(s.index),
            )
        )
    out += internationalization(panel, summary, outcomes, region_type)
    lq, name = _cluster_lq(panel, r"distribution and electronic commerce")
    if name:
        out.append(Indicator("e-commerce", f"LQ of '{name}'", "LQ as above", src, lq))
    out.append(
        Indicator(
            "division of labour",
            "traded clusters present",
            "count of traded clusters with E > 0",
            src,
            s["n_clusters_present"].astype(float),
        )
    )
    traded = panel.loc[panel["traded"]].groupby("region_id")[["emp", "est"]].sum()
    out.append(
        Indicator(
            "division of labour",
            "average traded establishment size (jobs)",
            "E_traded / Est_traded",
            src,
            traded["emp"] / traded["est"].replace(0, np.nan),
            "lower = smaller, more specialised firms",
        )
    )
    if "est_change" in panel.columns and panel["est_change"].notna().any():
        est = panel.loc[panel["traded"]].groupby("region_id")[["est", "est_change"]].sum()
        out.append(
            Indicator(
                "entry of new firms",
                "net traded establishment creation rate",
                "sum_c dEst_rc / Est_r,traded (previous panel year)",
                src,
                est["est_change"] / (est["est"] - est["est_change"]).replace(0, np.nan),
            )
        )
    if outcomes is not None and "establishments" in set(outcomes["outcome"]):
        e = outcomes.loc[outcomes["outcome"] == "establishments"].pivot_table(
            index="region_id", columns="year", values="value"
        )
        last = int(max(e.columns))
        first = last - 5
        if first in e.columns:
            out.append(
                Indicator(
                    "entry of new firms",
                    f"establishment CAGR {first}-{last}",
                    "(Est_t1/Est_t0)^(1/5) - 1",
                    "CBP totals",
                    (e[last] / e[first]) ** 0.2 - 1,
                )
            )
    return out


def outcome_in_usd(outcomes: pd.DataFrame | None, outcome: str) -> pd.DataFrame | None:
    """One money outcome as a region_id x year table in dollars (None when absent).

    Rows in a unit not in :data:`USD_PER_UNIT` are an :class:`InputError`: a ratio of
    thousands to dollars would be off by 1,000.
    """
    if outcomes is None or outcome not in set(outcomes["outcome"]):
        return None
    rows = outcomes.loc[outcomes["outcome"] == outcome]
    units = rows["unit"].astype(str) if "unit" in rows.columns else pd.Series("USD", rows.index)
    unknown = sorted(set(units) - set(USD_PER_UNIT))
    if unknown:
        raise InputError(
            f"outcome {outcome!r} is in unit {unknown[0]!r}, which is not a dollar unit",
            hint=f"store it in one of {', '.join(USD_PER_UNIT)}",
        )
    dollars = rows["value"].astype(float) * units.map(USD_PER_UNIT).astype(float)
    frame = rows.assign(usd=dollars.to_numpy(), region_id=rows["region_id"].astype(str))
    return frame.pivot_table(index="region_id", columns="year", values="usd", aggfunc="sum")


def _year_at_or_before(table: pd.DataFrame, year: int) -> int | None:
    years = [int(y) for y in table.columns if int(y) <= year and table[y].notna().any()]
    return max(years) if years else None


def internationalization(
    panel: pd.DataFrame,
    summary: pd.DataFrame,
    outcomes: pd.DataFrame | None,
    region_type: str,
) -> list[Indicator]:
    """Internationalization proxies (seed 003; APEC cross-border linkage) for every region.

    Traded-cluster share of employment (always, from the panel); exports / GDP and exports
    per worker where the store has exports (and GDP) for ``region_type``; exports plus
    imports over GDP where it has imports too. Unmeasurable ones come back with empty values
    and ``needs`` saying which data would measure them.
    """
    area = "cross-border linkage"
    src = "cluster panel (CBP via USCM method)"
    s = summary.set_index(summary["region_id"].astype(str))
    jobs = s["emp"].astype(float)
    out = [
        Indicator(
            area,
            "traded-cluster share of employment",
            "sum_c traded E_rc / sum_c E_rc (traded clusters sell beyond the region)",
            src,
            s["emp_traded"].astype(float) / jobs.replace(0, np.nan),
        )
    ]
    year = int(panel["year"].max())
    exports = outcome_in_usd(outcomes, "exports")
    exports_year = _year_at_or_before(exports, year) if exports is not None else None
    if exports is None or exports_year is None:
        needs = EXPORTS_NEEDED.get(region_type, f"exports by {region_type} of origin")
        if exports is not None:
            needs = f"exports for {year} or earlier ({needs})"
        for name in ("exports / GDP", "exports per worker ($)"):
            out.append(Indicator(area, name, "", "", pd.Series(dtype=float), needs=needs))
        return out
    x = exports[exports_year]
    source = ", ".join(sorted(set(outcomes.loc[outcomes["outcome"] == "exports", "source"])))
    missing_region = f"exports of this region in {exports_year} (the exports data has none)"
    gdp = outcome_in_usd(outcomes, "gdp")
    if gdp is not None and exports_year in gdp.columns:
        g = gdp[exports_year].replace(0, np.nan)
        gdp_source = ", ".join(sorted(set(outcomes.loc[outcomes["outcome"] == "gdp", "source"])))
        out.append(
            Indicator(
                area,
                f"exports / GDP {exports_year}",
                "merchandise exports ($) / GDP ($), both in dollars",
                f"{source}; {gdp_source}",
                (x / g).dropna(),
                needs=missing_region + " or its GDP",
            )
        )
        imports = outcome_in_usd(outcomes, "imports")
        if imports is not None and exports_year in imports.columns:
            out.append(
                Indicator(
                    area,
                    f"(exports + imports) / GDP {exports_year}",
                    "(exports ($) + imports ($)) / GDP ($)",
                    f"{source}; {gdp_source}",
                    ((x + imports[exports_year]) / g).dropna(),
                    needs=missing_region + ", its imports or its GDP",
                )
            )
    else:
        gdp_needs = GDP_NEEDED.get(region_type, f"GDP by {region_type}")
        out.append(
            Indicator(
                area,
                "exports / GDP",
                "",
                "",
                pd.Series(dtype=float),
                needs=f"{gdp_needs} for {exports_year}",
            )
        )
    jobs_note = "" if exports_year == year else f" (jobs {year})"
    out.append(
        Indicator(
            area,
            f"exports per worker {exports_year}{jobs_note} ($)",
            "merchandise exports ($) / sum_c E_rc (CBP employment of the panel year)",
            f"{source}; {src}",
            (x / jobs.replace(0, np.nan)).dropna(),
            needs=missing_region,
        )
    )
    return out


def diagnose(
    store,
    region_id: str,
    *,
    region_type: str = "state",
    peers: Sequence[str] | None = None,
    year: int | None = None,
    related_loader: Callable[[], pd.DataFrame] | None = None,
) -> PolicyDiagnostics:
    """Diagnose ``region_id`` from the store's cluster_panel (and outcomes, related clusters).

    ``peers`` are region ids to rank against besides all regions of the type.
    """
    from clusteratlas.data.shapes import MAP_REGION_TYPES
    from clusteratlas.panel import region_summary

    if region_type not in MAP_REGION_TYPES:
        raise ParameterError(
            "region_type",
            f"unknown region type {region_type!r}",
            allowed=", ".join(MAP_REGION_TYPES),
        )
    years = store.sql(
        "select distinct year from cluster_panel where region_type = ? order by year", [region_type]
    )
    if years.empty:
        kinds = store.sql("select distinct region_type from cluster_panel")["region_type"]
        raise ParameterError(
            "region_type",
            f"the store has no {region_type} cluster panel",
            allowed=", ".join(sorted(kinds)),
        )
    year = int(year or years["year"].max())
    if year not in set(years["year"].astype(int)):
        raise ParameterError(
            "year",
            f"no {region_type} cluster panel for {year}",
            allowed=", ".join(map(str, years["year"])),
        )
    panel = store.read(
        "cluster_panel", where="region_type = ? and year = ?", params=[region_type, year]
    )
    if region_id not in set(panel["region_id"].astype(str)):
        raise ParameterError(
            "region",
            f"{region_type} {region_id!r} is not in the cluster panel of {year}",
            allowed=", ".join(sorted(panel["region_id"].unique())[:15]) + ", ...",
        )
    summary = region_summary(panel)
    outcomes = (
        store.read("outcomes", where="region_type = ?", params=[region_type])
        if store.has("outcomes")
        else None
    )
    notes: list[str] = []
    related = None
    try:
        from clusteratlas.panel import load_related_pairs

        related = (related_loader or load_related_pairs)()
    except Exception as error:  # the related-cluster file is optional input
        notes.append(f"related clusters unavailable: {error}")
    peers = [str(p) for p in (peers or []) if str(p) != region_id]
    rows = []
    found = indicators(panel, summary, outcomes, related, region_type)
    for area in AREAS:
        mine = [i for i in found if i.area == area]
        for ind in mine:
            values = ind.values.astype(float)
            values.index = values.index.astype(str)
            value = float(values.get(region_id, np.nan))
            group = values.reindex([region_id, *peers]).dropna()
            finite = values[np.isfinite(values)]
            rank = (
                float(finite.rank(ascending=False, method="min")[region_id])
                if np.isfinite(value)
                else float("nan")
            )
            rows.append(
                {
                    "region_id": region_id,
                    "area": area,
                    "indicator": ind.indicator,
                    "measured": bool(np.isfinite(value)),
                    "value": value,
                    "percentile_all": percentile(values, region_id),
                    "percentile_peers": percentile(group, region_id)
                    if len(group) > 1
                    else float("nan"),
                    "rank_all": rank,
                    "n_regions": int(np.isfinite(values).sum()),
                    "direction": ind.direction,
                    "formula": ind.formula,
                    "source": ind.source,
                    "year": year,
                    "data_needed": ""
                    if np.isfinite(value)
                    else (ind.needs or f"a value for this region in {ind.source}"),
                }
            )
        rows.append(
            {
                "region_id": region_id,
                "area": area,
                "indicator": "(not measured by the loaded data)" if not mine else "(further data)",
                "measured": False,
                "value": float("nan"),
                "percentile_all": float("nan"),
                "percentile_peers": float("nan"),
                "rank_all": float("nan"),
                "n_regions": 0,
                "direction": "",
                "formula": "",
                "source": "",
                "year": year,
                "data_needed": DATA_NEEDED[area],
            }
        )
    table = pd.DataFrame(rows)
    if table["measured"].sum() == 0:
        raise InputError(f"no policy indicator could be measured for {region_id}")
    return PolicyDiagnostics(region_id, region_type, year, table, peers, notes)
