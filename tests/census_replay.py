"""A loopback HTTP server replaying Census (and other publishers') answers, for tests without internet.

Answers are built in the exact layout the Census APIs return: a JSON array whose first row is
the header (the ``get=`` variables, then every predicate as an extra column, repeated when a
predicate names a ``get`` variable), every value a string.

Values:
* international trade (``/timeseries/intltrade/{exports,imports}/statenaics``): SYNTHETIC
  state x NAICS-3 values of realistic size (no state-level trade file exists offline to copy
  real ones from); they are labelled so wherever they are used.
* CBP state totals: 2021 rows can carry the real CBP figures (the offline setzler state
  totals are CBP's mid-March employment); 2022 rows are SYNTHETIC (2021 x a fixed growth).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from clusteratlas.data.geo import STATE_POSTAL_TO_FIPS

VALUE_VARIABLE = {"exports": "ALL_VAL_YR", "imports": "GEN_VAL_YR"}
#: A few NAICS-3 commodity codes of the trade classification (computers, chemicals, oil & gas).
NAICS3 = ("334", "325", "211")


def trade_answer(
    flow: str, year: int, values: Mapping[str, Mapping[str, float]], *, level: str = "NA3"
) -> list[list[str]]:
    """A statenaics answer: ``values[postal][naics]`` (USD) as the API lays it out for
    ``get=STATE,NAICS,<value>&time=YYYY-12&COMM_LVL=<level>&CTY_CODE=-``."""
    header = ["STATE", "NAICS", VALUE_VARIABLE[flow], "time", "COMM_LVL", "CTY_CODE"]
    rows = [header]
    for state, by_naics in values.items():
        for naics, value in by_naics.items():
            rows.append([state, naics, str(int(round(value))), f"{year}-12", level, "-"])
    return rows


def synthetic_state_values(flow: str, year: int) -> dict[str, dict[str, float]]:
    """SYNTHETIC state x NAICS-3 trade (USD): a deterministic, smooth size ranking by state
    code, a 2020 dip and recovery, imports 1.2x exports; plus "XX" (unidentified) and "VI"
    (not a state), which the parser must leave out."""
    path = {2017: 1.00, 2018: 1.05, 2019: 1.03, 2020: 0.90, 2021: 1.08, 2022: 1.25}
    scale = 1.2 if flow == "imports" else 1.0
    out: dict[str, dict[str, float]] = {}
    for rank, state in enumerate(sorted(STATE_POSTAL_TO_FIPS)):
        size = 2e9 * (1 + (rank * 37) % 53)  # between 2 and 108 billion dollars
        tilt = 1 + 0.02 * ((rank % 7) - 3) * (year - 2019)  # states grow at different rates
        out[state] = {
            naics: size * share * path.get(year, 1.0) * tilt * scale
            for naics, share in zip(NAICS3, (0.5, 0.3, 0.2), strict=True)
        }
    out["XX"] = {"334": 1e9}
    out["VI"] = {"211": 5e8}
    return out


def cbp_totals_answer(year: int, emp_by_fips: Mapping[str, float]) -> list[list[str]]:
    """A CBP API answer for ``get=NAICS2017,ESTAB,EMP,EMP_N_F,PAYANN,PAYQTR1&for=state:*
    &EMPSZES=001&LFO=001&NAICS2017=00`` (NAICS2017 repeated as the predicate column)."""
    header = [
        "NAICS2017", "ESTAB", "EMP", "EMP_N_F", "PAYANN", "PAYQTR1",
        "EMPSZES", "LFO", "NAICS2017", "state",
    ]  # fmt: skip
    rows = [header]
    for fips, emp in emp_by_fips.items():
        emp = int(round(emp))
        rows.append(
            ["00", str(emp // 17), str(emp), "G", str(emp * 60), str(emp * 14),
             "001", "001", "00", fips]
        )  # fmt: skip
    return rows


@dataclass
class Replay:
    """What the server answers, by key: a URL path, or ``path?k=v&k2=v2`` matching requests
    that carry those query values (the most specific key wins).

    ``routes``: JSON bodies; ``raw``: bytes (CSV, zip); ``status``: an HTTP status to answer
    instead (204 = the Census APIs' empty answer, 500 = broken, every time);
    ``failures[path] = n`` answers HTTP 503 ``n`` times first; ``requests`` logs every GET."""

    url: str = ""
    routes: dict[str, object] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    queries: list[dict[str, list[str]]] = field(default_factory=list)
    raw: dict[str, bytes] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)


def _find(mapping: Mapping[str, object], path: str, query: dict[str, list[str]]) -> str | None:
    """The most specific key of ``mapping`` matching ``path`` and ``query``."""
    best, best_n = None, -1
    for key in mapping:
        key_path, _, key_query = key.partition("?")
        if key_path != path:
            continue
        pairs = [p.split("=", 1) for p in key_query.split("&") if p] if key_query else []
        if all(query.get(k, [None])[0] == v for k, v in pairs) and len(pairs) > best_n:
            best, best_n = key, len(pairs)
    return best


def _handler(replay: Replay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self):  # noqa: N802 (http.server API)
            replay.requests.append(self.path)
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            replay.queries.append(query)
            remaining = replay.failures.get(parts.path, 0)
            if remaining:
                replay.failures[parts.path] = remaining - 1
                return self._send(503, b"Service Unavailable")
            status = _find(replay.status, parts.path, query)
            if status is not None:
                code = replay.status[status]
                return self._send(code, b"" if code == 204 else b"Internal Server Error")
            key = _find(replay.raw, parts.path, query)
            if key is not None:
                return self._send(200, replay.raw[key])
            key = _find(replay.routes, parts.path, query)
            if key is None:
                return self._send(400, b"error: unknown variable or dataset")
            return self._send(200, json.dumps(replay.routes[key]).encode())

    return Handler


@contextmanager
def serve(replay: Replay | None = None) -> Iterator[Replay]:
    """Run a replay server on 127.0.0.1 (a free port) for the ``with`` block."""
    replay = replay or Replay()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(replay))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    replay.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield replay
    finally:
        httpd.shutdown()
        httpd.server_close()


def add_trade_routes(replay: Replay, years: range | tuple[int, ...]) -> None:
    """Synthetic statenaics answers for both flows and ``years`` under ``/data``."""
    for flow in VALUE_VARIABLE:
        for year in years:
            path = f"/data/timeseries/intltrade/{flow}/statenaics?time={year}-12"
            replay.routes[path] = trade_answer(flow, year, synthetic_state_values(flow, year))
