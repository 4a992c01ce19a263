"""A small cached HTTP fetcher for public data files and APIs.

Owns downloading: every response is kept in an on-disk cache under
:func:`clusteratlas.paths.cache_dir` (``http/<host>/<hash>-<name>``), written atomically so an
interrupted download never leaves a half file; transient failures (connection errors, HTTP
429 and 5xx) are retried with exponential backoff; and an offline mode
(``offline=True`` or ``CLUSTERATLAS_OFFLINE=1``) reads only the cache. When a file is neither
cached nor reachable, :class:`~clusteratlas.errors.DataUnavailableError` says which URL to
download by hand and where to put it.

Credentials travel as query parameters (Census ``key``, BEA ``UserID``...). The parameters
named in :data:`SECRET_PARAMS` (case-insensitive), plus any a caller adds with
``Fetcher(secret_params=...)``, are secret: they never enter the cache key or the cache file
name (so a cached answer is found again with another key, or none), and their values are
replaced by ``REDACTED`` in every error message and log line (:meth:`Fetcher.redact`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import requests

from clusteratlas.atomic import atomic_path
from clusteratlas.data import guard
from clusteratlas.errors import DataUnavailableError, InputError
from clusteratlas.paths import cache_dir

log = logging.getLogger(__name__)

#: Query parameters holding credentials (compared case-insensitively): never part of a cache
#: key or file name, redacted in messages. Census uses ``key``, BEA ``UserID``.
SECRET_PARAMS = frozenset(
    {
        "key",
        "api_key",
        "apikey",
        "api-key",
        "token",
        "access_token",
        "auth",
        "userid",
        "user_id",
        "password",
        "secret",
        "client_secret",
    }
)
REDACTED = "REDACTED"
_RETRY_STATUS = {429, 500, 502, 503, 504}


class EmptyAnswerError(DataUnavailableError):
    """The server answered, with no rows (HTTP 204): nothing to download by hand, nothing cached."""


def offline_default() -> bool:
    """Offline when ``CLUSTERATLAS_OFFLINE`` is set to 1/true/yes."""
    return os.environ.get("CLUSTERATLAS_OFFLINE", "").lower() in {"1", "true", "yes"}


def with_params(url: str, params: Mapping[str, object] | None) -> str:
    """``url`` with ``params`` appended to its query string."""
    if not params:
        return url
    extra = urlencode({k: str(v) for k, v in params.items()}, safe=":*,/")
    return f"{url}{'&' if urlsplit(url).query else '?'}{extra}"


def _is_secret(name: str, secret: frozenset[str]) -> bool:
    return name.lower() in secret


def _public_url(url: str, secret: frozenset[str] = SECRET_PARAMS) -> str:
    """The URL without credential parameters: the cache key."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_secret(k, secret)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe=":*,/")))


def _display_url(url: str, secret: frozenset[str] = SECRET_PARAMS) -> str:
    """The URL for messages: credential values replaced by ``REDACTED`` (the reader sees that
    a key is needed, never the key)."""
    parts = urlsplit(url)
    query = [
        (k, REDACTED if _is_secret(k, secret) else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe=":*,/")))


def _secret_values(url: str, secret: frozenset[str]) -> list[str]:
    values = [
        v
        for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)
        if _is_secret(k, secret)
    ]
    # raw and percent-encoded forms (a library may echo either), longest first
    forms = {
        form
        for v in values
        if v
        for form in (v, quote(v, safe=""), quote(v), quote_plus(v), quote_plus(v, safe=":*,/"))
    }
    return sorted(forms, key=len, reverse=True)


def redact(text: str, url: str, secret: Iterable[str] = SECRET_PARAMS) -> str:
    """``text`` with every value of ``url``'s secret parameters replaced by ``REDACTED``."""
    names = frozenset(s.lower() for s in secret)
    for value in _secret_values(url, names):
        text = text.replace(value, REDACTED)
    return text


