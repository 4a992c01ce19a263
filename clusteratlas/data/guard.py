"""Bounded reading of input files: a hostile or broken file fails fast with a named error.

Owns the resource limits every reader of :mod:`clusteratlas.data` applies before and while it
reads a file, so that no input - however large, long-lined, wide, compressed or strange - can
make a load grow past a bounded amount of memory. Each check raises
:class:`~clusteratlas.errors.InputError` naming the file (and the line where there is one) and
what to do:

* **what the path is** (:func:`check_file`): a regular file. A directory, a FIFO (reading one
  blocks until a writer comes), a socket or a device such as ``/dev/zero`` (it never ends) is
  refused without being opened.
* **size sanity** (``Limits.max_bytes``): readers that hold a file whole say how big their
  layout can plausibly be; the file's size is checked before reading and the decompressed
  bytes again as they arrive. Streaming readers (CBP flat files, QCEW singlefiles, BEA CSVs)
  set no size limit: their memory does not grow with the file.
* **line length** (``Limits.max_line_bytes``): the CSV parser's memory grows with the longest
  line (a 66 MB CBP file whose second line held 33 million fields ran a load past 24 GB), and
  no public layout read here has lines near the 1 MiB default.
* **columns** (``Limits.max_columns``): fields in the header line.
* **binary content**: a NUL byte means the bytes are not text (a sparse or binary file, a
  compressed file without its ``.gz`` name, UTF-16).
* **decompression ratio** (``Limits.max_ratio``): ``.gz`` and ``.zip`` content is read as a
  stream; once more than :data:`BOMB_CHECK_AFTER` bytes came out, output above ``max_ratio``
  times the compressed input is a decompression bomb (text CSVs compress 2-10 times, the
  public files in ../shared/data at most 7 times).

A reader opens its file with :func:`open_bytes` (a binary stream that enforces the limits as
it is read, so pandas, ``csv`` or ``json`` can consume it) or uses the helpers built on it:
:func:`read_csv`, :func:`csv_chunks`, :func:`first_line`, :func:`read_text`,
:func:`read_json` and :func:`check_workbook` (Excel files, whose XML lives in a zip).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from clusteratlas.errors import InputError

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

#: Decompressed bytes after which the compression ratio is checked (below it even a bomb is
#: harmless, and small highly regular files may legitimately compress very well).
BOMB_CHECK_AFTER = 16 * MiB
#: Cached JSON answers (Census and BEA APIs). The largest realistic answer, every county x
#: every NAICS code of one CBP year, is about 150 MB; Python objects take ~8x the text.
MAX_JSON_BYTES = 256 * MiB


@dataclass(frozen=True)
class Limits:
    """What a reader accepts. ``None`` switches a check off.

    Attributes
    ----------
    max_bytes
        Largest (decompressed) content for a reader that holds the file whole.
    max_line_bytes
        Longest line, in bytes, line break excluded.
    max_columns
        Most fields in the header line (counted by ``delimiter``, quotes ignored: an upper
        bound).
    max_ratio
        Largest decompressed / compressed size of ``.gz`` and ``.zip`` content.
    delimiter
        Field separator used to count the header's columns.
    same_fields
        Every line has as many fields as the header (delimiters outside double quotes
        counted; blank lines pass). Parsers that read only some columns (pandas ``usecols``)
        drop a line's extra fields and pad missing ones without a word; this check names the
        line instead.
    """

    max_bytes: int | None = None
    max_line_bytes: int | None = MiB
    max_columns: int | None = 1000
    max_ratio: float = 100.0
    delimiter: bytes = b","
    same_fields: bool = False

    def but(self, **changes: Any) -> Limits:
        """A copy with some limits changed: ``CSV_LIMITS.but(max_columns=50)``."""
        return replace(self, **changes)


#: Defaults for text CSVs read whole: 1 GiB of text at most.
CSV_LIMITS = Limits(max_bytes=GiB)


def _a(what: str) -> str:
    """``what`` with its indefinite article ("a CBP file", "an input file")."""
    return f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what}"


def _size(n: float) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} bytes"


# -- what the path is -------------------------------------------------------------------------
def check_file(path: str | Path, *, what: str = "input file") -> Path:
    """``path`` as a :class:`Path` if it names a regular file; else an :class:`InputError`.

    Directories, FIFOs, sockets and devices are refused from their ``stat`` alone: they are
    never opened (opening a FIFO blocks, reading ``/dev/zero`` never ends).
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(
            "file not found", path=str(path), hint=f"give the path of the {what}"
        ) from None
    except OSError as error:
        raise InputError(f"cannot read the file ({error.strerror})", path=str(path)) from None
    if stat.S_ISDIR(mode):
        raise InputError(
            "is a directory, not a file", path=str(path), hint=f"give the path of the {what} itself"
        )
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a special file"
        )
        raise InputError(
            f"is {kind}, not a regular file",
            path=str(path),
            hint=f"save the {what} to a file first and give that file",
        )
    return path


