"""Results as CSV or JSON, produced a row at a time so a 50,000-image job is never held in memory."""

import csv
import json
from typing import Iterable, Iterator

COLUMNS = [
    "name",
    "status",
    "digit",
    "text",
    "confidence",
    "flagged",
    "corrected_label",
    "corrected_text",
    "error",
    "model_version",
]
# Columns that may hold what an uploader wrote (a zip member named =HYPERLINK("http://...").png): a spreadsheet
# would run such a cell as a formula, so it is written with a leading apostrophe (OWASP's CSV injection advice).
UPLOADER_TEXT = ("name", "error")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_row(image) -> dict:
    return {
        "name": image.name,
        "status": image.status,
        "digit": image.digit,
        "text": image.text,
        "confidence": image.confidence,
        "flagged": image.needs_review,
        "corrected_label": image.corrected_label,
        "corrected_text": image.corrected_text,
        "error": image.error,
        "model_version": image.model_version,
    }


class _Line:
    """A file-like object whose write() hands back the line csv.writer formatted."""

    def write(self, line):
        return line


def csv_lines(images: Iterable) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for image in images:
        row = export_row(image)
        yield writer.writerow([_cell(column, row[column]) for column in COLUMNS])


def _cell(column: str, value):
    if value is None:
        return ""
    if column in UPLOADER_TEXT and str(value).startswith(FORMULA_STARTS):
        return "'" + str(value)
    return value


def json_chunks(images: Iterable) -> Iterator[str]:
    yield "["
    for index, image in enumerate(images):
        yield ("," if index else "") + json.dumps(export_row(image))
    yield "]"
