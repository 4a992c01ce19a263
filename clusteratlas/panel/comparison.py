"""Who a region is compared with: its peers and the benchmark region. One definition each,
used by the report (``clusteratlas run``), the dashboard's region page and the studies.

Peers (:func:`nearest_peers`): the regions of the same type nearest in size and traded mix in
one year,

.. math::

    d(r, s) = |z_r - z_s| + (1 - \\cos(m_r, m_s)),\\qquad z = \\frac{\\log E - \\overline{\\log E}}
    {\\mathrm{sd}(\\log E)}

with E the region's total employment (``region_summary``'s ``emp``) and m its vector of
traded-cluster employment shares; the ``n`` smallest distances (ties by region id). Size alone
(the US Cluster Mapping's +/- ranks in traded employment) pairs regions of the same size with
nothing else in common; the mix term makes a peer an economy of the same kind. A
:class:`PeerSpace` (:func:`peer_space`) holds one year's z and traded mixes, so one region's
distances cost O(regions x clusters) and many regions' peers share it (:func:`nearest_in`).

Benchmark (:func:`benchmark`): the median region, each column's median over all regions of the
type (a typical region, not a sum: pooling all regions, e.g. the nation's strong-cluster jobs
over its traded jobs, is dominated by the largest regions and is the nation, not a region).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clusteratlas.errors import InputError

#: How many peers a region gets unless told otherwise.
N_PEERS = 5
#: The columns the benchmark row shows by default.
BENCHMARK_COLUMNS = ("emp", "emp_traded", "wage", "n_strong", "cluster_strength")
#: What the peers' ``chosen_by`` column says for :func:`nearest_peers`.
NEAREST = "nearest size + traded mix"


@dataclass(frozen=True)
class PeerSpace:
    """The regions of one type and year as points of the peer distance (module doc): ``ids``,
    their size scores ``z`` and their traded mixes ``mix`` (one row per region, employment
    shares; regions without traded jobs have NaN ``norm``). Built once (:func:`peer_space`),
    it gives one region's distances to all others in O(regions x clusters)
    (:meth:`distances_from`), without the regions x regions matrix."""

    ids: pd.Index
    z: np.ndarray
    mix: np.ndarray
    norm: np.ndarray

    def distances_from(self, region_id: str) -> pd.Series:
        """d(region_id, s) for every region s (index: region ids); KeyError if not a region."""
        i = self.ids.get_loc(str(region_id))
        cosine = (self.mix @ self.mix[i]) / self.norm[i] / self.norm
        return pd.Series(np.abs(self.z[i] - self.z) + (1 - cosine), index=self.ids)


def peer_space(panel: pd.DataFrame, summary: pd.DataFrame, year: int) -> PeerSpace:
    """The :class:`PeerSpace` of ``year``.

    ``panel``: region x cluster rows (region_id, cluster_code, year, traded, emp) of one region
    type; ``summary``: region_summary rows (region_id, year, emp) of the same type.
    """
    missing = {"region_id", "cluster_code", "year", "traded", "emp"} - set(panel.columns)
    if missing:
        raise InputError(f"the panel lacks column(s) {sorted(missing)} the peers need")
    base = panel.loc[(panel["year"] == year) & panel["traded"].astype(bool)]
    if base.empty:
        raise InputError(f"no traded-cluster rows in {year}: no peers")
    mix = base.pivot_table(
        index="region_id", columns="cluster_code", values="emp", aggfunc="sum"
    ).fillna(0.0)
    mix.index = mix.index.astype(str)
    mix = mix.div(mix.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    sizes = summary.loc[summary["year"] == year].assign(
        region_id=lambda f: f["region_id"].astype(str)
    )
    size = np.log(sizes.set_index("region_id")["emp"].astype(float).clip(lower=1.0))
    z = ((size - size.mean()) / (size.std() or 1.0)).reindex(mix.index)
    norm = np.sqrt((mix**2).sum(axis=1)).replace(0, np.nan)
    return PeerSpace(
        ids=mix.index,
        z=z.to_numpy(dtype=float),
        mix=mix.to_numpy(dtype=float),
        norm=norm.to_numpy(dtype=float),
    )


def peer_distances(panel: pd.DataFrame, summary: pd.DataFrame, year: int) -> pd.DataFrame:
    """The distance matrix d(r, s) of the module doc between every two regions in ``year``
    (arguments as :func:`peer_space`)."""
    space = peer_space(panel, summary, year)
    cosine = (space.mix @ space.mix.T) / space.norm[:, None] / space.norm[None, :]
    gap = np.abs(space.z[:, None] - space.z[None, :])
    return pd.DataFrame(gap + (1 - cosine), index=space.ids, columns=space.ids)


def nearest_peers(
    panel: pd.DataFrame,
    summary: pd.DataFrame,
    region_id: str,
    year: int,
    n: int = N_PEERS,
) -> pd.DataFrame:
    """The ``n`` regions nearest ``region_id`` in ``year`` (module doc): peer_id, distance,
    sorted by distance then id; empty when the region has no traded rows that year."""
    return nearest_in(peer_space(panel, summary, year), region_id, n)


def nearest_in(space: PeerSpace, region_id: str, n: int = N_PEERS) -> pd.DataFrame:
    """:func:`nearest_peers` from a :class:`PeerSpace` built before (many regions' peers in
    one year share it)."""
    region_id = str(region_id)
    if region_id not in space.ids:
        return pd.DataFrame({"peer_id": pd.Series(dtype=str), "distance": pd.Series(dtype=float)})
    distance = space.distances_from(region_id).to_numpy(dtype=float, copy=True)
    distance[space.ids.get_loc(region_id)] = np.nan  # not its own peer
    candidates = np.flatnonzero(~np.isnan(distance))
    if len(candidates) > n > 0:
        # only regions at most as far as the n-th nearest can be among the n (ties included),
        # so the sort by distance then id runs over a handful, not every region (a dashboard
        # page asks for one region's peers per request)
        cut = np.partition(distance[candidates], n - 1)[n - 1]
        candidates = candidates[distance[candidates] <= cut]
    ids = space.ids.to_numpy(dtype=object)[candidates].astype(str)
    order = np.lexsort((ids, distance[candidates]))[: max(int(n), 0)]
    return pd.DataFrame({"peer_id": ids[order], "distance": distance[candidates][order]})


def benchmark(summary: pd.DataFrame, columns: Sequence[str] = BENCHMARK_COLUMNS) -> pd.Series:
    """The median region: each of ``columns``' median over the rows of ``summary`` (one region
    type and year)."""
    present = [c for c in columns if c in summary.columns]
    return summary[present].astype(float).median()
