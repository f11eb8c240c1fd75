"""Reading named columns from CSV, NPZ and Parquet (realize.tabular)."""

import numpy as np
import pytest

from realize.errors import DataError, FormatError, NonFiniteError
from realize.tabular import read_table, split_name_unit, write_table


@pytest.mark.parametrize("delimiter", [",", ";", "\t", " "])
def test_csv_roundtrip_with_units_and_delimiters(tmp_path, rng, delimiter):
    data = rng.standard_normal((37, 3))
    path = tmp_path / "data.csv"
    # whitespace-separated headers cannot hold spaces: units are then written "u(V)"
    header = ["time [s]", "u (V)", "y"] if delimiter != " " else ["time[s]", "u(V)", "y"]
    lines = [delimiter.join(header)]
    lines += [delimiter.join(repr(float(x)) for x in row) for row in data]
    path.write_text("\n".join(lines) + "\n")
    table = read_table(path)
    assert table.names == tuple(header)
    values, names = table.select("y,u", "--output")
    np.testing.assert_array_equal(values, data[:, [2, 1]])
    assert names == ["y", header[1]]
    assert table.unit(header[1]) == "V" and table.unit("y") is None
    assert table.time_column() == header[0]
    # a bare name finds the column that adds a unit; an index selects by position
    np.testing.assert_array_equal(table.select("u", "x")[0][:, 0], data[:, 1])
    np.testing.assert_array_equal(table.select("0", "x")[0][:, 0], data[:, 0])


def test_single_column_with_spaces_in_its_name(tmp_path):
    (tmp_path / "one.csv").write_text("u [V]\n1.5\n2.5\n")
    table = read_table(tmp_path / "one.csv")
    assert table.names == ("u [V]",)
    np.testing.assert_array_equal(table.columns["u [V]"], [1.5, 2.5])


def test_write_then_read_every_format(tmp_path, rng):
    cols = {"t [s]": np.arange(20) * 0.1, "u [V]": rng.standard_normal(20), "y": rng.random(20)}
    for ext in (".csv", ".tsv", ".npz", ".parquet"):
        path = tmp_path / f"out{ext}"
        write_table(path, cols)
        table = read_table(path)
        assert table.names == tuple(cols)
        for name, col in cols.items():
            np.testing.assert_array_equal(table.columns[name], col)


def test_npz_two_dimensional_arrays_and_lengths(tmp_path, rng):
    y = rng.standard_normal((50, 2))
    np.savez(tmp_path / "d.npz", y=y, u=rng.standard_normal(50), other=np.zeros(10))
    table = read_table(tmp_path / "d.npz")
    assert table.names == ("y:0", "y:1", "u", "other")
    np.testing.assert_array_equal(table.select("y", "--output")[0], y)
    with pytest.raises(DataError, match="equal length"):
        table.select("u,other", "--input")


def test_missing_values_allowed_only_on_request(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("a,b\n1,2\n,3\n4,nan\n")
    table = read_table(path)
    with pytest.raises(NonFiniteError, match="column 'a'.* on line 3"):
        table.select("a", "--output")
    vals, _ = table.select("a,b", "--output", allow_nan=True)
    assert np.isnan(vals[1, 0]) and np.isnan(vals[2, 1])


@pytest.mark.parametrize(
    "text, match",
    [
        ("1,2\n3,4\n", "header row"),
        ("a,b\n", "data rows"),
        ("a,b\n1,2\n3\n", "line 3 has 1 fields"),
        ("a,a\n1,2\n", "appears twice"),
        ("", "empty"),
    ],
)
def test_bad_csv_files(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(FormatError, match=match):
        read_table(path)


def test_non_numeric_and_unknown_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("u,y,label\n1,2,a\n3,x,b\n")
    table = read_table(path)
    with pytest.raises(DataError, match=r"'y' .* not numeric \('x' on line 3\)"):
        table.select("y", "--output")
    with pytest.raises(DataError, match="no column 'z'.*columns are: 'u'"):
        table.select("z", "--output")
    with pytest.raises(DataError, match="index 7 out of range"):
        table.select("7", "--output")
    with pytest.raises(DataError, match="twice"):
        table.select("u,u", "--input")


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "none.csv")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(FormatError, match="unknown data format"):
        read_table(tmp_path / "x.xlsx")
    (tmp_path / "x.npz").write_text("not a zip")
    with pytest.raises(FormatError, match="NPZ"):
        read_table(tmp_path / "x.npz")
    np.savez(tmp_path / "obj.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(FormatError, match="NPZ"):
        read_table(tmp_path / "obj.npz")
    (tmp_path / "x.parquet").write_text("nope")
    with pytest.raises(FormatError, match="Parquet"):
        read_table(tmp_path / "x.parquet")


def test_split_name_unit():
    assert split_name_unit("speed [rad/s]") == ("speed", "rad/s")
    assert split_name_unit("v (V)") == ("v", "V")
    assert split_name_unit("plain") == ("plain", None)
    assert split_name_unit("odd []") == ("odd []", None)
