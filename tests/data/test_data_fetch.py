"""Cached fetcher and Census CBP API client against a local HTTP server (no internet).

The server replays recorded-style answers: a CBP API JSON array (header row, then rows; the
values are a small made-up sample in the API's format) and a zipped CBP flat file (format
fixture). It can also fail a path a few times (503) to exercise the retries.
"""

from __future__ import annotations

import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

import pytest

from clusteratlas.data import cbp, census_api
from clusteratlas.data.fetch import Fetcher, cbp_flatfile_url, fetch_file
from clusteratlas.errors import DataUnavailableError

API_2021_STATE = [
    ["NAICS2017", "ESTAB", "EMP", "EMP_N_F", "PAYANN", "PAYQTR1", "EMPSZES", "LFO", "state"],
    ["00", "99000", "1719114", "G", "80000000", "19000000", "001", "001", "01"],
    ["113310", "505", "3664", "G", "179892", "42000", "001", "001", "01"],
    ["336111", "3", "9000", "H", "600000", "150000", "001", "001", "01"],
    ["491110", "20", "0", "S", "0", "0", "001", "001", "01"],
    ["3361", "10", "20000", "G", "1200000", "300000", "001", "001", "01"],
    ["113310", "300", "3000", "G", "150000", "35000", "001", "001", "13"],
]
API_2015_STATE = [
    ["NAICS2012", "ESTAB", "EMP", "EMP_F", "PAYANN", "PAYQTR1", "EMPSZES", "state"],
    ["113310", "480", "0", "c", "0", "0", "001", "01"],
    ["336111", "3", "8500", "", "550000", "140000", "001", "01"],
]
FLAT_2016 = "fipstate,naics,lfo,empflag,emp_nf,emp,qp1_nf,qp1,ap_nf,ap,est\n01,113310,-,,G,3664,G,40000,G,179892,505\n"


def _zip_bytes() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cbp16st.txt", FLAT_2016)
    return buffer.getvalue()


class _Handler(BaseHTTPRequestHandler):
    failures: dict[str, int] = {}
    requests: list[str] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server API)
        type(self).requests.append(self.path)
        parts = urlsplit(self.path)
        remaining = type(self).failures.get(parts.path, 0)
        if remaining:
            type(self).failures[parts.path] = remaining - 1
            return self._send(503, b"busy")
        if parts.path == "/data/2021/cbp":
            query = parse_qs(parts.query)
            assert query["get"] == ["NAICS2017,ESTAB,EMP,EMP_N_F,PAYANN,PAYQTR1"]
            assert query["for"] == ["state:*"] and query["LFO"] == ["001"]
            return self._send(200, json.dumps(API_2021_STATE).encode())
        if parts.path == "/data/2015/cbp":
            assert "LFO" not in parse_qs(parts.query)
            return self._send(200, json.dumps(API_2015_STATE).encode())
        if parts.path in ("/files/cbp16st.zip", "/files/2016/cbp16st.zip"):
            return self._send(200, _zip_bytes())
        if parts.path == "/files/short.zip":
            return self._send(200, b"PK", length=100)  # connection closes early
        if parts.path == "/files/unannounced":  # no Content-Length: the body ends at close
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * 5000)
            return None
        if parts.path == "/data/notjson":
            return self._send(200, b"<html>error</html>")
        return self._send(404, b"unknown dataset")


@pytest.fixture()
def server():
    _Handler.failures = {}
    _Handler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def fetcher(tmp_path):
    return Fetcher(cache=tmp_path / "cache", offline=False, retries=3, backoff=0.0, timeout=5)


def test_api_client_builds_counts_and_caches(server, fetcher):
    counts = census_api.fetch_cbp(2021, "state", fetcher=fetcher, root=f"{server}/data")
    assert len(_Handler.requests) == 1
    rows = counts.set_index(["region_id", "naics"])
    assert sorted(rows.index) == [
        ("01", "113310"),
        ("01", "336111"),
        ("01", "491110"),
        ("13", "113310"),
    ]
    assert set(counts["naics_vintage"]) == {2017} and set(counts["source"]) == {"cbp_api"}
    assert rows.loc[("01", "113310"), ["emp", "est", "ap", "qp1"]].tolist() == [
        3664,
        505,
        179892,
        42000,
    ]
    assert rows.loc[("01", "491110"), ["emp_reported", "emp_flag"]].tolist() == [0, "S"]
    again = census_api.fetch_cbp(2021, "state", fetcher=fetcher, root=f"{server}/data")
    assert len(_Handler.requests) == 1  # served from the cache
    assert again.equals(counts)


