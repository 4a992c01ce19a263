"""Research-design rules read off a cluster panel: who counts as a "cluster region".

Owns :func:`treatment_from_panel` and :data:`TREATMENT_RULES`: the treatment indicator (or
intensity) of each region measured in a year before the shock, from its strong clusters, its
cluster strength or one cluster's location quotient; and :func:`cohort_from_panel`, the year
each region's cluster portfolio first turns strong under a rule (the cohort of a staggered
design). The DID estimators, the main job's study
and the Cho et al. replication all take treatment from here.
"""

from __future__ import annotations

import warnings

import pandas as pd

from clusteratlas.errors import DesignWarning, InputError, ParameterError, expected_warnings

TREATMENT_RULES = (
    "any_strong",
    "n_strong_at_least",
    "strength_quantile",
    "cluster_strong",
    "intensity",
)


def treatment_from_panel(
    panel: pd.DataFrame,
    rule: str = "any_strong",
    *,
    year: int,
    shock_year: int,
    quantile: float = 0.75,
    at_quantile: bool = False,
    min_strong: int = 1,
    cluster_code: str | None = None,
    region_type: str | None = None,
    require_both_groups: bool = False,
) -> pd.DataFrame:
    """Treatment indicator (or intensity) per region, measured in ``year`` before the shock.

    Parameters
    ----------
    panel
        A cluster panel (schema.CLUSTER_PANEL) or an already computed region summary
        (:func:`clusteratlas.panel.region_summary`, with ``cluster_strength`` and ``n_strong``).
    rule
        ``"any_strong"``: treated if the region has at least one strong traded cluster
        (Cho et al. 2024: "regions with industrial clusters"); ``"n_strong_at_least"``:
        treated if it has at least ``min_strong`` strong traded clusters;
        ``"strength_quantile"``: treated if cluster strength :math:`S_r` (share of traded
        employment in strong clusters, USCM ``str_emp_per``) exceeds its ``quantile``
        :math:`q` across regions, :math:`S_r > Q_q(S)` (:math:`S_r \\ge Q_q(S)` with
        ``at_quantile=True``); ``"cluster_strong"``: treated if cluster ``cluster_code`` is
        strong in the region; ``"intensity"``: continuous, the cluster strength (or, with
        ``cluster_code``, that cluster's location quotient).
    year, shock_year
        Treatment is measured in ``year`` which must be strictly before ``shock_year``, so the
        shock cannot have caused the treatment.
    require_both_groups
        A 0/1 rule that puts every region in one group warns by default; with ``True`` it
        raises :class:`~clusteratlas.errors.ParameterError` (a pipeline cannot go on).

    Returns a frame with ``region_type, region_id, measured_year`` and ``treated`` (0/1) or
    ``intensity``; the region-level rules also keep ``n_strong`` and ``cluster_strength``.
    """
    if rule not in TREATMENT_RULES:
        raise ParameterError("rule", f"unknown rule {rule!r}", allowed=", ".join(TREATMENT_RULES))
    if year >= shock_year:
        raise ParameterError(
            "year",
            f"treatment measured in {year} is not before the shock start {shock_year}; "
            "a treatment measured after the shock may itself be an outcome of the shock",
            allowed=f"a year < {shock_year}",
        )
    if not 0 < quantile < 1:
        raise ParameterError("quantile", f"{quantile} is not strictly between 0 and 1")
    if isinstance(min_strong, bool) or not isinstance(min_strong, int) or min_strong < 1:
        raise ParameterError("min_strong", f"must be a positive integer, got {min_strong!r}")
    for column in ("region_type", "region_id", "year"):
        if column not in panel.columns:
            raise InputError(f"panel has no column {column!r}")
    frame = panel.loc[panel["year"] == year]
    if region_type is not None:
        frame = frame.loc[frame["region_type"] == region_type]
    if frame.empty:
        years = sorted(panel["year"].unique().tolist())
        raise ParameterError("year", f"no panel rows for year {year}", allowed=str(years))
    if frame["region_type"].nunique() > 1:
        raise ParameterError(
            "region_type",
            "the panel mixes region types; choose one",
            allowed=", ".join(sorted(frame["region_type"].unique())),
        )
    keys = ["region_type", "region_id"]
    if rule == "cluster_strong" or (rule == "intensity" and cluster_code is not None):
        if cluster_code is None:
            raise ParameterError("cluster_code", f"rule {rule!r} needs a cluster_code")
        if "cluster_code" not in frame.columns:
            raise InputError("panel has no cluster_code column; pass the cluster panel")
        rows = frame.loc[frame["cluster_code"].astype(str) == str(cluster_code)]
        if rows.empty:
            raise ParameterError("cluster_code", f"cluster {cluster_code!r} not in the panel")
        regions = frame.loc[:, keys].drop_duplicates()
        column = "strong" if rule == "cluster_strong" else "lq"
        out = regions.merge(rows.loc[:, [*keys, column]], on=keys, how="left")
        if rule == "cluster_strong":
            out["treated"] = out[column].fillna(False).astype(bool).astype(int)
        else:
            # a region without the cluster has employment 0, hence LQ 0
            out["intensity"] = out[column].astype(float).fillna(0.0)
        out = out.drop(columns=column)
    else:
        if "cluster_strength" in frame.columns and "n_strong" in frame.columns:
            summary = frame
        else:
            from clusteratlas.panel.metrics import region_summary

            summary = region_summary(frame)
        out = summary.loc[:, [*keys, "n_strong", "cluster_strength"]].copy()
        strength = out["cluster_strength"].astype(float)
        if rule == "any_strong":
            out["treated"] = (out["n_strong"] > 0).astype(int)
        elif rule == "n_strong_at_least":
            out["treated"] = (out["n_strong"] >= min_strong).astype(int)
        elif rule == "strength_quantile":
            if strength.isna().any():
                raise InputError(
                    f"cluster_strength is missing for {int(strength.isna().sum())} regions in "
                    f"{year} (no traded employment)",
                    column="cluster_strength",
                )
            cut = strength.quantile(quantile)
            above = strength >= cut if at_quantile else strength > cut
            out["treated"] = above.astype(int)
        else:
            if strength.isna().any():
                raise InputError(
                    "cluster_strength is missing for some regions", column="cluster_strength"
                )
            out["intensity"] = strength
            out = out.drop(columns=["n_strong", "cluster_strength"])
    out.insert(2, "measured_year", int(year))
    if "treated" in out.columns and out["treated"].nunique() < 2:
        problem = (
            f"rule {rule!r} in {year} puts all {len(out)} regions in the same group "
            f"(treated = {int(out['treated'].iloc[0])}); a DID needs both groups"
        )
        if require_both_groups:
            raise ParameterError("rule", problem, allowed="another rule or threshold")
        warnings.warn(problem, category=DesignWarning, stacklevel=2)
    return out.reset_index(drop=True)