def _check_size(path: Path, size: int, limits: Limits, what: str) -> None:
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise InputError(
            f"holds {_size(size)}, more than the {_size(limits.max_bytes)} {_a(what)} can plausibly "
            "have",
            path=str(path),
            hint=f"check that this is {_a(what)}; a genuine larger one must be split",
        )


# -- the guarded stream -----------------------------------------------------------------------
class _Counting(io.RawIOBase):
    """A binary file that counts the bytes read from it (the compressed side of a ratio)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = self.raw.readinto(buffer)
        self.count += n or 0
        return n or 0


class GuardedStream(io.RawIOBase):
    """A read-only binary stream over a file's (decompressed) bytes that enforces :class:`Limits`.

    Each read returns at most ``max_line_bytes`` bytes, so a line longer than the limit always
    shows up either as a run with no line break or across a chunk boundary; both are checked
    with a handful of C-level byte searches per chunk. After reading, :attr:`lines_read`,
    :attr:`header` (the first line, bytes) and :attr:`tail` (bytes after the last line break)
    describe what was seen.
    """

    def __init__(
        self,
        source: BinaryIO,
        *,
        path: Path,
        what: str,
        limits: Limits,
        compressed: Callable[[], int] | None = None,
    ) -> None:
        self.source = source
        self.path = path
        self.what = what
        self.limits = limits
        self._compressed = compressed
        self.total = 0
        self.lines_read = 0  # line breaks seen
        self.header = b""
        self._header_done = False
        self._tail = bytearray()
        self._fields: int | None = None  # delimiters of the header line (same_fields)
        self._in_quotes = False  # the last byte read was inside a quoted field
        self._line_delimiters = 0  # delimiters outside quotes on the unfinished line

    # io.RawIOBase protocol
    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        cap = self.limits.max_line_bytes
        if cap is not None:
            view = view[: max(1, cap)]
        try:
            n = self.source.readinto(view) or 0
        except (zipfile.BadZipFile, gzip.BadGzipFile, zlib.error, EOFError, OSError) as error:
            raise self._fail(
                f"cannot read the file ({error}); it may be truncated or not {_a(self.what)}",
                hint="download it again",
            ) from None
        if n:
            self._check(bytes(view[:n]))
        return n

    @property
    def tail(self) -> bytes:
        """The bytes after the last line break read so far (the unfinished last line)."""
        return bytes(self._tail)

    def _fail(self, problem: str, *, line: int | None = None, hint: str | None = None):
        return InputError(problem, path=str(self.path), line=line, hint=hint)

    def _check(self, data: bytes) -> None:
        limits = self.limits
        start = self.total
        self.total += len(data)
        if limits.max_bytes is not None and self.total > limits.max_bytes:
            raise self._fail(
                f"holds more than {_size(limits.max_bytes)} of text, more than {_a(self.what)} can "
                "plausibly have",
                hint=f"check that this is {_a(self.what)}; a genuine larger one must be split",
            )
        nul = data.find(b"\0")
        if nul >= 0:
            raise self._fail(
                f"the byte at offset {start + nul:,} is NUL: this is a binary file, not {_a(self.what)} "
                "(text)",
                line=self.lines_read + data.count(b"\n", 0, nul) + 1,
                hint=_binary_hint(self.header or data[:8]),
            )
        if limits.same_fields:  # after the NUL check: a binary file is called binary
            self._check_fields(data)
        first = data.find(b"\n")
        if first < 0:
            self._tail += data
            if not self._header_done:
                self.header += data
        else:
            run = len(self._tail) + first
            if not self._header_done:
                self.header += data[:first]
                self._header_done = True
                self._check_header()
            self._check_line(run, self.lines_read + 1)
            self.lines_read += data.count(b"\n")
            self._tail = bytearray(data[data.rfind(b"\n") + 1 :])
        self._check_line(len(self._tail), self.lines_read + 1)
        if self._compressed is not None and self.total > BOMB_CHECK_AFTER:
            packed = max(1, self._compressed())
            if self.total > limits.max_ratio * packed:
                raise self._fail(
                    f"{_size(packed)} of compressed data expanded to more than "
                    f"{_size(self.total)} (over {limits.max_ratio:g} times): a decompression bomb, "
                    f"not {_a(self.what)}",
                    hint="text data compresses 2-10 times; download the file again from its source",
                )

    def _check_fields(self, data: bytes) -> None:
        """Delimiters outside quotes on each line of ``data`` against the header's (vectorised:
        positions of line breaks and delimiters, whatever the number of lines; quotes are
        followed only in chunks that have them)."""
        raw = np.frombuffer(data, dtype=np.uint8)
        is_delimiter, is_end = raw == self.limits.delimiter[0], raw == ord("\n")
        if self._in_quotes or b'"' in data:
            quotes = np.cumsum(raw == ord('"')) + self._in_quotes
            outside = quotes % 2 == 0  # a quoted delimiter or line break is data
            is_delimiter &= outside
            is_end &= outside
            self._in_quotes = bool(quotes[-1] % 2)
        delimiters, ends = np.flatnonzero(is_delimiter), np.flatnonzero(is_end)
        if not ends.size:
            self._line_delimiters += delimiters.size
            return
        before = np.searchsorted(delimiters, ends)  # delimiters before each line break
        per_line = np.diff(before, prepend=0)
        per_line[0] += self._line_delimiters
        self._line_delimiters = int(delimiters.size - before[-1])
        lengths = np.diff(ends, prepend=-1) - 1
        lengths[0] += len(self._tail)
        first_line = self.lines_read + 1
        if self._fields is None:  # the header
            self._fields = int(per_line[0])
            per_line, lengths, first_line = per_line[1:], lengths[1:], first_line + 1
        blank = (per_line == 0) & (lengths <= 1)  # an empty line (or a lone "\\r")
        wrong = np.flatnonzero((per_line != self._fields) & ~blank)
        if wrong.size:
            at = int(wrong[0]) + ends.size - per_line.size  # index in ends
            start = int(ends[at - 1]) + 1 if at else 0
            self._field_error(
                int(per_line[wrong[0]]), first_line + int(wrong[0]), data[start : ends[at]]
            )

    def _field_error(self, delimiters: int, line: int, text: bytes) -> None:
        fields, expected = delimiters + 1, self._fields + 1
        trailing = fields == expected + 1 and text.rstrip(b"\r").endswith(self.limits.delimiter)
        raise self._fail(
            f"the line has {fields:,} fields, the header {expected:,}"
            + (" (the line ends with a separator)" if trailing else ""),
            line=line,
            hint="remove the trailing separator"
            if trailing
            else "a separator inside an unquoted field, a line cut short, or lines of another "
            "file pasted in? fix the line or download the file again",
        )

    def _check_header(self) -> None:
        if self.limits.max_columns is None:
            return
        columns = self.header.count(self.limits.delimiter) + 1
        if columns > self.limits.max_columns:
            raise self._fail(
                f"the header has {columns:,} columns; {_a(self.what)} has at most "
                f"{self.limits.max_columns:,}",
                line=1,
                hint=f"check that this is {_a(self.what)}",
            )

    def _check_line(self, length: int, line: int) -> None:
        cap = self.limits.max_line_bytes
        if cap is not None and length > cap:
            raise self._fail(
                f"line {line:,} is longer than {_size(cap)} (at least {length:,} bytes without a "
                f"line break); no {self.what} has lines this long",
                line=line,
                hint=f"the file is corrupt or not {_a(self.what)}; download it again",
            )

    def finish(self) -> None:
        """Checks that need the whole file (the header of a file without line breaks, the
        fields of a last line without a line break)."""
        if (
            self.limits.same_fields
            and self._fields is not None
            and len(self._tail.strip()) > 0
            and self._line_delimiters > self._fields
        ):  # fewer fields on an unfinished last line: the readers' truncation message
            self._field_error(self._line_delimiters, self.lines_read + 1, bytes(self._tail))
        if not self._header_done:
            self.header = bytes(self._tail)
            self._header_done = True
            self._check_header()


def _binary_hint(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b"):
        return "it is gzip-compressed: give it a .gz name, or decompress it first"
    if head.startswith(b"PK"):
        return "it is a zip archive (or an Excel .xlsx workbook): give it its .zip/.xlsx name"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "it is UTF-16 text: save it again as UTF-8 CSV"
    return "give the text (CSV) file this reader expects"


@contextmanager
def open_bytes(
    path: str | Path, *, what: str = "input file", limits: Limits = CSV_LIMITS
) -> Iterator[GuardedStream]:
    """Open ``path`` (plain, ``.gz``, or the first ``.txt``/``.csv`` member of a ``.zip``) as a
    :class:`GuardedStream`.

    Unreadable or truncated archives, and any limit exceeded while the block reads, become an
    :class:`InputError` naming the file.
    """
    path = check_file(path, what=what)
    suffix = path.suffix.lower()
    if suffix not in (".gz", ".zip"):
        _check_size(path, path.stat().st_size, limits, what)
    with ExitStack() as stack:
        compressed: Callable[[], int] | None = None
        try:
            raw = stack.enter_context(open(path, "rb"))
            source: BinaryIO
            if suffix == ".gz":
                counting = _Counting(raw)
                source = stack.enter_context(gzip.GzipFile(fileobj=counting, mode="rb"))  # type: ignore[arg-type]
                compressed = lambda: counting.count  # noqa: E731
            elif suffix == ".zip":
                archive = stack.enter_context(zipfile.ZipFile(raw))
                source = stack.enter_context(_zip_member(archive, path, what, limits))
            else:
                source = raw
        except (zipfile.BadZipFile, OSError) as error:
            raise InputError(
                f"cannot read the file ({error}); it may be truncated or not {_a(what)}",
                path=str(path),
                hint="download it again",
            ) from None
        yield GuardedStream(source, path=path, what=what, limits=limits, compressed=compressed)


def _zip_member(archive: zipfile.ZipFile, path: Path, what: str, limits: Limits) -> BinaryIO:
    """The first .txt/.csv member, after checking its declared sizes (zipfile never returns
    more than the declared size: a member that inflates further fails its CRC)."""
    members = [i for i in archive.infolist() if i.filename.lower().endswith((".txt", ".csv"))]
    if not members:
        raise InputError("zip archive holds no .txt or .csv file", path=str(path))
    info = members[0]
    _check_size(path, info.file_size, limits, what)
    if info.file_size > BOMB_CHECK_AFTER and info.file_size > limits.max_ratio * max(
        1, info.compress_size
    ):
        raise InputError(
            f"member {info.filename} expands {_size(info.compress_size)} to "
            f"{_size(info.file_size)} (over {limits.max_ratio:g} times): a decompression bomb, "
            f"not {_a(what)}",
            path=str(path),
            hint="download the file again from its source",
        )
    return archive.open(info)  # type: ignore[return-value]


# -- helpers on top -------------------------------------------------------------------------
def first_line(path: str | Path, *, what: str = "input file", limits: Limits = CSV_LIMITS) -> str:
    """The first line of ``path`` (decoded as latin-1, line break removed), read under
    ``limits``: a file without line breaks is read at most ``max_line_bytes`` far."""
    with open_bytes(path, what=what, limits=limits) as stream:
        line = io.BufferedReader(stream, buffer_size=64 * KiB).readline(
            (limits.max_line_bytes or MiB) + 2
        )
        if not line.endswith(b"\n"):
            stream.finish()
    return line.rstrip(b"\r\n").decode("latin-1")


def read_text(
    path: str | Path,
    *,
    what: str = "input file",
    limits: Limits = CSV_LIMITS,
    encoding: str = "utf-8",
    errors: str = "strict",
) -> str:
    """The whole (decompressed) text of ``path``; ``limits.max_bytes`` must bound it."""
    if limits.max_bytes is None:
        raise ValueError("read_text holds the file whole: give limits.max_bytes")
    with open_bytes(path, what=what, limits=limits) as stream:
        data = io.BufferedReader(stream, buffer_size=MiB).read()
        stream.finish()
    try:
        return data.decode(encoding, errors=errors)
    except UnicodeDecodeError as error:
        raise InputError(
            f"not {encoding} text (byte {error.start:,}: {data[error.start : error.start + 1]!r})",
            path=str(path),
            line=data.count(b"\n", 0, error.start) + 1,
            hint=f"save the file as {encoding}",
        ) from None


def _pandas_error(error: Exception, path: Path, what: str, hint: str | None) -> InputError:
    if isinstance(error, pd.errors.EmptyDataError):
        return InputError("the file is empty", path=str(path), hint=f"give {_a(what)}")
    if isinstance(error, UnicodeDecodeError):
        return InputError(
            f"not {error.encoding} text ({error.reason})",
            path=str(path),
            hint="save the file as UTF-8 CSV",
        )
    match = re.search(r"line (\d+)", str(error))
    return InputError(
        f"malformed CSV: {error}",
        path=str(path),
        line=int(match.group(1)) if match else None,
        hint=hint or "a line has more fields than the header, or an unclosed quote",
    )


_PANDAS_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError)


def csv_chunks(
    stream: GuardedStream, *, chunksize: int | None = None, hint: str | None = None, **kwargs: Any
) -> Iterator[pd.DataFrame]:
    """``pd.read_csv`` over an open :class:`GuardedStream`: the whole table as one frame
    (``chunksize=None``) or frames of ``chunksize`` rows; pandas' parse errors become
    :class:`InputError` with the line pandas names."""
    buffered = io.BufferedReader(stream, buffer_size=256 * KiB)
    try:
        if chunksize is None:
            frame = pd.read_csv(buffered, **kwargs)
            stream.finish()
            yield frame
            return
        with pd.read_csv(buffered, chunksize=chunksize, **kwargs) as reader:
            while True:
                try:
                    chunk = next(reader)
                except StopIteration:
                    break
                yield chunk
        stream.finish()
    except _PANDAS_ERRORS as error:
        raise _pandas_error(error, stream.path, stream.what, hint) from None


def read_csv(
    path: str | Path,
    *,
    what: str = "input file",
    limits: Limits = CSV_LIMITS,
    hint: str | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """``pd.read_csv(path, **kwargs)`` under ``limits``, for files read whole."""
    with open_bytes(path, what=what, limits=limits) as stream:
        return next(csv_chunks(stream, hint=hint, **kwargs))


def read_json(path: str | Path, *, what: str = "JSON answer", max_bytes: int = MAX_JSON_BYTES):
    """Parsed JSON of ``path``: at most ``max_bytes`` of UTF-8 text, nesting bounded.

    A document that is not JSON raises :class:`json.JSONDecodeError` (callers decide whether a
    bad answer is unavailable data or bad input); limits and nesting deeper than Python's
    recursion limit raise :class:`InputError`.
    """
    limits = Limits(max_bytes=max_bytes, max_line_bytes=None, max_columns=None)
    text = read_text(path, what=what, limits=limits, encoding="utf-8")
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError(
            f"JSON nested too deeply to be {_a(what)}", path=str(path), hint="check the source"
        ) from None


def check_workbook(
    path: str | Path,
    *,
    what: str = "Excel workbook",
    max_bytes: int = 64 * MiB,
    max_ratio: float = 100.0,
) -> Path:
    """``path`` if it is a regular file of plausible size whose zip members (an ``.xlsx`` is a
    zip of XML) are not a decompression bomb; the Excel reader does the rest."""
    path = check_file(path, what=what)
    limits = Limits(max_bytes=max_bytes, max_ratio=max_ratio)
    _check_size(path, path.stat().st_size, limits, what)
    if not zipfile.is_zipfile(path):
        return path  # legacy .xls (OLE2): bounded by its size alone
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise InputError(f"cannot read the workbook ({error})", path=str(path)) from None
    expanded = sum(i.file_size for i in members)
    packed = sum(i.compress_size for i in members)
    _check_size(path, expanded, limits.but(max_bytes=16 * max_bytes), f"{what} (unpacked)")
    if expanded > BOMB_CHECK_AFTER and expanded > max_ratio * max(1, packed):
        raise InputError(
            f"its XML expands {_size(packed)} to {_size(expanded)} (over {max_ratio:g} times): "
            f"a decompression bomb, not {_a(what)}",
            path=str(path),
            hint="download the workbook again from its source",
        )
    return path
