"""Tests of the shared core: store atomicity and idempotence, atomic writes, CLI wiring."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from clusteratlas import atomic
from clusteratlas.cli import app
from clusteratlas.errors import InputError
from clusteratlas.store import Store


def _frame(values):
    return pd.DataFrame({"year": [2016] * len(values), "naics": values, "emp": range(len(values))})


def test_append_is_idempotent_per_file(store: Store, tmp_path):
    source = tmp_path / "f.csv"
    source.write_text("x")
    assert store.append("t", _frame(["a", "b"]), key=["year", "naics"], source_file=source) == 2
    assert store.append("t", _frame(["a", "b"]), key=["year", "naics"], source_file=source) == 0
    assert len(store.read("t")) == 2


def test_failed_append_leaves_store_unchanged(store: Store):
    store.append("t", _frame(["a", "b"]), key=["year", "naics"])
    with pytest.raises(InputError, match="duplicate key"):
        store.append("t", _frame(["c", "c"]), key=["year", "naics"])
    with pytest.raises(InputError, match="already in table"):
        store.append("t", _frame(["d", "a"]), key=["year", "naics"])
    assert sorted(store.read("t")["naics"]) == ["a", "b"]


def test_append_replace_overwrites_partition(store: Store):
    store.append("t", _frame(["a", "b"]), key=["year", "naics"])
    store.append("t", _frame(["c"]), key=["year", "naics"], replace=["year"])
    assert store.read("t")["naics"].tolist() == ["c"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    atomic.write_text(target, "old")
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_cli_help_lists_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "clusteratlas" in result.output.lower() or "Usage" in result.output


def test_nested_transactions_commit_or_roll_back_together(store: Store):
    with pytest.raises(InputError), store.transaction():
        store.append("a", _frame(["x"]), key=["year", "naics"])
        store.append("b", _frame(["y", "y"]), key=["year", "naics"])  # duplicate: fails
    assert not store.has("a") and not store.has("b")
    with store.transaction():
        store.append("a", _frame(["x"]), key=["year", "naics"])
        store.append("b", _frame(["y"]), key=["year", "naics"])
    assert len(store.read("a")) == 1 and len(store.read("b")) == 1


def test_tables_hides_ibis_temporaries(store: Store):
    import ibis

    store.write("counts", _frame(["a"]))
    con = store.ibis()
    # a memtable used on the store's connection registers a temp "ibis_pandas_memtable_*" view
    assert con.execute(ibis.memtable(pd.DataFrame({"b": [1, 2]})).count()) == 2
    temporaries = [
        name
        for (name,) in store.con.execute(
            "select table_name from information_schema.tables where table_catalog = 'temp'"
        ).fetchall()
    ]
    assert any(name.startswith("ibis_") for name in temporaries)  # the case being filtered
    store.write("_internal", _frame(["c"]))
    assert store.tables() == ["counts"]
    assert store.has("counts") and not store.has("_internal")


def test_readable_number_formats_counts_and_shares():
    from clusteratlas.tables import readable_number, to_html

    assert readable_number(48770.0) == "48,770"
    assert readable_number(-1234567.4) == "-1,234,567"
    assert readable_number(0.0123456) == "0.01235"
    assert readable_number(3.973) == "3.973"
    html = to_html(pd.DataFrame({"emp": [48770.0], "lq": [3.973]}))
    assert "48,770" in html and "3.973" in html


def test_values_are_bound_and_names_quoted(store: Store):
    """Store.read binds values to ``?`` (a quote in a value is data, not SQL) and quotes table
    and column names, so a hostile name cannot end the identifier."""
    frame = pd.DataFrame(
        {"region_type": ["state", "state", "o'hare"], "year": [2016, 2017, 2016], "x": [1, 2, 3]}
    )
    store.write("counts", frame)
    got = store.read("counts", where="region_type = ? and year = ?", params=["state", 2017])
    assert got["x"].tolist() == [2]
    injected = "x' or '1' = '1"
    assert store.read("counts", where="region_type = ?", params=[injected]).empty
    assert store.read("counts", where="region_type = ?", params=["o'hare"])["x"].tolist() == [3]
    odd = 'odd"; drop table counts; --'
    store.write(odd, frame)
    store.append(odd, frame.assign(year=2018), key=["region_type", "year", "x"], replace=["year"])
    assert len(store.read(odd)) == 6 and store.has("counts")
    assert len(store.sql("select * from counts where year in (?, ?)", [2016, 2018])) == 2
