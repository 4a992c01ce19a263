"""Human labels and number formats shared by the report and the dashboard.

Owns how a column name reads to a person (:func:`label`: ``"boot_p_value"`` -> "Wild
bootstrap p") and how a value prints (:func:`fmt`): counts with thousands separators
("48,772"), money ("$53,115"), location quotients ("3.97"), shares ("12.3%"), signed percent
changes ("+0.8%"), indices ("+0.81"), p-values ("0.39", "< 0.001"), booleans ("yes"/"no"),
codes and years as they are ("06037", "2016"), and a missing value as a dash, or as
"not measured: needs X" where the reason is known (:func:`not_measured`). The report
(:mod:`clusteratlas.report.html`) and the dashboard (:mod:`clusteratlas.web`) both print
through this module, so a number reads the same in both, and a key finding's number is the
very string of its table cell.

Conventions (also printed in the report's appendix): growth rates and DID estimates on log
outcomes print in percent, 100 x the value (a log-point difference of 0.008 is "+0.8%", close
to the percentage difference for small values); a value below 0.05% prints with two decimals so
that it never reads "+0.0%".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

#: what a missing value prints as
MISSING = "–"

#: column name -> label a person reads
LABELS: dict[str, str] = {
    "region_id": "Region id",
    "region_name": "Region",
    "region_type": "Region type",
    "name": "Region",
    "region": "Region",
    "peer_id": "Peer id",
    "cluster_code": "Cluster code",
    "cluster_name": "Cluster",
    "related_cluster_code": "Related cluster code",
    "related_cluster_name": "Related cluster",
    "subcluster_code": "Subcluster code",
    "subcluster_name": "Subcluster",
    "traded": "Traded",
    "year": "Year",
    "prev_year": "Previous year",
    "base_year": "Base year",
    "measured_year": "Measured in",
    "emp": "Employment",
    "emp_reported": "Employment (reported)",
    "emp_traded": "Traded employment",
    "emp_local": "Local employment",
    "emp_national": "National cluster employment",
    "emp_change": "Job change",
    "emp_growth": "Employment growth",
    "expected_emp_change": "Expected job change",
    "competitive_effect": "Competitive effect",
    "est": "Establishments",
    "est_traded": "Traded establishments",
    "est_change": "Establishment change",
    "ap": "Annual payroll ($1,000)",
    "qp1": "Q1 payroll ($1,000)",
    "wage": "Average wage",
    "wage_traded": "Average traded wage",
    "lq": "LQ",
    "lq_change": "LQ change",
    "cluster_lq": "Cluster LQ",
    "national_share": "Share of national cluster jobs",
    "region_share": "Share of region's jobs",
    "share_of_emp": "Share of employment",
    "strong": "Strong",
    "strong10": "Strong (top 10%)",
    "qualifying": "Qualifying",
    "significant": "Significant",
    "n_clusters_present": "Clusters present",
    "n_strong": "Strong clusters",
    "n_strong10": "Strong clusters (top 10%)",
    "strong_emp": "Jobs in strong clusters",
    "cluster_strength": "Cluster strength",
    "treated": "Cluster region",
    "distance": "Distance",
    "chosen_by": "Chosen by",
    "relatedness_pct": "Relatedness percentile",
    "status": "Status",
    "outcome": "Outcome",
    "design": "Design",
    "phase": "Phase",
    "window": "Window",
    "start": "From",
    "end": "To",
    "value_start": "Value at start",
    "value_end": "Value at end",
    "change": "Change",
    "growth": "Growth",
    "log_growth": "Log growth",
    "national_growth": "National growth",
    "resilience": "Resilience index",
    "difference_pp": "Difference (points)",
    "sensitivity": "Sensitivity",
    "competitive_component": "Competitive component",
    "structural_component": "Structural component",
    "shock": "Shock",
    "level": "Level",
    "scale": "Scale",
    "estimate": "Estimate",
    "se": "Std. error",
    "std_error": "Std. error",
    "t": "t",
    "statistic": "Test statistic",
    "p_value": "p",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "conf_low": "95% CI low",
    "conf_high": "95% CI high",
    "ci": "95% CI",
    "n_obs": "Observations",
    "se_type": "Standard errors",
    "estimator": "Estimator",
    "boot_p_value": "Wild bootstrap p",
    "boot_ci": "Wild bootstrap 95% CI",
    "crv1_p_value": "Clustered p",
    "pretrend_p": "Pre-trend test p",
    "row": "Estimate type",
    "h": "Bandwidth",
    "multiple": "Bandwidth multiple",
    "n": "Observations",
    "n_left": "Observations left",
    "n_right": "Observations right",
    "n_h_left": "In bandwidth, left",
    "n_h_right": "In bandwidth, right",
    "f_left": "Density left",
    "f_right": "Density right",
    "difference": "Difference",
    "cutoff": "Cut-off",
    "true_cutoff": "True cut-off",
    "sample": "Sample",
    "robust_ci": "Robust 95% CI",
    "robust_p_value": "Robust p",
    "term": "Term",
    "r2_adj": "Adjusted R²",
    "note": "Note",
    "area": "Policy area",
    "indicator": "Indicator",
    "value": "Value",
    "percentile_all": "Percentile, all regions",
    "percentile_peers": "Percentile, peers",
    "n_regions": "Regions compared",
    "direction": "Reading",
    "formula": "Formula",
    "source": "Source",
    "data_needed": "Data needed",
    "structure": "Structure",
    "share_of_map": "Share of the map",
    "claim_id": "Claim",
    "statement": "Statement",
    "forms": "Forms",
    "evaluated": "Parameter draws",
    "share_holding": "Share holding",
    "verdict": "Verdict",
    "share_no_effect": "Share with no effect",
    "stage": "Stage",
    "input": "Input",
    "years": "Years",
    "region_level": "Region level",
    "reason": "Reason",
    "gap": "Gap",
    "imputed_share": "Imputed share",
    "reading": "Reading",
    "regions_emp": "Sum over regions",
    "rank": "Rank",
    "unit": "Unit",
    "table": "Store table",
    "regions": "Regions",
    "clusters": "Clusters",
}

#: column name -> how its values print (see :func:`fmt`); unlisted columns are guessed
KINDS: dict[str, str] = {
    **dict.fromkeys(
        (
            "emp",
            "emp_reported",
            "emp_traded",
            "emp_local",
            "emp_national",
            "emp_change",
            "expected_emp_change",
            "competitive_effect",
            "est",
            "est_traded",
            "est_change",
            "ap",
            "qp1",
            "n_clusters_present",
            "n_strong",
            "n_strong10",
            "strong_emp",
            "n_obs",
            "n",
            "n_left",
            "n_right",
            "n_h_left",
            "n_h_right",
            "n_regions",
            "evaluated",
            "regions_emp",
            "rank",
            "change",
            "value_start",
            "value_end",
            "expected_change",
            "national_share_effect",
            "industry_mix_effect",
        ),
        "count",
    ),
    **dict.fromkeys(("wage", "wage_traded"), "money"),
    **dict.fromkeys(("lq", "cluster_lq", "lq_change", "h", "multiple", "cutoff"), "number2"),
    **dict.fromkeys(
        (
            "national_share",
            "region_share",
            "share_of_emp",
            "cluster_strength",
            "share_of_map",
            "share_holding",
            "share_no_effect",
            "imputed_share",
        ),
        "share",
    ),
    **dict.fromkeys(("growth", "national_growth", "emp_growth", "gap", "log_growth"), "signed_pct"),
    **dict.fromkeys(
        ("resilience", "sensitivity", "competitive_component", "structural_component"), "index"
    ),
    **dict.fromkeys(
        ("p_value", "boot_p_value", "crv1_p_value", "pretrend_p", "robust_p_value"), "p"
    ),
    **dict.fromkeys(
        ("percentile_all", "percentile_peers", "relatedness_pct"),
        "number0",
    ),
    **dict.fromkeys(
        ("distance", "t", "statistic", "r2_adj", "f_left", "f_right", "difference"), "number3"
    ),
    "difference_pp": "signed_pp",
    **dict.fromkeys(
        (
            "region_id",
            "peer_id",
            "cluster_code",
            "related_cluster_code",
            "subcluster_code",
            "year",
            "prev_year",
            "base_year",
            "measured_year",
            "start",
            "end",
        ),
        "code",
    ),
}

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def humanise(name: str) -> str:
    """A readable label for a name no table lists: ``"emp_per_est"`` -> "Emp per est"."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else text


