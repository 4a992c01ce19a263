"""Related clusters: for a region's strong clusters, which related clusters are present, strong
or missing there.

Relatedness comes from the USCM related-clusters table (Delgado, Porter & Stern 2016;
``clustermapping/cmp`` ``data/web/viz/json/relatedClusters.json``): a pair is related when
``rel_all_90_v3`` = 1, i.e. its composite between-cluster relatedness (co-location of
employment and establishments, input-output links, occupational similarity) is at or above
the 90th percentile of all traded-cluster pairs. USCM's ``loadRelatedClusters`` returns, for a
region, every traded cluster with its E, LQ and strong flags next to the related-cluster
network; this module produces that as a tidy table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clusteratlas.data import catalog
from clusteratlas.errors import DataUnavailableError, InputError, ParameterError
from clusteratlas.schema import require_columns

#: columns of :func:`related_clusters` (also when the region has no strong cluster).
RELATED_COLUMNS = [
    "region_type",
    "region_id",
    "year",
    "cluster_code",
    "cluster_name",
    "cluster_lq",
    "related_cluster_code",
    "related_cluster_name",
    "relatedness_pct",
    "emp",
    "lq",
    "strong",
    "status",
]


def load_related_pairs(
    path: str | Path | None = None, *, flag: str = "rel_all_90_v3"
) -> pd.DataFrame:
    """Related traded-cluster pairs (both directions), one row per (cluster, related cluster).

    Columns: cluster_code, related_cluster_code, related_cluster_name, relatedness (``cr_all``),
    relatedness_pct (``cr_all_pc``) plus the component percentiles (co-location of employment
    and establishments, input-output, occupation).
    """
    if path is None:
        path = catalog.shared_path("related_pairs")
        if path is None or not path.is_file():
            raise DataUnavailableError(
                "related-cluster table not found; pass path= to a copy of "
                f"{catalog.file_name('related_pairs')} "
                "(clustermapping/cmp data/web/viz/json/relatedClusters.json as CSV)"
            )
    raw = pd.read_csv(path, dtype={"clustera": str, "clusterb": str})
    require_columns(
        raw,
        ["clustera", "clusterb", "cluster_name_2", flag, "cr_all", "cr_all_pc"],
        what=f"related-cluster file {path}",
    )
    pairs = raw.loc[(raw[flag] == 1) & (raw["clustera"] != raw["clusterb"])]
    out = pd.DataFrame(
        {
            "cluster_code": pairs["clustera"].str.replace(r"\.0$", "", regex=True),
            "related_cluster_code": pairs["clusterb"].str.replace(r"\.0$", "", regex=True),
            "related_cluster_name": pairs["cluster_name_2"],
            "relatedness": pairs["cr_all"].astype(float),
            "relatedness_pct": pairs["cr_all_pc"].astype(float),
        }
    )
    for source, target in [
        ("cr_lcemp_pc", "colocation_emp_pct"),
        ("cr_lcest_pc", "colocation_est_pct"),
        ("cr_io_pc", "input_output_pct"),
        ("cr_occ_pc", "occupation_pct"),
    ]:
        if source in pairs.columns:
            out[target] = pairs[source].astype(float).to_numpy()
    # the JSON lists each pair once per direction already; keep both directions exactly once
    reverse = out.rename(
        columns={"cluster_code": "related_cluster_code", "related_cluster_code": "cluster_code"}
    )
    reverse["related_cluster_name"] = None
    both = pd.concat([out, reverse], ignore_index=True)
    both = both.drop_duplicates(["cluster_code", "related_cluster_code"], keep="first")
    return both.reset_index(drop=True)


def related_clusters(
    panel: pd.DataFrame,
    related: pd.DataFrame,
    *,
    region_id: str,
    year: int | None = None,
    region_type: str | None = None,
) -> pd.DataFrame:
    """For each strong cluster of the region, its related clusters and their status there.

    ``status`` is "strong" (the related cluster is strong in the region too), "present"
    (E > 0 but not strong) or "missing" (no employment): missing and weak related clusters of
    strong clusters are the usual candidates for cluster-development policy.
    """
    require_columns(
        panel,
        ["region_type", "region_id", "year", "cluster_code", "cluster_name", "emp", "lq", "strong"],
        what="cluster panel",
    )
    rows = panel.loc[panel["region_id"].astype(str) == str(region_id)]
    if region_type is not None:
        rows = rows.loc[rows["region_type"] == region_type]
    if rows.empty:
        raise InputError(f"region {region_id!r} is not in the panel")
    if rows["region_type"].nunique() > 1:
        raise ParameterError(
            "region_type",
            f"region id {region_id!r} exists for several region types; pick one",
            allowed=", ".join(sorted(rows["region_type"].unique())),
        )
    year = int(rows["year"].max()) if year is None else int(year)
    rows = rows.loc[rows["year"] == year]
    if rows.empty:
        raise ParameterError("year", f"no rows for region {region_id!r} in {year}")
    strong = rows.loc[rows["strong"], ["cluster_code", "cluster_name", "lq"]]
    if strong.empty:
        return pd.DataFrame(columns=RELATED_COLUMNS)
    links = strong.rename(columns={"lq": "cluster_lq"}).merge(related, on="cluster_code")
    info = rows.loc[:, ["cluster_code", "cluster_name", "emp", "lq", "strong"]].rename(
        columns={"cluster_code": "related_cluster_code", "cluster_name": "_name"}
    )
    links = links.merge(info, on="related_cluster_code", how="left")
    links["related_cluster_name"] = links["_name"].fillna(links["related_cluster_name"])
    links["emp"] = links["emp"].fillna(0.0)
    links["strong"] = links["strong"].astype("boolean").fillna(False).astype(bool)
    links["status"] = "missing"
    links.loc[links["emp"] > 0, "status"] = "present"
    links.loc[links["strong"], "status"] = "strong"
    links.insert(0, "year", year)
    links.insert(0, "region_id", str(region_id))
    links.insert(0, "region_type", rows["region_type"].iloc[0])
    return (
        links.loc[:, RELATED_COLUMNS]
        .sort_values(["cluster_code", "relatedness_pct"], ascending=[True, False])
        .reset_index(drop=True)
    )
