"""Readers for text and spreadsheet tables: ``.csv`` and Excel (``.xls .xlsx .xlsm``).

Header detection (csv and every Excel sheet): the first row is a header when some column
holds text in the first row and a number in the second (or, for a one-row table, when the
row holds text). Its cells become the column names used by ``columns=[...]``. When the
header's first cell is empty, the first column is the row index written by
``DataFrame.to_csv`` / ``to_excel`` and is not part of the data.

A first row whose cells all parse as numbers (empty cells allowed) is never a header: it
is data, and no row of numbers is ever dropped. When such a row reads ``0, 1, ..., n-1``
(optionally after an empty cell) above a row that does not, it may be the labels pandas
writes for unnamed columns; it is still kept as data, with a warning saying how to drop it.
There is no warning when the next two rows continue it, each column in equal steps
(``0..n-1``, ``n..2n-1``, ``2n..3n-1`` as ``np.arange`` writes them): such a row is plainly
the first row of the data.

DeepLabCut csv files (first cells ``scorer`` / [``individuals``] / ``bodyparts`` /
``coords`` on the first three or four rows) are recognised and read as pose tables.
"""

from __future__ import annotations

import contextlib
import html
import io
import pathlib
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Optional

import numpy as np
import pandas as pd

from cebra_data.errors import (
    AmbiguousDataWarning,
    CorruptFileError,
    EmptyFileError,
    MissingDependencyError,
    NonNumericDataError,
)
from cebra_data.io.poses.table import (
    deeplabcut_csv_header,
    deeplabcut_csv_table,
    refuse_cut_deeplabcut_header,
)
from cebra_data.io.reader import (
    HEAD_SIZE,
    Entry,
    Reader,
    Table,
    check_row_widths,
    csv_head,
    decode_text as _decode,
    sniff_delimiter as _sniff_delimiter,  # noqa: F401  (tests call it by this name)
)
from cebra_data.io.registry import register_reader

__all__ = ["CsvReader", "ExcelReader", "is_numeric_row", "looks_like_header", "maybe_default_labels"]



def _number(cell: Any) -> Optional[bool]:
    """True for a number, False for text, None for an empty cell."""
    if cell is None or cell is pd.NaT:
        return None
    if isinstance(cell, (bool, np.bool_)):
        return True
    if isinstance(cell, (int, float, np.number)):
        return None if isinstance(cell, float) and np.isnan(cell) else True
    text = str(cell).strip()
    if not text:
        return None
    try:
        float(text)
    except ValueError:
        return False
    return True


def _default_labels(row: Sequence[Any]) -> bool:
    """Whether ``row`` reads ``0, 1, ..., n-1`` (n >= 2), optionally after one empty cell.

    That is the header pandas writes for a DataFrame without column names.
    """
    cells = [
        "" if _number(c) is None
        else str(int(c)) if isinstance(c, (float, np.floating)) and float(c).is_integer()
        else str(c).strip()
        for c in row
    ]
    if cells and cells[0] == "":
        cells = cells[1:]
    return len(cells) >= 2 and cells == [str(i) for i in range(len(cells))]


def is_numeric_row(row: Sequence[Any]) -> bool:
    """Whether every cell of ``row`` is a number or empty, and at least one is a number.

    Such a row is data: header detection never takes it for a header.

    Args:
        row: The cells of one row (strings from a csv file, values from a spreadsheet).

    Returns:
        ``True`` for a row of numbers.

    Example:
        >>> from cebra_data.io.tabular import is_numeric_row
        >>> is_numeric_row(["", "0", "1.5e3"]), is_numeric_row(["t", "1"])
        (True, False)
    """
    kinds = [_number(c) for c in row]
    return any(k is True for k in kinds) and all(k is not False for k in kinds)


