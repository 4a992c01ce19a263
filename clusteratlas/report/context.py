"""What every section of the report reads once: names, years, the panel slices, peers, windows.

Owns :class:`Context` (built from the store by :func:`context`) and the small look-ups the
sections share: region names, the shock and recovery windows of an outcome, a shock's name,
the "not possible" rows of ``run_provenance`` for a stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from clusteratlas.report import labels
from clusteratlas.report.blocks import Builder

if TYPE_CHECKING:
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience

#: the shock the report's single-shock tables show; run_* tables with a ``shock`` column may
#: hold others (the Great Recession), shown beside them by :func:`split_shocks`
MAIN_SHOCK = "COVID-19"


def split_shocks(frame: pd.DataFrame | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """(rows of the main shock, rows of the other shocks or None) of a run table; every row
    is main when the table has no ``shock`` column or one shock."""
    if frame is None or "shock" not in frame.columns or frame["shock"].nunique() <= 1:
        return frame, None
    main = MAIN_SHOCK if (frame["shock"] == MAIN_SHOCK).any() else frame["shock"].iloc[0]
    return frame.loc[frame["shock"] == main], frame.loc[frame["shock"] != main]


#: region-type words in sentences
LEVEL_WORDS = {
    "state": ("state", "states"),
    "county": ("county", "counties"),
    "msa": ("metro area", "metro areas"),
    "economic_area": ("economic area", "economic areas"),
}


@dataclass
class Context:
    """The run's facts every section needs, read from the store once."""

    p: ClusterResilience
    store: Store
    b: Builder
    names: dict[str, str]
    base: int
    last: int
    panel: pd.DataFrame  # cluster_panel of the study's region type, base and last year
    summary: pd.DataFrame  # run_region_summary in the base year
    treatment: pd.DataFrame
    peers: pd.DataFrame
    #: table ids a finding may cite, by (what, region) key
    refs: dict[tuple[str, str], str] = field(default_factory=dict)
    #: facts the findings cite (numbers and their table cells), by (what, region)
    facts: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def cfg(self):
        return self.p.config

    @property
    def regions(self) -> list[str]:
        return list(self.cfg.regions)

    def name(self, region_id: str) -> str:
        return self.names.get(str(region_id), str(region_id))

    def level(self, plural: bool = False) -> str:
        one, many = LEVEL_WORDS.get(self.cfg.region_type, (self.cfg.region_type,) * 2)
        return many if plural else one

    def peers_of(self, region_id: str) -> list[str]:
        rows = self.peers.loc[self.peers["region_id"].astype(str) == str(region_id), "peer_id"]
        return rows.astype(str).tolist()

    def windows(self, outcome: str) -> dict[str, tuple[int, int]]:
        """The corrected design's shock and recovery windows of ``outcome`` (start, end)."""
        w = self.cfg.windows
        shock = w.get("employment_shock") if outcome == "employment" else None
        shock = shock or w.get("corrected_shock") or w.get("shock")
        recovery = w.get("corrected_recovery") or w.get("recovery")
        out = {}
        if shock:
            out["shock"] = (int(shock[0]), int(shock[1]))
        if recovery:  # the recovery starts where this outcome's shock ends
            begin = int(shock[1]) if shock else int(recovery[0])
            out["recovery"] = (begin, max(begin + 1, int(recovery[1])))
        return out

    def not_possible(self, *stages: str) -> list[str]:
        """Sentences for the ``run_provenance`` rows of ``stages`` marked "not possible"."""
        prov = self.b.read("run_provenance")
        if prov is None or not {"stage", "status"} <= set(prov.columns):
            return []
        rows = prov.loc[prov["stage"].isin(stages) & (prov["status"] == "not possible")]
        out = []
        for row in rows.to_dict("records"):
            what = labels.pretty(row.get("input") or row.get("stage"))
            reason = row.get("reason") or "the inputs do not support it"
            out.append(f"Not possible with these data: {what} ({reason}).")
        return out


def shock_name(start: int, end: int, named: str | None = None) -> str:
    """ "the COVID-19 shock (2019–2020)" style words for a window."""
    if named:
        return f"the {named} shock ({start}–{end})"
    return f"the {end} shock ({start}–{end})"


def context(p: ClusterResilience, store: Store, b: Builder) -> Context:
    rt = p.config.region_type
    names = {}
    if store.has("regions"):
        r = store.read("regions")
        names = dict(zip(r["region_id"].astype(str), r["region_name"].astype(str), strict=False))
    treatment = store.read("run_treatment")
    base = int(treatment["base_year"].iloc[0])
    last = int(
        store.sql("select max(year) as y from cluster_panel where region_type = ?", [rt])["y"].iloc[
            0
        ]
    )
    panel = store.read(
        "cluster_panel", where="region_type = ? and year in (?, ?)", params=[rt, base, last]
    )
    summary = store.read("run_region_summary")
    summary = summary.loc[summary["year"] == base].copy()
    summary["region_id"] = summary["region_id"].astype(str)
    peers = store.read("run_peers")
    peers["region_id"] = peers["region_id"].astype(str)
    peers["peer_id"] = peers["peer_id"].astype(str)
    return Context(p, store, b, names, base, last, panel, summary, treatment, peers)