def label(column: str) -> str:
    """The label a person reads for ``column`` (listed in :data:`LABELS`, else humanised)."""
    return LABELS.get(str(column)) or humanise(column)


def is_snake_case(text: str) -> bool:
    """True for a raw identifier like ``boot_p_value`` (what a label must never be)."""
    return bool(_SNAKE.match(str(text).strip()))


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(float(value))
    return False


def not_measured(needs: str | None) -> str:
    """The cell of a quantity the data cannot give: "not measured: needs X"."""
    needs = (needs or "").strip()
    return f"not measured: needs {needs}" if needs else "not measured"


def count(value: Any) -> str:
    """Whole numbers with thousands separators: 48772.4 -> "48,772"."""
    if is_missing(value):
        return MISSING
    text = f"{int(round(float(value))):,}"
    return text.replace("-", "−") if text.startswith("-") else text


def money(value: Any) -> str:
    """Dollars: 53115.4 -> "$53,115"."""
    if is_missing(value):
        return MISSING
    v = float(value)
    return f"−${-v:,.0f}" if v < 0 else f"${v:,.0f}"


def number(value: Any, digits: int = 2) -> str:
    """A plain number with ``digits`` decimals (thousands separated)."""
    if is_missing(value):
        return MISSING
    text = f"{float(value):,.{digits}f}"
    if text.startswith("-"):
        return text[1:] if float(text.replace(",", "")) == 0 else "−" + text[1:]
    return text


def share(value: Any, digits: int = 1) -> str:
    """A share of a whole in percent: 0.1234 -> "12.3%"."""
    if is_missing(value):
        return MISSING
    return f"{100 * float(value):.{digits}f}%"