def cohort_from_panel(
    panel: pd.DataFrame,
    rule: str = "any_strong",
    *,
    years: list[int] | None = None,
    region_type: str | None = None,
    **rule_options: object,
) -> pd.DataFrame:
    """First year each region is treated under a 0/1 rule: the cohort of a staggered design.

    The rule of :func:`treatment_from_panel` (``quantile``, ``min_strong``, ``cluster_code``
    ... in ``rule_options``) is applied to every panel year (or ``years``); a region's cohort
    is the first year it holds, and treatment is taken as absorbing from then on (a region
    that later falls below the threshold stays treated, as the staggered DID estimators
    assume). Regions never treated get ``first_treated = 0`` (the estimators' never-treated
    code); regions already treated in the first year are kept with that year, and the
    estimators drop them (no pre-treatment year). Returns ``region_type, region_id,
    first_treated``, ready to merge onto the outcome panel as the ``cohort`` column.
    """
    if rule == "intensity":
        raise ParameterError("rule", "a cohort needs a 0/1 rule", allowed="any rule but intensity")
    if "year" not in panel.columns:
        raise InputError("panel has no column 'year'")
    chosen = sorted(panel["year"].unique().tolist()) if years is None else sorted(years)
    pieces = []
    # a single year with one group (no region treated yet, or all) is normal in a cohort scan;
    # treatment_from_panel warns DesignWarning for it, which means nothing here
    with expected_warnings(DesignWarning):
        for year in chosen:
            out = treatment_from_panel(
                panel,
                rule,
                year=int(year),
                shock_year=int(year) + 1,
                region_type=region_type,
                **rule_options,  # type: ignore[arg-type]
            )
            pieces.append(out.loc[:, ["region_type", "region_id", "measured_year", "treated"]])
    yearly = pd.concat(pieces, ignore_index=True)
    first = (
        yearly.loc[yearly["treated"] == 1]
        .groupby(["region_type", "region_id"])["measured_year"]
        .min()
        .rename("first_treated")
    )
    regions = yearly.loc[:, ["region_type", "region_id"]].drop_duplicates()
    out = regions.merge(first.reset_index(), on=["region_type", "region_id"], how="left")
    out["first_treated"] = out["first_treated"].fillna(0).astype(int)
    return out.sort_values(["region_type", "region_id"]).reset_index(drop=True)
