"""County Business Patterns (US Census Bureau) readers -> :data:`schema.INDUSTRY_COUNTS`.

Owns the CBP flat files of every NAICS vintage 1998-2022 (``cbpYYus.txt``, ``cbpYYst.txt``,
``cbpYYco.txt``, ``cbpYYmsa.txt``, plain, zipped or gzipped), CBP API extracts saved as CSV,
and the processed CBP files of setzler/EconData. Row rules follow the US Cluster Mapping
code (``naics_mapper.js`` / ``naics_reducer.js``):

* only ``lfo == '-'`` (all legal forms) rows, where the file has an ``lfo`` column;
* NAICS codes containing ``-`` or ``/`` are aggregates and dropped; ``------`` is the region
  total and goes to the totals frame;
* statewide ``999`` pseudo-counties are dropped;
* pre-2018 suppressed cells (``EMPFLAG`` A..M) get the midpoint of their size class as
  ``emp`` (table :data:`EMPFLAG_MIDPOINTS`), ``emp_reported = 0`` and payroll 0, so wages use
  published employment only;
* 2017 on, cells carry noise flags (``EMP_NF``: G low, H moderate, J high noise; D withheld,
  S not meeting publication standards, N not available). D/S/N cells have no published value:
  ``emp`` keeps what the file says (0) and ``emp_reported = 0``; no size class exists to impute.

``emp_flag`` holds the EMPFLAG letter on suppressed rows, else the noise flag, else empty.
Payroll is in $1,000 as published; setzler's dollar payrolls are divided by 1,000.

The package: :mod:`~clusteratlas.data.cbp.rules` (shared row rules and parsing),
:mod:`~clusteratlas.data.cbp.flatfile`, :mod:`~clusteratlas.data.cbp.api`,
:mod:`~clusteratlas.data.cbp.setzler` (the three formats) and
:mod:`~clusteratlas.data.cbp.loader` (into the store). Public names are re-exported here.
"""

from clusteratlas.data.cbp.api import _API_COLUMNS, api_table_to_counts, read_cbp_api_csv
from clusteratlas.data.cbp.flatfile import (
    _FILE_NAME,
    _FLATFILE_COLUMNS,
    _GEO_CODES,
    iter_cbp_flatfile,
    parse_cbp_flatfile,
    read_cbp_flatfile,
)
from clusteratlas.data.cbp.loader import load_cbp_flatfile, load_into_store
from clusteratlas.data.cbp.rules import (
    CHUNK_ROWS,
    COUNTS_KEY,
    COUNTS_REPLACE,
    COUNTS_TABLE,
    EMPFLAG_MIDPOINTS,
    FIRST_YEAR,
    LAST_YEAR,
    LIMITS,
    NOISE_FLAGS,
    TOTALS_TABLE,
    WITHHELD_FLAGS,
    CbpFile,
    _check_unique,
    _column,
    _numbers,
    _parse_csv,
    _vintage,
)
from clusteratlas.data.cbp.setzler import (
    _checked_codes,
    _read_setzler,
    _setzler_industry_rows,
    read_setzler_county_total,
    read_setzler_national_industry,
    read_setzler_national_total,
    read_setzler_state_industry,
    read_setzler_state_total,
)

__all__ = [
    "CHUNK_ROWS",
    "COUNTS_KEY",
    "COUNTS_REPLACE",
    "COUNTS_TABLE",
    "EMPFLAG_MIDPOINTS",
    "FIRST_YEAR",
    "LAST_YEAR",
    "LIMITS",
    "NOISE_FLAGS",
    "TOTALS_TABLE",
    "WITHHELD_FLAGS",
    "CbpFile",
    "api_table_to_counts",
    "iter_cbp_flatfile",
    "load_cbp_flatfile",
    "load_into_store",
    "parse_cbp_flatfile",
    "read_cbp_api_csv",
    "read_cbp_flatfile",
    "read_setzler_county_total",
    "read_setzler_national_industry",
    "read_setzler_national_total",
    "read_setzler_state_industry",
    "read_setzler_state_total",
    # used by sibling readers (uscm, suppression, the CLI)
    "_API_COLUMNS",
    "_FILE_NAME",
    "_FLATFILE_COLUMNS",
    "_GEO_CODES",
    "_check_unique",
    "_checked_codes",
    "_column",
    "_numbers",
    "_parse_csv",
    "_read_setzler",
    "_setzler_industry_rows",
    "_vintage",
]
