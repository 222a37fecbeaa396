"""Split a CSV export into records, rejecting lines that cannot be split safely.

Every physical data line ends up in exactly one record or one line reject, so a connector's
landed + rejected rows account for every line. Two kinds of line are rejected before any
field is read: lines over MAX_LINE_CHARS, and the first line of a quoted field that runs on
over later lines that look like rows of their own (a stray double quote). Parsing resumes on
the line after the stray quote, so the rows it would have swallowed still load.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from pathlib import Path

from licpipe.connectors.base import Reject, SourceFileError, normalise_header, sniff_delimiter
from licpipe.connectors.text_lines import TextLine, iter_text_lines, too_long_reason

logger = logging.getLogger(__name__)

# (1-based line number where the record starts, fields, raw text of its lines)
Record = tuple[int, list[str], str]


class CsvRecords(list[Record]):
    """The records of one CSV file, with the lines rejected before splitting and the delimiter."""

    def __init__(self, records: list[Record], rejects: list[Reject], delimiter: str) -> None:
        super().__init__(records)
        self.rejects = rejects
        self.delimiter = delimiter


class _LineFeed:
    """Feed lines to csv.reader from a position that can be moved back, stopping at long lines."""

    def __init__(self, lines: list[TextLine]) -> None:
        self.lines = lines
        self.position = 0
        self.ran_out = False

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self.position >= len(self.lines) or self.lines[self.position].too_long:
            self.ran_out = True
            raise StopIteration
        line = self.lines[self.position]
        self.position += 1
        return line.text + "\n"


def _looks_like_row(text: str, delimiter: str, width: int) -> bool:
    """True when a line parsed alone has the header's width and closes all its quotes.

    A line with an odd number of double quotes is taken as the end of a field that began on an
    earlier line, so a multi-line value in the first column is not mistaken for a row.
    """
    if text.count('"') % 2:
        return False
    try:
        fields = next(csv.reader([text], delimiter=delimiter, strict=True), [])
    except csv.Error:
        return False
    return width > 1 and len(fields) == width


def _runaway_reason(
    lines: list[TextLine], record: tuple[int, list[str], int, bool], width: int, delimiter: str
) -> str | None:
    """Say why the record on lines[start:end] is a stray quote's runaway, or return None.

    A record over several lines is a runaway in three cases. Its quote is still open where the
    lines run out (the end of the file or an over-long line). It has more or fewer fields than
    the header. Or a line it took in reads as a complete row of its own.
    """
    start, fields, end, ran_out = record
    if end - start == 1 and not ran_out:
        return None
    first = lines[start].number
    fix = "Remove the stray quote or quote the whole field, then export again"
    if ran_out:
        return f"a double quote on line {first} opens a field that is never closed. {fix}"
    first_taken, last_taken = lines[start + 1].number, lines[end - 1].number
    span = (
        f"line {last_taken}"
        if first_taken == last_taken
        else f"lines {first_taken} to {last_taken}"
    )
    if len(fields) != width:
        return (
            f"a double quote on line {first} opens a field that runs over {span}, and the "
            f"record it makes has {len(fields)} fields, not {width}. {fix}"
        )
    for line in lines[start + 1 : end]:
        if _looks_like_row(line.text, delimiter, width):
            return (
                f"a double quote on line {first} opens a field that runs over {span}, and "
                f"line {line.number} reads as a row of its own. {fix}"
            )
    return None


def read_csv_records(path: Path, delimiter: str | None = None) -> tuple[list[str], CsvRecords]:
    """Read a CSV export into normalised headers and its records.

    Line numbers are 1-based physical lines of the file. The header is the first non-blank
    line, and a quoted field spanning lines keeps the number of the line it starts on. Blank
    lines and lines of empty fields are skipped. The delimiter, when not given, is sniffed
    from the header. Raises SourceFileError for an empty file or an over-long header.
    """
    lines = list(iter_text_lines(path))
    header_index = next((i for i, line in enumerate(lines) if line.text.strip()), None)
    if header_index is None:
        raise SourceFileError(
            f"{path}: the file is empty. Re-export it or remove it from the landing folder."
        )
    header_line = lines[header_index]
    if header_line.too_long:
        raise SourceFileError(
            f"{path}: line {header_line.number}, the header, is {header_line.length:,} "
            "characters long, so this is not a CSV export. Re-export it or remove it from the "
            "landing folder."
        )
    delimiter = delimiter or sniff_delimiter(header_line.text)
    header = [normalise_header(name) for name in _split(header_line.text, delimiter)]

    feed = _LineFeed(lines)
    feed.position = header_index + 1
    records: list[Record] = []
    rejects: list[Reject] = []
    for record in _records(feed, delimiter, rejects):
        start, fields, end, _ = record
        reason = _runaway_reason(lines, record, len(header), delimiter)
        if reason is not None:
            line = lines[start]
            rejects.append(Reject(line.number, reason, line.text))
            feed.position = start + 1
            continue
        if all(not value.strip() for value in fields):
            continue
        raw = "\n".join(line.text for line in lines[start:end])
        records.append((lines[start].number, fields, raw))
    if rejects:
        logger.warning("%s: rejected %d lines before splitting fields", path, len(rejects))
    return header, CsvRecords(records, rejects, delimiter)


def _split(text: str, delimiter: str) -> list[str]:
    return next(csv.reader([text], delimiter=delimiter), [])


def _records(
    feed: _LineFeed, delimiter: str, rejects: list[Reject]
) -> Iterator[tuple[int, list[str], int, bool]]:
    """Yield (start index, fields, end index, ran out) per record, rejecting over-long lines.

    `ran out` is True when the record's quote was still open where the lines ran out.

    The caller may move `feed.position` back between records. A fresh reader per record keeps
    that safe, because csv.reader keeps no state between records.
    """
    lines = feed.lines
    while feed.position < len(lines):
        start = feed.position
        line = lines[start]
        if line.too_long:
            rejects.append(Reject(line.number, too_long_reason(line.length), line.text))
            feed.position += 1
            continue
        if not line.text.strip():
            feed.position += 1
            continue
        feed.ran_out = False
        try:
            fields = next(csv.reader(feed, delimiter=delimiter))
        except csv.Error as error:
            reason = f"line cannot be split into fields ({error}). Check its quotes"
            rejects.append(Reject(line.number, reason, line.text))
            feed.position = start + 1
            continue
        yield start, fields, feed.position, feed.ran_out