def test_api_client_keeps_parent_lines_when_asked(server, fetcher):
    # the nation's answer holds every NAICS line; with parents=True the 4-digit line stays
    # (the parent withheld cells are derived from), the sector-less 6-digit rows as before
    plain = census_api.fetch_cbp(2021, "state", fetcher=fetcher, root=f"{server}/data")
    counts = census_api.fetch_cbp(
        2021, "state", fetcher=fetcher, root=f"{server}/data", parents=True
    )
    extra = counts.merge(plain, how="outer", indicator=True).query("_merge == 'left_only'")
    assert extra["naics"].tolist() == ["3361"]
    assert extra[["emp", "est", "emp_flag"]].iloc[0].tolist() == [20000, 10, "G"]
    assert "3361" not in set(plain["naics"])


def test_api_before_2017_uses_size_class_midpoints(server, fetcher):
    counts = census_api.fetch_cbp(2015, "state", fetcher=fetcher, root=f"{server}/data")
    rows = counts.set_index("naics")
    assert set(counts["naics_vintage"]) == {2012}
    assert rows.loc["113310", ["emp", "emp_reported", "emp_flag"]].tolist() == [175, 0, "C"]
    assert rows.loc["336111", "emp"] == 8500


def test_retries_transient_failures(server, fetcher):
    _Handler.failures = {"/files/cbp16st.zip": 2}
    path = fetcher.fetch(f"{server}/files/cbp16st.zip")
    assert len(_Handler.requests) == 3
    counts = cbp.read_cbp_flatfile(path, year=2016, geo="state")
    assert counts["emp"].tolist() == [3664]


def test_gives_up_with_a_hand_download_hint(server, fetcher):
    _Handler.failures = {"/files/cbp16st.zip": 10}
    url = f"{server}/files/cbp16st.zip"
    with pytest.raises(DataUnavailableError, match="after 4 attempts") as caught:
        fetcher.fetch(url)
    assert url in str(caught.value) and str(fetcher.cache_path(url)) in str(caught.value)
    assert not fetcher.cache_path(url).exists()


def test_not_found_is_not_retried(server, fetcher):
    with pytest.raises(DataUnavailableError, match="HTTP 404"):
        fetcher.fetch(f"{server}/files/nothing.zip")
    assert len(_Handler.requests) == 1


def test_incomplete_download_leaves_no_cached_file(server, fetcher):
    url = f"{server}/files/short.zip"
    with pytest.raises(DataUnavailableError):
        fetcher.fetch(url)
    assert not fetcher.cache_path(url).exists()
    folder = fetcher.cache_path(url).parent
    assert not folder.exists() or not list(folder.glob(".*.tmp"))


def test_downloads_over_the_size_limit_are_not_kept(server, tmp_path):
    fetcher = Fetcher(cache=tmp_path / "cache", offline=False, retries=0, max_bytes=100)
    for url, said in (
        (f"{server}/files/cbp16st.zip", "sends 2"),  # announced by Content-Length
        (f"{server}/files/unannounced", "sends 5"),  # counted as it arrives (65 kB reads)
    ):
        with pytest.raises(DataUnavailableError, match="over the 100-byte limit") as caught:
            fetcher.fetch(url)
        assert said in str(caught.value)
        assert not fetcher.cache_path(url).exists()
        assert not list(fetcher.cache_path(url).parent.glob(".*.tmp"))


def test_offline_mode_reads_only_the_cache(server, fetcher, tmp_path):
    url = f"{server}/files/cbp16st.zip"
    fetcher.fetch(url)
    offline = Fetcher(cache=tmp_path / "cache", offline=True)
    assert offline.fetch(url) == fetcher.cache_path(url)
    with pytest.raises(DataUnavailableError, match="offline") as caught:
        offline.fetch(f"{server}/files/other.zip")
    assert "download it by hand" in str(caught.value)
    assert len(_Handler.requests) == 1


def test_offline_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CLUSTERATLAS_OFFLINE", "1")
    monkeypatch.setenv("CLUSTERATLAS_CACHE", str(tmp_path))
    with pytest.raises(DataUnavailableError, match="cbp16st.zip"):
        fetch_file(cbp_flatfile_url(2016, "state"), progress=False)


def test_api_key_is_not_part_of_the_cache_key(fetcher):
    assert fetcher.cache_path("https://x.org/a?get=EMP&key=SECRET") == fetcher.cache_path(
        "https://x.org/a?get=EMP"
    )
    assert "SECRET" not in str(fetcher.cache_path("https://x.org/a?get=EMP&key=SECRET"))


