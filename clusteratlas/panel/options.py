"""Options that shape the compiled panel SQL: region type, metrics, level, national source.

Owns :class:`PanelOptions` and the flag-pooling constants, shared by the Ibis expressions
(:mod:`clusteratlas.panel.expressions`), the DuckDB engine (:mod:`clusteratlas.panel.engine`)
and the front door (:mod:`clusteratlas.panel.build`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from clusteratlas.panel.selection import Selection

#: Region types whose strong-cluster flags are computed in one pool (USCM ranks custom
#: regions together with BEA economic areas, ``cluster_calcs_reducer.js``).
FLAG_POOL = {"custom": "economic_area"}

#: Below this many regions the percentile flags say little: a warning says so.
MIN_FLAG_REGIONS = 10


@dataclass(frozen=True)
class PanelOptions:
    """Everything besides the input schemas that shapes the compiled SQL.

    ``nation`` says where the national denominators come from: "given" (the ``national``
    input), "rows" (the counts' region_type "nation" rows) or "regional" (the sum over the
    regions built). Without ``nan_guard`` NaN measures are summed as they are. ``sort``
    orders the rows (region type, region, year, cluster code in natural order) in the SQL.
    ``key_codes`` (set by the engine for Parquet counts with a ``source`` column): the checks
    also look for a repeated (source, year, region, NAICS) key among the rows the definitions
    map, numbering the definitions' codes below this bound (see ``_checks_expr``).
    """

    region_type: str
    selection: Selection
    level: str = "cluster"
    complete: bool = True
    nation: str = "given"
    nan_guard: bool = True
    sort: bool = False
    key_codes: int | None = None

    @property
    def wanted(self) -> tuple[str, ...]:
        """The region types built: the one asked for and its flag pool partners."""
        types = [self.region_type]
        types += [m for m, pool in FLAG_POOL.items() if pool == self.region_type]
        types += [pool for m, pool in FLAG_POOL.items() if m == self.region_type]
        return tuple(types)

    def signature(self) -> dict[str, object]:
        fields = dataclasses.asdict(self)
        fields["selection"] = self.selection.signature
        return fields
