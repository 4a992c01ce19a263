"""Cluster definitions: which industry belongs to which cluster, for every NAICS vintage.

Owns the US Cluster Mapping (USCM) benchmark definitions of Delgado, Porter & Stern (2016)
(51 traded clusters "1".."51", 16 local clusters "101".."116"), user-defined cluster
definitions for any country (:func:`read_definition_csv`), the USCM rule that picks the NAICS
vintage of a CBP year (:func:`naics_vintage_for_year`), the Census NAICS 2012 -> 2017
concordance (:func:`read_naics_2012_2017`, :func:`crosswalk_definition`), the related-cluster
pairs table (:func:`read_related_pairs`) and an accounting helper that says which industries
of a counts table a definition covers (:func:`cluster_coverage`).

Every definition is returned as :data:`clusteratlas.schema.CLUSTER_DEFINITIONS`: one row per
(definition, naics_vintage, naics), cluster codes as strings.
"""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from clusteratlas.data import catalog, guard
from clusteratlas.errors import DataUnavailableError, InputError, ParameterError
from clusteratlas.schema import CLUSTER_DEFINITIONS, conform

#: Definition, concordance and relatedness files are small (the USCM ones 0.1-0.5 MB: one row
#: per industry or cluster pair); 64 MiB leaves room for any country's code list.
LIMITS = guard.Limits(max_bytes=64 * guard.MiB, max_line_bytes=64 * guard.KiB, max_columns=200)

#: NAICS vintages for which the USCM definitions exist.
USCM_VINTAGES = (1997, 2002, 2007, 2012, 2017)

#: the USCM files of a clusters folder, by their key in :mod:`clusteratlas.data.catalog`
_USCM_FILES = {
    2012: "definitions_2012",
    2017: "definitions_2017",
    "json": "cluster_library",
    "concordance": "naics_concordance",
    "related": "related_pairs",
}


def naics_vintage_for_year(year: int) -> int:
    """NAICS vintage of a CBP reference year, by the USCM rule (``_naics_year`` in cmp).

    before 2003 -> 1997, 2003-2007 -> 2002, 2008-2012 -> 2007, 2013-2016 -> 2012,
    2017 on -> 2017.

    Note that Census itself published CBP 2012 on NAICS 2012; USCM kept 2012 on the 2007
    codes (its crosswalk covers the overlap). We follow USCM so that panels reproduce it.
    """
    year = int(year)
    if year < 1998:
        raise ParameterError(
            "year", f"{year} predates NAICS-based CBP (1998)", allowed="1998 or later"
        )
    if year < 2003:
        return 1997
    if year < 2008:
        return 2002
    if year < 2013:
        return 2007
    if year < 2017:
        return 2012
    return 2017


def census_naics_vintage(year: int) -> int:
    """NAICS vintage Census used to publish CBP ``year`` (differs from USCM only for 2012)."""
    year = int(year)
    if year == 2012:
        return 2012
    return naics_vintage_for_year(year)


def _clusters_dir(path: str | Path | None) -> Path:
    if path is not None:
        return Path(path)
    default = catalog.shared_path(_USCM_FILES[2012])
    if default is None:
        raise DataUnavailableError(
            "the US Cluster Mapping definition files are not available: expected "
            "../shared/data/clusters beside the checkout (or CLUSTERATLAS_DATA); pass path= "
            f"to a folder holding {catalog.file_name(_USCM_FILES[2012])}"
        )
    return default.parent


def _read(path: Path, **kwargs) -> pd.DataFrame:
    """A definition-sized CSV, read under :data:`LIMITS`."""
    return guard.read_csv(path, what="cluster definition file", limits=LIMITS, **kwargs)


def _file(folder: Path, key: object) -> Path:
    target = folder / catalog.file_name(_USCM_FILES[key])  # type: ignore[index]
    if not target.exists():
        raise DataUnavailableError(f"cluster definition file {target} not found")
    return target