def looks_like_header(first: Sequence[Any], second: Optional[Sequence[Any]]) -> bool:
    """Whether ``first`` is a header row above ``second`` (see the module docstring).

    Args:
        first: The cells of the first row.
        second: The cells of the second row, ``None`` for a one-row table.

    Returns:
        ``True`` when ``first`` holds text above a number in some column (or, for a
        one-row table, holds text); never for a row of numbers.

    Example:
        >>> from cebra_data.io.tabular import looks_like_header
        >>> looks_like_header(["t", "x"], ["0", "1.5"]), looks_like_header(["0", "1"], ["2", "3"])
        (True, False)
    """
    if is_numeric_row(first):
        return False
    if second is None:
        return any(_number(c) is False for c in first)
    return any(
        _number(a) is False and _number(b) is True for a, b in zip(first, second)
    )


def maybe_default_labels(first: Sequence[Any], second: Optional[Sequence[Any]],
                         third: Optional[Sequence[Any]] = None) -> bool:
    """Whether a first row of numbers might be pandas' labels for unnamed columns.

    That is a row reading ``0, 1, ..., n-1`` (n >= 2, optionally after one empty cell)
    above a row that does not, unless the second and third rows continue the first in
    every column with equal steps (``third - second == second - first``, as in
    ``np.arange(30).reshape(10, 3)``): a header of labels above data does not line up
    with it like that. It is kept as data all the same; readers warn about it.

    Args:
        first: The cells of the first row.
        second: The cells of the second row, ``None`` for a one-row table.
        third: The cells of the third row, ``None`` for a table of fewer rows.

    Returns:
        ``True`` when the first row is ambiguous in that way.

    Example:
        >>> from cebra_data.io.tabular import maybe_default_labels
        >>> maybe_default_labels(["0", "1", "2"], ["0.5", "7", "9"])
        True
        >>> maybe_default_labels(["0", "1", "2"], ["0", "1", "2"])  # repeated: plainly data
        False
        >>> maybe_default_labels(["0", "1", "2"], ["3", "4", "5"], ["6", "7", "8"])  # a progression
        False
    """
    return (_default_labels(first) and (second is None or not _default_labels(second))
            and not _continued(first, second, third))


def _continued(first: Sequence[Any], second: Optional[Sequence[Any]],
               third: Optional[Sequence[Any]]) -> bool:
    """Whether three full rows of numbers step equally in every column (first to second to third)."""
    if second is None or third is None or not len(first) == len(second) == len(third):
        return False
    rows = []
    for row in (first, second, third):
        if not all(_number(c) is True for c in row):
            return False
        rows.append(np.array([float(str(c).strip()) if isinstance(c, str) else float(c) for c in row]))
    return bool(np.allclose(rows[1] - rows[0], rows[2] - rows[1], rtol=1e-9, atol=0.0))


def _warn_kept_labels(where: str, first: Sequence[Any]) -> None:
    n = len(first) - 1 if _number(first[0]) is None else len(first)
    index = _number(first[0]) is None
    warnings.warn(
        f"The first row of {where} reads 0, 1, ..., {n - 1}, like the labels pandas writes "
        "for unnamed columns, but it is a row of numbers, so it is kept as data. If it is a "
        "header, drop it with [1:]"
        + (" ([1:, 1:] to drop the index column below its empty first cell too)" if index else "")
        + "; write files with header=False, or with named columns, to avoid the ambiguity.",
        AmbiguousDataWarning,
        stacklevel=2,
    )


