"""The one result base class and the one tidy-table vocabulary of every estimator.

Owns :class:`Result` (what every result object of the package can do: ``summary()``,
``tidy()``, ``to_frame()``, ``to_csv()``, ``to_latex()``, ``to_html()``, ``export()``, and
``_repr_html_`` for notebooks, written once here), :class:`EstimatorResult` (a result whose
``tidy()`` speaks the estimate vocabulary below), the vocabulary itself
(:data:`TIDY_COLUMNS`), the normal-approximation table builder :func:`normal_table`, and the
deprecation shims of the old spellings (:class:`TidyFrame`, :func:`resolve_alpha`).

The vocabulary (broom / pyfixest names), one row per term, horizon, cutoff or grid point:

=============  ==========================================================================
``term``       what the row estimates (coefficient name, ``rel_p0``, ``Robust``, ``M=0.5``)
``estimate``   the point estimate :math:`\\hat\\theta`
``std_error``  its standard error :math:`\\widehat{se}` (NaN when the method has none)
``statistic``  the test statistic of :math:`H_0: \\theta = 0` (z or t; NaN when none)
``p_value``    its two-sided p-value
``conf_low``   lower end of the :math:`100(1-\\alpha)\\%` confidence interval (or set)
``conf_high``  upper end
=============  ==========================================================================

These seven come first, in this order; an estimator may add columns after them (bandwidths,
event time, weights...), each listed in its class's :attr:`EstimatorResult.tidy_extras`.
Every confidence level is given as ``alpha`` (0.05 = 95% intervals).

Old spellings (``ci_lower``/``ci_upper``, ``z``, ``method`` in RD; ``boot_conf_low`` in the
wild bootstrap; ``lb``/``ub`` in HonestDiD; ``level=95``) still work for one release and raise
a :class:`DeprecatedNameWarning` that names the new spelling.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from clusteratlas import atomic, tables
from clusteratlas.errors import DeprecatedNameWarning, ParameterError

#: the estimate vocabulary, in order: the first columns of every estimator's ``tidy()``
TIDY_COLUMNS: tuple[str, ...] = (
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
)


def warn_renamed(old: str, new: str, where: str, stacklevel: int = 3) -> None:
    """Warn once per call that ``old`` (in ``where``) is now spelled ``new``."""
    warnings.warn(
        f"{where}: {old!r} is deprecated and will be removed in the next release; use {new!r}",
        DeprecatedNameWarning,
        stacklevel=stacklevel,
    )


def resolve_alpha(alpha: float, level: float | None, where: str) -> float:
    """The significance level from ``alpha``, or from a deprecated percent ``level`` (95 -> 0.05).

    ``alpha`` must lie in (0, 1); ``level`` (when given) in (0, 100).
    """
    if level is not None:
        warn_renamed("level", "alpha", where, stacklevel=4)
        if not 0 < level < 100:
            raise ParameterError("level", f"must be in (0, 100), got {level}")
        alpha = 1 - level / 100
    if not 0 < alpha < 1:
        raise ParameterError("alpha", f"must be in (0, 1), got {alpha} (0.05 = 95% intervals)")
    return float(alpha)


class TidyFrame(pd.DataFrame):
    """A tidy table that still answers to the old names of its columns, with a warning.

    ``frame["ci_lower"]`` returns ``frame["conf_low"]`` and raises a
    :class:`DeprecatedNameWarning`; everything else is a plain :class:`pandas.DataFrame`
    (derived frames are plain frames; ``.loc`` and ``in`` know only the new names).
    """

    _metadata: ClassVar[list[str]] = ["_aliases", "_owner"]

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _current(self, key: Any) -> Any:
        """The column name for ``key``: itself, or the new name of a deprecated one (warns)."""
        aliases: Mapping[str, str] = getattr(self, "_aliases", None) or {}
        if isinstance(key, str) and key in aliases and key not in self.columns:
            warn_renamed(key, aliases[key], getattr(self, "_owner", "tidy()"), stacklevel=4)
            return aliases[key]
        return key

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, list):
            return super().__getitem__([self._current(k) for k in key])
        return super().__getitem__(self._current(key))


def with_aliases(frame: pd.DataFrame, aliases: Mapping[str, str], owner: str) -> pd.DataFrame:
    """``frame`` as a :class:`TidyFrame` that maps the old names in ``aliases`` (old -> new)."""
    out = TidyFrame(frame)
    out._aliases = dict(aliases)
    out._owner = owner
    return out


def normal_table(
    terms: Iterable[Any], estimates: Any, ses: Any, alpha: float = 0.05
) -> pd.DataFrame:
    """Tidy table with z statistics, two-sided normal p-values and normal CIs.

    :math:`z = \\hat\\theta / se`, :math:`p = 2(1 - \\Phi(|z|))`,
    :math:`\\hat\\theta \\pm \\Phi^{-1}(1 - \\alpha/2)\\, se`.
    """
    estimates = np.asarray(estimates, dtype=float)
    ses = np.asarray(ses, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = estimates / ses
    crit = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame(
        {
            "term": list(terms),
            "estimate": estimates,
            "std_error": ses,
            "statistic": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
            "conf_low": estimates - crit * ses,
            "conf_high": estimates + crit * ses,
        }
    )


def vocabulary_frame(frame: pd.DataFrame, extras: Iterable[str] = ()) -> pd.DataFrame:
    """``frame`` with the vocabulary columns first (missing ones NaN), then ``extras`` present."""
    out = frame.copy()
    for col in TIDY_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan
    rest = [c for c in extras if c in out.columns and c not in TIDY_COLUMNS]
    return out[[*TIDY_COLUMNS, *rest]].reset_index(drop=True)


class Result:
    """What every result object does: text summary, tidy table, and its exports.

    Subclasses implement :meth:`tidy` (and usually :meth:`summary` and :attr:`caption`);
    the exports below all write the tidy table, so a result is exported the same way whatever
    the estimator. Writes are atomic.
    """

    @property
    def caption(self) -> str:
        """A one-line name of the result: the caption of exported tables."""
        return type(self).__name__

    def tidy(self) -> pd.DataFrame:  # pragma: no cover - every subclass overrides
        raise NotImplementedError(f"{type(self).__name__} has no tidy table")

    def summary(self) -> str:
        """A plain-text summary (default: the caption and the tidy table)."""
        return "\n".join([self.caption, self._table_text(self.tidy())])

    @staticmethod
    def _table_text(frame: pd.DataFrame) -> str:
        return pd.DataFrame(frame).to_string(index=False, float_format=lambda v: f"{v:.6g}")

    def __str__(self) -> str:
        return self.summary()

    def to_frame(self) -> pd.DataFrame:
        """The tidy table as a plain :class:`pandas.DataFrame` (a copy)."""
        return pd.DataFrame(self.tidy()).copy()

    def _write(self, text: str, path: str | Path | None) -> str:
        if path is not None:
            atomic.write_text(Path(path), text)
        return text

    def to_csv(self, path: str | Path | None = None) -> str:
        """The tidy table as CSV text; also written (atomically) to ``path`` when given."""
        return self._write(self.to_frame().to_csv(index=False), path)

    def to_latex(self, path: str | Path | None = None) -> str:
        """The tidy table as a LaTeX tabular with :attr:`caption`; written to ``path`` if given."""
        return self._write(tables.to_latex(self.to_frame(), self.caption), path)

    def to_html(self, path: str | Path | None = None) -> str:
        """The tidy table as an HTML figure with :attr:`caption`; written to ``path`` if given."""
        return self._write(tables.to_html(self.to_frame(), self.caption), path)

    def _repr_html_(self) -> str:
        return self.to_html()

    def export(self, stem: str | Path, formats: Iterable[str] = tables.FORMATS) -> list[Path]:
        """Write the tidy table to ``stem.csv`` / ``.tex`` / ``.html`` (atomic); the paths."""
        return tables.export(self.to_frame(), stem, formats=formats, caption=self.caption)


class EstimatorResult(Result):
    """A result whose :meth:`tidy` has the :data:`TIDY_COLUMNS` first, then :attr:`tidy_extras`.

    :attr:`tidy_renamed` maps the old column names of this estimator to the new ones; the
    table :meth:`tidy` returns still answers to them (with a :class:`DeprecatedNameWarning`).
    """

    #: estimator-specific columns allowed after the vocabulary, in order
    tidy_extras: ClassVar[tuple[str, ...]] = ()
    #: old column name -> vocabulary name (accepted with a warning for one release)
    tidy_renamed: ClassVar[dict[str, str]] = {}

    def _tidy(self) -> pd.DataFrame:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def tidy(self) -> pd.DataFrame:
        """One row per term: :data:`TIDY_COLUMNS`, then :attr:`tidy_extras` (module docstring)."""
        frame = vocabulary_frame(self._tidy(), self.tidy_extras)
        if not self.tidy_renamed:
            return frame
        return with_aliases(frame, self.tidy_renamed, f"{type(self).__name__}.tidy()")
