"""Replication of Cho, Lee, Yoo, Kim & Park (2024), "The Impact of Industrial Clusters' Quality on the
Production Resilience in the Global Crisis" (J. Korean Society for Quality Management), and the
same questions answered with a defensible design beside it.

What the paper does (sections 3-4, Tables 1-6), as read for this module:

* Unit: USCM state x cluster rows (Table 2 counts clusters, sub-clusters, states, traded and local
  rows). Each row carries its state's outcomes (BEA GDP, manufacturing GDP, exports, imports,
  employment) and the cluster's "quality factors" QP, LQ, AP, EST, WAGE.
* Treatment ("regions with industrial clusters"): read here as the USCM strong-cluster flag of
  the state x cluster row (LQ in the top quartile of states, LQ >= 1, employment and
  establishments above the bottom quartile), computed with :func:`clusteratlas.panel.panel_from_uscm`
  from the 2016 USCM inputs. ``treatment="lq1"`` uses LQ >= 1 instead (defined for local
  clusters too).
* DID (Equation 1, Tables 3 and 5): OLS of the outcome on Period, Treatment and Period x
  Treatment, Model 1 = 2018 vs 2020 (shock), Model 2 = 2020 vs 2022 (recovery), classical
  standard errors. The printed intercepts (0.07 for GDP) are growth rates, so the outcome is
  read as the state's annual growth rate Y_t/Y_{t-1} - 1.
* "RDD" (Equation 2, Tables 4 and 6): what is printed is an OLS of the outcome LEVEL on QP, EST,
  AP, WAGE and LQ over the state x cluster rows (no cut-off, no discontinuity). Reproduced as
  printed, plus Equation 2 literally (global quadratic in the centred LQ percentile with the
  strong-cluster dummy and interactions), plus a genuine local-polynomial RD
  (:func:`clusteratlas.causal.rd.rdrobust`) on the strong-cluster rule.
* "QP" is described as "degree of industry concentration", but USCM's ``qp1_tl`` is CBP
  first-quarter payroll ($1,000). It is labelled truthfully here (``qp1_payroll``) and a
  warning says so.

The defensible version: the state is the unit (outcomes vary by state only, so 3,350 state x
cluster rows are 50 observations repeated); the treatment is predetermined (a state's USCM
cluster strength in 2016, above the median = "cluster region"); two-way fixed effects with
state-clustered standard errors and a wild cluster bootstrap p-value; an event study over
2015-2022 (reference 2019) with a joint pre-trend test.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from clusteratlas import atomic
from clusteratlas.data.fetch import Fetcher
from clusteratlas.errors import DataUnavailableError, EstimationError, InputError, ParameterError
from clusteratlas.paths import shared_data_dir

#: The five quality factors of the paper, with the USCM column each one really is.
FACTORS = {
    "QP": ("qp1", "first-quarter payroll ($1,000; USCM qp1_tl) - NOT a concentration index"),
    "EST": ("est", "establishments"),
    "AP": ("ap", "annual payroll ($1,000)"),
    "WAGE": ("wage_uscm", "average private wage ($; 0 where USCM reports no employment)"),
    "LQ": ("lq", "location quotient (USCM traded/local denominator)"),
}

#: Outcomes of the paper and what this replication can use offline.
PAPER_OUTCOMES = {
    "GDP": "gdp",
    "GDP_manu": "mfg_gdp",
    "Export": "exports",
    "Import": "imports",
    "Employment": "employment",
}

#: The paper's printed numbers used in the comparison table (Tables 3-6).
PAPER_PRINTED = {
    ("table3", "GDP"): {"interaction": -0.022, "se": 0.003, "r2": 0.560},
    ("table3", "GDP_manu"): {"interaction": -0.045, "se": 0.007, "r2": 0.275},
    ("table3", "Export"): {"interaction": -0.237, "se": 0.010, "r2": 0.190},
    ("table3", "Import"): {"interaction": -0.433, "se": 0.013, "r2": 0.179},
    ("table3", "Employment"): {"interaction": -0.036, "se": 0.002, "r2": 0.667},
    ("table5", "GDP"): {"interaction": 0.016, "se": 0.003, "r2": 0.843},
    ("table5", "GDP_manu"): {"interaction": 0.056, "se": 0.006, "r2": 0.704},
    ("table5", "Export"): {"interaction": 0.102, "se": 0.007, "r2": 0.970},
    ("table5", "Import"): {"interaction": 0.078, "se": 0.101, "r2": 0.972},
    ("table5", "Employment"): {"interaction": 0.053, "se": 0.002, "r2": 0.892},
    ("table4", "GDP"): {"LQ": -14390, "EST": 36.261, "WAGE": 3.673, "r2": 0.127},
    ("table4", "GDP_manu"): {"LQ": -15700, "EST": 3.025, "WAGE": 0.354, "r2": 0.104},
    ("table4", "Employment"): {"LQ": -88, "EST": 0.204, "WAGE": 0.0219, "r2": 0.130},
    ("table6", "GDP"): {"LQ": -15700, "EST": 39.610, "WAGE": 3.991, "r2": 0.125},
    ("table6", "GDP_manu"): {"LQ": -1277.8, "EST": 3.291, "WAGE": 0.383, "r2": 0.102},
    ("table6", "Employment"): {"LQ": -88.542, "EST": 0.205, "WAGE": 0.022, "r2": 0.130},
}

#: Paper model -> (label, pre year, post year).
MODELS = {"shock": ("Model 1 (shock)", 2018, 2020), "recovery": ("Model 2 (recovery)", 2020, 2022)}

#: How the paper's QP is labelled in every output table.
QP_LABEL = "QP (= qp1, Q1 payroll $1000)"

QP_WARNING = (
    "the paper's 'QP' (\"degree of industry concentration\") is USCM qp1_tl, CBP first-quarter "
    "payroll in $1,000 - a size measure, not a concentration index; it is labelled 'QP (= qp1, Q1 payroll $1000)' in the tables"
)


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------
@dataclass
class Cho2024Inputs:
    """Everything the study needs, read from the public files.

    ``rows``: state x cluster 2016 (USCM inputs, LQ, strong flags, LQ percentile within the
    cluster); ``states``: one row per state (cluster strength 2016, cluster_region);
    ``outcomes``: state x year x outcome levels (OUTCOMES layout); ``notes``: what is missing.
    """

    rows: pd.DataFrame
    states: pd.DataFrame
    outcomes: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _data_dir(data: str | Path | None) -> Path:
    folder = Path(data) if data else shared_data_dir()
    if folder is None or not folder.is_dir():
        raise DataUnavailableError(
            "no data folder: pass --data DIR (holding clusters/, cbp/, bea/, qcew/) or set CLUSTERATLAS_DATA"
        )
    return folder


def _need(folder: Path, relative: str) -> Path:
    path = folder / relative
    if not path.exists():
        raise DataUnavailableError(f"{path} not found (see the data folder's PROVENANCE.md)")
    return path


def read_uscm_state_inputs(path: str | Path) -> pd.DataFrame:
    """The USCM state x cluster download (``*_tl``/``*_t`` columns) in panel column names."""
    try:  # the data engineer's reader, when present
        from clusteratlas.data.uscm import read_uscm

        return read_uscm(path)
    except ImportError:
        pass
    raw = pd.read_csv(path, dtype={"region_code_t": str, "cluster_code_t": str})
    names = {
        "cluster_code_t": "cluster_code",
        "cluster_name_t": "cluster_name",
        "traded_b": "traded",
        "year_t": "year",
        "region_type_t": "region_type",
        "region_code_t": "region_id",
        "region_name_t": "region_name",
        "emp_tl": "emp",
        "emp_reported_tl": "emp_reported",
        "est_tl": "est",
        "ap_tl": "ap",
        "qp1_tl": "qp1",
        "private_wage_tf": "wage",
    }
    missing = [c for c in names if c not in raw.columns]
    if missing:
        raise InputError(f"missing USCM column(s) {', '.join(missing)}", path=str(path))
    frame = raw.rename(columns=names)
    frame["region_id"] = frame["region_id"].str.zfill(2)
    frame["traded"] = frame["traded"].astype(str).str.upper().eq("TRUE")
    return frame


def _national_counts(folder: Path, year: int) -> pd.DataFrame:
    """National 6-digit CBP counts of one year (INDUSTRY_COUNTS layout)."""
    path = _need(folder, "cbp/setzler_CBP_national_industry6.csv")
    try:
        from clusteratlas.data.cbp import read_setzler_national_industry

        frame = read_setzler_national_industry(path)
        return frame[frame["year"] == year]
    except (ImportError, InputError) as error:
        # The shared reader rejects the file's few "NA" cells; read them as suppressed (left
        # out: 2 of ~980 national industries in 2016) rather than stop the study.
        warnings.warn(f"national CBP read directly ({error})", stacklevel=2)
    raw = pd.read_csv(path, dtype={"naics": str})
    raw = raw[(raw["year"] == year) & raw["employment_march"].notna()]
    from clusteratlas.data.clusters import naics_vintage_for_year

    return pd.DataFrame(
        {
            "source": "setzler CBP national",
            "year": raw["year"].astype("int64"),
            "region_type": "nation",
            "region_id": "US",
            "naics": raw["naics"],
            "naics_vintage": naics_vintage_for_year(year),
            "emp": raw["employment_march"].astype(float),
            "emp_reported": raw["employment_march"].astype(float),
            "emp_flag": "",
            "est": raw["establishments"].astype(float),
            "ap": np.nan,
            "qp1": raw["payroll_quarter1"].astype(float) / 1000.0,
        }
    )


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
    from clusteratlas.data.bea import read_gdp_csv
    from clusteratlas.data.clusters import load_definition
    from clusteratlas.data.laus import read_cbp_totals, read_laus_state_annual
    from clusteratlas.panel import panel_from_uscm, region_summary

    folder = _data_dir(data)
    notes: list[str] = []
    uscm = read_uscm_state_inputs(_need(folder, "clusters/uscm_state_cluster_2016_inputs.csv.gz"))
    definitions = load_definition("uscm", naics_vintage=2012, path=folder / "clusters")
    national = _national_counts(folder, 2016)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = panel_from_uscm(
            uscm.drop(columns=["wage"], errors="ignore"), national, definitions, growth=False
        )
    keep = ["region_id", "cluster_code", "lq", "strong", "region_share", "national_share"]
    rows = uscm.merge(
        panel[keep], on=["region_id", "cluster_code"], how="left", validate="one_to_one"
    )
    if rows["lq"].isna().any():
        raise InputError("some USCM rows got no location quotient", hint="check the cluster codes")
    # USCM's download carries wage 0 where no employment is reported (wage undefined); the
    # paper kept those zeros (Table 2: WAGE min 0, same count as the other factors), so the
    # replication does too. ``wage`` keeps the honest NaN.
    rows["wage_uscm"] = rows["wage"].where(rows["wage"].notna() | (rows["emp_reported"] > 0), 0.0)
    rows["lq_percentile"] = rows.groupby("cluster_code")["lq"].transform(_percentile_rank)
    rows["treat_strong"] = rows["strong"].astype(bool)
    rows["treat_lq1"] = rows["lq"] >= 1.0

    summary = region_summary(panel)
    states = summary[["region_id", "cluster_strength", "n_strong", "emp", "emp_traded"]].copy()
    states["cluster_region"] = states["cluster_strength"] >= states["cluster_strength"].median()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gdp = read_gdp_csv(
            _need(folder, "bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz"), years=(2014, 2022)
        )
        cbp = read_cbp_totals(_need(folder, "cbp/setzler_CBP_state_total.csv"))
    cbp = cbp[(cbp["outcome"] == "employment") & cbp["year"].between(2014, 2022)]
    parts = [gdp, cbp]
    laus_path = folder / "qcew/laus_state_annual_1976_2018_staadata.xlsx"
    if laus_path.exists():
        laus = read_laus_state_annual(laus_path)
        laus = laus[(laus["outcome"] == "employment") & laus["year"].between(2014, 2022)].assign(
            outcome="employment_laus"
        )
        parts.append(laus)
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
    return Cho2024Inputs(rows=rows, states=states, outcomes=outcomes, notes=notes)


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
    from clusteratlas.data.census_api import fetch_cbp
    from clusteratlas.data.trade import fetch_state_trade

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
    from clusteratlas.data.trade import read_usatrade

    frames: list[pd.DataFrame] = []
    notes: list[str] = []
    for path in trade_files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # partial periods are left out by the reader
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


# ---------------------------------------------------------------------------------------------
# the paper's tables
# ---------------------------------------------------------------------------------------------
def state_growth(outcomes: pd.DataFrame) -> pd.DataFrame:
    """State x year annual growth Y_t / Y_{t-1} - 1 of every outcome (wide: one column each)."""
    wide = outcomes.pivot_table(
        index=["region_id", "year"], columns="outcome", values="value"
    ).sort_index()
    growth = wide.groupby(level="region_id").pct_change(fill_method=None)
    # pct_change compares with the previous row: make sure that row is the previous year
    years = wide.index.get_level_values("year").to_series(index=wide.index)
    gap = years.groupby(level="region_id").diff()
    growth[gap != 1] = np.nan
    return growth.reset_index()


def _ols_rows(frame: pd.DataFrame, formula: str, dependent: str) -> tuple[dict, pd.DataFrame]:
    """The paper's OLS (classical SEs, as printed) plus, beside it, SEs clustered by state.

    The clustered column shows how much of the printed precision comes from repeating each
    state's outcome on all its cluster rows.
    """
    used = frame.dropna(subset=[c for c in frame.columns if c in formula.replace("*", " ").split()])
    fit = smf.ols(formula, data=used).fit()
    clustered = smf.ols(formula, data=used).fit(
        cov_type="cluster", cov_kwds={"groups": used["region_id"].astype(int)}
    )
    model = {
        "dependent": dependent,
        "n": int(fit.nobs),
        "r2": fit.rsquared,
        "adj_r2": fit.rsquared_adj,
        "f_stat": fit.fvalue,
        "f_p": fit.f_pvalue,
    }
    coefs = pd.DataFrame(
        {
            "dependent": dependent,
            "term": fit.params.index,
            "coef": fit.params.to_numpy(),
            "std_err": fit.bse.to_numpy(),
            "t": fit.tvalues.to_numpy(),
            "p": fit.pvalues.to_numpy(),
            "std_err_cluster_state": clustered.bse.to_numpy(),
            "p_cluster_state": clustered.pvalues.to_numpy(),
        }
    )
    return model, coefs


def _outcome_years(
    name: str, pre: int, post: int, available: Sequence[int]
) -> tuple[int, int] | None:
    if post not in available and name == "employment" and post - 1 in available:
        post = post - 1  # CBP stops in 2021 here
    if pre not in available or post not in available:
        return None
    return pre, post


def paper_did(
    inputs: Cho2024Inputs, model: str, *, treatment: str = "strong"
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Table 3 (model="shock") or Table 5 (model="recovery") exactly as the paper specifies.

    Returns (model summary, coefficients, analysis data). y = annual growth of the state
    outcome, attached to each state x cluster row in the two years; Period = post year;
    Treatment = the row's cluster flag; classical OLS standard errors.
    """
    if model not in MODELS:
        raise ParameterError("model", f"unknown model {model!r}", allowed=", ".join(MODELS))
    treat_col = {"strong": "treat_strong", "lq1": "treat_lq1"}.get(treatment)
    if treat_col is None:
        raise ParameterError("treatment", f"unknown treatment {treatment!r}", allowed="strong, lq1")
    _, pre, post = MODELS[model]
    growth = state_growth(inputs.outcomes)
    base = inputs.rows[["region_id", "cluster_code", treat_col]].rename(
        columns={treat_col: "treatment"}
    )
    summaries, coefs, data = [], [], []
    for label, name in PAPER_OUTCOMES.items():
        if name not in growth.columns:
            continue
        years = _outcome_years(name, pre, post, growth.dropna(subset=[name])["year"].unique())
        if years is None:
            continue
        g = growth[growth["year"].isin(years)][["region_id", "year", name]].rename(
            columns={name: "y"}
        )
        frame = base.merge(g, on="region_id")
        frame["period"] = (frame["year"] == years[1]).astype(int)
        frame["treatment"] = frame["treatment"].astype(int)
        summary, table = _ols_rows(frame, "y ~ period * treatment", label)
        summary["years"] = f"{years[0]} vs {years[1]}"
        summaries.append(summary)
        coefs.append(
            table.replace(
                {
                    "term": {
                        "period:treatment": "Interaction",
                        "period": "Period",
                        "treatment": "Treatment",
                    }
                }
            )
        )
        data.append(frame.assign(dependent=label))
    return (
        pd.DataFrame(summaries),
        pd.concat(coefs, ignore_index=True),
        pd.concat(data, ignore_index=True),
    )