class CsvReader(Reader):
    """One table per ``.csv`` file (entry named after the file's stem)."""

    name = "csv"
    suffixes = (".csv",)
    description = "CSV (text)"

    def can_read(self, head: bytes) -> bool:
        """Text without NUL bytes."""
        return _decode(head[:HEAD_SIZE]) is not None

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Yield the file as one entry; reading happens when the entry is used."""
        yield [Entry(path.stem, lambda: self._read(path))]

    @staticmethod
    def _read(path: pathlib.Path) -> Any:
        head = csv_head(path, 6)
        if head is None:
            raise CorruptFileError(f"'{path}' is not a text file.")
        rows, delimiter = head
        if not rows:
            raise EmptyFileError(f"'{path}' has no rows (only blank lines).")
        dlc = deeplabcut_csv_header(rows)
        if dlc is not None:
            return deeplabcut_csv_table(path, rows, *dlc, delimiter=delimiter)
        refuse_cut_deeplabcut_header(path, rows)
        second = rows[1] if len(rows) > 1 else None
        header = looks_like_header(rows[0], second)
        if not header and maybe_default_labels(rows[0], second, rows[2] if len(rows) > 2 else None):
            _warn_kept_labels(f"'{path}'", rows[0])
        index = header and len(rows[0]) > 1 and not rows[0][0].strip()
        options = {"sep": delimiter, "header": 0 if header else None,
                   "index_col": 0 if index else False, "skip_blank_lines": True,
                   "encoding": "utf-8-sig"}

        def check_widths() -> None:
            check_row_widths(path, delimiter, len(rows[0]), header_rows=int(header))

        frame = _read_checking_widths(path, options, len(rows[0]) - int(index), check_widths)
        if frame is None:
            check_widths()
            frame = pd.read_csv(path, **options)
        if len(frame) == 0:
            raise EmptyFileError(f"'{path}' has a header but no data rows.")
        return Table.from_frame(frame)


def _read_checking_widths(path: pathlib.Path, options: dict[str, Any], columns: int,
                          check_widths: Callable[[], None]) -> Optional[pd.DataFrame]:
    """``pandas.read_csv``, with the line-by-line width check only where pandas may hide a ragged row.

    One pass over a well-formed numeric file instead of two. pandas refuses a row longer
    than the first one (a ``ParserError``), warns when the first data row is longer than
    the header, and pads a shorter row with missing values, which end up in the last
    column. So a frame read without error or warning, with ``columns`` columns, numeric
    columns only, and no missing value in its last column, has no ragged row. Numeric
    columns also mean that no quoted field holds a delimiter or a line break (such a
    field is text), so pandas' rows are the file's lines as the check counts them.
    Otherwise ``check_widths`` (which names the offending line) runs on the file, and the
    frame is kept when it passes: the same frame the check-then-read order gives.

    Returns:
        The frame, or ``None`` when pandas failed or warned: the caller then checks the
        file line by line and reads it again, exactly as without this shortcut.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = pd.read_csv(path, **options)
        except Exception:  # noqa: BLE001  (the line-by-line check and a second read explain it)
            return None
    if caught:
        return None
    numeric = all(isinstance(d, np.dtype) and d.kind in "biufc" for d in frame.dtypes)
    if not numeric or frame.shape[1] != columns or frame.index.nlevels != 1 \
            or frame.columns.nlevels != 1 or frame.iloc[:, -1].isna().to_numpy().any():
        check_widths()
    return frame


register_reader(CsvReader())


_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# BOF records of BIFF2, BIFF3, BIFF4 and BIFF5-8 streams (old worksheets are not OLE2 files)
_BIFF_BOF = (b"\x09\x00", b"\x09\x02", b"\x09\x04", b"\x09\x08")