def load_definition(
    name: str = "uscm", naics_vintage: int = 2012, path: str | Path | None = None
) -> pd.DataFrame:
    """A cluster definition as :data:`~clusteratlas.schema.CLUSTER_DEFINITIONS`.

    ``name="uscm"`` gives the USCM benchmark definitions for ``naics_vintage`` 1997, 2002,
    2007, 2012 or 2017 (``path`` may point at a folder holding the USCM files). Any other
    ``name`` is read as a user CSV from ``path`` (see :func:`read_definition_csv`).

    Sources (files by their :mod:`~clusteratlas.data.catalog` key): 2012 =
    ``definitions_2012`` (978 industries, with subclusters); 2017 = ``definitions_2017``
    (970 mapped industries;
    the 87 unmapped 2017 codes are left out, :func:`cluster_coverage` reports them);
    1997/2002/2007 = the ``naics_{vintage}`` lists of the clustermapping.us API dump (the
    subcluster is filled from the 2012 file where the code is unchanged, else left empty).
    """
    if name != "uscm":
        if path is None:
            raise ParameterError("path", f"definition {name!r} is not built in; give its CSV")
        return read_definition_csv(path, definition=name, naics_vintage=naics_vintage)
    if naics_vintage not in USCM_VINTAGES:
        raise ParameterError(
            "naics_vintage",
            f"{naics_vintage!r} has no USCM definition",
            allowed="1997, 2002, 2007, 2012, 2017",
        )
    folder = _clusters_dir(path)
    if naics_vintage == 2012:
        raw = _read(_file(folder, 2012), dtype=str, keep_default_na=False)
        frame = pd.DataFrame(
            {
                "naics": raw["naics2012"],
                "cluster_code": raw["cluster_code"],
                "cluster_name": raw["cluster_name"],
                "traded": raw["traded"].map({"1": True, "0": False}),
                "subcluster_code": raw["subcluster_code"].replace("", pd.NA),
                "subcluster_name": raw["subcluster_name"].replace("", pd.NA),
            }
        )
    elif naics_vintage == 2017:
        raw = _read(_file(folder, 2017), dtype=str, keep_default_na=False)
        raw = raw[raw["cluster_code"] != ""]
        frame = pd.DataFrame(
            {
                "naics": raw["naics2017"],
                "cluster_code": raw["cluster_code"],
                "cluster_name": raw["cluster_name"],
                "traded": raw["traded"].map({"1": True, "0": False}),
                "subcluster_code": raw["subcluster_code"].replace("", pd.NA),
                "subcluster_name": raw["subcluster_name"].replace("", pd.NA),
            }
        )
    else:
        frame = _uscm_from_api_dump(folder, naics_vintage)
    frame.insert(0, "definition", "uscm")
    frame.insert(1, "naics_vintage", naics_vintage)
    frame = conform(frame.reset_index(drop=True), CLUSTER_DEFINITIONS, what="USCM definition")
    _validate(frame, path=str(folder), lines=None)
    return frame


def load_definitions_for(
    counts: pd.DataFrame, name: str = "uscm", path: str | Path | None = None
) -> pd.DataFrame:
    """The definition for every NAICS vintage present in ``counts`` (schema INDUSTRY_COUNTS).

    Counts carry the vintage Census published them in (CBP 2012 is NAICS 2012), so a panel
    spanning 2010-2021 gets the 2007, 2012 and 2017 definitions stacked, ready to join on
    ``(naics_vintage, naics)``. (USCM itself read CBP 2012 with its 2007 lists; the codes
    that differ are few, and joining on the published vintage maps all of them.)
    """
    vintages = sorted(int(v) for v in pd.unique(counts["naics_vintage"]))
    frames = [load_definition(name, naics_vintage=v, path=path) for v in vintages]
    return pd.concat(frames, ignore_index=True) if frames else load_definition(name, 2017, path)


