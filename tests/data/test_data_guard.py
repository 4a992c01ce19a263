"""The shared input guard (clusteratlas.data.guard), in process, on small files.

The limits are set small here so that every boundary (a line exactly at the limit, one byte
over, a line break falling on a read boundary) is exercised with a few bytes; the hostile
files at full size are in test_data_hostile.py.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile

import pytest

from clusteratlas.data import guard
from clusteratlas.data.fetch import Fetcher
from clusteratlas.errors import DataUnavailableError, InputError


def _read_all(path, limits) -> bytes:
    with guard.open_bytes(path, what="test file", limits=limits) as stream:
        data = io.BufferedReader(stream, buffer_size=7).read()
        stream.finish()
    return data


@pytest.mark.parametrize("cap", [5, 10, 11, 64])
def test_line_at_the_limit_passes_one_byte_over_fails_on_its_line(tmp_path, cap):
    path = tmp_path / "lines.csv"
    ok = b"a,b\n" + b"x" * cap + b"\n" + b"y" * cap  # the last line has no line break
    path.write_bytes(ok)
    assert _read_all(path, guard.Limits(max_line_bytes=cap)) == ok
    for body, line in ((b"x" * (cap + 1) + b"\n", 2), (b"x" * cap + b"\n" + b"y" * (cap + 1), 3)):
        path.write_bytes(b"a,b\n" + body)
        with pytest.raises(InputError, match=f"line {line} is longer than") as caught:
            _read_all(path, guard.Limits(max_line_bytes=cap))
        assert caught.value.line == line and caught.value.path == str(path)


def test_header_width_and_tail(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(b"a,b,c,d\n1,2,3,4\n5,6")
    limits = guard.Limits(max_columns=4)
    with guard.open_bytes(path, limits=limits) as stream:
        io.BufferedReader(stream).read()
        assert (stream.header, stream.tail, stream.lines_read) == (b"a,b,c,d", b"5,6", 2)
    with pytest.raises(InputError, match="5 columns; a test file has at most 4") as caught:
        path.write_bytes(b"a,b,c,d,e")  # no line break at all: checked at the end
        _read_all(path, limits)
    assert caught.value.line == 1


def test_nul_byte_names_its_line_and_recognises_compressed_data(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n3,\x004\n")
    with pytest.raises(InputError, match="byte at offset 10 is NUL") as caught:
        _read_all(path, guard.CSV_LIMITS)
    assert caught.value.line == 3
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    with pytest.raises(InputError, match="give it a .gz name"):
        _read_all(path, guard.CSV_LIMITS)


def test_size_sanity_before_and_while_reading(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a\n" + b"1\n" * 100)
    with pytest.raises(InputError, match="holds 202 bytes, more than the 100 bytes"):
        _read_all(path, guard.Limits(max_bytes=100))
    packed = tmp_path / "big.csv.gz"  # the compressed size says nothing: counted as it inflates
    packed.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(InputError, match="more than 100 bytes of text"):
        _read_all(packed, guard.Limits(max_bytes=100))


def test_decompression_ratio(tmp_path):
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"a\n" + b"\n" * (guard.BOMB_CHECK_AFTER + 1)))
    with pytest.raises(InputError, match="decompression bomb"):
        _read_all(bomb, guard.Limits())
    # the same content is fine where the ratio is allowed (no limit is a silent default)
    assert len(_read_all(bomb, guard.Limits(max_ratio=1e9))) == guard.BOMB_CHECK_AFTER + 3
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("data.csv", b"a\n" + b"\n" * (guard.BOMB_CHECK_AFTER + 1))
    with pytest.raises(InputError, match="member data.csv expands"):
        _read_all(archive, guard.Limits())


def test_truncated_gzip_is_a_named_error(tmp_path):
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(os.urandom(1000).hex().encode())[:-30])
    with pytest.raises(InputError, match="truncated or not a test file"):
        _read_all(path, guard.CSV_LIMITS)


def test_special_files_are_refused_without_opening(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # opening it for reading would block this test forever
    for path, kind in ((fifo, "FIFO"), (tmp_path, "directory"), ("/dev/zero", "device")):
        with pytest.raises(InputError, match=kind):
            guard.read_csv(path)
    with pytest.raises(InputError, match="file not found"):
        guard.read_csv(tmp_path / "missing.csv")


def test_read_csv_maps_parser_errors_to_lines(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n1,2\n3,4,5\n")
    with pytest.raises(InputError, match="malformed CSV") as caught:
        guard.read_csv(path, dtype=str)
    assert caught.value.line == 3
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        guard.read_csv(path)


def test_read_json_bounds(tmp_path):
    path = tmp_path / "answer.json"
    path.write_text(json.dumps([["a", "b"], ["1", "2"]]))
    assert guard.read_json(path) == [["a", "b"], ["1", "2"]]
    with pytest.raises(InputError, match="more than the 10 bytes"):
        guard.read_json(path, max_bytes=10)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        guard.read_json(path)


def test_workbook_bomb(tmp_path):
    book = tmp_path / "book.xlsx"
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("xl/worksheets/sheet1.xml", b"<row/>" * (4 << 20))
    with pytest.raises(InputError, match="decompression bomb"):
        guard.check_workbook(book)
    assert guard.check_workbook(book, max_ratio=1e9) == book


def test_cached_answer_breaking_the_bounds_is_removed(tmp_path):
    fetcher = Fetcher(cache=tmp_path / "cache", offline=True)
    url = "https://api.census.gov/data/2021/cbp?get=EMP&for=state:*"
    cached = fetcher.cache_path(url)
    cached.parent.mkdir(parents=True)
    with open(cached, "wb") as out:
        out.truncate(guard.MAX_JSON_BYTES + 1)  # sparse: no disk used
    with pytest.raises(InputError, match="the cached copy was removed") as caught:
        fetcher.get_json(url)
    assert "api.census.gov" in str(caught.value) and not cached.exists()
    cached.write_text("<html>busy</html>")
    with pytest.raises(DataUnavailableError, match="did not return JSON"):
        fetcher.get_json(url)
    assert not cached.exists()
