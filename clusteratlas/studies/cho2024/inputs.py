"""Inputs of the Cho et al. (2024) replication: the state x cluster rows, the states and the outcomes.

Owns what the study reads and how it is shaped: :func:`load_inputs` takes everything through
a :class:`~clusteratlas.data.catalog.Catalog` of the data folder and the loaders of
:mod:`clusteratlas.data.inputs` (the same ones ``clusteratlas run`` uses), builds the 2016
USCM panel (LQ, strong flags, LQ percentile within the cluster) and the state cluster
strength, and adds what the offline data lack when asked (:func:`fetch_missing`: state
exports/imports and CBP 2022 from the Census APIs; USA Trade Online files by hand). The
paper's quality factors and the USCM column each one really is: :data:`FACTORS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from clusteratlas.data import inputs
from clusteratlas.data.catalog import Catalog
from clusteratlas.data.census_api import fetch_cbp
from clusteratlas.data.fetch import Fetcher
from clusteratlas.data.trade import fetch_state_trade, read_usatrade
from clusteratlas.errors import (
    DataCoverageWarning,
    DataUnavailableError,
    InputError,
    SuppressedDataWarning,
    expected_warnings,
)
from clusteratlas.panel import panel_from_uscm, region_summary

#: The five quality factors of the paper, with the USCM column each one really is.
FACTORS = {
    "QP": ("qp1", "first-quarter payroll ($1,000; USCM qp1_tl) - NOT a concentration index"),
    "EST": ("est", "establishments"),
    "AP": ("ap", "annual payroll ($1,000)"),
    "WAGE": ("wage_uscm", "average private wage ($; 0 where USCM reports no employment)"),
    "LQ": ("lq", "location quotient (USCM traded/local denominator)"),
}

#: How the paper's QP is labelled in every output table.
QP_LABEL = "QP (= qp1, Q1 payroll $1000)"

QP_WARNING = (
    "the paper's 'QP' (\"degree of industry concentration\") is USCM qp1_tl, CBP first-quarter "
    "payroll in $1,000 - a size measure, not a concentration index; it is labelled 'QP (= qp1, Q1 payroll $1000)' in the tables"
)


@dataclass
class Cho2024Inputs:
    """Everything the study needs, read from the public files.

    ``rows``: state x cluster 2016 (USCM inputs, LQ, strong flags, LQ percentile within the
    cluster); ``states``: one row per state (cluster strength 2016, cluster_region);
    ``outcomes``: state x year x outcome levels (OUTCOMES layout); ``notes``: what is missing;
    ``subclusters``: the USCM subclusters (cluster_code, subcluster_code, traded), the unit of
    the paper's DID rows (state x subcluster).
    """

    rows: pd.DataFrame
    states: pd.DataFrame
    outcomes: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    subclusters: pd.DataFrame | None = None


def subcluster_list(definitions: pd.DataFrame) -> pd.DataFrame:
    """The USCM subclusters (cluster_code, subcluster_code, traded) of a cluster definition.

    Industries without a subcluster add none; a definition with no subcluster column (custom
    clusters) counts each cluster as one subcluster.
    """
    if "subcluster_code" not in definitions.columns:
        out = definitions[["cluster_code", "traded"]].drop_duplicates("cluster_code")
        return out.assign(subcluster_code=out["cluster_code"].astype(str)).reset_index(drop=True)
    subs = definitions.dropna(subset=["subcluster_code"])
    subs = subs[subs["subcluster_code"].astype(str).str.len() > 0]
    out = subs[["cluster_code", "subcluster_code", "traded"]].astype(
        {"cluster_code": str, "subcluster_code": str}
    )
    return out.drop_duplicates(["cluster_code", "subcluster_code"]).reset_index(drop=True)


def with_paper_columns(rows: pd.DataFrame) -> pd.DataFrame:
    """Region x cluster rows with the columns the paper's tables read, added once for
    ``replicate`` and ``run`` alike: ``wage_uscm``, ``lq_percentile`` (within the cluster,
    mid-rank, 0-100) and ``treat_strong``; missing Q1 and annual payroll count as 0 (USCM's
    convention for empty cells)."""
    rows = rows.copy()
    # USCM's download carries wage 0 where no employment is reported (wage undefined); the
    # paper kept those zeros (Table 2: WAGE min 0, same count as the other factors), so the
    # replication does too. ``wage`` keeps the honest NaN.
    rows["wage_uscm"] = rows["wage"].where(rows["wage"].notna() | (rows["emp_reported"] > 0), 0.0)
    rows["qp1"] = rows["qp1"].fillna(0.0)
    rows["ap"] = rows["ap"].fillna(0.0)
    rows["lq_percentile"] = rows.groupby("cluster_code")["lq"].transform(_percentile_rank)
    rows["treat_strong"] = rows["strong"].astype(bool)
    return rows


def _percentile_rank(values: pd.Series) -> pd.Series:
    """Percentile of each value among its group, 0-100 (mid-rank, ties averaged)."""
    return (values.rank(method="average") - 0.5) / values.notna().sum() * 100.0


def load_inputs(
    data: str | Path | None = None,
    *,
    fetch: bool = False,
    fetcher: Fetcher | None = None,
    api_root: str | None = None,
    trade_files: Sequence[str | Path] = (),
) -> Cho2024Inputs:
    """Read the USCM 2016 state inputs, national CBP, BEA SAGDP2N, CBP state totals and LAUS.

    With ``fetch`` the variables the offline data lack are asked from the Census APIs (state
    exports and imports 2017-2022, CBP 2022 state totals; see :func:`fetch_missing`);
    ``trade_files`` are hand-downloaded USA Trade Online state exports/imports files.
    """
    catalog = Catalog(data or None)
    notes: list[str] = []
    uscm = inputs.uscm_state_clusters(catalog)
    definitions = inputs.uscm_definitions(catalog, naics_vintage=2012)
    national = inputs.national_industry_counts(catalog, years=[2016])
    # the paper's LQs from USCM's own state rows; the national denominators' withheld cells
    # without a size class or a parent line to derive them from (2 in CBP 2016) count as 0
    # (SuppressedDataWarning); the rows left without an LQ are checked below
    with expected_warnings(SuppressedDataWarning):
        panel = panel_from_uscm(
            uscm.drop(columns=["wage"], errors="ignore"), national, definitions, growth=False
        )
    keep = ["region_id", "cluster_code", "lq", "strong", "region_share", "national_share"]
    rows = uscm.merge(
        panel[keep], on=["region_id", "cluster_code"], how="left", validate="one_to_one"
    )
    if rows["lq"].isna().any():
        raise InputError("some USCM rows got no location quotient", hint="check the cluster codes")
    rows = with_paper_columns(rows)

    summary = region_summary(panel)
    states = summary[["region_id", "cluster_strength", "n_strong", "emp", "emp_traded"]].copy()
    states["cluster_region"] = states["cluster_strength"] >= states["cluster_strength"].median()

    # suppressed BEA cells ((D)/(NA)) are left out by the reader, as the paper's data do
    with expected_warnings(SuppressedDataWarning):
        gdp = inputs.state_gdp(catalog, years=(2014, 2022))
        cbp = inputs.cbp_totals(catalog, "state")
    cbp = cbp[(cbp["outcome"] == "employment") & cbp["year"].between(2014, 2022)]
    parts = [gdp, cbp]
    if catalog.has("laus_state"):
        laus = inputs.laus_state(catalog)  # residence-based employment, as employment_laus
        parts.append(
            laus[(laus["outcome"] == "employment_laus") & laus["year"].between(2014, 2022)]
        )
    extra, extra_notes = _extra_outcomes(
        fetch=fetch, fetcher=fetcher, api_root=api_root, trade_files=trade_files
    )
    # the offline outcomes' states (50 + DC) only: the APIs also answer for Puerto Rico
    states_known = set(pd.concat(parts)["region_id"])
    extra = [frame[frame["region_id"].isin(states_known)] for frame in extra]
    outcomes = pd.concat(parts + extra, ignore_index=True)
    outcomes = outcomes[outcomes["region_type"] == "state"]
    # a year CBP already has offline keeps the offline value (the API adds 2022 only)
    outcomes = outcomes.drop_duplicates(["region_id", "year", "outcome"], keep="first")
    notes += extra_notes
    if not {"exports", "imports"} <= set(outcomes["outcome"]):
        notes.append(
            "exports and imports by state are not in the offline data (only US totals by NAICS "
            "and metro exports exist there): the Export and Import columns of Tables 2-6 are "
            "left out; with internet, run with --fetch (Census trade API) or pass a USA Trade "
            "Online state file with --trade-file"
        )
    if 2022 in set(outcomes.loc[outcomes["outcome"] == "employment", "year"]):
        notes.append(
            "employment is CBP mid-March paid employment (2015-2021 offline, 2022 from the CBP "
            "API), so Model 2 for employment compares 2020 with 2022; the 2020 CBP count "
            "predates the lockdowns (LAUS, residence-based, stops in 2018 here)"
        )
    else:
        notes.append(
            "employment is CBP mid-March paid employment (2015-2021; no 2022 in the offline "
            "data), so Model 2 for employment compares 2020 with 2021, and the 2020 CBP count "
            "predates the lockdowns (LAUS, residence-based, stops in 2018 here)"
        )
    notes.append(QP_WARNING)
    return Cho2024Inputs(
        rows=rows,
        states=states,
        outcomes=outcomes,
        notes=notes,
        subclusters=subcluster_list(definitions),
    )


#: Years of state exports/imports the study needs (growth 2018 needs the 2017 level).
TRADE_YEARS = tuple(range(2017, 2023))
#: The CBP year the offline data lack.
CBP_FETCH_YEAR = 2022


def fetch_missing(
    *, fetcher: Fetcher | None = None, api_root: str | None = None
) -> tuple[list[pd.DataFrame], list[str]]:
    """State exports and imports 2017-2022 and CBP 2022 state employment from the Census APIs.

    Returns the OUTCOMES frames obtained and one note per source: what was fetched, or why
    not (the :class:`DataUnavailableError` message, which names the URL to download by hand
    and where to save it). ``CLUSTERATLAS_OFFLINE=1`` reads only the cache.
    """
    fetcher = fetcher or Fetcher()
    frames: list[pd.DataFrame] = []
    notes: list[str] = []
    for flow in ("exports", "imports"):
        try:
            frame = fetch_state_trade(flow, TRADE_YEARS, fetcher=fetcher, root=api_root)
        except (DataUnavailableError, InputError) as error:
            notes.append(f"state {flow} could not be fetched: {error}")
            continue
        frames.append(frame)
        variable = frame["source"].iloc[0].rsplit(" ", 1)[-1].rstrip(")")
        notes.append(
            f"state {flow} {TRADE_YEARS[0]}-{TRADE_YEARS[-1]} from the Census international "
            f"trade API (statenaics {variable}: December year-to-date value, USD, all partner "
            f"countries{', state of origin of movement' if flow == 'exports' else ''})"
        )
    try:
        counts = fetch_cbp(
            CBP_FETCH_YEAR,
            "state",
            fetcher=fetcher,
            root=api_root,
            include_totals=True,
            naics="00",
        )
    except (DataUnavailableError, InputError) as error:
        notes.append(f"CBP {CBP_FETCH_YEAR} state totals could not be fetched: {error}")
        return frames, notes
    totals = counts[(counts["naics"] == "total") & (counts["region_type"] == "state")]
    if totals.empty:
        notes.append(f"the CBP API answer for {CBP_FETCH_YEAR} had no all-industries rows")
        return frames, notes
    frames.append(
        pd.DataFrame(
            {
                "region_type": "state",
                "region_id": totals["region_id"].to_numpy(),
                "year": CBP_FETCH_YEAR,
                "outcome": "employment",
                "value": totals["emp"].astype(float).to_numpy(),
                "unit": "jobs (mid-March)",
                "source": "Census CBP API",
            }
        )
    )
    return frames, notes


def _extra_outcomes(
    *,
    fetch: bool,
    fetcher: Fetcher | None,
    api_root: str | None,
    trade_files: Sequence[str | Path],
) -> tuple[list[pd.DataFrame], list[str]]:
    """Hand-downloaded trade files first (they win over the API), then the fetched data."""
    frames: list[pd.DataFrame] = []
    notes: list[str] = []
    for path in trade_files:
        # partial periods (year to date) are left out by the reader: annual totals only
        with expected_warnings(DataCoverageWarning):
            frame = read_usatrade(path)
        states = frame[frame["region_type"] == "state"]
        if states.empty:
            notes.append(
                f"{Path(path).name} has no state rows (only 'All States'?): not used; download "
                "the USA Trade Online table with every state selected"
            )
            continue
        frames.append(states)
        flows = ", ".join(sorted(states["outcome"].unique()))
        years = f"{states['year'].min()}-{states['year'].max()}"
        notes.append(f"state {flows} {years} from {Path(path).name} (USA Trade Online)")
    if fetch:
        fetched, fetch_notes = fetch_missing(fetcher=fetcher, api_root=api_root)
        frames += fetched
        notes += fetch_notes
    return frames, notes
