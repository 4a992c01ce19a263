"""Input handling shared by the RD estimators: arrays or column names, covariates, options.

Owns the conversion of user inputs (arrays, Series or names of columns of ``data``) into clean
arrays (:func:`column_array`, :func:`covariate_matrix`), the validated sample (:class:`Prepared`), the
option checks and rdrobust's vce switching rules, and the per-observation option slicing used
by the placebo and sensitivity tables.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clusteratlas.causal.rd.core import KERNELS, Side, SideData
from clusteratlas.errors import EstimationError, InputError, ParameterError, ParameterWarning

BWSELECTS = (
    "mserd",
    "msetwo",
    "msesum",
    "msecomb1",
    "msecomb2",
    "cerrd",
    "certwo",
    "cersum",
    "cercomb1",
    "cercomb2",
)
VCES = ("nn", "hc0", "hc1", "hc2", "hc3", "cr1", "cr2", "cr3")
# vce given with a cluster variable -> the cluster-robust variant (rdrobust's switching rules);
# nn switches silently (it is the default), the others with a warning.
TO_CLUSTER = {"nn": "cr1", "hc0": "cr1", "hc1": "cr1", "hc2": "cr2", "hc3": "cr3"}
FROM_CLUSTER = {"cr1": "hc1", "cr2": "hc2", "cr3": "hc3"}
ROWS = ["Conventional", "Bias-Corrected", "Robust"]
SQRT_EPS = float(np.sqrt(np.finfo(float).eps))

ArrayLike = Any

ArrayLike = Any


# ----------------------------------------------------------------------------- input handling --


def column_array(value: ArrayLike, data: pd.DataFrame | None, name: str) -> tuple[np.ndarray, str]:
    """Resolve a column name (with ``data``) or an array to a 1-D array, keeping a label."""
    if isinstance(value, str):
        if data is None:
            raise ParameterError(name, f"{value!r} is a column name but no data= frame was given")
        if value not in data.columns:
            raise InputError(
                f"column not found for {name}", column=value, hint=f"columns: {list(data.columns)}"
            )
        return data[value].to_numpy(), value
    if isinstance(value, pd.Series):
        return value.to_numpy(), str(value.name) if value.name is not None else name
    arr = np.asarray(value)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ParameterError(name, f"must be one-dimensional, got shape {arr.shape}")
    return arr, name


def numeric_array(arr: np.ndarray, label: str) -> np.ndarray:
    try:
        return np.asarray(arr, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(
            "is not numeric", column=label, hint="convert it to numbers before calling"
        ) from exc


def covariate_matrix(covs: ArrayLike, data: pd.DataFrame | None) -> tuple[np.ndarray, list[str]]:
    if isinstance(covs, str):
        covs = [covs]
    if isinstance(covs, (list, tuple)) and covs and all(isinstance(c, str) for c in covs):
        if data is None:
            raise ParameterError("covs", "column names need a data= frame")
        missing = [c for c in covs if c not in data.columns]
        if missing:
            raise InputError(f"covariate column(s) not found: {missing}")
        frame = data[list(covs)]
    elif isinstance(covs, pd.DataFrame):
        frame = covs
    elif isinstance(covs, pd.Series):
        frame = covs.to_frame()
    else:
        arr = np.asarray(covs)
        arr = arr.reshape(arr.shape[0], -1)
        frame = pd.DataFrame(arr, columns=[f"z{i + 1}" for i in range(arr.shape[1])])
    names = [str(c) for c in frame.columns]
    values = np.column_stack(
        [numeric_array(frame.iloc[:, j].to_numpy(), names[j]) for j in range(len(names))]
    )
    # rdrobust orders covariates by the length of their names (this decides which of a
    # collinear set is dropped); keep the same order so results agree.
    order = np.argsort([len(n) for n in names])
    return values[:, order], [names[i] for i in order]


def drop_collinear(z: np.ndarray, tol: float = 1e-5) -> np.ndarray:
    """Keep a maximal set of linearly independent covariate columns (pivoted QR, as rdrobust)."""
    from scipy.linalg import qr

    _, r = np.linalg.qr(z)
    if np.all(np.abs(np.diagonal(r)) > tol):
        return np.arange(z.shape[1])
    _, r, pivot = qr(z, pivoting=True)
    return pivot[np.abs(np.diagonal(r)) > tol]


def quantile_type2(sorted_x: np.ndarray, prob: float) -> float:
    """Hyndman-Fan type 2 quantile of sorted data (R's quantile(type=2))."""
    n = sorted_x.shape[0]
    hh = n * prob
    j = int(math.floor(hh))
    if hh == j:
        return 0.5 * (sorted_x[j - 1] + sorted_x[j])
    return float(sorted_x[j])


@dataclass
class Prepared:
    x: np.ndarray  # input order (after removing missing rows)
    y: np.ndarray
    t: np.ndarray | None
    z: np.ndarray | None
    z_names: list[str]
    cluster: np.ndarray | None
    fw: np.ndarray | None
    c: float
    n_left: int
    is_left: np.ndarray
    xs: np.ndarray  # sorted values of x
    y_label: str
    x_label: str
    t_label: str | None
    split: dict | None = None
    side_data: tuple | None = None


def prepare(
    y, x, c, fuzzy, covs, covs_drop, cluster, weights, data, dropna, subset=None
) -> Prepared:
    y_arr, y_label = column_array(y, data, "y")
    x_arr, x_label = column_array(x, data, "x")
    y_arr, x_arr = numeric_array(y_arr, y_label), numeric_array(x_arr, x_label)
    n = x_arr.shape[0]
    if y_arr.shape[0] != n:
        raise InputError(f"y has {y_arr.shape[0]} values but x has {n}", column=y_label)
    columns: dict[str, np.ndarray] = {y_label: y_arr, x_label: x_arr}
    t_arr = t_label = None
    if fuzzy is not None:
        t_arr, t_label = column_array(fuzzy, data, "fuzzy")
        t_arr = numeric_array(t_arr, t_label)
        columns[t_label] = t_arr
    z_arr, z_names = None, []
    if covs is not None:
        z_arr, z_names = covariate_matrix(covs, data)
        for j, nm in enumerate(z_names):
            columns[nm] = z_arr[:, j]
    cl_arr = None
    if cluster is not None:
        raw, cl_label = column_array(cluster, data, "cluster")
        codes, _ = pd.factorize(pd.Series(raw), use_na_sentinel=True)
        cl_arr = codes.astype(np.int64)
        columns[cl_label] = np.where(cl_arr < 0, np.nan, 0.0)
    fw_arr = None
    if weights is not None:
        fw_arr, w_label = column_array(weights, data, "weights")
        fw_arr = numeric_array(fw_arr, w_label)
        columns[w_label] = fw_arr
        if np.any(fw_arr[np.isfinite(fw_arr)] < 0):
            raise InputError("weights must be non-negative", column=w_label)
    for label, arr in columns.items():
        if arr.shape[0] != n:
            raise InputError(f"has {arr.shape[0]} values but x has {n}", column=label)
    keep = np.ones(n, dtype=bool)
    if subset is not None:
        keep &= np.asarray(subset, dtype=bool)
    for label, arr in columns.items():
        bad = ~np.isfinite(arr) & keep
        if bad.any():
            if not dropna:
                first = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"{int(bad.sum())} missing or infinite value(s), first at row {first}",
                    column=label,
                    hint="clean the data or pass dropna=True (rdrobust's behaviour: drop those rows)",
                )
            keep &= ~bad
    if fw_arr is not None and np.nansum(fw_arr[keep]) <= 0:
        raise InputError("weights must include at least one positive value")
    # No global sort: the estimator sorts only the observations inside its bandwidths.
    all_kept = bool(keep.all())

    def take(a):
        return None if a is None else (a if all_kept else a[keep])

    xs = take(x_arr)
    if xs.shape[0] == 0:
        raise InputError("no observations left after removing missing values", column=x_label)
    zs = take(z_arr)
    if zs is not None and covs_drop:
        kept = drop_collinear(zs)
        if kept.shape[0] < zs.shape[1]:
            zs = zs[:, kept]
            z_names = [z_names[i] for i in kept]
    if c is None:
        c = 0.0
    if not np.isfinite(c):
        raise ParameterError("c", "the cutoff must be a finite number")
    x_sorted = np.sort(xs)
    if c <= x_sorted[0] or c >= x_sorted[-1]:
        raise EstimationError(
            f"cutoff c={c} is not inside the range of {x_label} [{x_sorted[0]}, {x_sorted[-1]}]: all "
            "observations are on one side; check the cutoff and the running variable"
        )
    return Prepared(
        x=xs,
        y=take(y_arr),
        t=take(t_arr),
        z=zs,
        z_names=z_names,
        cluster=take(cl_arr),
        fw=take(fw_arr),
        c=float(c),
        n_left=int(np.searchsorted(x_sorted, c, side="left")),
        is_left=xs < c,
        xs=x_sorted,
        y_label=y_label,
        x_label=x_label,
        t_label=t_label,
    )


