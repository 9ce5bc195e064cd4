"""1C Excel reports: find the header row by its captions and read (key, value) data rows."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from openpyxl import load_workbook

HEADER_SCAN_ROWS = 30
_SPACES = re.compile(r"\s+")


class ReportError(Exception):
    """The file is not an .xlsx report this service can read; the message is for the client."""


@dataclass
class Report:
    rows: list[tuple[str, Decimal | None]] = field(default_factory=list)
    skipped_rows: int = 0


def normalize_caption(value) -> str:
    text = "" if value is None else str(value)
    return _SPACES.sub(" ", text.replace("\xa0", " ")).strip().casefold()


def key_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return str(value).replace("\xa0", " ").strip() if value is not None else ""


def number_value(value) -> Decimal | None:
    """A number cell, or numeric text with spaces and , or . (None when empty)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    text = str(value).replace("\xa0", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite():
        raise ValueError(value)
    return number


def read_report(content: bytes, key_header: str, value_header: str) -> Report:
    """CPU-bound: call it in a worker thread. Only the first worksheet is read."""
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise ReportError("Unsupported file format: upload .xlsx")
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise ReportError("Unsupported file format: upload .xlsx") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        key_column, value_column = _find_header(rows, key_header, value_header)
        return _data_rows(rows, key_column, value_column)
    finally:
        workbook.close()


def _find_header(rows, key_header: str, value_header: str) -> tuple[int, int]:
    wanted_key, wanted_value = normalize_caption(key_header), normalize_caption(value_header)
    for _ in range(HEADER_SCAN_ROWS):
        row = next(rows, None)
        if row is None:
            break
        captions = [normalize_caption(cell) for cell in row]
        if wanted_key in captions and wanted_value in captions:
            return captions.index(wanted_key), captions.index(wanted_value)
    raise ReportError(f"Required columns not found: {key_header}, {value_header}")


def _data_rows(rows, key_column: int, value_column: int) -> Report:
    report = Report()
    for row in rows:
        key_cell = row[key_column] if key_column < len(row) else None
        value_cell = row[value_column] if value_column < len(row) else None
        key = key_text(key_cell)
        if not key or key.startswith("Итого"):
            report.skipped_rows += 1
            continue
        try:
            value = number_value(value_cell)
        except ValueError:
            report.skipped_rows += 1
            continue
        report.rows.append((key, value))
    if not report.rows:
        raise ReportError("No data rows found")
    return report
