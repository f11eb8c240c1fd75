"""Named columns of numbers read from CSV, NPZ and Parquet files.

This is how the ``realize`` command reads measured data: a file is a set of named
columns, and the user picks inputs and outputs by name (or by 0-based position).
Units may be written into a column name as ``"voltage [V]"`` or ``"voltage (V)"``;
they end up on the axis labels of the figures.

Formats
-------
CSV (``.csv``, ``.tsv``, ``.txt``)
    A header row of column names, then one row per sample. The delimiter (comma,
    semicolon, tab or whitespace) is detected. Empty cells and ``nan`` are missing
    values (NaN); any other cell that is not a number is an error naming its line
    and column.
NPZ (``.npz``)
    Each 1-D array is a column. A 2-D array ``x`` of shape (T, k) gives the columns
    ``x:0`` ... ``x:k-1``; selecting ``x`` selects all of them. Arrays of different
    lengths may coexist (train and test parts, say); only the selected columns
    must agree in length. Read with ``allow_pickle=False``.
Parquet (``.parquet``, ``.pq``)
    Numeric columns, read with pyarrow (``pip install realize[io]``); nulls become
    NaN.

Example
-------
>>> import numpy as np, pathlib, tempfile
>>> from realize.tabular import read_table
>>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
>>> _ = path.write_text("time [s],u [V],y [V]\\n0,1,0.5\\n0.1,0,0.25\\n0.2,1,0.75\\n")
>>> table = read_table(path)
>>> table.names
('time [s]', 'u [V]', 'y [V]')
>>> y, names = table.select("y", "--output")
>>> y.shape, names, table.unit("y [V]")
((3, 1), ['y [V]'], 'V')
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field

import numpy as np

from realize.errors import DataError, FormatError, NonFiniteError

__all__ = ["Table", "read_table", "split_name_unit", "write_table"]

_UNIT = re.compile(r"^\s*(?P<name>.*?)\s*[\[(](?P<unit>[^\[\]()]*)[\])]\s*$")
_TIME_NAMES = ("time", "t", "timestamp", "seconds", "sec")


def split_name_unit(column: str) -> tuple[str, str | None]:
    """Split ``"voltage [V]"`` or ``"voltage (V)"`` into ``("voltage", "V")``.

    Parameters
    ----------
    column : str
        A column name, possibly carrying a unit in brackets or parentheses.

    Returns
    -------
    name : str
        The name without the unit.
    unit : str or None
        The unit, or None when the name carries none.

    Examples
    --------
    >>> split_name_unit("speed (rad/s)")
    ('speed', 'rad/s')
    >>> split_name_unit("y1")
    ('y1', None)
    """
    match = _UNIT.match(column)
    if match and match.group("name") and match.group("unit").strip():
        return match.group("name"), match.group("unit").strip()
    return column.strip(), None


@dataclass
class Table:
    """Named 1-D columns of float64 read from a file.

    Attributes
    ----------
    columns : dict of str to (T,) array
        The numeric columns in file order. Columns may differ in length (NPZ).
    source : str
        The file the columns came from, for error messages.
    first_line : int
        The line number of the first data row (CSV), used to point at bad cells;
        0 where lines mean nothing (NPZ, Parquet).
    non_numeric : dict of str to str
        Columns present in the file that are not numeric, with a description of
        their content; selecting one raises an error that says so.

    Examples
    --------
    >>> import numpy as np
    >>> t = Table({"u": np.zeros(4), "y": np.ones(4)}, source="memory")
    >>> t.select(["u", "y"], "--output")[0].shape
    (4, 2)
    """

    columns: dict[str, np.ndarray]
    source: str = "data"
    first_line: int = 0
    non_numeric: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """The selectable column names, in file order."""
        return tuple(self.columns)

    def unit(self, name: str) -> str | None:
        """The unit written into a column's name (``"y [V]"`` -> ``"V"``), or None."""
        return split_name_unit(name)[1]

    def _resolve(self, key: str, option: str) -> list[str]:
        key = key.strip()
        if key in self.columns:
            return [key]
        group = [c for c in self.columns if c.startswith(key + ":") and c[len(key) + 1 :].isdigit()]
        if group:
            return group
        if key in self.non_numeric:
            raise DataError(
                f"{option}: column {key!r} of {self.source} is not numeric ({self.non_numeric[key]})"
            )
        # a bare name matches a column whose name only adds a unit: "y" -> "y [V]"
        bare = [c for c in self.columns if split_name_unit(c)[0] == key]
        if len(bare) == 1:
            return bare
        if re.fullmatch(r"-?\d+", key):
            index = int(key)
            names = self.names
            if -len(names) <= index < len(names):
                return [names[index]]
            raise DataError(
                f"{option}: column index {index} out of range, {self.source} has "
                f"{len(names)} columns (0 to {len(names) - 1})"
            )
        raise DataError(
            f"{option}: no column {key!r} in {self.source}; columns are: {_listing(self.names)}"
        )

    def select(self, keys, option: str, allow_nan: bool = False) -> tuple[np.ndarray, list[str]]:
        """Stack the named columns into a (T, k) array.

        Parameters
        ----------
        keys : str or sequence of str
            Column names or 0-based positions; a string may list several separated
            by commas (``"u1,u2"``). A bare name also matches a column that only
            adds a unit to it (``"y"`` finds ``"y [V]"``).
        option : str
            The command-line option or argument being served, named in errors.
        allow_nan : bool, optional
            Whether missing values (NaN) are acceptable. Default False.

        Returns
        -------
        data : (T, k) float64 array
            The selected columns side by side.
        names : list of str
            Their full names, in the order selected.

        Raises
        ------
        DataError
            An unknown or non-numeric column, columns of different lengths, or a
            column repeated.
        NonFiniteError
            NaN (a missing or non-numeric cell) or Inf where not allowed; the error
            names the column and the first bad line.

        Examples
        --------
        >>> import numpy as np
        >>> t = Table({"u [V]": np.arange(3.0), "y [V]": np.ones(3)})
        >>> t.select("u, y", "--output")[1]
        ['u [V]', 'y [V]']
        """
        if isinstance(keys, str):
            keys = [k for k in keys.split(",")]
        keys = [k for k in keys if str(k).strip()]
        if not keys:
            raise DataError(f"{option}: expected at least one column name, got none")
        names: list[str] = []
        for key in keys:
            for name in self._resolve(str(key), option):
                if name in names:
                    raise DataError(f"{option}: column {name!r} selected twice")
                names.append(name)
        lengths = {name: self.columns[name].shape[0] for name in names}
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{n!r} has {k}" for n, k in lengths.items())
            raise DataError(f"{option}: expected columns of equal length, got {detail} rows")
        data = np.column_stack([self.columns[name] for name in names]).astype(float, copy=False)
        for j, name in enumerate(names):
            column = data[:, j]
            bad = np.flatnonzero(np.isinf(column) if allow_nan else ~np.isfinite(column))
            if bad.size:
                where = self._where(int(bad[0]))
                what = "Inf" if np.isinf(column[bad[0]]) else "missing or NaN"
                raise NonFiniteError(
                    f"{option}: column {name!r} of {self.source} has {bad.size} {what} "
                    f"value(s), the first {where}; expected finite numbers"
                )
        return data, names

    def _where(self, row: int) -> str:
        if self.first_line:
            return f"on line {self.first_line + row}"
        return f"at row {row}"

    def time_column(self) -> str | None:
        """The name of a column that holds time stamps (``time``, ``t``, ...), if any."""
        for name in self.columns:
            if split_name_unit(name)[0].lower() in _TIME_NAMES:
                return name
        return None