def split_sides(prep: Prepared) -> dict:
    """Per-side copies of the data arrays (computed once and reused)."""
    if prep.split is None:
        m = prep.is_left
        nm = ~m
        prep.split = {
            name: None if arr is None else (arr[m], arr[nm])
            for name, arr in (
                ("x", prep.x),
                ("y", prep.y),
                ("t", prep.t),
                ("z", prep.z),
                ("cluster", prep.cluster),
                ("fw", prep.fw),
            )
        }
    return prep.split


def sides(
    prep: Prepared, x_scale: float, y_scale: float, c: float, use_t: bool
) -> tuple[Side, Side]:
    """Left and right :class:`Side` views with x and y divided by the given scales."""
    parts = split_sides(prep)
    if prep.side_data is None:
        data = []
        for i, is_left in ((0, True), (1, False)):
            cols = [parts["y"][i][:, None]]
            if parts["t"] is not None:
                cols.append(parts["t"][i][:, None])
            if parts["z"] is not None:
                cols.append(parts["z"][i])
            d = np.hstack(cols) if len(cols) > 1 else cols[0]
            cl = None if parts["cluster"] is None else parts["cluster"][i]
            fw = None if parts["fw"] is None else parts["fw"][i]
            data.append(SideData(parts["x"][i], d, cl, fw, is_left, prep.c))
        prep.side_data = tuple(data)
    n_cols = prep.side_data[0].d.shape[1]
    cols = None
    if prep.t is not None and not use_t:
        cols = np.array([0, *range(2, n_cols)], dtype=np.int64)  # drop the treatment column
    return tuple(Side(data, cols, x_scale, y_scale) for data in prep.side_data)  # type: ignore[return-value]