class ExcelReader(Reader):
    """One table per sheet, in workbook order, named by the sheet's name."""

    name = "excel"
    suffixes = (".xls", ".xlsx", ".xlsm")
    description = "Excel workbook"

    def can_read(self, head: bytes) -> bool:
        """``.xlsx``/``.xlsm`` are zip archives; ``.xls`` is an OLE2 compound file or, for
        Excel 2.x-4.x worksheets, a bare BIFF stream starting with its BOF record."""
        return head.startswith(_XLSX_MAGIC) or head.startswith(_XLS_MAGIC) \
            or head[:2] in _BIFF_BOF

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Yield one entry per sheet; a sheet is parsed when its entry is used."""
        with open(path, "rb") as handle:
            engine = "openpyxl" if handle.read(4) == _XLSX_MAGIC else "xlrd"
        try:
            __import__(engine)
        except ImportError as exc:
            raise MissingDependencyError(
                f"Reading '{path}' needs the {engine} package: pip install {engine}"
            ) from exc
        with warnings.catch_warnings():
            # pandas deprecates its xlrd engine, but xlrd is the only reader of .xls files.
            warnings.filterwarnings("ignore", message=".*xlrd engine is deprecated.*")
            # xlrd reports file inconsistencies on stdout unless given a log file.
            options = {"logfile": io.StringIO()} if engine == "xlrd" else {}
            workbook = pd.ExcelFile(path, engine=engine, engine_kwargs=options)
        with workbook:
            yield [
                Entry(str(sheet), lambda sheet=sheet: self._sheet(workbook, sheet, path))
                for sheet in workbook.sheet_names
            ]

    @staticmethod
    def _sheet(workbook: Any, sheet: Any, path: pathlib.Path) -> Table:
        where = f"sheet {sheet!r} of '{path}'"
        if getattr(workbook, "engine", None) == "openpyxl":
            _check_formulas(path, sheet, where)
        raw = pd.read_excel(workbook, sheet_name=sheet, header=None)
        # Leading blank rows are layout, not data: the table starts at the first row with
        # a value (pandas counts blank rows in ``header=``, so positions are raw rows).
        filled = np.flatnonzero(raw.notna().any(axis=1).to_numpy()) if raw.size else []
        if len(filled) == 0:
            return Table.from_frame(raw.iloc[:0, :0])
        start = int(filled[0])
        first = raw.iloc[start].tolist()
        second = raw.iloc[filled[1]].tolist() if len(filled) > 1 else None
        third = raw.iloc[filled[2]].tolist() if len(filled) > 2 else None
        if not looks_like_header(first, second):
            if maybe_default_labels(first, second, third):
                _warn_kept_labels(where, first)
            return Table.from_frame(raw.iloc[start:].reset_index(drop=True))
        index = len(first) > 1 and _number(first[0]) is None
        frame = pd.read_excel(workbook, sheet_name=sheet, header=start,
                              index_col=0 if index else None)
        frame.columns = [str(c) for c in frame.columns]
        return Table.from_frame(frame)


_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
_VALUE = re.compile(rb"<(?:\w+:)?v>[^<]")
_REF = re.compile(rb"\br=\"([A-Z]+[0-9]+)\"")


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> Optional[str]:
    """The archive member holding ``sheet`` (from workbook.xml and its relationships)."""
    try:
        book = archive.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        return None
    targets = dict(re.findall(r'<(?:\w+:)?Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"',
                              rels))
    targets.update({k: v for v, k in re.findall(
        r'<(?:\w+:)?Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
    for attrs in re.findall(r"<(?:\w+:)?sheet\b([^>]*)/?>", book):
        name = re.search(r'\bname="([^"]*)"', attrs)
        rid = re.search(r'\br:id="([^"]*)"|\bid="([^"]*)"', attrs)
        if name and rid and html.unescape(name.group(1)) == sheet:
            target = targets.get(rid.group(1) or rid.group(2), "")
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


def _check_formulas(path: pathlib.Path, sheet: Any, where: str) -> None:
    """Refuse a sheet with formula cells whose result the file does not store.

    openpyxl (and other writers) save formulas without their computed value; pandas then
    reads such a cell as empty, which would turn the formula into a NaN (or drop its row).
    The sheet's XML is scanned; a sheet without formulas costs one substring search.

    Raises:
        NonNumericDataError: naming the first such cell and what to do.
    """
    with zipfile.ZipFile(path) as archive:
        part = _sheet_part(archive, str(sheet))
        if part is None or part not in archive.namelist():
            return
        data = archive.read(part)
    # every formula tag holds "<f" or, with a namespace prefix, ":f": two fast substring
    # searches rule out most sheets before the regular expression runs
    if (b"<f" not in data and b":f" not in data) or not _FORMULA.search(data):
        return
    for match in _CELL.finditer(data):
        body = match.group(2) or b""
        if _FORMULA.search(body) and not _VALUE.search(body):
            ref = _REF.search(match.group(1))
            cell = ref.group(1).decode() if ref else "?"
            raise NonNumericDataError(
                f"Cell {cell} of {where} holds a formula but the file stores no result for it "
                "(files written by openpyxl and some other tools store only the formula), so "
                "its value is unknown. Open the file in Excel or LibreOffice and save it, which "
                "stores the results, then load it again."
            )


register_reader(ExcelReader())