def _listing(names, limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def read_table(path) -> Table:
    """Read named numeric columns from a CSV, NPZ or Parquet file.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its extension chooses the format (see the module docstring).

    Returns
    -------
    Table
        The columns, each a (T,) float64 array.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    FormatError
        An unknown extension, a CSV without a header row or with ragged rows, a
        non-numeric cell (the error names the line and the column), an NPZ file that
        needs pickle, or no numeric column at all.

    Examples
    --------
    >>> import numpy as np, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.npz"
    >>> np.savez(path, u=np.zeros(5), y=np.ones((5, 2)))
    >>> read_table(path).names
    ('u', 'y:0', 'y:1')
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise FormatError(f"{path}: expected a data file, got a directory")
    ext = os.path.splitext(path)[1].lower()
    if ext in (".csv", ".tsv", ".txt", ".dat"):
        table = _read_csv(path)
    elif ext == ".npz":
        table = _read_npz(path)
    elif ext in (".parquet", ".pq"):
        table = _read_parquet(path)
    else:
        raise FormatError(
            f"{path}: unknown data format {ext or '(no extension)'!r}; "
            "expected .csv, .tsv, .txt, .npz or .parquet"
        )
    if not table.columns and not table.non_numeric:
        raise FormatError(f"{path}: expected numeric columns, found none")
    return table


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_csv(path: str) -> Table:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        text = fh.read()
    lines = text.splitlines()
    # skip leading blank lines and '#' comments, keeping line numbers for messages
    start = 0
    while start < len(lines) and (
        not lines[start].strip() or lines[start].lstrip().startswith("#")
    ):
        start += 1
    if start == len(lines):
        raise FormatError(f"{path}: expected a header row and data, got an empty file")
    header_line = lines[start]
    delimiter = _sniff_delimiter(header_line, lines[start + 1] if start + 1 < len(lines) else "")
    if delimiter == " ":
        rows = [line.split() for line in lines[start:]]
    else:
        rows = list(csv.reader(io.StringIO("\n".join(lines[start:])), delimiter=delimiter))
    header = [h.strip() for h in rows[0]]
    if all(_is_number(h) for h in header if h):
        raise FormatError(
            f"{path}: expected a header row of column names on line {start + 1}, got numbers "
            f"({', '.join(header[:4])}{', ...' if len(header) > 4 else ''})"
        )
    for j, name in enumerate(header):
        if not name:
            header[j] = f"column {j}"
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise FormatError(f"{path}: column name {dup!r} appears twice in the header")
    body = rows[1:]
    # drop trailing blank rows
    while body and not any(cell.strip() for cell in body[-1]):
        body.pop()
    if not body:
        raise FormatError(f"{path}: expected data rows after the header, got none")
    k = len(header)
    for i, row in enumerate(body):
        if len(row) != k:
            raise FormatError(
                f"{path}: line {start + 2 + i} has {len(row)} fields, expected {k} as in the header"
            )
    cells = np.array(body, dtype=object).reshape(len(body), k)
    columns: dict[str, np.ndarray] = {}
    non_numeric: dict[str, str] = {}
    first_line = start + 2
    for j, name in enumerate(header):
        raw = [c.strip() for c in cells[:, j]]
        filled = [c if c else "nan" for c in raw]
        try:
            columns[name] = np.array(filled, dtype=float)
        except ValueError:
            bad = next(i for i, c in enumerate(filled) if not _is_number(c))
            non_numeric[name] = f"{raw[bad]!r} on line {first_line + bad}"
    return Table(columns, source=path, first_line=first_line, non_numeric=non_numeric)


def _sniff_delimiter(header: str, first_row: str) -> str:
    for delimiter in (",", ";", "\t"):
        if delimiter in header and header.count(delimiter) == first_row.count(delimiter):
            return delimiter
    for delimiter in (",", ";", "\t"):
        if delimiter in header:
            return delimiter
    # whitespace-separated columns, unless the data rows hold one value each: then the
    # file has a single column whose name may contain spaces ("u [V]")
    return " " if len(first_row.split()) > 1 else ","


def _read_npz(path: str) -> Table:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as exc:
        raise FormatError(f"{path}: not a plain NPZ file of numeric arrays ({exc})") from None
    except (OSError, EOFError) as exc:
        raise FormatError(f"{path}: not a readable NPZ file ({exc})") from None
    columns: dict[str, np.ndarray] = {}
    non_numeric: dict[str, str] = {}
    for key, arr in arrays.items():
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
            non_numeric[key] = f"dtype {arr.dtype}"
        elif arr.ndim == 1:
            columns[key] = arr.astype(float)
        elif arr.ndim == 2:
            for j in range(arr.shape[1]):
                columns[f"{key}:{j}"] = arr[:, j].astype(float)
        else:
            non_numeric[key] = f"a {arr.ndim}-D array of shape {arr.shape}, not a column"
    return Table(columns, source=path, non_numeric=non_numeric)


def _read_parquet(path: str) -> Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise FormatError(
            f"{path}: reading Parquet needs pyarrow (pip install 'realize[io]')"
        ) from None
    try:
        arrow = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        raise FormatError(f"{path}: not a readable Parquet file ({exc})") from None
    import pyarrow.types as pat

    columns: dict[str, np.ndarray] = {}
    non_numeric: dict[str, str] = {}
    for name in arrow.column_names:
        column = arrow.column(name)
        if (
            pat.is_integer(column.type)
            or pat.is_floating(column.type)
            or pat.is_boolean(column.type)
        ):
            columns[name] = np.asarray(
                column.cast("float64").to_numpy(zero_copy_only=False), dtype=float
            )
        else:
            non_numeric[name] = f"type {column.type}"
    return Table(columns, source=path, non_numeric=non_numeric)


def write_table(path, columns: dict[str, np.ndarray]) -> None:
    """Write equal-length named columns to CSV, NPZ or Parquet, chosen by extension.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; ``.csv``, ``.tsv``, ``.txt``, ``.npz``, ``.parquet`` or ``.pq``.
    columns : dict of str to (T,) array
        The columns, in order.

    Returns
    -------
    None
        The file is written (replaced if it exists).

    Raises
    ------
    FormatError
        An unknown extension.
    DataError
        Columns of different lengths.

    Examples
    --------
    >>> import numpy as np, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.csv"
    >>> write_table(path, {"t [s]": np.arange(2.0), "y": np.array([0.5, 1.0])})
    >>> print(path.read_text().splitlines()[1])
    0.0,0.5
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    arrays = {k: np.asarray(v, dtype=float).reshape(-1) for k, v in columns.items()}
    lengths = {a.shape[0] for a in arrays.values()}
    if len(lengths) > 1:
        raise DataError(f"columns: expected equal lengths, got {sorted(lengths)}")
    if ext in (".csv", ".tsv", ".txt"):
        delimiter = "\t" if ext == ".tsv" else ","
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
            writer.writerow(list(arrays))
            for row in zip(*arrays.values()):
                writer.writerow([repr(float(x)) for x in row])
    elif ext == ".npz":
        np.savez(path, **arrays)
    elif ext in (".parquet", ".pq"):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise FormatError(
                f"{path}: writing Parquet needs pyarrow (pip install 'realize[io]')"
            ) from None
        pq.write_table(pa.table(arrays), path)
    else:
        raise FormatError(
            f"{path}: unknown output format {ext or '(no extension)'!r}; "
            "expected .csv, .tsv, .txt, .npz or .parquet"
        )
