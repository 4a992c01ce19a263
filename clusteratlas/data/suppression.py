"""Withheld (suppressed) CBP employment cells: filled by a stated rule, and accounted for.

Owns :func:`fill_suppressed` (the rules below), :class:`SuppressionFill` (what was filled,
summarised by rule and by cluster) and :func:`read_setzler_national_parents` (the national
2- to 5-digit NAICS lines a withheld 6-digit cell can be derived from).

A 6-digit cell is *withheld* when CBP published no employment for it: ``emp_reported`` is 0
and either ``emp_flag`` is an EMPFLAG size class that the reader turned into its midpoint
(``emp > 0``; pre-2017 files), or ``emp_flag`` is a withholding flag D/S/N (setzler's
processed files, which dropped the size class, and the 2017+ noise files), or ``emp`` is
missing. Noise flags G/H/J on a row with published employment are not size classes.

**The adding-up identity.** CBP infuses noise establishment by establishment, so every
published line is the sum of the lines beneath it, to the job: a withheld cell that is the
only withheld 6-digit industry under a published parent line P is

.. math::

    x_c = E_P - \\sum_{c' \\in P,\\ c' \\ne c} E_{c'} \\qquad \\text{(exact: "residual")}

Checked on the national 2016 file: all 287 4-digit lines without a withheld child equal the
sum of their 6-digit lines (employment, establishments and payroll), and the two lines with
one withheld child differ by 7,264 (3352: NAICS 335224) and 2,490 (5221: NAICS 522190).

**Methods**

``"uscm"`` (default) reproduces US Cluster Mapping (``naics_reducer.js``): every withheld
cell gets the midpoint of its EMPFLAG size class (:data:`clusteratlas.data.cbp.EMPFLAG_MIDPOINTS`),
except that a *national* cell that is the only withheld industry of a 5-digit industry with
other, published 6-digit industries gets the residual. USCM's code reads per-cell national
overrides from ``other/overrides.csv`` (not public); its published 2016 national record
equals this rule on both withheld national cells: 335224 = 7,264 (the residual; its class
midpoint would differ) and 522190 = 1,750 (class G; the 5-digit industry 52219 has no other
6-digit industry, so CBP withholds the 5-digit line too and USCM used the midpoint, although
the 4-digit residual is 2,490). The rule is inferred from those two cells in one year: it
fits both, nothing else is known about the overrides file. Where the file dropped the size
class (setzler), the class is the one the residual falls in (when the residual is
identified). A cell with neither a class nor an identified residual stays 0 ("unfilled"),
as in USCM's code for 2017+ files, which carry no size class.

``"hierarchy"`` uses every adding-up constraint: industry lines within each region (as
above) and, with ``geography``, each region's cell = the sum of its member regions' cells
(e.g. nation = states, state = its counties *including* the statewide "999" rows; only pass
complete member sets). Constraints with one unknown are solved exactly and the solution
propagates (a cell found from its state can free its sibling under a county's 4-digit line).
What no constraint identifies is allocated: the residual R of the constraint with the fewest
unknowns (deepest industry line first) is shared out as x_i = clip(lambda w_i, lo_i, hi_i)
with sum x_i = R, where w_i is the size-class midpoint (else the establishment count) and
[lo_i, hi_i] the size-class range (else [0, R]): the minimum-information version of the
linear-programming imputation of Eckert, Fort, Schott and Yang (2021, NBER w26632), which uses
the same constraints and bounds. Cells outside every constraint fall back to the midpoint.

``"none"`` leaves the counts as read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas.data import cbp
from clusteratlas.errors import InputError, ParameterError

METHODS = ("uscm", "hierarchy", "none")

#: EMPFLAG size classes (employment ranges) of CBP 1998-2016 record layouts.
SIZE_CLASSES = {
    "A": (0.0, 19.0),
    "B": (20.0, 99.0),
    "C": (100.0, 249.0),
    "E": (250.0, 499.0),
    "F": (500.0, 999.0),
    "G": (1000.0, 2499.0),
    "H": (2500.0, 4999.0),
    "I": (5000.0, 9999.0),
    "J": (10000.0, 24999.0),
    "K": (25000.0, 49999.0),
    "L": (50000.0, 99999.0),
    "M": (100000.0, np.inf),
}

#: How a withheld cell got its value (the ``rule`` column of :attr:`SuppressionFill.cells`).
RULES = {
    "residual": "parent line minus its published children (exact)",
    "geography residual": "region minus its other member regions (exact)",
    "midpoint": "midpoint of the EMPFLAG size class (USCM naics_reducer.js)",
    "midpoint, class from residual": "midpoint of the size class the exact residual falls in "
    "(the file dropped the class)",
    "allocated": "share of a parent residual, bounded by the size class (not identified)",
    "unfilled": "no size class and no constraint: left at 0",
}
EXACT_RULES = ("residual", "geography residual")

#: CBP two-digit sector lines that span several two-digit prefixes.
_SECTOR_OF = {"32": "31", "33": "31", "45": "44", "49": "48"}
_KEYS = ["region_type", "region_id", "year"]
_WITHHOLDING = frozenset("DSN")


@dataclass
class SuppressionFill:
    """The counts with withheld cells filled, and one row per withheld cell.

    ``cells`` columns: region_type, region_id, year, naics_vintage, naics, emp_flag, est,
    emp (the value used), residual (the exact value where a constraint identifies it),
    low/high (size-class range), rule (:data:`RULES`), exact.
    """

    counts: pd.DataFrame
    cells: pd.DataFrame
    method: str

    @property
    def unfilled(self) -> pd.DataFrame:
        """Withheld cells left at 0 (no size class, no identifying constraint)."""
        return self.cells.loc[self.cells["rule"] == "unfilled"]

    def summary(self) -> pd.DataFrame:
        """Cells and jobs by region type, year and rule."""
        return (
            self.cells.groupby(["region_type", "year", "rule"], as_index=False, sort=True)
            .agg(cells=("naics", "size"), jobs=("emp", "sum"))
            .astype({"cells": "int64"})
        )

    def by_cluster(self, definitions: pd.DataFrame) -> pd.DataFrame:
        """Imputed cells and jobs per region type x year x cluster (``definitions`` as
        :data:`clusteratlas.schema.CLUSTER_DEFINITIONS`; cells outside them are dropped)."""
        return imputed_by_cluster(self.cells, definitions)

    def tidy(self) -> pd.DataFrame:
        return self.cells.copy()


def imputed_by_cluster(cells: pd.DataFrame, definitions: pd.DataFrame) -> pd.DataFrame:
    """Per region type x year x cluster: withheld cells, jobs imputed, and how many cells
    (and jobs) were exact residuals."""
    on = ["naics"]
    defs = definitions.loc[:, ["naics", "cluster_code", "cluster_name"]].copy()
    if "naics_vintage" in definitions.columns and "naics_vintage" in cells.columns:
        defs["naics_vintage"] = definitions["naics_vintage"].astype("int64")
        on.append("naics_vintage")
    defs = defs.drop_duplicates(on)
    merged = cells.merge(defs, on=on, how="inner")
    merged = merged.assign(_exact_jobs=merged["emp"].where(merged["exact"], 0.0))
    out = merged.groupby(
        ["region_type", "year", "cluster_code", "cluster_name"], as_index=False, sort=True
    ).agg(
        cells=("naics", "size"),
        jobs=("emp", "sum"),
        exact_cells=("exact", "sum"),
        exact_jobs=("_exact_jobs", "sum"),
        unfilled_cells=("rule", lambda rule: int((rule == "unfilled").sum())),
    )
    return out.astype({"cells": "int64", "exact_cells": "int64", "unfilled_cells": "int64"})


# -------------------------------------------------------------------------------------------
# reading parent lines
# -------------------------------------------------------------------------------------------
def read_setzler_national_parents(path: str | Path, source: str = "setzler") -> pd.DataFrame:
    """setzler ``CBP_national_industry{2,3,4}.csv`` -> national 2- to 4-digit NAICS lines
    (:data:`clusteratlas.schema.INDUSTRY_COUNTS` columns; ``naics`` is the short code; two-
    digit 31, 44 and 48 are CBP's 31-33, 44-45 and 48-49 sector lines).

    Pass them as ``parents`` to :func:`fill_suppressed` (or in the national counts given to
    the panel), so that withheld national cells can be derived from them.
    """
    frame, lines, path = cbp._read_setzler(
        path, ("naics", "employment_march", "establishments", "payroll_quarter1", "year")
    )
    naics = cbp._checked_codes(
        frame["naics"], r"\d{2,5}", "is not a 2- to 5-digit NAICS code", path, lines, "naics",
        hint="6-digit files are read by clusteratlas.data.cbp.read_setzler_national_industry",
    )  # fmt: skip
    return cbp._setzler_industry_rows(
        frame, lines, path, naics, "nation", "US", source, "setzler national parent lines"
    )


# -------------------------------------------------------------------------------------------
# the fill
# -------------------------------------------------------------------------------------------
def fill_suppressed(
    counts: pd.DataFrame,
    *,
    method: str = "uscm",
    parents: pd.DataFrame | None = None,
    geography: pd.DataFrame | None = None,
) -> SuppressionFill:
    """Fill the withheld 6-digit cells of ``counts`` (see the module docstring for the rules).

    Parameters
    ----------
    counts
        :data:`clusteratlas.schema.INDUSTRY_COUNTS` rows, any region types and years. Rows
        whose ``naics`` is an aggregate (2-5 digits, or CBP's ``3352//`` / ``33----`` forms)
        are parent lines: used, then dropped from the result.
    method
        "uscm" (default), "hierarchy" or "none".
    parents
        More parent lines (e.g. :func:`read_setzler_national_parents`).
    geography
        :data:`clusteratlas.schema.REGION_MEMBERS` rows saying which member regions add up to
        which region (method "hierarchy" only; complete member sets only).

    Returns a :class:`SuppressionFill`: ``counts`` (6-digit rows, same columns, ``emp``
    filled; ``emp_reported`` stays 0 on withheld cells, so wages use published employment
    only, as USCM) and ``cells``.
    """
    if method not in METHODS:
        raise ParameterError("method", f"unknown method {method!r}", allowed=", ".join(METHODS))
    if geography is not None and method != "hierarchy":
        raise ParameterError("geography", "is used by method='hierarchy' only")
    missing = [c for c in (*_KEYS, "naics", "emp") if c not in counts.columns]
    if missing:
        raise InputError(f"counts lack column(s) {', '.join(missing)}")
    frames = [counts] if parents is None else [counts, parents.loc[:, list(counts.columns)]]
    rows = (
        pd.concat(frames, ignore_index=True) if len(frames) > 1 else counts.reset_index(drop=True)
    )
    code = rows["naics"].astype(str).str.strip().str.rstrip("/-")
    level = code.str.len()
    is_cell = (level == 6) & code.str.fullmatch(r"\d{6}")
    is_line = level.between(2, 5) & code.str.fullmatch(r"\d{2,5}")
    other = ~(is_cell | is_line)
    # the region total ('------') and non-NAICS codes constrain nothing usable here
    if not is_cell.iloc[: len(counts)].any():
        cells_out = _cells_frame(counts.iloc[:0], np.array([]), np.array([]), [], [], [])
        return SuppressionFill(counts.iloc[:0].copy(), cells_out, method)
    n_counts = len(counts)
    work = pd.DataFrame(
        {
            "region_type": rows["region_type"].astype(str).to_numpy(),
            "region_id": rows["region_id"].astype(str).to_numpy(),
            "year": rows["year"].astype("int64").to_numpy(),
            "code": code.to_numpy(),
            "level": level.to_numpy(),
        }
    )
    emp = rows["emp"].astype(float).to_numpy()
    reported = (
        rows["emp_reported"].astype(float).to_numpy()
        if "emp_reported" in rows.columns
        else np.where(np.isnan(emp), np.nan, emp)
    )
    flag = (
        rows["emp_flag"].fillna("").astype(str).str.strip().str.upper().to_numpy()
        if "emp_flag" in rows.columns
        else np.full(len(rows), "", dtype=object)
    )
    est = rows["est"].astype(float).to_numpy() if "est" in rows.columns else np.zeros(len(rows))
    has_class = np.isin(flag, list(SIZE_CLASSES)) & (np.nan_to_num(reported) == 0) & (emp > 0)
    withholding = np.isin(flag, list(_WITHHOLDING)) & (np.nan_to_num(reported) == 0)
    withheld = (has_class | withholding | np.isnan(emp)) & ~other.to_numpy()
    cell = is_cell.to_numpy()
    line = is_line.to_numpy()

    value = np.where(withheld, np.nan, emp)  # what the constraints know
    constraints = _industry_constraints(work, cell, line)
    if method == "hierarchy" and geography is not None:
        constraints = pd.concat(
            [constraints, _geography_constraints(work, cell, geography, start=len(rows))],
            ignore_index=True,
        )
    # exact peeling on the constraints: everything identified
    solved, source = _peel(value.copy(), constraints, withheld)
    residual = np.where(withheld & ~np.isnan(solved), solved, np.nan)

    target = withheld & cell
    target[n_counts:] = False  # only the counts' own cells are filled and reported
    classes = np.where(has_class, flag, "")
    low = np.array([SIZE_CLASSES[c][0] if c else np.nan for c in classes])
    high = np.array([SIZE_CLASSES[c][1] if c else np.nan for c in classes])
    filled = emp.copy()
    rule = np.full(len(rows), "", dtype=object)
    if method == "none":
        rule[target & has_class] = "midpoint"
        rule[target & ~has_class] = "unfilled"
        filled[target & ~has_class] = np.nan_to_num(emp[target & ~has_class])
    elif method == "uscm":
        filled, rule = _uscm_rule(work, target, has_class, flag, emp, residual, source, cell)
    else:
        filled, rule = _hierarchy_rule(
            work, target, has_class, flag, emp, solved, source, constraints, est, low, high,
            withheld,
        )  # fmt: skip

    out = counts.loc[is_cell.iloc[:n_counts].to_numpy()].copy()
    keep = np.flatnonzero(cell[:n_counts])
    out["emp"] = filled[keep]
    idx = np.flatnonzero(target)
    cells_out = _cells_frame(
        rows.iloc[idx], filled[idx], residual[idx], rule[idx], low[idx], high[idx]
    )
    return SuppressionFill(out.reset_index(drop=True), cells_out, method)


def _cells_frame(rows, filled, residual, rule, low, high) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "region_type": rows["region_type"].astype(str).to_numpy(),
            "region_id": rows["region_id"].astype(str).to_numpy(),
            "year": rows["year"].astype("int64").to_numpy(),
            "naics_vintage": (
                rows["naics_vintage"].astype("int64").to_numpy()
                if "naics_vintage" in rows.columns
                else np.zeros(len(rows), dtype="int64")
            ),
            "naics": rows["naics"].astype(str).to_numpy(),
            "emp_flag": (
                rows["emp_flag"].fillna("").astype(str).to_numpy()
                if "emp_flag" in rows.columns
                else np.full(len(rows), "", dtype=object)
            ),
            "est": rows["est"].astype(float).to_numpy() if "est" in rows.columns else np.nan,
            "emp": np.asarray(filled, dtype=float),
            "residual": np.asarray(residual, dtype=float),
            "low": np.asarray(low, dtype=float),
            "high": np.asarray(high, dtype=float),
            "rule": pd.array(np.asarray(rule, dtype=object), dtype="string"),
        }
    )
    frame["exact"] = frame["rule"].isin(EXACT_RULES).to_numpy(dtype=bool)
    return frame


def _industry_constraints(work: pd.DataFrame, cell: np.ndarray, line: np.ndarray) -> pd.DataFrame:
    """Members (cid, rid, coef) of every "line = sum of the 6-digit cells beneath it"
    constraint; cid is the line's row number, coef +1 for the line and -1 for the cells."""
    cells = work.loc[cell, [*_KEYS, "code"]].assign(rid=np.flatnonzero(cell))
    lines = work.loc[line, [*_KEYS, "code", "level"]].assign(cid=np.flatnonzero(line))
    if cells.empty or lines.empty:
        return pd.DataFrame({"cid": [], "rid": [], "coef": [], "depth": []})
    ancestors = []
    for k in (5, 4, 3, 2):
        prefix = cells["code"].str[:k]
        if k == 2:
            prefix = prefix.replace(_SECTOR_OF)
        ancestors.append(cells.assign(code=prefix))
    joined = pd.concat(ancestors, ignore_index=True).merge(lines, on=[*_KEYS, "code"])
    children = pd.DataFrame(
        {"cid": joined["cid"], "rid": joined["rid"], "coef": -1.0, "depth": joined["level"]}
    )
    used = lines.loc[lines["cid"].isin(children["cid"])]
    parents = pd.DataFrame(
        {"cid": used["cid"], "rid": used["cid"], "coef": 1.0, "depth": used["level"]}
    )
    return pd.concat([parents, children], ignore_index=True)


def _geography_constraints(
    work: pd.DataFrame, cell: np.ndarray, members: pd.DataFrame, *, start: int
) -> pd.DataFrame:
    """Members of every "region cell = sum of its member regions' cells" constraint (same
    year and 6-digit code); cids start after the industry ones. depth 0 (tried last)."""
    need = ["region_type", "region_id", "member_type", "member_id"]
    missing = [c for c in need if c not in members.columns]
    if missing:
        raise InputError(f"geography lacks column(s) {', '.join(missing)}")
    links = members.loc[:, need].astype(str).drop_duplicates()
    cells = work.loc[cell, [*_KEYS, "code"]].assign(rid=np.flatnonzero(cell))
    children = cells.merge(
        links.rename(
            columns={
                "region_type": "p_type",
                "region_id": "p_id",
                "member_type": "region_type",
                "member_id": "region_id",
            }
        ),
        on=["region_type", "region_id"],
    )
    parents = cells.rename(columns={"region_type": "p_type", "region_id": "p_id", "rid": "pid"})
    joined = children.merge(parents, on=["p_type", "p_id", "year", "code"])
    if joined.empty:
        return pd.DataFrame({"cid": [], "rid": [], "coef": [], "depth": []})
    cid = start + joined["pid"].to_numpy()
    kids = pd.DataFrame({"cid": cid, "rid": joined["rid"].to_numpy(), "coef": -1.0, "depth": 0})
    heads = pd.DataFrame({"cid": np.unique(cid), "coef": 1.0, "depth": 0})
    heads["rid"] = heads["cid"] - start
    return pd.concat([heads[["cid", "rid", "coef", "depth"]], kids], ignore_index=True)


def _peel(
    value: np.ndarray, constraints: pd.DataFrame, unknown: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Solve, round after round, every constraint with exactly one unknown member.

    Returns the values (NaN where still unknown) and, per row, the cid that solved it (-1).
    """
    source = np.full(len(value), -1, dtype=np.int64)
    if constraints.empty or not unknown.any():
        return value, source
    cid_codes, cids = pd.factorize(constraints["cid"].to_numpy())
    rid = constraints["rid"].to_numpy(dtype=np.int64)
    coef = constraints["coef"].to_numpy(dtype=float)
    n = len(cids)
    while True:
        v = value[rid]
        unk = np.isnan(v)
        n_unknown = np.bincount(cid_codes, weights=unk, minlength=n)
        known_sum = np.bincount(cid_codes, weights=np.where(unk, 0.0, coef * v), minlength=n)
        solvable = unk & (n_unknown[cid_codes] == 1)
        if not solvable.any():
            return value, source
        pos = np.flatnonzero(solvable)
        rows, first = np.unique(rid[pos], return_index=True)
        pos = pos[first]
        value[rows] = -known_sum[cid_codes[pos]] / coef[pos]
        source[rows] = cids[cid_codes[pos]]


def _class_of(value: float) -> str:
    for letter, (low, high) in SIZE_CLASSES.items():
        if low <= round(value) <= high:
            return letter
    return ""


def _uscm_rule(work, target, has_class, flag, emp, residual, source, cell):
    """Midpoints; the residual for national cells whose 5-digit industry has other 6-digit
    industries (module docstring)."""
    filled = emp.copy()
    rule = np.full(len(emp), "", dtype=object)
    identified = ~np.isnan(residual)
    codes = work["code"].to_numpy()
    five = pd.Series(codes).str[:5]
    # 6-digit industries per region-year x 5-digit industry
    group = work[_KEYS].assign(five=five)
    n_in_five = group.assign(cell=cell).groupby([*_KEYS, "five"])["cell"].transform("sum")
    national = work["region_type"].to_numpy() == "nation"
    override = target & national & identified & (n_in_five.to_numpy() > 1)
    filled[override] = residual[override]
    rule[override] = "residual"
    midpoint = target & ~override & has_class
    rule[midpoint] = "midpoint"  # the readers already put the midpoint in emp
    derive = target & ~override & ~has_class & identified
    for i in np.flatnonzero(derive):
        letter = _class_of(residual[i])
        filled[i] = cbp.EMPFLAG_MIDPOINTS[letter] if letter else residual[i]
        rule[i] = "midpoint, class from residual"
    rest = target & (rule == "")
    filled[rest] = 0.0
    rule[rest] = "unfilled"
    return filled, rule


def _hierarchy_rule(
    work, target, has_class, flag, emp, solved, source, constraints, est, low, high, withheld
):
    """Exact where identified; else bounded allocation of residuals; else midpoints."""
    value = solved.copy()
    rule = np.full(len(emp), "", dtype=object)
    depth = constraints.groupby("cid")["depth"].first() if len(constraints) else pd.Series()
    exact = target & ~np.isnan(value)
    for i in np.flatnonzero(exact):
        rule[i] = "geography residual" if depth.get(source[i], 1) == 0 else "residual"
    prior = np.where(has_class, emp, np.where(est > 0, est, 1.0))
    while len(constraints):
        progress = _allocate_round(value, constraints, withheld, prior, low, high, rule)
        if not progress:
            break
        # what the constraints now give rests on allocated values: allocated too, not exact
        value, _ = _peel(value, constraints, np.isnan(value))
        rule[target & (rule == "") & ~np.isnan(value)] = "allocated"
    rest = target & np.isnan(value)
    value[rest & has_class] = emp[rest & has_class]
    rule[rest & has_class] = "midpoint"
    value[rest & ~has_class] = 0.0
    rule[rest & ~has_class] = "unfilled"
    filled = np.where(target, value, emp)
    return filled, rule


def _allocate_round(value, constraints, withheld, prior, low, high, rule) -> bool:
    """One pass: share each constraint's residual among its unknown cells, constraints with
    the fewest unknowns first (deepest industry line first); a cell is set once per pass."""
    v = value[constraints["rid"].to_numpy(dtype=np.int64)]
    frame = constraints.assign(unknown=np.isnan(v), known=np.where(np.isnan(v), 0.0, v))
    frame["term"] = frame["coef"] * frame["known"]
    stats = frame.groupby("cid").agg(
        n_unknown=("unknown", "sum"), known_sum=("term", "sum"), depth=("depth", "first")
    )
    open_ = stats.loc[stats["n_unknown"] >= 2].sort_values(
        ["n_unknown", "depth"], ascending=[True, False]
    )
    if open_.empty:
        return False
    heads = frame.loc[frame["coef"] > 0].set_index("cid")["unknown"]
    members = frame.loc[frame["unknown"] & (frame["coef"] < 0)].groupby("cid")["rid"].apply(list)
    done: set[int] = set()
    progress = False
    for cid, row in open_.iterrows():
        if bool(heads.get(cid, True)):
            continue  # the line itself is unknown: nothing to share out
        rids = members.get(cid, [])
        if not rids or any(r in done for r in rids) or not np.isnan(value[rids]).all():
            continue
        # the line minus its known children: what the unknown children add up to
        total = max(float(row["known_sum"]), 0.0)
        lo = np.nan_to_num(low[rids], nan=0.0)
        hi = np.where(np.isnan(high[rids]) | np.isinf(high[rids]), total, high[rids])
        value[rids] = _water_fill(total, prior[rids], lo, np.maximum(hi, lo))
        rule[rids] = "allocated"
        done.update(rids)
        progress = True
    return progress


def _water_fill(total: float, weight: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """x_i = clip(lambda w_i, low_i, high_i) with sum x_i = total (bounds win if infeasible)."""
    if total <= low.sum():
        return low.astype(float)
    if total >= high.sum():
        return high.astype(float)
    weight = np.maximum(weight.astype(float), 1e-12)
    lo_lam, hi_lam = 0.0, float(np.max(high / weight)) + 1.0
    for _ in range(200):  # bisection: sum is monotone in lambda
        lam = 0.5 * (lo_lam + hi_lam)
        if np.clip(lam * weight, low, high).sum() < total:
            lo_lam = lam
        else:
            hi_lam = lam
    x = np.clip(hi_lam * weight, low, high)
    return x * (total / x.sum()) if x.sum() > 0 else x


def describe(fill: SuppressionFill, definitions: pd.DataFrame | None = None, limit: int = 5) -> str:
    """One sentence on what was filled (for warnings and the CLI)."""
    cells = fill.cells
    if cells.empty:
        return "no withheld cells"
    done = cells.loc[cells["rule"] != "unfilled"]
    text = f"{len(done):,} withheld cell(s) filled ({done['emp'].sum():,.0f} jobs"
    if definitions is not None and not done.empty:
        per = imputed_by_cluster(done, definitions).sort_values("jobs", ascending=False)
        parts = [f"cluster {r.cluster_code} {r.jobs:,.0f}" for r in per.head(limit).itertuples()]
        more = len(per) - limit
        text += ": " + ", ".join(parts) + (f" and {more} more clusters" if more > 0 else "")
    text += ")"
    rules = done["rule"].value_counts()
    if len(rules):
        text += " by " + ", ".join(f"{k} ({v})" for k, v in rules.items())
    unfilled = fill.unfilled
    if len(unfilled):
        text += f"; {len(unfilled):,} left at 0 (no size class, no parent line): " + ", ".join(
            f"{r.naics} {r.year}" for r in unfilled.head(limit).itertuples()
        )
    return text


def check_method(method: str | None, name: str = "suppressed") -> str:
    """The method name, or a ParameterError naming ``name``."""
    method = "none" if method is None else method
    if method not in METHODS:
        raise ParameterError(name, f"unknown method {method!r}", allowed=", ".join(METHODS))
    return method


def withheld_count(counts: pd.DataFrame) -> int:
    """How many rows of ``counts`` look withheld (cheap check before :func:`fill_suppressed`)."""
    emp = counts["emp"].astype(float)
    reported = counts["emp_reported"].astype(float) if "emp_reported" in counts else emp
    if "emp_flag" not in counts.columns:
        return int(emp.isna().sum())
    flag = counts["emp_flag"].fillna("").astype(str).str.strip().str.upper()
    zero = reported.fillna(0).eq(0)
    return int(
        (
            emp.isna()
            | (flag.isin(list(_WITHHOLDING)) & zero)
            | (flag.isin(list(SIZE_CLASSES)) & zero & emp.gt(0))
        ).sum()
    )


__all__: Sequence[str] = (
    "EXACT_RULES",
    "METHODS",
    "RULES",
    "SIZE_CLASSES",
    "SuppressionFill",
    "check_method",
    "describe",
    "fill_suppressed",
    "imputed_by_cluster",
    "read_setzler_national_parents",
    "withheld_count",
)
