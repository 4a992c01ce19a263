"""The paper's own tables, as Cho et al. (2024) specify them (Tables 2-6 and Equation 2).

Owns the paper's designs on the state x cluster rows: the DID of Equation 1 on annual growth
rates (:func:`paper_did`, Tables 3 and 5), the cross-sectional OLS printed as "RDD"
(:func:`paper_rdd`, Tables 4 and 6), Equation 2 as printed (:func:`equation2`), the
descriptive Table 2 (:func:`descriptive`) and the printed numbers they are compared with
(:data:`PAPER_PRINTED`). Classical OLS standard errors as printed, with state-clustered ones
beside them (statsmodels).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from clusteratlas.errors import ParameterError
from clusteratlas.studies.cho2024.inputs import FACTORS, QP_LABEL, Cho2024Inputs

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


def outcome_years(
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
        years = outcome_years(name, pre, post, growth.dropna(subset=[name])["year"].unique())
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