def _uscm_from_api_dump(folder: Path, vintage: int) -> pd.DataFrame:
    dump = _file(folder, "json")
    try:
        records = guard.read_json(
            dump, what="clustermapping.us API dump", max_bytes=LIMITS.max_bytes
        )["clusters"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise InputError(
            f"not the clustermapping.us cluster library dump ({type(error).__name__}: {error})",
            path=str(dump),
        ) from None
    sub2012 = _read(_file(folder, 2012), dtype=str, keep_default_na=False).set_index("naics2012")
    rows = []
    for record in records:
        for code in record[f"naics_{vintage}"]:
            sub = sub2012.loc[code] if code in sub2012.index else None
            same_cluster = sub is not None and sub["cluster_code"] == record["cluster_code_t"]
            rows.append(
                {
                    "naics": code,
                    "cluster_code": str(record["cluster_code_t"]),
                    "cluster_name": record["name_t"],
                    "traded": bool(record["traded_b"]),
                    "subcluster_code": (sub["subcluster_code"] or pd.NA) if same_cluster else pd.NA,
                    "subcluster_name": (sub["subcluster_name"] or pd.NA) if same_cluster else pd.NA,
                }
            )
    return pd.DataFrame(rows).sort_values(["cluster_code", "naics"], key=_natural)


def _natural(column: pd.Series) -> pd.Series:
    return column.map(lambda v: (len(v), v)) if column.name == "cluster_code" else column


_TRUE = {"1", "true", "t", "yes", "y", "traded"}
_FALSE = {"0", "false", "f", "no", "n", "local"}


def read_definition_csv(
    path: str | Path, *, definition: str | None = None, naics_vintage: int | None = None
) -> pd.DataFrame:
    """Read a user-defined cluster definition (any country, any industry code system).

    Columns (header names are case-insensitive): ``naics`` (or ``industry``/``industry_code``;
    codes of any length and alphabet, e.g. 6-digit NAICS, 4-digit NACE "C10.1"),
    ``cluster_code``, ``cluster_name``, and optionally ``traded`` (1/0, true/false,
    traded/local; default traded), ``naics_vintage`` (else the argument; 0 for code systems
    without vintages), ``definition`` (else the argument or the file stem),
    ``subcluster_code``, ``subcluster_name``.

    Rules checked, each failure an :class:`InputError` naming file, line and column: codes are
    non-empty, an industry appears in one cluster only per vintage, and a cluster code has one
    name and one traded flag.
    """
    path = Path(path)
    raw = _read(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    raw = raw.rename(columns={"industry": "naics", "industry_code": "naics", "code": "naics"})
    for needed in ("naics", "cluster_code", "cluster_name"):
        if needed not in raw.columns:
            raise InputError(
                f"missing column {needed!r}",
                path=str(path),
                line=1,
                column=needed,
                hint=f"the header has {', '.join(raw.columns)}; a definition needs naics, "
                "cluster_code, cluster_name (optionally traded, naics_vintage, subcluster_code, "
                "subcluster_name)",
            )
    lines = pd.Series(range(2, len(raw) + 2), index=raw.index)
    for column in ("naics", "cluster_code", "cluster_name"):
        raw[column] = raw[column].str.strip()
        empty = raw[column] == ""
        if empty.any():
            raise InputError(
                "empty value", path=str(path), line=int(lines[empty].iloc[0]), column=column
            )
    if "traded" in raw.columns:
        flag = raw["traded"].str.strip().str.lower()
        bad = ~flag.isin(_TRUE | _FALSE)
        if bad.any():
            raise InputError(
                f"traded must be 1/0, true/false or traded/local, got {raw['traded'][bad].iloc[0]!r}",
                path=str(path),
                line=int(lines[bad].iloc[0]),
                column="traded",
            )
        traded = flag.isin(_TRUE)
    else:
        traded = pd.Series(True, index=raw.index)
    if "naics_vintage" in raw.columns:
        # digits only: "2012.7", "inf" or a 20-digit number must not become some other year
        text = raw["naics_vintage"].str.strip()
        bad = ~text.str.fullmatch(r"0|\d{4}")
        if bad.any():
            raise InputError(
                f"naics_vintage must be a 4-digit year (or 0 for unversioned codes), got "
                f"{text[bad].iloc[0]!r}",
                path=str(path),
                line=int(lines[bad].iloc[0]),
                column="naics_vintage",
            )
        vintage = text.astype("int64")
    elif naics_vintage is not None:
        if isinstance(naics_vintage, bool) or not (
            isinstance(naics_vintage, numbers.Integral)
            and (naics_vintage == 0 or 1000 <= naics_vintage <= 9999)
        ):
            raise ParameterError(
                "naics_vintage",
                f"{naics_vintage!r} is not a NAICS year",
                allowed="a 4-digit year such as 2017, or 0 for a code system without vintages",
            )
        vintage = pd.Series(int(naics_vintage), index=raw.index)
    else:
        raise ParameterError(
            "naics_vintage",
            f"{path} has no naics_vintage column; say which vintage its codes are",
            allowed="a NAICS year such as 2017, or 0 for a national code system without vintages",
        )
    name = definition or (raw["definition"] if "definition" in raw.columns else path.stem)
    frame = pd.DataFrame(
        {
            "definition": name,
            "naics_vintage": vintage.astype("int64"),
            "naics": raw["naics"],
            "cluster_code": raw["cluster_code"],
            "cluster_name": raw["cluster_name"],
            "traded": traded,
            "subcluster_code": raw.get("subcluster_code", pd.Series(pd.NA, index=raw.index)),
            "subcluster_name": raw.get("subcluster_name", pd.Series(pd.NA, index=raw.index)),
        }
    ).replace({"subcluster_code": {"": pd.NA}, "subcluster_name": {"": pd.NA}})
    frame = conform(frame, CLUSTER_DEFINITIONS, what=f"cluster definition {path}")
    _validate(frame, path=str(path), lines=lines)
    return frame


def _validate(frame: pd.DataFrame, *, path: str, lines: pd.Series | None) -> None:
    """One cluster per industry per vintage; one name and traded flag per cluster code."""

    def line_of(mask: pd.Series) -> int | None:
        return int(lines[mask].iloc[1 if mask.sum() > 1 else 0]) if lines is not None else None

    dup = frame.duplicated(["definition", "naics_vintage", "naics"], keep=False)
    if dup.any():
        code = frame.loc[dup, "naics"].iloc[0]
        clusters = sorted(frame.loc[dup & (frame["naics"] == code), "cluster_code"].unique())
        raise InputError(
            f"industry {code} appears more than once (clusters {', '.join(clusters)})",
            path=path,
            line=line_of(dup & (frame["naics"] == code)),
            column="naics",
            hint="each industry code may belong to one cluster per vintage",
        )
    for column in ("cluster_name", "traded"):
        per_code = frame.groupby(["definition", "naics_vintage", "cluster_code"])[column].nunique()
        clash = per_code[per_code > 1]
        if len(clash):
            code = clash.index[0][2]
            mask = frame["cluster_code"] == code
            values = ", ".join(map(str, frame.loc[mask, column].unique()))
            raise InputError(
                f"cluster {code} has more than one {column} ({values})",
                path=path,
                line=line_of(mask & (frame[column] != frame.loc[mask, column].iloc[0])),
                column=column,
                hint="a cluster code must carry one name and one traded flag",
            )


# -- NAICS 2012 -> 2017 -----------------------------------------------------------------------
def read_naics_2012_2017(path: str | Path | None = None) -> pd.DataFrame:
    """The Census NAICS 2012 -> 2017 concordance as ``naics2012, naics2017, title2012, title2017``.

    A 2012 code split across several 2017 codes (or several merged into one) gives several
    rows. ``path`` is the file itself, or ``None`` for the shared copy.
    """
    file = Path(path) if path is not None else _file(_clusters_dir(None), "concordance")
    raw = _read(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    columns = list(raw.columns)
    if len(columns) < 4 or "2012" not in columns[0] or "2017" not in columns[2]:
        raise InputError(
            "not a Census 2012->2017 NAICS concordance",
            path=str(file),
            line=1,
            hint="expected columns '2012 NAICS Code', '2012 NAICS Title', '2017 NAICS Code', ...",
        )
    frame = pd.DataFrame(
        {
            "naics2012": raw.iloc[:, 0].str.strip(),
            "naics2017": raw.iloc[:, 2].str.strip(),
            "title2012": raw.iloc[:, 1].str.strip(),
            "title2017": raw.iloc[:, 3].str.strip(),
        }
    )
    frame = frame[(frame["naics2012"] != "") & (frame["naics2017"] != "")]
    bad = ~(frame["naics2012"].str.fullmatch(r"\d{6}") & frame["naics2017"].str.fullmatch(r"\d{6}"))
    if bad.any():
        row = frame.index[bad][0]
        raise InputError("NAICS codes must have 6 digits", path=str(file), line=int(row) + 2)
    return frame.drop_duplicates(["naics2012", "naics2017"]).reset_index(drop=True)


def crosswalk_definition(
    definition: pd.DataFrame, concordance: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Carry a NAICS-2012 definition to NAICS 2017 through the Census concordance.

    A 2017 code takes the cluster of its 2012 source codes. Returns ``(definition_2017,
    problems)``: ``problems`` lists 2017 codes whose sources sit in more than one cluster
    (``reason="ambiguous"``, left out) or in none (``reason="unmapped"``).
    """
    base = definition[definition["naics_vintage"] == 2012]
    joined = concordance.merge(base, left_on="naics2012", right_on="naics", how="left")
    clusters = joined.groupby("naics2017")["cluster_code"].agg(lambda s: sorted(set(s.dropna())))
    problems = pd.DataFrame(
        {
            "naics2017": clusters.index,
            "reason": [
                "unmapped" if not c else "ambiguous" if len(c) > 1 else "" for c in clusters
            ],
        }
    )
    problems = problems[problems["reason"] != ""].reset_index(drop=True)
    keep = joined[~joined["naics2017"].isin(problems["naics2017"]) & joined["cluster_code"].notna()]
    # the subcluster follows the first source industry (sources share the cluster by construction)
    keep = keep.sort_values(["naics2017", "naics2012"]).drop_duplicates("naics2017")
    out = keep.assign(naics=keep["naics2017"], naics_vintage=2017)
    out = conform(out.reset_index(drop=True), CLUSTER_DEFINITIONS, what="crosswalked definition")
    return out, problems


# -- related clusters -------------------------------------------------------------------------
def read_related_pairs(path: str | Path | None = None) -> pd.DataFrame:
    """USCM related-cluster pairs (Delgado, Porter & Stern 2016) as a tidy table.

    One row per ordered pair of distinct traded clusters: ``cluster_code``,
    ``related_cluster_code``, names, ``related`` (overall relatedness at or above the 90th
    percentile, ``rel_all_90_v3``), ``related_i20_avg``/``related_i20_min``, the composite
    ``relatedness`` (``cr_all``) and its percentile, and the component percentiles:
    co-location of employment (``colocation_emp_pct``), of establishments
    (``colocation_est_pct``), input-output links (``io_pct``) and occupational similarity
    (``occupation_pct``).
    """
    file = Path(path) if path is not None else _file(_clusters_dir(None), "related")
    raw = _read(file, dtype={"clustera": str, "clusterb": str})
    needed = ["clustera", "clusterb", "cluster_name", "cluster_name_2", "rel_all_90_v3", "cr_all"]
    for column in needed:
        if column not in raw.columns:
            raise InputError(f"missing column {column!r}", path=str(file), line=1, column=column)
    pairs = pd.DataFrame(
        {
            "cluster_code": raw["clustera"].astype(str),
            "cluster_name": raw["cluster_name"],
            "related_cluster_code": raw["clusterb"].astype(str),
            "related_cluster_name": raw["cluster_name_2"],
            "related": raw["rel_all_90_v3"].fillna(0).astype(int).astype(bool),
            "related_i20_avg": raw["rel_i20_all_avg_90_v3"].fillna(0).astype(int).astype(bool),
            "related_i20_min": raw["rel_i20_all_min_90_v3"].fillna(0).astype(int).astype(bool),
            "relatedness": raw["cr_all"].astype(float),
            "relatedness_pct": raw["cr_all_pc"].astype(float),
            "colocation_pct": raw["cr_lc_pc"].astype(float),
            "colocation_emp_pct": raw["cr_lcemp_pc"].astype(float),
            "colocation_est_pct": raw["cr_lcest_pc"].astype(float),
            "io_pct": raw["cr_io_pc"].astype(float),
            "occupation_pct": raw["cr_occ_pc"].astype(float),
        }
    )
    pairs = pairs[pairs["cluster_code"] != pairs["related_cluster_code"]]
    dup = pairs.duplicated(["cluster_code", "related_cluster_code"])
    if dup.any():
        raise InputError(
            f"pair {tuple(pairs.loc[dup, ['cluster_code', 'related_cluster_code']].iloc[0])} repeated",
            path=str(file),
            line=int(pairs.index[dup][0]) + 2,
        )
    return pairs.reset_index(drop=True)


# -- coverage accounting ----------------------------------------------------------------------
@dataclass
class ClusterCoverage:
    """How a counts table splits between industries a definition covers and those it does not.

    ``mapped`` is the counts with cluster columns attached; ``unmapped`` lists every industry
    with no cluster and its employment, so ``mapped.emp.sum() + unmapped.emp.sum()`` equals
    the input total exactly.
    """

    mapped: pd.DataFrame
    unmapped: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        total = self.mapped["emp"].sum() + self.unmapped["emp"].sum()
        return pd.DataFrame(
            {
                "industries": [self.mapped["naics"].nunique(), self.unmapped["naics"].nunique()],
                "emp": [self.mapped["emp"].sum(), self.unmapped["emp"].sum()],
                "emp_share": [
                    self.mapped["emp"].sum() / total if total else float("nan"),
                    self.unmapped["emp"].sum() / total if total else float("nan"),
                ],
            },
            index=pd.Index(["mapped", "unmapped"], name="status"),
        )


def cluster_coverage(counts: pd.DataFrame, definition: pd.DataFrame) -> ClusterCoverage:
    """Attach clusters to ``counts`` (schema INDUSTRY_COUNTS) on (naics_vintage, naics).

    Rows whose vintage the definition lacks entirely are an error (a 2012-coded file through
    a 2017 definition would silently map almost nothing).
    """
    missing = set(counts["naics_vintage"].unique()) - set(definition["naics_vintage"].unique())
    if missing:
        raise ParameterError(
            "definition",
            f"has no industries for NAICS vintage(s) {sorted(missing)} used by the counts",
            allowed=", ".join(map(str, sorted(definition["naics_vintage"].unique()))),
        )
    columns = ["naics_vintage", "naics", "cluster_code", "cluster_name", "traded"]
    joined = counts.merge(definition[columns], on=["naics_vintage", "naics"], how="left")
    if len(joined) != len(counts):
        raise InputError("definition maps an industry to several clusters")
    is_mapped = joined["cluster_code"].notna()
    mapped = joined[is_mapped].reset_index(drop=True)
    unmapped = joined.loc[~is_mapped, counts.columns].reset_index(drop=True)
    return ClusterCoverage(mapped=mapped, unmapped=unmapped)
