"""Hostile input cannot exhaust the machine.

Each case writes a hostile file into ``tmp_path`` (the 2 GiB files are sparse: they cost no
disk), then runs a reader on it - the ``clusteratlas load`` command where one exists - in a
child process whose address space is capped with ``RLIMIT_AS`` (``run_child.ceiling``, 2 GiB, see
``tests/data/conftest.py``). The child
must end with the named error (an :class:`~clusteratlas.errors.InputError` naming the file and
what is wrong), not a MemoryError and not killed; its peak resident memory (``VmHWM``, the
high-water mark ``ru_maxrss`` reports, but of the child's own image) is recorded and printed at
the end of the run (see ``tests/data/conftest.py``).

The first case motivated all the others: a 66 MB CBP file whose second line is one row of 33
million comma-separated fields made ``clusteratlas load cbp`` grow past 24 GB before it died.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from pathlib import Path

import pytest

MiB = 1 << 20
GiB = 1 << 30

FLAT_HEADER = b"fipstate,naics,lfo,empflag,emp_nf,emp,qp1_nf,qp1,ap_nf,ap,est\n"
FLAT_ROW = b"01,113310,-,,G,3664,G,40000,G,179892,505\n"


# -- hostile files ------------------------------------------------------------------------------
def long_row(tmp: Path) -> Path:
    """The issue's file: 66 MB, its second line one row of 33 million fields."""
    path = tmp / "cbp16st.txt"
    with open(path, "wb") as out:
        out.write(FLAT_HEADER)
        block = b"1," * 1_000_000
        for _ in range(33):
            out.write(block)
        out.write(b"1\n")
    return path


def gzip_bomb(tmp: Path) -> Path:
    """A valid CBP file followed by 10 GiB of blank lines (which CSV parsers skip), in 10 MB:
    160 gzip members of 64 MiB each."""
    path = tmp / "cbp16st.txt.gz"
    member = gzip.compress(b"\n" * (64 * MiB), compresslevel=6)
    with open(path, "wb") as out:
        out.write(gzip.compress(FLAT_HEADER + FLAT_ROW))
        for _ in range(160):
            out.write(member)
    return path


def _deflated_member(archive_path: Path, name: str, head: bytes, body: bytes, copies: int):
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        if name.endswith(".xml"):
            archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open(name, "w", force_zip64=True) as member:
            member.write(head)
            for _ in range(copies):
                member.write(body)
    return archive_path