@pytest.mark.parametrize("name", ["key", "UserID", "api_key", "token", "MyToken"])
def test_secret_params_never_in_cache_names_or_errors(server, tmp_path, name):
    """Secret query parameters (documented set, BEA's UserID included, or ``secret_params``)
    are left out of the cache key and redacted in every error, whatever the failure."""
    fetcher = Fetcher(
        cache=tmp_path / "cache", retries=1, backoff=0.0, timeout=5, secret_params=["MyToken"]
    )
    secret = "s3cr3t-K3Y/+="
    for path in ("/nowhere", "/files/short.zip"):  # HTTP 404 and an incomplete download
        url = f"{server}{path}"
        with pytest.raises(DataUnavailableError) as caught:
            fetcher.fetch(url, params={"get": "EMP", name: secret})
        message = str(caught.value)
        assert "REDACTED" in message and f"{server}{path}?get=EMP" in message
        for form in (secret, "s3cr3t-K3Y%2F%2B%3D"):
            assert form not in message
    # connection refused: requests' own message repeats the whole URL
    closed = Fetcher(cache=tmp_path / "cache", retries=0, timeout=5, secret_params=["MyToken"])
    with pytest.raises(DataUnavailableError) as caught:
        closed.fetch("http://127.0.0.1:9/data", params={name: secret})
    assert secret not in str(caught.value) and "s3cr3t-K3Y%2F" not in str(caught.value)
    # a successful download is cached under a name without the secret, found again without it
    url = (
        f"{server}/data/2021/cbp?get=NAICS2017,ESTAB,EMP,EMP_N_F,PAYANN,PAYQTR1&for=state:*&LFO=001"
    )
    path = fetcher.fetch(url, params={name: secret})
    assert path == fetcher.cache_path(url)
    assert not any("s3cr3t" in str(p) for p in (tmp_path / "cache").rglob("*"))
    assert fetcher.fetch(url) == path
    assert sum(r.startswith("/data/2021/cbp") for r in _Handler.requests) == 1


def test_unlisted_params_are_not_secret(fetcher):
    assert fetcher.cache_path("https://x.org/a?UserName=ann") != fetcher.cache_path(
        "https://x.org/a"
    )


def test_bad_json_is_not_kept(server, fetcher):
    url = f"{server}/data/notjson"
    with pytest.raises(DataUnavailableError, match="JSON"):
        fetcher.get_json(url)
    assert not fetcher.cache_path(url).exists()


def test_urls():
    assert cbp_flatfile_url(2016, "state").endswith("/2016/cbp16st.zip")
    assert cbp_flatfile_url(2005, "us").endswith("/2005/cbp05us.txt")
    assert cbp_flatfile_url(2021, "county").endswith("/2021/cbp21co.zip")
    url = census_api.cbp_url(2012, "county", state="1")
    assert "get=NAICS2012," in url and "for=county:*" in url and "in=state:01" in url


def test_fetch_command_end_to_end(server, tmp_path, monkeypatch):
    """``clusteratlas fetch cbp`` through the API and as a flat file, against the local server."""
    from typer.testing import CliRunner

    from clusteratlas.cli import app
    from clusteratlas.store import Store

    monkeypatch.setenv("CLUSTERATLAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CLUSTERATLAS_CENSUS_API", f"{server}/data")
    monkeypatch.setenv("CLUSTERATLAS_CBP_FILES", f"{server}/files")
    store = str(tmp_path / "s.duckdb")
    runner = CliRunner()
    result = runner.invoke(
        app, ["fetch", "cbp", "--year", "2021", "--geo", "state", "--store", store]
    )
    assert result.exit_code == 0, result.output
    _Handler.requests.clear()
    result = runner.invoke(app, ["fetch", "cbp", "--year", "2021", "--store", store, "--offline"])
    assert result.exit_code == 0, result.output  # the cache answers offline
    assert _Handler.requests == []
    with Store(store) as db:
        counts = db.read("industry_counts")
        totals = db.read("region_totals")
    assert len(counts) == 4 and totals[["region_id", "emp"]].values.tolist() == [["01", 1719114.0]]


def test_fetch_flat_file_command(server, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from clusteratlas.cli import app
    from clusteratlas.store import Store

    monkeypatch.setenv("CLUSTERATLAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CLUSTERATLAS_CBP_FILES", f"{server}/files")
    store = str(tmp_path / "s.duckdb")
    result = CliRunner().invoke(
        app, ["fetch", "cbp", "--year", "2016", "--geo", "state", "--flat", "--store", store]
    )
    assert result.exit_code == 0, result.output
    with Store(store) as db:
        assert db.read("industry_counts")["emp"].tolist() == [3664.0]
