"""A small cached HTTP fetcher for public data files and APIs.

Owns downloading: every response is kept in an on-disk cache under
:func:`clusteratlas.paths.cache_dir` (``http/<host>/<hash>-<name>``), written atomically so an
interrupted download never leaves a half file; transient failures (connection errors, HTTP
429 and 5xx) are retried with exponential backoff; and an offline mode
(``offline=True`` or ``CLUSTERATLAS_OFFLINE=1``) reads only the cache. When a file is neither
cached nor reachable, :class:`~clusteratlas.errors.DataUnavailableError` says which URL to
download by hand and where to put it.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from clusteratlas.atomic import atomic_path
from clusteratlas.errors import DataUnavailableError
from clusteratlas.paths import cache_dir

#: query parameters that never enter a cache key (credentials).
_SECRET_PARAMS = {"key", "api_key", "apikey", "token"}
_RETRY_STATUS = {429, 500, 502, 503, 504}


def offline_default() -> bool:
    """Offline when ``CLUSTERATLAS_OFFLINE`` is set to 1/true/yes."""
    return os.environ.get("CLUSTERATLAS_OFFLINE", "").lower() in {"1", "true", "yes"}


def _public_url(url: str) -> str:
    """The URL without credential parameters: used as cache key and in messages."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _SECRET_PARAMS
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe=":*,/")))


@dataclass
class Fetcher:
    """Cached, retrying HTTP GET.

    >>> fetcher = Fetcher()
    >>> path = fetcher.fetch("https://www2.census.gov/programs-surveys/cbp/datasets/2016/cbp16st.zip")
    """

    cache: Path | None = None
    offline: bool | None = None
    retries: int = 3
    backoff: float = 1.0
    timeout: float = 120.0
    progress: bool = False

    def __post_init__(self) -> None:
        self.cache = Path(self.cache) if self.cache is not None else cache_dir() / "http"
        if self.offline is None:
            self.offline = offline_default()
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "clusteratlas (https://github.com/clusteratlas)"

    def cache_path(self, url: str) -> Path:
        """Where the response for ``url`` is (or would be) cached."""
        public = _public_url(url)
        parts = urlsplit(public)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(parts.path).name or "index")[:80]
        digest = hashlib.sha256(public.encode()).hexdigest()[:16]
        return self.cache / (parts.hostname or "local") / f"{digest}-{name}"

    def _unavailable(self, url: str, reason: str) -> DataUnavailableError:
        return DataUnavailableError(
            f"{reason}: {_public_url(url)} -- download it by hand (browser or curl) and save it "
            f"as {self.cache_path(url)}, then run again (offline mode reads that file)"
        )

    def fetch(self, url: str, *, refresh: bool = False) -> Path:
        """The cached file for ``url``, downloading it first if needed (or ``refresh``)."""
        target = self.cache_path(url)
        if target.exists() and not refresh:
            return target
        if self.offline:
            raise self._unavailable(url, "offline mode and not in the cache")
        last_error = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with self._session.get(url, stream=True, timeout=self.timeout) as response:
                    if response.status_code in _RETRY_STATUS:
                        last_error = f"HTTP {response.status_code}"
                        continue
                    if response.status_code != 200:
                        detail = response.text[:200].strip()
                        raise self._unavailable(
                            url,
                            f"HTTP {response.status_code}{' (' + detail + ')' if detail else ''}",
                        )
                    self._save(response, target)
                    return target
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as error:
                last_error = f"{type(error).__name__}: {error}"
        raise self._unavailable(
            url, f"download failed after {self.retries + 1} attempts ({last_error})"
        )

    def _save(self, response: requests.Response, target: Path) -> None:
        total = int(response.headers.get("Content-Length") or 0) or None
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="B", unit_scale=True, desc=target.name.split("-", 1)[-1])
        received = 0
        try:
            with atomic_path(target) as tmp, open(tmp, "wb") as handle:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    handle.write(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                if total is not None and received != total:
                    raise requests.exceptions.ChunkedEncodingError(
                        f"got {received} of {total} bytes"
                    )
        finally:
            if bar is not None:
                bar.close()

    def get_json(self, url: str, *, refresh: bool = False):
        """Parsed JSON of ``url`` (cached like any file)."""
        import json

        path = self.fetch(url, refresh=refresh)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            path.unlink(missing_ok=True)  # a bad cached answer must not poison later runs
            raise DataUnavailableError(
                f"{_public_url(url)} did not return JSON ({error}); the cached copy was removed"
            ) from None


def fetch_file(
    url: str,
    *,
    offline: bool | None = None,
    refresh: bool = False,
    progress: bool = True,
    cache: Path | None = None,
) -> Path:
    """Download ``url`` once into the cache and return the local path (e.g. CBP flat-file zips:
    ``https://www2.census.gov/programs-surveys/cbp/datasets/2016/cbp16st.zip``)."""
    return Fetcher(cache=cache, offline=offline, progress=progress).fetch(url, refresh=refresh)


CBP_FILES_ROOT = "https://www2.census.gov/programs-surveys/cbp/datasets"


def cbp_flatfile_url(year: int, geo: str) -> str:
    """Census URL of a CBP flat file; ``geo`` is nation/us, state/st, county/co or msa.

    ``CLUSTERATLAS_CBP_FILES`` replaces the Census root (a mirror or a local file server).
    """
    code = {
        "nation": "us",
        "us": "us",
        "state": "st",
        "st": "st",
        "county": "co",
        "co": "co",
        "msa": "msa",
    }[geo]
    yy = f"{int(year) % 100:02d}"
    extension = "txt" if code == "us" and int(year) < 2008 else "zip"
    root = os.environ.get("CLUSTERATLAS_CBP_FILES") or CBP_FILES_ROOT
    return f"{root}/{int(year)}/cbp{yy}{code}.{extension}"