def signed_pct(value: Any) -> str:
    """A change in percent with its sign: 0.008 -> "+0.8%", -0.0004 -> "-0.04%"."""
    if is_missing(value):
        return MISSING
    v = 100 * float(value)
    if v == 0:
        return "0.0%"
    digits = 1 if abs(v) >= 0.05 else 2
    text = f"{v:+.{digits}f}%"
    return text.replace("-", "−") if text.startswith("-") else text


def signed_pp(value: Any) -> str:
    """A signed difference in percentage points: "+12.1 pp"."""
    if is_missing(value):
        return MISSING
    return f"{float(value):+.1f} pp".replace("-", "−")


def index(value: Any) -> str:
    """A signed index: 0.807 -> "+0.81"."""
    if is_missing(value):
        return MISSING
    text = f"{float(value):+.2f}"
    if text in ("+0.00", "-0.00"):
        return "0.00"
    return text.replace("-", "−") if text.startswith("-") else text


def p_value(value: Any) -> str:
    """A p-value: two significant digits, "< 0.001" below 0.001."""
    if is_missing(value):
        return MISSING
    v = float(value)
    if v < 0.001:
        return "< 0.001"
    if v >= 0.995:
        return f"{v:.2f}"
    return f"{v:.2g}" if v < 0.1 else f"{v:.2f}"


def yes_no(value: Any) -> str:
    if is_missing(value):
        return MISSING
    return "yes" if bool(value) else "no"


def code(value: Any) -> str:
    """Ids, codes and years as they are ("06037", "2016", not "6,037" or "2016.0")."""
    if is_missing(value):
        return MISSING
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def general(value: Any) -> str:
    """A value of unknown meaning: thousands separated when large, 3 significant digits when small."""
    if is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return yes_no(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if abs(v) >= 1000 or (v.is_integer() and abs(v) >= 1):
            return f"{v:,.0f}"
        return f"{v:.3g}" if abs(v) < 1 else f"{v:,.2f}"
    text = str(value)
    return MISSING if text.strip().lower() in ("nan", "none", "") else text


FORMATTERS = {
    "count": count,
    "money": money,
    "number0": lambda v: number(v, 0),
    "number2": lambda v: number(v, 2),
    "number3": lambda v: number(v, 3),
    "share": share,
    "signed_pct": signed_pct,
    "signed_pp": signed_pp,
    "index": index,
    "p": p_value,
    "bool": yes_no,
    "code": code,
    "text": general,
    "general": general,
}


def kind_of(column: str, values: pd.Series | None = None) -> str:
    """How a column prints: :data:`KINDS`, else guessed from its name and values."""
    column = str(column)
    if column in KINDS:
        return KINDS[column]
    if column.endswith("_year") or column == "year":
        return "code"
    if column.endswith(("p_value", "_p")):
        return "p"
    if column.endswith(("_share", "_pct_share")):
        return "share"
    if column.startswith(("n_", "emp")):
        return "count"
    if values is not None and pd.api.types.is_bool_dtype(values):
        return "bool"
    return "general"


def fmt(value: Any, kind: str = "general") -> str:
    """``value`` printed as ``kind`` (a key of :data:`FORMATTERS`); booleans always yes/no."""
    if isinstance(value, (bool, np.bool_)):
        return yes_no(value)
    if isinstance(value, str):
        return code(value) if kind == "code" else pretty(value)
    return FORMATTERS.get(kind, general)(value)


def cell(column: str, value: Any) -> str:
    """``value`` of ``column`` printed for people."""
    return fmt(value, kind_of(column))


def ci(low: Any, high: Any, kind: str = "signed_pct") -> str:
    """A confidence interval: "−1.1% to +2.8%"."""
    if is_missing(low) or is_missing(high):
        return MISSING
    return f"{fmt(low, kind)} to {fmt(high, kind)}"


def ci_column(frame: Any, low: str = "conf_low", high: str = "conf_high") -> list[str]:
    """:func:`ci` of every row of ``frame`` (its ``low`` and ``high`` columns)."""
    return [ci(lo, hi) for lo, hi in zip(frame[low], frame[high], strict=True)]


def pretty(value: Any) -> str:
    """A category value for people: snake_case words spaced, booleans yes/no."""
    if isinstance(value, (bool, np.bool_)):
        return yes_no(value)
    text = general(value)
    return text.replace("_", " ") if is_snake_case(text) else text


def formatted(
    frame: pd.DataFrame,
    kinds: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    columns: Iterable[str] | None = None,
) -> pd.DataFrame:
    """A copy of ``frame`` with every value printed and the columns labelled (for display)."""
    kinds, labels = kinds or {}, labels or {}
    cols = list(columns) if columns is not None else list(frame.columns)
    out = {}
    for c in cols:
        kind = kinds.get(c) or kind_of(c, frame[c])
        out[labels.get(c) or label(c)] = [fmt(v, kind) for v in frame[c].tolist()]
    return pd.DataFrame(out, index=frame.index)