def cluster_vce(vce: str, clustered: bool) -> str:
    """The variance estimator actually used, after rdrobust's switching rules.

    With a cluster variable nn/hc0/hc1 become CR1, hc2 CR2 and hc3 CR3; without one
    cr1/cr2/cr3 fall back to hc1/hc2/hc3 (a warning unless nn). Internally CR1 keeps the name
    "hc1" (hc1 scores summed within clusters with the G/(G-1) (n-1)/(n-k) factor, see
    :func:`~clusteratlas.causal.rd.core.meat`); CR2/CR3 are "cr2"/"cr3"
    (:func:`~clusteratlas.causal.rd.core.cr_meat`).
    """
    if clustered and vce in TO_CLUSTER:
        if vce != "nn":
            warnings.warn(
                f"vce={vce!r} is not a cluster option. Switching to vce={TO_CLUSTER[vce]!r}.",
                category=ParameterWarning,
                stacklevel=4,
            )
        vce = TO_CLUSTER[vce]
    elif not clustered and vce in FROM_CLUSTER:
        warnings.warn(
            f"vce={vce!r} requires cluster. Switching to vce={FROM_CLUSTER[vce]!r}.",
            category=ParameterWarning,
            stacklevel=4,
        )
        return FROM_CLUSTER[vce]
    return "hc1" if vce == "cr1" else vce


def vce_label(vce: str, cluster) -> str:
    """Reported name of the variance estimator (CR1 is "hc1" with clusters internally)."""
    if cluster is not None and vce == "hc1":
        return "CR1"
    return vce.upper()