def paper_rdd(inputs: Cho2024Inputs, year: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Table 4 (year=2020) or Table 6 (year=2022): OLS of the outcome level on QP, EST, AP, WAGE, LQ.

    Outcome levels: GDP and manufacturing GDP in $ million (BEA), exports and imports in
    $ million (when fetched or given), employment in thousands (CBP; 2021 when asked for 2022
    and 2022 is absent). One row per state x cluster.
    """
    rows = inputs.rows.rename(columns={col: label for label, (col, _) in FACTORS.items()})
    levels = inputs.outcomes.pivot_table(
        index=["region_id", "year"], columns="outcome", values="value"
    ).reset_index()
    summaries, coefs, data = [], [], []
    for label, name in PAPER_OUTCOMES.items():
        if name not in levels.columns:
            continue
        available = levels.dropna(subset=[name])["year"].unique()
        use = (
            year
            if year in available
            else (year - 1 if name == "employment" and year - 1 in available else None)
        )
        if use is None:
            continue
        y = levels[levels["year"] == use][["region_id", name]].rename(columns={name: "y"})
        if name == "employment":
            y["y"] = y["y"] / 1000.0
        elif name in ("exports", "imports"):
            y["y"] = y["y"] / 1e6  # USD -> $ million, the unit of the GDP columns
        frame = rows.merge(y, on="region_id")
        summary, table = _ols_rows(frame, "y ~ QP + EST + AP + WAGE + LQ", label)
        summary["year"] = use
        summaries.append(summary)
        coefs.append(table.replace({"term": {"Intercept": "Const", "QP": QP_LABEL}}))
        data.append(frame.assign(dependent=label))
    return (
        pd.DataFrame(summaries),
        pd.concat(coefs, ignore_index=True),
        pd.concat(data, ignore_index=True),
    )


def equation2(inputs: Cho2024Inputs, year: int, outcome: str = "gdp") -> pd.DataFrame:
    """Equation 2 as printed: y = b0 + b1 X + b2 Z + b3 XZ + b4 X^2 + b5 X^2 Z (global quadratic).

    X = the row's LQ percentile within its cluster minus 75 (the strong-cluster cut-off), Z =
    the strong flag, y = the state's outcome growth from ``year - 1`` to ``year``; b2 is the
    "discontinuity". Classical OLS SEs as in the paper (they ignore that y is a state value).
    """
    growth = state_growth(inputs.outcomes)
    g = growth[growth["year"] == year][["region_id", outcome]].rename(columns={outcome: "y"})
    frame = inputs.rows[inputs.rows["traded"]].merge(g, on="region_id")
    frame["X"] = frame["lq_percentile"] - 75.0
    frame["Z"] = frame["treat_strong"].astype(int)
    fit = smf.ols("y ~ X + Z + X:Z + I(X**2) + I(X**2):Z", data=frame).fit()
    return pd.DataFrame(
        {
            "term": ["b0 const", "b1 X", "b2 Z (jump)", "b3 X*Z", "b4 X^2", "b5 X^2*Z"],
            "coef": fit.params.to_numpy(),
            "std_err": fit.bse.to_numpy(),
            "p": fit.pvalues.to_numpy(),
        }
    ).assign(outcome=outcome, year=year, n=int(fit.nobs))


def genuine_rd(inputs: Cho2024Inputs, year: int, outcome: str = "gdp") -> pd.DataFrame:
    """Local-polynomial RD at the strong-cluster cut-off (LQ percentile 75), fuzzy in the flag.

    Uses :func:`clusteratlas.causal.rd.rdrobust` with standard errors clustered by state
    (the outcome is a state value shared by the state's clusters).
    """
    from clusteratlas.causal.rd import rdrobust

    growth = state_growth(inputs.outcomes)
    g = growth[growth["year"] == year][["region_id", outcome]].rename(columns={outcome: "y"})
    frame = inputs.rows[inputs.rows["traded"]].merge(g, on="region_id").dropna(subset=["y"])
    state_code = frame["region_id"].astype(int).to_numpy()
    rows = []
    for design, fuzzy in (
        ("sharp (intention: LQ percentile >= 75)", None),
        ("fuzzy (strong flag)", frame["treat_strong"].astype(float).to_numpy()),
    ):
        y, x = frame["y"].to_numpy(), frame["lq_percentile"].to_numpy() - 75.0
        try:
            tidy = rdrobust(y, x, c=0.0, fuzzy=fuzzy, cluster=state_code, vce="cr1").tidy()
            engine = "clusteratlas.causal.rd"
        except EstimationError as error:
            # Say why this design has no estimate instead of dropping the row.
            tidy = pd.DataFrame({"method": ["not estimable"]})
            engine = f"clusteratlas.causal.rd: {error}"
        tidy.insert(0, "rd_design", design)
        tidy["engine"] = engine
        rows.append(tidy)
    return pd.concat(rows, ignore_index=True).assign(outcome=outcome, year=year)


def descriptive(inputs: Cho2024Inputs) -> pd.DataFrame:
    """Table 2: count, mean, median, st. dev., range, min, max of the factors and outcomes.

    Factors over the 2016 state x cluster rows; outcomes over the state x year panel
    2015-2022 (the years the paper collects).
    """
    rows = inputs.rows
    columns: dict[str, pd.Series] = {
        (QP_LABEL if label == "QP" else label): rows[col] for label, (col, _) in FACTORS.items()
    }
    columns["Employment (cluster)"] = rows["emp"]
    out = inputs.outcomes[inputs.outcomes["year"].between(2015, 2022)]
    for label, name in (
        ("GDP", "gdp"),
        ("GDP_Manu", "mfg_gdp"),
        ("Export ($ million)", "exports"),
        ("Import ($ million)", "imports"),
        ("Employment (state, CBP, thousands)", "employment"),
    ):
        values = out[out["outcome"] == name]["value"]
        if values.empty and name in ("exports", "imports"):
            continue  # the column appears only when the data exist (fetched or given)
        scale = {"employment": 1000.0, "exports": 1e6, "imports": 1e6}.get(name, 1.0)
        columns[label] = values / scale
    stats = {}
    for label, series in columns.items():
        s = series.dropna().astype(float)
        stats[label] = [len(s), s.mean(), s.median(), s.std(), s.max() - s.min(), s.min(), s.max()]
    table = pd.DataFrame(stats, index=["Count", "Mean", "Median", "STDEV", "Range", "Min.", "Max."])
    table = table.reset_index(names="statistic")
    counts = {
        "Count_industry (clusters)": rows["cluster_code"].nunique(),
        "Count_state": rows["region_id"].nunique(),
        "Count_traded (rows)": int(rows["traded"].sum()),
        "Count_local (rows)": int((~rows["traded"]).sum()),
        "Count_strong (rows)": int(rows["treat_strong"].sum()),
    }
    table.attrs["counts"] = counts
    return table


# ---------------------------------------------------------------------------------------------
# the same questions, done properly
# ---------------------------------------------------------------------------------------------
def _state_panel(inputs: Cho2024Inputs, outcome: str) -> pd.DataFrame:
    frame = inputs.outcomes[inputs.outcomes["outcome"] == outcome][["region_id", "year", "value"]]
    frame = frame.merge(
        inputs.states[["region_id", "cluster_region", "cluster_strength"]], on="region_id"
    )
    frame["y"] = np.log(frame["value"])
    frame["treated"] = frame["cluster_region"].astype(int)
    return frame.sort_values(["region_id", "year"]).reset_index(drop=True)


def _did_module():
    """The did engineer's estimators, or None when the module is absent."""
    try:
        from clusteratlas.causal import did
    except ImportError:
        return None
    needed = ("did_2x2", "event_study", "wild_cluster_bootstrap")
    return did if all(hasattr(did, name) for name in needed) else None


def _wild_p_reference(
    formula: str, frame: pd.DataFrame, param: str, seed: int, reps: int
) -> float | None:
    """Fallback wild cluster bootstrap p-value with the ``wildboottest`` package (WCR11)."""
    try:
        from wildboottest.wildboottest import wildboottest
    except ImportError:
        return None
    model = smf.ols(formula, data=frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = wildboottest(
            model,
            B=reps,
            cluster=frame["region_id"].astype(int).to_numpy(),
            param=param,
            seed=seed,
            show=False,
            parallel=False,
        )
    return float(table["p-value"].iloc[0])


def proper_did(
    inputs: Cho2024Inputs,
    outcome: str,
    pre: int,
    post: int,
    *,
    bootstrap: bool = True,
    seed: int = 20240521,
    reps: int = 9999,
) -> dict:
    """2x2 DID with the state as unit: log y_st = a_s + l_t + delta D_s Post_t, SEs clustered by state.

    Estimated with :func:`clusteratlas.causal.did.did_2x2` (state fixed effects, CRV1 by state,
    fixest small-sample convention) and its restricted wild cluster bootstrap; when that module
    is absent, with statsmodels OLS on state and year dummies (CR1 counting every dummy) and
    the ``wildboottest`` package. The ``engine`` entry says which.
    """
    panel = _state_panel(inputs, outcome)
    frame = panel[panel["year"].isin([pre, post])].copy()
    complete = frame.groupby("region_id")["year"].transform("nunique") == 2
    frame = frame[complete]
    if frame.empty:
        raise InputError(f"no states with {outcome} in both {pre} and {post}")
    did = _did_module()
    row = {
        "outcome": outcome,
        "years": f"{pre} vs {post}",
        "n_states": frame["region_id"].nunique(),
        "n_treated": int(frame.groupby("region_id")["treated"].first().sum()),
    }
    if did is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = did.did_2x2(
                frame, "y", "treated", "year", pre=pre, post=post, unit="region_id",
                cluster="region_id", vcov="CRV1", unit_fe=True,
            )  # fmt: skip
            wild = (
                did.wild_cluster_bootstrap(result, reps=reps, seed=seed, ci=False).pvalue
                if bootstrap
                else None
            )
        low, high = result.ci
        return {
            **row,
            "estimate": result.estimate,
            "std_err": result.se,
            "ci_low": low,
            "ci_high": high,
            "p_cluster": result.pvalue,
            "p_wild_bootstrap": wild,
            "engine": "clusteratlas.causal.did (" + result.se_type + ")",
        }
    frame["treat_post"] = frame["treated"] * (frame["year"] == post)
    formula = "y ~ treat_post + C(region_id) + C(year)"
    fit = smf.ols(formula, data=frame).fit(
        cov_type="cluster", cov_kwds={"groups": frame["region_id"].astype(int)}
    )
    ci = fit.conf_int().loc["treat_post"]
    return {
        **row,
        "estimate": fit.params["treat_post"],
        "std_err": fit.bse["treat_post"],
        "ci_low": ci.iloc[0],
        "ci_high": ci.iloc[1],
        "p_cluster": fit.pvalues["treat_post"],
        "p_wild_bootstrap": _wild_p_reference(formula, frame, "treat_post", seed, reps)
        if bootstrap
        else None,
        "engine": "statsmodels OLS + wildboottest (CR1, all dummies counted)",
    }


def event_study(
    inputs: Cho2024Inputs,
    outcome: str,
    *,
    reference: int = 2019,
    first: int = 2015,
    last: int = 2022,
) -> tuple[pd.DataFrame, dict]:
    """Event study: log y_st = a_s + l_t + sum_{k != ref} delta_k D_s 1[t = k], SEs by state.

    Every state faces the shock in ``reference + 1`` (2020); the treated are the 2016 cluster
    regions. Returns the coefficient table (one row per year) and the joint F test that all
    pre-reference deltas are 0. Uses :func:`clusteratlas.causal.did.event_study` when present.
    """
    panel = _state_panel(inputs, outcome)
    panel = panel[panel["year"].between(first, last)].copy()
    years = sorted(int(y) for y in panel["year"].unique())
    if reference not in years:
        raise ParameterError("reference", f"{reference} not in the {outcome} years {years}")
    did = _did_module()
    if did is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = did.event_study(
                panel, "y", "region_id", "year", treat="treated", shock_year=reference + 1,
                reference=-1, cluster="unit",
            )  # fmt: skip
        coefs = result.coefs
        table = pd.DataFrame(
            {
                "outcome": outcome,
                "year": (coefs["event_time"] + reference + 1).astype(int).to_numpy(),
                "estimate": coefs["estimate"].to_numpy(),
                "std_err": coefs["std_error"].to_numpy(),
                "ci_low": coefs["conf_low"].to_numpy(),
                "ci_high": coefs["conf_high"].to_numpy(),
                "p": coefs["p_value"].to_numpy(),
            }
        )
        pre_years = [y for y in table["year"] if y < reference]
        test = {
            "outcome": outcome,
            "pre_years": ", ".join(map(str, pre_years)),
            "f_stat": result.info.get("pretrend_F", np.nan),
            "p": result.info.get("pretrend_p", np.nan),
            "df": result.info.get("pretrend_df", ""),
            "engine": "clusteratlas.causal.did (" + result.se_type + ")",
        }
        return table, test
    terms = []
    for year in years:
        if year == reference:
            continue
        name = f"d_{year}"
        panel[name] = panel["treated"] * (panel["year"] == year)
        terms.append(name)
    formula = "y ~ " + " + ".join(terms) + " + C(region_id) + C(year)"
    fit = smf.ols(formula, data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": panel["region_id"].astype(int)}
    )
    ci = fit.conf_int()
    table = pd.DataFrame(
        {
            "outcome": outcome,
            "year": [int(t[2:]) for t in terms],
            "estimate": [fit.params[t] for t in terms],
            "std_err": [fit.bse[t] for t in terms],
            "ci_low": [ci.loc[t, 0] for t in terms],
            "ci_high": [ci.loc[t, 1] for t in terms],
            "p": [fit.pvalues[t] for t in terms],
        }
    )
    pre_terms = [t for t in terms if int(t[2:]) < reference]
    test = {
        "outcome": outcome,
        "pre_years": ", ".join(t[2:] for t in pre_terms),
        "f_stat": np.nan,
        "p": np.nan,
        "df": "",
        "engine": "statsmodels OLS (CR1, all dummies counted)",
    }
    if pre_terms:
        wald = fit.wald_test(", ".join(f"{t} = 0" for t in pre_terms), use_f=True, scalar=True)
        test.update(
            {
                "f_stat": float(wald.statistic),
                "p": float(wald.pvalue),
                "df": f"({len(pre_terms)}, {float(wald.df_denom):.0f})",
            }
        )
    return table, test


# ---------------------------------------------------------------------------------------------
# the whole study
# ---------------------------------------------------------------------------------------------
@dataclass
class Cho2024Result:
    """All tables of the replication (``tables``: name -> frame) and the generated text."""

    tables: dict[str, pd.DataFrame]
    notes: list[str]
    text: str = ""

    def summary(self) -> str:
        return self.text

    def tidy(self) -> pd.DataFrame:
        """The headline estimates side by side (paper design vs state-level design)."""
        return self.tables["comparison"].copy()


def run(
    data: str | Path | None = None,
    *,
    treatment: str = "strong",
    bootstrap: bool = True,
    fetch: bool = False,
    fetcher: Fetcher | None = None,
    api_root: str | None = None,
    trade_files: Sequence[str | Path] = (),
) -> Cho2024Result:
    """Run the whole study and return every table.

    Offline by default. ``fetch=True`` first asks the Census APIs for what the offline data
    lack (state exports/imports 2017-2022, CBP 2022; cached, and cache-only under
    ``CLUSTERATLAS_OFFLINE=1``): Tables 2-6 then gain the Export/Import columns and Model 2
    employment compares 2020 with 2022. A failed fetch leaves the offline run and says why in
    the notes. ``trade_files``: USA Trade Online state exports/imports downloads.
    """
    inputs = load_inputs(
        data, fetch=fetch, fetcher=fetcher, api_root=api_root, trade_files=trade_files
    )
    tables: dict[str, pd.DataFrame] = {}
    table2 = descriptive(inputs)
    tables["table2_descriptive"] = table2
    tables["table2_counts"] = pd.DataFrame(
        list(table2.attrs["counts"].items()), columns=["count", "value"]
    )
    for number, model in (("3", "shock"), ("5", "recovery")):
        summary, coefs, _ = paper_did(inputs, model, treatment=treatment)
        tables[f"table{number}_did_model"] = summary
        tables[f"table{number}_did_coefficients"] = coefs
    for number, year in (("4", 2020), ("6", 2022)):
        summary, coefs, _ = paper_rdd(inputs, year)
        tables[f"table{number}_rdd_model"] = summary
        tables[f"table{number}_rdd_coefficients"] = coefs
    tables["equation2_global_quadratic"] = pd.concat(
        [equation2(inputs, 2020), equation2(inputs, 2022)], ignore_index=True
    )
    notes = list(inputs.notes)
    try:
        tables["genuine_rd"] = pd.concat(
            [genuine_rd(inputs, 2020), genuine_rd(inputs, 2022)], ignore_index=True
        )
    except Exception as error:  # the RD can fail (e.g. too few units near the cut-off): say so
        notes.append(f"genuine RD not estimated: {error}")

    did_rows, es_tables, pre_tests = [], [], []
    present = set(inputs.outcomes["outcome"])
    proper_outcomes = [
        o for o in ("gdp", "mfg_gdp", "exports", "imports", "employment") if o in present
    ]
    for outcome in proper_outcomes:
        for model, (_, pre, post) in MODELS.items():
            years = sorted(inputs.outcomes[inputs.outcomes["outcome"] == outcome]["year"].unique())
            use = _outcome_years(outcome, pre, post, years)
            if use is None:
                continue
            try:
                estimate = proper_did(inputs, outcome, *use, bootstrap=bootstrap)
            except (EstimationError, InputError) as error:
                # fetched data can be thin (a partial API answer): say so, keep the rest
                notes.append(
                    f"state-level DID for {outcome} {use[0]} vs {use[1]} not estimated: {error}"
                )
                continue
            did_rows.append({"model": model, **estimate})
        table, test = event_study(inputs, outcome)
        es_tables.append(table)
        pre_tests.append(test)
    tables["proper_did"] = pd.DataFrame(did_rows)
    tables["proper_event_study"] = pd.concat(es_tables, ignore_index=True)
    tables["proper_pretrend_tests"] = pd.DataFrame(pre_tests)
    tables["comparison"] = _comparison(tables)
    text = _narrative(tables, notes, inputs)
    return Cho2024Result(tables=tables, notes=notes, text=text)


def _comparison(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for number, model in (("3", "shock"), ("5", "recovery")):
        coefs = tables[f"table{number}_did_coefficients"]
        models = tables[f"table{number}_did_model"].set_index("dependent")
        proper = tables["proper_did"]
        for _, row in coefs[coefs["term"] == "Interaction"].iterrows():
            label = row["dependent"]
            printed = PAPER_PRINTED.get((f"table{number}", label), {})
            p_row = proper[
                (proper["model"] == model) & (proper["outcome"] == PAPER_OUTCOMES[label])
            ]
            rows.append(
                {
                    "table": f"Table {number}",
                    "model": model,
                    "dependent": label,
                    "years": models.loc[label, "years"],
                    "paper_printed_interaction": printed.get("interaction"),
                    "paper_printed_se": printed.get("se"),
                    "replication_interaction": row["coef"],
                    "replication_se_iid": row["std_err"],
                    "replication_se_cluster_state": row["std_err_cluster_state"],
                    "replication_n_rows": int(models.loc[label, "n"]),
                    "state_level_did_log": p_row["estimate"].iloc[0] if len(p_row) else np.nan,
                    "state_level_se_cluster": p_row["std_err"].iloc[0] if len(p_row) else np.nan,
                    "state_level_p_wild": p_row["p_wild_bootstrap"].iloc[0]
                    if len(p_row)
                    else np.nan,
                }
            )
    return pd.DataFrame(rows)


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def _extra_sources(inputs: Cho2024Inputs) -> str:
    """The sources beyond the offline data, for the report's data line ("" when none)."""
    extra = inputs.outcomes[inputs.outcomes["source"].str.contains("API|Trade Online", na=False)]
    if extra.empty:
        return ""
    parts = []
    for outcome, group in extra.groupby("outcome"):
        first, last = int(group["year"].min()), int(group["year"].max())
        years = str(first) if first == last else f"{first}-{last}"
        parts.append(f"{outcome} {years} ({', '.join(sorted(group['source'].unique()))})")
    return "; fetched or given: " + "; ".join(parts)


def _narrative(tables: dict[str, pd.DataFrame], notes: list[str], inputs: Cho2024Inputs) -> str:
    comp = tables["comparison"]
    pre = tables["proper_pretrend_tests"]
    did_coefs = pd.concat([tables["table3_did_coefficients"], tables["table5_did_coefficients"]])
    ratio = did_coefs["std_err_cluster_state"] / did_coefs["std_err"]
    ratios = {
        term: (
            float(ratio[did_coefs["term"] == term].min()),
            float(ratio[did_coefs["term"] == term].max()),
        )
        for term in ("Period", "Interaction")
    }
    n_rows = len(inputs.rows)
    n_states = inputs.rows["region_id"].nunique()
    lines = [
        "# Cho et al. (2024) replicated, and the same questions done properly",
        "",
        f"Data: USCM 2016 state x cluster inputs ({n_rows:,} rows, {n_states} states), BEA SAGDP2N "
        "(GDP, manufacturing GDP), CBP state totals (employment), LAUS (2015-2018)"
        + _extra_sources(inputs)
        + ".",
        "",
        "## Where the two designs differ, and why",
        "",
        f"* **Unit of observation.** The paper's regressions use state x cluster rows, but every outcome is "
        f"a state value: each state's growth is repeated on its {n_rows // max(n_states, 1)} cluster rows. "
        f"Classical standard errors treat {n_rows:,} rows (x 2 years) as independent when there are "
        f"{n_states} states. Clustering the same regressions by state multiplies the standard errors by "
        f"{_fmt(ratios['Period'][0], 1)}-{_fmt(ratios['Period'][1], 1)} for Period and "
        f"{_fmt(ratios['Interaction'][0], 1)}-{_fmt(ratios['Interaction'][1], 1)} for the Interaction "
        "(tables table3/5_did_coefficients, column std_err_cluster_state). With the state as the unit "
        "the uncertainty is honest.",
        "* **Treatment.** Row-level 'cluster' (strong-cluster flag) varies inside a state, while the outcome "
        "does not: the paper's interaction compares states weighted by how many strong clusters they have. "
        "Here the treatment is a state property measured before the shock (2016 USCM cluster strength above "
        "the median).",
        "* **'RDD'.** Tables 4 and 6 are cross-sectional OLS of outcome levels on cluster size measures; large "
        "states have large clusters and large GDP, so EST, AP and WAGE 'explain' GDP levels without any "
        "resilience content. There is no cut-off in them. A genuine RD at the strong-cluster cut-off is "
        "reported in genuine_rd.",
        f"* **QP.** {QP_WARNING}.",
        "",
        "## Headline numbers",
        "",
        "Interaction coefficient (standard error). Paper design = growth rate on state x cluster "
        "rows; the same rows with SEs clustered by state; the state-level design = log outcome, "
        "state and year fixed effects, treatment = 2016 cluster region.",
        "",
        "| table | dependent | years | paper (printed) | replication (rows, iid SE) | same, SE clustered by state | state-level DID (log, cluster SE) | wild bootstrap p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in comp.iterrows():
        lines.append(
            f"| {r['table']} | {r['dependent']} | {r['years']} | {_fmt(r['paper_printed_interaction'])} "
            f"({_fmt(r['paper_printed_se'])}) | {_fmt(r['replication_interaction'])} ({_fmt(r['replication_se_iid'])}) "
            f"| ({_fmt(r['replication_se_cluster_state'])}) "
            f"| {_fmt(r['state_level_did_log'])} ({_fmt(r['state_level_se_cluster'])}) | {_fmt(r['state_level_p_wild'])} |"
        )
    lines += ["", "## Pre-trends (event study 2015-2022, reference 2019)", ""]
    for _, r in pre.iterrows():
        if r["p"] < 0.05:
            verdict = "pre-trends differ: the DID is not credible as is"
        elif r["p"] < 0.10:
            verdict = "weak evidence of differential pre-trends: read the DID with care"
        else:
            verdict = "no evidence of differential pre-trends"
        lines.append(
            f"* {r['outcome']}: joint F = {_fmt(r['f_stat'], 2)}, p = {_fmt(r['p'])} ({verdict})"
        )
    lines += ["", "## Limits of this run", ""] + [f"* {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write(result: Cho2024Result, out: str | Path) -> list[Path]:
    """Export every table (CSV, LaTeX, HTML) and the narrative (markdown, HTML) into ``out``."""
    from clusteratlas.tables import export

    out = Path(out)
    written: list[Path] = []
    for name, frame in result.tables.items():
        written += export(frame, out / name, caption=name.replace("_", " "))
    written.append(atomic.write_text(out / "cho2024_report.md", result.text))
    html = _markdown_to_html(result.text)
    written.append(atomic.write_text(out / "cho2024_report.html", html))
    return written


def _markdown_to_html(text: str) -> str:
    """Just enough markdown (headings, bullets, tables, bold) for the generated report."""
    import html as html_mod
    import re

    out, in_list, in_table = (
        [
            "<html><head><meta charset='utf-8'><title>Cho et al. 2024 replication</title></head><body>"
        ],
        False,
        False,
    )
    for raw in text.splitlines():
        line = html_mod.escape(raw)
        line = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", line)
        if raw.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= {"-"}:
                continue
            if not in_table:
                out.append("<table border='1'>")
                in_table = True
                out.append("<tr>" + "".join(f"<th>{c}</th>" for c in cells) + "</tr>")
            else:
                out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if raw.startswith("* "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{line[2:]}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if raw.startswith("## "):
            out.append(f"<h2>{line[3:]}</h2>")
        elif raw.startswith("# "):
            out.append(f"<h1>{line[2:]}</h1>")
        elif raw.strip():
            out.append(f"<p>{line}</p>")
    if in_list:
        out.append("</ul>")
    if in_table:
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


__all__ = [
    "Cho2024Inputs",
    "Cho2024Result",
    "descriptive",
    "equation2",
    "event_study",
    "genuine_rd",
    "load_inputs",
    "paper_did",
    "paper_rdd",
    "proper_did",
    "run",
    "state_growth",
    "write",
]