@dataclass
class Fetcher:
    """Cached, retrying HTTP GET.

    >>> fetcher = Fetcher()
    >>> path = fetcher.fetch("https://www2.census.gov/programs-surveys/cbp/datasets/2016/cbp16st.zip")
    """

    cache: Path | None = None
    offline: bool | None = None
    retries: int = 3
    #: seconds before the first retry, doubling after each (``CLUSTERATLAS_FETCH_BACKOFF``)
    backoff: float | None = None
    timeout: float = 120.0
    progress: bool = False
    #: extra secret query parameters, on top of :data:`SECRET_PARAMS`
    secret_params: Iterable[str] = ()
    #: largest download kept, in bytes: a server sending more (a broken mirror, a hostile
    #: answer) cannot fill the disk. The largest public files fetched here are CBP county
    #: flat-file zips (~60 MB) and all-county CBP API answers (~150 MB).
    max_bytes: int = 4 * guard.GiB

    def __post_init__(self) -> None:
        self.cache = Path(self.cache) if self.cache is not None else cache_dir() / "http"
        self._secret = SECRET_PARAMS | {p.lower() for p in self.secret_params}
        if self.offline is None:
            self.offline = offline_default()
        if self.backoff is None:
            self.backoff = float(os.environ.get("CLUSTERATLAS_FETCH_BACKOFF") or 1.0)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "clusteratlas (https://github.com/clusteratlas)"

    def redact(self, text: str, url: str) -> str:
        """``text`` with ``url``'s secret values (and any secret-bearing URL form) redacted."""
        return redact(text, url, self._secret)

    def cache_path(self, url: str) -> Path:
        """Where the response for ``url`` is (or would be) cached (secrets left out)."""
        public = _public_url(url, self._secret)
        parts = urlsplit(public)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(parts.path).name or "index")[:80]
        digest = hashlib.sha256(public.encode()).hexdigest()[:16]
        return self.cache / (parts.hostname or "local") / f"{digest}-{name}"

    def _unavailable(self, url: str, reason: str) -> DataUnavailableError:
        message = (
            f"{reason}: {_display_url(url, self._secret)} -- download it by hand (browser or "
            f"curl, with your own key in place of {REDACTED}) and save it as "
            f"{self.cache_path(url)}, then run again (offline mode reads that file)"
        )
        return DataUnavailableError(self.redact(message, url))

    def fetch(
        self, url: str, *, params: Mapping[str, object] | None = None, refresh: bool = False
    ) -> Path:
        """The cached file for ``url`` (plus query ``params``), downloading it first if needed
        (or ``refresh``)."""
        url = with_params(url, params)
        target = self.cache_path(url)
        if target.exists() and not refresh:
            return target
        if self.offline:
            raise self._unavailable(url, "offline mode and not in the cache")
        last_error = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                log.info(
                    "retrying %s after %s",
                    _display_url(url, self._secret),
                    self.redact(last_error, url),
                )
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with self._session.get(url, stream=True, timeout=self.timeout) as response:
                    if response.status_code in _RETRY_STATUS:
                        last_error = f"HTTP {response.status_code}"
                        continue
                    if response.status_code == 204:  # the Census APIs' "no rows match"
                        raise EmptyAnswerError(
                            self.redact(
                                f"{_display_url(url, self._secret)} answered with no rows "
                                "(HTTP 204): the publisher has nothing for this query",
                                url,
                            )
                        )
                    if response.status_code != 200:
                        detail = response.text[:200].strip()
                        raise self._unavailable(
                            url,
                            f"HTTP {response.status_code}{' (' + detail + ')' if detail else ''}",
                        )
                    self._save(response, target, url)
                    return target
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as error:
                # requests' messages repeat the full URL: never keep the key in them
                last_error = self.redact(f"{type(error).__name__}: {error}", url)
        raise self._unavailable(
            url, f"download failed after {self.retries + 1} attempts ({last_error})"
        )

    def _save(self, response: requests.Response, target: Path, url: str) -> None:
        total = int(response.headers.get("Content-Length") or 0) or None
        if total is not None and total > self.max_bytes:
            raise self._too_big(url, total)
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
                    if received > self.max_bytes:  # the temporary file is discarded
                        raise self._too_big(url, received)
                    if bar is not None:
                        bar.update(len(chunk))
                if total is not None and received != total:
                    raise requests.exceptions.ChunkedEncodingError(
                        f"got {received} of {total} bytes"
                    )
        finally:
            if bar is not None:
                bar.close()

    def _too_big(self, url: str, size: int) -> DataUnavailableError:
        return self._unavailable(
            url,
            f"the server sends {size:,} bytes or more, over the {self.max_bytes:,}-byte limit "
            "(Fetcher.max_bytes); nothing was kept",
        )

    def get_json(
        self, url: str, *, params: Mapping[str, object] | None = None, refresh: bool = False
    ):
        """Parsed JSON of ``url`` plus ``params`` (cached like any file).

        The cached answer is read under :func:`clusteratlas.data.guard.read_json`'s bounds; an
        answer that breaks them (too large, binary, nested too deeply) is an
        :class:`InputError`, and an answer that is not JSON a
        :class:`DataUnavailableError`. Either way the cached copy is removed.
        """
        import json

        url = with_params(url, params)
        path = self.fetch(url, refresh=refresh)
        try:
            return guard.read_json(path, what="API answer")
        except InputError as error:
            path.unlink(missing_ok=True)  # a bad cached answer must not poison later runs
            raise InputError(
                f"{error.problem}; the cached copy was removed",
                path=error.path,
                line=error.line,
                hint=f"it came from {_display_url(url, self._secret)}",
            ) from None
        except json.JSONDecodeError as error:
            path.unlink(missing_ok=True)  # a bad cached answer must not poison later runs
            raise DataUnavailableError(
                f"{_display_url(url, self._secret)} did not return JSON ({error}); "
                "the cached copy was removed"
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