def check_options(p, q, deriv, kernel, bwselect, vce, masspoints, level, nnmatch, cluster):
    if p is None:
        p = 1 if deriv is None else deriv + 1
    if not isinstance(p, (int, np.integer)) or not 0 <= p <= 20:
        raise ParameterError("p", f"must be an integer 0..20, got {p!r}")
    if q is None:
        q = p + 1
    if not isinstance(q, (int, np.integer)) or q <= p or q > 20:
        raise ParameterError("q", f"must be an integer > p={p}, got {q!r}")
    deriv = 0 if deriv is None else deriv
    if not isinstance(deriv, (int, np.integer)) or deriv < 0 or deriv > p:
        raise ParameterError("deriv", f"must be an integer 0..p={p}, got {deriv!r}")
    kernel_name = KERNELS.get(str(kernel).strip().lower())
    if kernel_name is None:
        raise ParameterError("kernel", f"unknown kernel {kernel!r}", allowed=", ".join(KERNELS))
    bwselect = str(bwselect).strip().lower()
    if bwselect not in BWSELECTS:
        raise ParameterError(
            "bwselect", f"unknown selector {bwselect!r}", allowed=", ".join(BWSELECTS)
        )
    vce = str(vce).strip().lower()
    if vce not in VCES:
        raise ParameterError(
            "vce", f"unsupported {vce!r}", allowed=", ".join(VCES) + " (cr1 = cluster-robust)"
        )
    vce = cluster_vce(vce, cluster is not None)
    masspoints = "off" if masspoints in (None, False) else str(masspoints).strip().lower()
    if masspoints not in ("adjust", "check", "off"):
        raise ParameterError("masspoints", f"{masspoints!r}", allowed="adjust, check, off")
    if not (0 < level < 100):
        raise ParameterError("level", f"must be in (0, 100), got {level}")
    if not (isinstance(nnmatch, (int, np.integer)) and nnmatch >= 1):
        raise ParameterError("nnmatch", f"must be a positive integer, got {nnmatch!r}")
    return int(p), int(q), int(deriv), kernel_name, bwselect, vce, masspoints


def xy_arrays(y, x, data, dropna: bool) -> tuple[np.ndarray, np.ndarray, str, str]:
    y_arr, x_arr, y_label, x_label, keep = xy_rows(y, x, data, dropna)
    if not keep.all():
        y_arr, x_arr = y_arr[keep], x_arr[keep]
    return y_arr, x_arr, y_label, x_label


def xy_rows(y, x, data, dropna: bool) -> tuple[np.ndarray, np.ndarray, str, str, np.ndarray]:
    """y and x as float arrays (all rows) and the mask of rows with both finite."""
    y_arr, y_label = column_array(y, data, "y")
    x_arr, x_label = column_array(x, data, "x")
    y_arr, x_arr = numeric_array(y_arr, y_label), numeric_array(x_arr, x_label)
    if y_arr.shape[0] != x_arr.shape[0]:
        raise InputError(
            f"y has {y_arr.shape[0]} values but x has {x_arr.shape[0]}", column=y_label
        )
    keep = np.isfinite(y_arr) & np.isfinite(x_arr)
    if not keep.all() and not dropna:
        raise InputError(
            f"{int((~keep).sum())} rows with missing y or x",
            column=f"{y_label}/{x_label}",
            hint="pass dropna=True to drop them",
        )
    return y_arr, x_arr, y_label, x_label, keep


# rdrobust options holding one value per observation: they must follow every row selection.
_PER_OBSERVATION = ("fuzzy", "covs", "cluster", "weights", "subset")


def per_observation_options(options: dict, data: pd.DataFrame | None, n: int) -> dict:
    """Resolve the per-observation options (column names with ``data=``) to Series/frames.

    Names survive (a Series keeps its label, covariates stay a DataFrame: rdrobust orders them
    by name), so a fit on a subset reports what a fit on the full data would. Each option must
    have one value per row of x.
    """
    out = dict(options)
    for name in _PER_OBSERVATION:
        value = options.get(name)
        if value is None:
            continue
        if name == "covs":
            values, names = covariate_matrix(value, data)
            value = pd.DataFrame(values, columns=names)
        else:
            arr, label = column_array(value, data, name)
            value = pd.Series(arr, name=label)
        if len(value) != n:
            raise InputError(f"has {len(value)} values but x has {n}", column=name)
        out[name] = value
    return out


def take_rows(options: dict, rows: np.ndarray) -> dict:
    """The per-observation options restricted to the rows selected by the boolean ``rows``."""
    if rows.all():
        return options
    out = dict(options)
    for name in _PER_OBSERVATION:
        value = options.get(name)
        if value is not None:
            out[name] = value.iloc[rows]
    return out
