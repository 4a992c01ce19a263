r"""The paper's own tables, as Cho et al. (2024) built them (Tables 2-6 and Equation 2).

Owns the paper's designs: the DID of Equation 1 as printed (:func:`paper_did`, Tables 3 and 5),
the cross-sectional OLS printed as "RDD" (:func:`paper_rdd`, Tables 4 and 6), Equation 2 as
printed (:func:`equation2`), the descriptive Table 2 (:func:`descriptive`), the printed numbers
(:data:`PRINTED_DID`, :data:`PAPER_PRINTED`), the comparison of Tables 3 and 5 with them
(:func:`as_printed_vs_paper`) and the paper's internal errors (:func:`paper_errata`).

How the printed DID was built (recovered from its own numbers, issue #18). A 2x2 OLS with
dummies returns the four group x period cell means,

.. math::

    y_{it} = \beta_0 + \beta_1 \mathrm{Period}_t + \beta_2 \mathrm{Treatment}_i
             + \beta_3 \mathrm{Period}_t \mathrm{Treatment}_i + \varepsilon_{it},
    \qquad \beta_0 = \bar y_{C,0},\ \beta_1 = \bar y_{C,1} - \bar y_{C,0},\
    \beta_2 = \bar y_{T,0} - \bar y_{C,0},\ \beta_3 = \Delta \bar y_T - \Delta \bar y_C,

and the printed control means are exactly Idaho's BEA SAGDP2N annual growth rates
:math:`Y_t / Y_{t-1} - 1` (GDP 0.070 / 0.037 / 0.138 = Idaho 2019 / 2020 / 2022). So: the outcome
is the state's annual growth, the paper's period "2018" is the 2018 -> 2019 growth
(:data:`GROWTH_YEAR`), the "non-cluster" group is Idaho alone (:data:`CONTROL_STATE`) and the
"cluster" group is every other state; the rows are state x subcluster (Table 2: 316
subclusters, traded share 0.680 = the subclusters' 216/316; R\ :sup:`2` and F imply about 20,000
rows per DID = 32 states x 316 subclusters x 2 periods), every state with the same 316 rows, so
states are equally weighted. Classical OLS standard errors as printed, with state-clustered
ones beside them (statsmodels).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from clusteratlas.errors import InputError, ParameterError
from clusteratlas.studies.cho2024.inputs import FACTORS, QP_LABEL, Cho2024Inputs

#: Outcomes of the paper and what this replication can use offline.
PAPER_OUTCOMES = {
    "GDP": "gdp",
    "GDP_manu": "mfg_gdp",
    "Export": "exports",
    "Import": "imports",
    "Employment": "employment",
}

#: The state FIPS code that is the paper's whole "non-cluster" group: Idaho.
CONTROL_STATE = "16"

#: The paper's period label -> the year of the annual growth Y_t / Y_{t-1} - 1 it is.
GROWTH_YEAR = {2018: 2019, 2020: 2020, 2022: 2022}

DID_TERMS = ("Intercept", "Period", "Treatment", "Interaction")

#: Tables 3 and 5 as printed: (table, dependent) -> {"model": (R2, adj R2, F), term: (coef,
#: std err, t)}.
PRINTED_DID: dict[tuple[str, str], dict[str, tuple[float, float, float]]] = {
    ("table3", "GDP"): {
        "model": (0.560, 0.560, 8500),
        "Intercept": (0.070, 0.002, 40.170),
        "Period": (-0.033, 0.002, -13.410),
        "Treatment": (-0.034, 0.002, -19.139),
        "Interaction": (-0.022, 0.003, -8.868),
    },
    ("table3", "GDP_manu"): {
        "model": (0.275, 0.275, 2530),
        "Intercept": (0.046, 0.005, 9.748),
        "Period": (-0.038, 0.007, -5.686),
        "Treatment": (-0.020, 0.005, -4.053),
        "Interaction": (-0.045, 0.007, -6.663),
    },
    ("table3", "Export"): {
        "model": (0.190, 0.190, 156),
        "Intercept": (-0.147, 0.007, -20.380),
        "Period": (0.139, 0.010, 13.610),
        "Treatment": (0.137, 0.007, 18.827),
        "Interaction": (-0.237, 0.010, -23.053),
    },
    ("table3", "Import"): {
        "model": (0.179, 0.178, 1449),
        "Intercept": (-0.255, 0.009, -29.089),
        "Period": (0.327, 0.012, 26.407),
        "Treatment": (0.288, 0.009, 32.593),
        "Interaction": (-0.433, 0.013, -34.606),
    },
    ("table3", "Employment"): {
        "model": (0.667, 0.655, 53.70),
        "Intercept": (0.029, 0.001, 27.438),
        "Period": (-0.036, 0.002, -24.074),
        "Treatment": (-0.018, 0.001, -16.830),
        "Interaction": (-0.036, 0.002, -23.486),
    },
    ("table5", "GDP"): {
        "model": (0.843, 0.843, 35780),
        "Intercept": (0.037, 0.002, 21.098),
        "Period": (0.101, 0.002, 40.351),
        "Treatment": (-0.056, 0.002, -31.520),
        "Interaction": (0.016, 0.003, 6.179),
    },
    ("table5", "GDP_manu"): {
        "model": (0.704, 0.704, 15850),
        "Intercept": (0.008, 0.004, 1.922),
        "Period": (0.131, 0.006, 21.890),
        "Treatment": (-0.065, 0.004, -15.181),
        "Interaction": (0.056, 0.006, 9.272),
    },
    ("table5", "Export"): {
        "model": (0.970, 0.97, 216700),
        "Intercept": (-0.008, 0.005, -1.647),
        "Period": (-0.907, 0.007, -129.49),
        "Treatment": (-0.100, 0.005, -20.020),
        "Interaction": (0.102, 0.007, 14.519),
    },
    ("table5", "Import"): {
        "model": (0.972, 0.972, 233300),
        "Intercept": (0.072, 0.070, 1.027),
        "Period": (11.817, 0.100, 118.723),
        "Treatment": (-0.145, 0.071, -2.034),
        "Interaction": (0.078, 0.101, 0.775),
    },
    ("table5", "Employment"): {
        "model": (0.892, 0.892, 54850),
        "Intercept": (-0.007, 0.001, -5.914),
        "Period": (0.045, 0.002, 26.631),
        "Treatment": (-0.054, 0.001, -44.791),
        "Interaction": (0.053, 0.002, 31.272),
    },
}

#: Rows of Tables 4 and 6 the internal-error checks use: (table, dependent, term) ->
#: (coef, std err, t) as printed.
PRINTED_RDD_ROWS: dict[tuple[str, str, str], tuple[float, float, float]] = {
    ("table4", "GDP", "LQ"): (-14390, 1771.416, -8.124),
    ("table4", "GDP_Manu", "LQ"): (-15700, 1943.579, -8.078),
    ("table6", "GDP", "LQ"): (-15700, 1943.579, -8.078),
    ("table6", "GDP_Manu", "LQ"): (-1277.8, 211.347, -6.046),
    ("table4", "Employment", "QP"): (-0.006, 0.0, -2.481),
    ("table4", "Employment", "AP"): (0.003, 0.069, 5.045),
}

#: The paper's printed numbers used in the comparison table (interactions of Tables 3 and 5,
#: headline coefficients of Tables 4 and 6).
PAPER_PRINTED = {
    **{
        key: {
            "interaction": printed["Interaction"][0],
            "se": printed["Interaction"][1],
            "r2": printed["model"][0],
        }
        for key, printed in PRINTED_DID.items()
    },
    ("table4", "GDP"): {"LQ": -14390, "EST": 36.261, "WAGE": 3.673, "r2": 0.127},
    ("table4", "GDP_manu"): {"LQ": -15700, "EST": 3.025, "WAGE": 0.354, "r2": 0.104},
    ("table4", "Employment"): {"LQ": -88, "EST": 0.204, "WAGE": 0.0219, "r2": 0.130},
    ("table6", "GDP"): {"LQ": -15700, "EST": 39.610, "WAGE": 3.991, "r2": 0.125},
    ("table6", "GDP_manu"): {"LQ": -1277.8, "EST": 3.291, "WAGE": 0.383, "r2": 0.102},
    ("table6", "Employment"): {"LQ": -88.542, "EST": 0.205, "WAGE": 0.022, "r2": 0.130},
}

#: Paper model -> (label, pre period, post period) as the paper labels them (see GROWTH_YEAR).
MODELS = {"shock": ("Model 1 (shock)", 2018, 2020), "recovery": ("Model 2 (recovery)", 2020, 2022)}


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
        cov_type="cluster", cov_kwds={"groups": pd.factorize(used["region_id"].astype(str))[0]}
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


def outcome_years(
    name: str, pre: int, post: int, available: Sequence[int]
) -> tuple[int, int] | None:
    """The (pre, post) years of ``name`` the data have: CBP employment stops in 2021 offline,
    so its 2022 falls back to 2021 (said in the tables' ``years`` column); None when absent."""
    if post not in available and name == "employment" and post - 1 in available:
        post = post - 1  # CBP stops in 2021 here
    if pre not in available or post not in available:
        return None
    return pre, post


def _period_label(growth_year: int) -> str:
    """The paper's label of a growth year (2019 -> "2018"); other years as themselves."""
    labels = {g: str(p) for p, g in GROWTH_YEAR.items()}
    return labels.get(growth_year, str(growth_year))


def as_printed_rows(inputs: Cho2024Inputs, control: str = CONTROL_STATE) -> pd.DataFrame:
    """The paper's DID rows: every state of ``inputs.rows`` x every USCM subcluster.

    Each state carries all subclusters (the paper's Table 2 counts 316 for its states), so every
    state has the same number of rows and the cell means weight states equally. Treatment = 1
    for every state but ``control`` (Idaho: the paper's "non-cluster" group).
    """
    if inputs.subclusters is None or inputs.subclusters.empty:
        raise InputError(
            "the as-printed DID needs the USCM subclusters",
            hint="load the USCM cluster definitions (the data catalog's definitions_2012)",
        )
    states = pd.DataFrame({"region_id": sorted(inputs.rows["region_id"].astype(str).unique())})
    if control not in set(states["region_id"]):
        raise ParameterError(
            "control",
            f"the control state {control!r} is not among the {len(states)} states of the rows",
            allowed="a state FIPS code of the rows (the paper's: 16, Idaho)",
        )
    subs = inputs.subclusters[["cluster_code", "subcluster_code"]]
    rows = states.merge(subs, how="cross")
    rows["treatment"] = (rows["region_id"] != control).astype(int)
    return rows


def paper_did(
    inputs: Cho2024Inputs, model: str, *, control: str = CONTROL_STATE
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Table 3 (model="shock") or Table 5 (model="recovery") as the paper built them.

    y = the state's annual growth Y_t / Y_{t-1} - 1 in the growth year of each period
    (:data:`GROWTH_YEAR`: the paper's "2018" is 2018 -> 2019), attached to each state x
    subcluster row (:func:`as_printed_rows`); Period = the later period; Treatment = every
    state but ``control`` (Idaho); classical OLS standard errors as printed, state-clustered
    (CRV1) beside them. Returns (model summary, coefficients, analysis data).
    """
    if model not in MODELS:
        raise ParameterError("model", f"unknown model {model!r}", allowed=", ".join(MODELS))
    _, pre, post = MODELS[model]
    growth = state_growth(inputs.outcomes)
    growth["region_id"] = growth["region_id"].astype(str)
    base = as_printed_rows(inputs, control)
    summaries, coefs, data = [], [], []
    for label, name in PAPER_OUTCOMES.items():
        if name not in growth.columns:
            continue
        have = growth.dropna(subset=[name])
        years = outcome_years(name, GROWTH_YEAR[pre], GROWTH_YEAR[post], have["year"].unique())
        if years is None or not set(years) <= set(have.loc[have["region_id"] == control, "year"]):
            continue
        g = growth[growth["year"].isin(years)][["region_id", "year", name]].rename(
            columns={name: "y"}
        )
        frame = base.merge(g, on="region_id")
        frame["period"] = (frame["year"] == years[1]).astype(int)
        summary, table = _ols_rows(frame, "y ~ period * treatment", label)
        summary["years"] = f"{_period_label(years[0])} vs {_period_label(years[1])}"
        summary["growth"] = f"{years[0] - 1}->{years[0]} vs {years[1] - 1}->{years[1]}"
        summary["n_states"] = int(frame["region_id"].nunique())
        summary["control"] = control
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
    if not summaries:
        raise InputError(
            f"no outcome has the growth years of {MODELS[model][0]} for the control state {control}"
        )
    return (
        pd.DataFrame(summaries),
        pd.concat(coefs, ignore_index=True),
        pd.concat(data, ignore_index=True),
    )


def as_printed_vs_paper(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Tables 3 and 5 beside the paper: every term's printed coef / SE / t and ours.

    ``matches_printed``: our coefficient rounds to the printed one (|ours - printed| <= half a
    unit of the third decimal). ``cell``: which cell mean(s) the term is - the intercept and
    period are Idaho's own growth, the treatment and interaction also need the treated mean.
    """
    rows = []
    cells = {
        "Intercept": "control mean, first period (Idaho)",
        "Period": "control change (Idaho)",
        "Treatment": "treated minus control, first period",
        "Interaction": "difference in differences",
    }
    for number in ("3", "5"):
        key = f"table{number}_did_coefficients"
        if key not in tables:
            continue
        ours = tables[key].set_index(["dependent", "term"])
        models = tables[f"table{number}_did_model"].set_index("dependent")
        for (table, dependent), printed in PRINTED_DID.items():
            if table != f"table{number}":
                continue
            for term in DID_TERMS:
                coef, se, t = printed[term]
                row = {
                    "table": f"Table {number}",
                    "dependent": dependent,
                    "term": term,
                    "cell": cells[term],
                    "paper_coef": coef,
                    "paper_se": se,
                    "paper_t": t,
                }
                if (dependent, term) in ours.index:
                    r = ours.loc[(dependent, term)]
                    row.update(
                        {
                            "years": models.loc[dependent, "years"],
                            "coef": r["coef"],
                            "se_iid": r["std_err"],
                            "t_iid": r["t"],
                            "se_cluster_state": r["std_err_cluster_state"],
                            "difference": r["coef"] - coef,
                            "matches_printed": bool(abs(r["coef"] - coef) <= 0.0005 + 1e-12),
                        }
                    )
                rows.append(row)
    return pd.DataFrame(rows)


def _implied_rows(r2: float, adj_r2: float, f_stat: float, k: int = 3) -> tuple[float, float]:
    """Rows implied by a printed R2, adjusted R2 and F of an OLS with ``k`` regressors:
    F = (R2 / k) / ((1 - R2) / (N - k - 1)) and 1 - adj = (1 - R2)(N - 1) / (N - k - 1)."""
    from_f = k + 1 + f_stat * k * (1 - r2) / r2
    ratio = (1 - adj_r2) / (1 - r2)
    from_adj = ((k + 1) * ratio - 1) / (ratio - 1) if ratio > 1 else float("inf")
    return from_f, from_adj


def paper_errata() -> pd.DataFrame:
    """The paper's internal errors, each checked from its own printed numbers.

    Rows: where, what is printed, the check (computed here from :data:`PRINTED_DID` /
    :data:`PRINTED_RDD_ROWS`) and what it means.
    """
    rdd = PRINTED_RDD_ROWS
    out = []
    dup = rdd[("table4", "GDP_Manu", "LQ")] == rdd[("table6", "GDP", "LQ")]
    out.append(
        {
            "where": "Table 4, GDP_Manu, LQ row",
            "printed": "-15,700 (1,943.579), t -8.078",
            "check": ("the same three numbers as" if dup else "differs from")
            + " Table 6's GDP LQ row; Table 6's GDP_Manu LQ is "
            f"{rdd[('table6', 'GDP_Manu', 'LQ')][0]:,} and Table 4's GDP LQ "
            f"{rdd[('table4', 'GDP', 'LQ')][0]:,}",
            "meaning": "a row copied from Table 6's GDP column (an order of magnitude off "
            "the other manufacturing LQ coefficient): manufacturing GDP's LQ coefficient in "
            "2020 is not printed",
        }
    )
    for term in ("QP", "AP"):
        # Table 4 only: Table 6's employment rows (SE 0.000) are consistent with rounding
        coef, se, t = rdd[("table4", "Employment", term)]
        implied = abs(coef / t)
        out.append(
            {
                "where": f"Table 4, Employment, {term} row",
                "printed": f"{coef} ({se}), t {t}",
                "check": f"SE implied by coef / t = {implied:.4f} (would print {implied:.3f}); "
                + (
                    "printed SE 0 gives no t at all"
                    if se == 0
                    else f"coef / printed SE = {coef / se:.3f}"
                ),
                "meaning": "the employment standard error does not go with its t-value",
            }
        )
    for number, label in (("5", "Export"), ("5", "Import")):
        printed = PRINTED_DID[(f"table{number}", label)]
        control = printed["Intercept"][0] + printed["Period"][0]
        treated = control + printed["Treatment"][0] + printed["Interaction"][0]
        out.append(
            {
                "where": f"Table {number}, {label}, Period",
                "printed": f"{printed['Period'][0]}",
                "check": f"implied 2022 growth: Idaho {control:+.3f}, the other states "
                f"{treated:+.3f} (1/12 - 1 = -0.917, 12/1 - 1 = +11)",
                "meaning": "not an annual change: one of the two years is a single month's "
                "figure (partial-year trade data; exports 2022 look like January only, imports "
                "2021 look like one month against a full 2022)",
            }
        )
    for label in ("Export", "Employment"):
        r2, adj, f_stat = PRINTED_DID[("table3", label)]["model"]
        from_f, from_adj = _implied_rows(r2, adj, f_stat)
        gdp = _implied_rows(*PRINTED_DID[("table3", "GDP")]["model"])[0]
        out.append(
            {
                "where": f"Table 3, {label}, model summary",
                "printed": f"R2 {r2}, adj. R2 {adj}, F {f_stat}",
                "check": f"rows implied by F: {from_f:,.0f}; by adj. R2: "
                + ("large" if not np.isfinite(from_adj) else f"{from_adj:,.0f}")
                + f" (GDP column: {gdp:,.0f})",
                "meaning": "inconsistent with the other columns' ~20,000 rows"
                + (
                    " (an F of about 1,560 was probably meant)"
                    if label == "Export"
                    else ": this column was fitted on about 85 rows, yet its t-values are 17-27"
                ),
            }
        )
    return pd.DataFrame(out)


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