def zip_bomb(tmp: Path) -> Path:
    """A CBP zip whose member inflates 256 MiB of rows from under 1 MB."""
    block = FLAT_ROW * (64 * MiB // len(FLAT_ROW))
    return _deflated_member(tmp / "cbp16st.zip", "cbp16st.txt", FLAT_HEADER, block, 4)


def xlsx_bomb(tmp: Path) -> Path:
    """A LAUS workbook whose sheet XML inflates 256 MiB from under 1 MB."""
    block = b"<row><c><v>1</v></c></row>" * (64 * MiB // 26)
    return _deflated_member(
        tmp / "laucnty18.xlsx", "xl/worksheets/sheet1.xml", b"<worksheet>", block, 4
    )


def wide(tmp: Path) -> Path:
    """A clustermapping.us download with 30,000 columns and 1,000 rows of 30,000 fields."""
    path = tmp / "uscm_wide.csv"
    with open(path, "wb") as out:
        out.write(b",".join([b"x"] * 30_000) + b"\n")
        row = b",".join([b"1"] * 30_000) + b"\n"
        for _ in range(1_000):
            out.write(row)
    return path


def sparse(name: str):
    def make(tmp: Path) -> Path:
        path = tmp / name
        with open(path, "wb") as out:
            out.truncate(2 * GiB)  # a hole: no disk blocks
        return path

    return make


def fifo(tmp: Path) -> Path:
    path = tmp / "cbp16st.txt"
    os.mkfifo(path)
    return path


def directory(tmp: Path) -> Path:
    path = tmp / "cbp16st.txt"
    path.mkdir()
    return path


def binary(tmp: Path) -> Path:
    """A PNG image under a CBP name."""
    path = tmp / "cbp16st.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(1 << 16))
    return path


def long_line(name: str, head: bytes):
    """A file with a plausible first line, then a 50 MB line without a break."""

    def make(tmp: Path) -> Path:
        path = tmp / name
        with open(path, "wb") as out:
            out.write(head)
            for _ in range(25):
                out.write(b"9," * 1_000_000)
            out.write(b"\n")
        return path

    return make


def cached_answer(content):
    """A Census CBP API answer in the offline fetch cache: ``content(path)`` writes it."""

    def make(tmp: Path) -> Path:
        from clusteratlas.data import census_api
        from clusteratlas.data.fetch import Fetcher

        fetcher = Fetcher(cache=tmp / "cache", offline=True)
        path = fetcher.cache_path(census_api.cbp_url(2021, "state", root=census_api.API_ROOT))
        path.parent.mkdir(parents=True)
        content(path)
        return tmp / "cache"

    return make


def _huge(path: Path) -> None:
    with open(path, "wb") as out:
        out.truncate(1 * GiB)


def _deep(path: Path) -> None:
    path.write_text("[" * 1_000_000 + "]" * 1_000_000)


FETCH = (
    "from clusteratlas.data import census_api; from clusteratlas.data.fetch import Fetcher; "
    "census_api.fetch_cbp(2021, 'state', root=census_api.API_ROOT, "
    "fetcher=Fetcher(cache=r'{path}', offline=True))"
)

# (case, make the file, call: CLI arguments or code with {path}, what the error must say)
CASES = [
    ("cbp long row (33M fields)", long_row, ["load", "cbp"], "line 2 is longer than"),
    ("cbp gzip bomb (10 GiB)", gzip_bomb, ["load", "cbp"], "decompression bomb"),
    ("cbp zip bomb (256 MiB)", zip_bomb, ["load", "cbp"], "decompression bomb"),
    ("cbp sparse 2 GiB", sparse("cbp16st.txt"), ["load", "cbp"], "is NUL"),
    ("cbp FIFO", fifo, ["load", "cbp"], "FIFO"),
    ("cbp /dev/zero", lambda tmp: Path("/dev/zero"), ["load", "cbp"], "is a device"),
    ("cbp directory", directory, ["load", "cbp"], "is a directory"),
    ("cbp binary (PNG)", binary, ["load", "cbp"], "binary file"),
    ("uscm 30,000 columns", wide, ["load", "uscm"], "30,000 columns"),
    ("uscm sparse 2 GiB", sparse("uscm.csv"), ["load", "uscm"], "is NUL"),
    (
        "definitions sparse 2 GiB",
        sparse("mydefs.csv"),
        ["load", "clusters", "--naics-vintage", "2017"],
        "holds 2.0 GiB",
    ),
    ("custom regions FIFO", fifo, ["load", "geo"], "FIFO"),
    (
        "bea csv long line",
        long_line("SAGDP2N.csv", b"GeoFIPS,GeoName,Region,TableName,LineCode,Unit,2019\n"),
        "from clusteratlas.data import bea; bea.read_gdp_csv(r'{path}')",
        "line 2 is longer than",
    ),
    (
        "trade download long line",
        long_line("usatrade.csv", b"State,Commodity,Country,Time,Total Exports Value ($US)\n"),
        "from clusteratlas.data import trade; trade.read_usatrade(r'{path}')",
        "line 2 is longer than",
    ),
    (
        "qcew /dev/zero",
        lambda tmp: Path("/dev/zero"),
        "from clusteratlas.data import laus; laus.read_qcew_annual_singlefile(r'{path}')",
        "is a device",
    ),
    (
        "laus xlsx bomb (256 MiB)",
        xlsx_bomb,
        "from clusteratlas.data import laus; laus.read_laus_county_annual(r'{path}')",
        "decompression bomb",
    ),
    ("census api answer 1 GiB", cached_answer(_huge), FETCH, "more than the 256.0 MiB"),
    ("census api answer nested 1M deep", cached_answer(_deep), FETCH, "nested too deeply"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "make", "call", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input_fails_fast_with_a_named_error(
    case, make, call, expected, tmp_path, run_child, peak_memory
):
    path = make(tmp_path)
    if isinstance(call, list):
        run = {"cli": [*call, str(path), "--store", str(tmp_path / "atlas.duckdb")]}
    else:
        run = {"code": call.format(path=path)}
    outcome, stderr = run_child(run, tmp_path)
    error = outcome["error"] or ("exit 2" if outcome["exit"] == 2 else f"exit {outcome['exit']}")
    peak_memory.append((case, outcome["maxrss_mib"], error))
    print(f"{case}: peak RSS {outcome['maxrss_mib']:.1f} MiB under {run_child.ceiling / GiB:g} GiB")
    if "cli" in run:  # the command's own error path: one line naming the file, exit status 2
        assert outcome["exit"] == 2 and outcome["error"] is None, (outcome, stderr[-2000:])
        message = stderr
        assert "Traceback" not in stderr and "MemoryError" not in stderr
        assert path.name in stderr
    else:
        assert outcome["error"] == "InputError", outcome
        message = outcome["message"]
    assert expected in message, message[-2000:]
    assert outcome["maxrss_mib"] * MiB < run_child.ceiling


def test_ceiling_leaves_room_for_a_normal_load(tmp_path, run_child, peak_memory):
    """The control: a valid CBP file loads under the same ceiling."""
    path = tmp_path / "cbp16st.txt"
    path.write_bytes(FLAT_HEADER + FLAT_ROW)
    store = tmp_path / "atlas.duckdb"
    outcome, stderr = run_child(
        {"cli": ["load", "cbp", str(path), "--store", str(store)]}, tmp_path
    )
    peak_memory.append(("control: valid CBP file", outcome["maxrss_mib"], "loaded"))
    assert outcome["exit"] in (None, 0) and outcome["error"] is None, (outcome, stderr[-2000:])
