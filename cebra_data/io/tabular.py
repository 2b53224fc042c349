"""Readers for text and spreadsheet tables: ``.csv`` and Excel (``.xls .xlsx .xlsm``).

Header detection (csv and every Excel sheet): the first row is a header when some column
holds text in the first row and a number in the second (or, for a one-row table, when the
row holds text), or when it reads ``0, 1, ..., n-1`` (pandas' labels for unnamed columns)
and the second row does not. Its cells become the column names used by
``columns=[...]``. When the header's first cell is empty, the first column is the row
index written by ``DataFrame.to_csv`` / ``to_excel`` and is not part of the data.

DeepLabCut csv files (first cells ``scorer`` / [``individuals``] / ``bodyparts`` /
``coords`` on the first three or four rows) are recognised and read as pose tables.
"""

from __future__ import annotations

import contextlib
import csv
import io
import pathlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Optional

import numpy as np

from cebra_data.errors import EmptyFileError, MissingDependencyError
from cebra_data.io._entries import Entry, Table
from cebra_data.io.deeplabcut import deeplabcut_csv_header, deeplabcut_csv_table
from cebra_data.io.registry import HEAD_SIZE, Reader, register_reader

__all__ = ["CsvReader", "ExcelReader", "looks_like_header"]

_SAMPLE = 1 << 16


def _number(cell: Any) -> Optional[bool]:
    """True for a number, False for text, None for an empty cell."""
    if cell is None:
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


def looks_like_header(first: Sequence[Any], second: Optional[Sequence[Any]]) -> bool:
    """Whether ``first`` is a header row above ``second`` (see the module docstring)."""
    if _default_labels(first) and (second is None or not _default_labels(second)):
        return True
    if second is None:
        return any(_number(c) is False for c in first)
    return any(
        _number(a) is False and _number(b) is True for a, b in zip(first, second)
    )


def _decode(sample: bytes) -> Optional[str]:
    if b"\x00" in sample:
        return None
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return sample.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _complete_lines(text: str, complete: bool, count: int) -> list[str]:
    lines = text.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the sample may end inside a line
    return [line for line in lines if line.strip()][:count]


class CsvReader(Reader):
    """One table per ``.csv`` file (entry named after the file's stem)."""

    name = "csv"
    suffixes = (".csv",)
    description = "CSV (text)"

    def can_read(self, head: bytes) -> bool:
        """Text without NUL bytes."""
        return _decode(head[:HEAD_SIZE]) is not None

    @contextlib.contextmanager
    def open(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Yield the file as one entry; reading happens when the entry is used."""
        yield [Entry(path.stem, lambda: self._read(path))]

    @staticmethod
    def _read(path: pathlib.Path) -> Any:
        import pandas as pd

        with open(path, "rb") as handle:
            raw = handle.read(_SAMPLE)
            complete = not handle.read(1)
        text = _decode(raw)
        if text is None:
            from cebra_data.errors import CorruptFileError

            raise CorruptFileError(f"'{path}' is not a text file.")
        lines = _complete_lines(text, complete, 6)
        if not lines:
            raise EmptyFileError(f"'{path}' has no rows (only blank lines).")
        try:
            delimiter = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
        rows = list(csv.reader(lines, delimiter=delimiter))
        dlc = deeplabcut_csv_header(rows)
        if dlc is not None:
            return deeplabcut_csv_table(path, rows, *dlc, delimiter=delimiter)
        header = looks_like_header(rows[0], rows[1] if len(rows) > 1 else None)
        index = header and len(rows[0]) > 1 and not rows[0][0].strip()
        frame = pd.read_csv(
            path, sep=delimiter, header=0 if header else None, index_col=0 if index else None,
            skip_blank_lines=True, encoding="utf-8-sig" if text is not None else None,
        )
        if len(frame) == 0:
            raise EmptyFileError(f"'{path}' has a header but no data rows.")
        return Table.from_frame(frame)


register_reader(CsvReader())


_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class ExcelReader(Reader):
    """One table per sheet, in workbook order, named by the sheet's name."""

    name = "excel"
    suffixes = (".xls", ".xlsx", ".xlsm")
    description = "Excel workbook"

    def can_read(self, head: bytes) -> bool:
        """``.xlsx``/``.xlsm`` are zip archives, ``.xls`` is an OLE2 compound file."""
        return head.startswith(_XLSX_MAGIC) or head.startswith(_XLS_MAGIC)

    @contextlib.contextmanager
    def open(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Yield one entry per sheet; a sheet is parsed when its entry is used."""
        import pandas as pd

        engine = "xlrd" if path.read_bytes()[:8] == _XLS_MAGIC else "openpyxl"
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
                Entry(str(sheet), lambda sheet=sheet: self._sheet(workbook, sheet))
                for sheet in workbook.sheet_names
            ]

    @staticmethod
    def _sheet(workbook: Any, sheet: Any) -> Table:
        import pandas as pd

        top = pd.read_excel(workbook, sheet_name=sheet, header=None, nrows=2)
        if top.shape[0] == 0:
            return Table.from_frame(top)
        first = top.iloc[0].tolist()
        second = top.iloc[1].tolist() if top.shape[0] > 1 else None
        if not looks_like_header(first, second):
            return Table.from_frame(pd.read_excel(workbook, sheet_name=sheet, header=None))
        index = len(first) > 1 and _number(first[0]) is None
        frame = pd.read_excel(workbook, sheet_name=sheet, header=0, index_col=0 if index else None)
        frame.columns = [str(c) for c in frame.columns]
        return Table.from_frame(frame)


register_reader(ExcelReader())
