"""Read export files line by line with a cap on line length, so no line is held whole in memory.

A line is cut at `\\n`, `\\r\\n` or a lone `\\r`, as `read_text` normalises them. Each line is
decoded as UTF-8, or as cp1252 when it is not valid UTF-8 (old Windows servers).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Maximum length, in characters (64 KiB), of a line or text value stored in the warehouse. The
# longest line in the sample exports under tests/fixtures has 1,125, so a longer line is most
# likely a joined or binary file, not data to keep.
MAX_LINE_CHARS = 65_536
# Characters read at a time while skipping the rest of an over-long line.
_SKIP_CHUNK_CHARS = 1 << 20
# Bytes read to recognise a file kind: enough for 4,096 characters of any UTF-8 text.
HEAD_BYTES = 4 * 4096
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class TextLine:
    """One physical line: its 1-based number, its text and its full length in characters.

    `text` is the whole line without its line end, or its first MAX_LINE_CHARS characters when
    the line is longer, so callers test `too_long` before parsing it.
    """

    number: int
    text: str
    length: int

    @property
    def too_long(self) -> bool:
        return self.length > MAX_LINE_CHARS


def too_long_reason(length: int) -> str:
    """Return the reject reason for a line of `length` characters over MAX_LINE_CHARS."""
    return (
        f"line is {length:,} characters long, over the limit of {MAX_LINE_CHARS:,}, so raw_text "
        "keeps only its start. Check that the file is an unmodified text export"
    )


def _decode(text: str) -> str:
    """Turn bytes that were not UTF-8 (kept as surrogate escapes) into cp1252 characters."""
    if not _ESCAPED_BYTE.search(text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("cp1252", errors="replace")


def iter_text_lines(path: Path) -> Iterator[TextLine]:
    """Yield each physical line of a text file, reading at most MAX_LINE_CHARS + 1 at a time.

    The rest of an over-long line is read in chunks and dropped, so memory stays bounded by
    MAX_LINE_CHARS whatever the file holds. A UTF-8 byte-order mark on line 1 is dropped.
    """
    with path.open(encoding="utf-8", errors="surrogateescape", newline=None) as handle:
        number = 0
        while True:
            chunk = handle.readline(MAX_LINE_CHARS + 1)
            if not chunk:
                return
            number += 1
            if number == 1:
                chunk = chunk.lstrip("\ufeff")
            if chunk.endswith("\n"):
                text = chunk[:-1]
                yield TextLine(number, _decode(text), len(text))
                continue
            length = len(chunk)
            rest = chunk
            while rest and not rest.endswith("\n"):
                rest = handle.readline(_SKIP_CHUNK_CHARS)
                length += len(rest)
            if rest.endswith("\n"):
                length -= 1
            yield TextLine(number, _decode(chunk[:MAX_LINE_CHARS]), length)


def read_head(path: Path) -> str:
    """Return about the first 4,096 characters of a text file, decoded as `read_text` does.

    Reads HEAD_BYTES only, so recognising a file's kind costs the same for any file size.
    """
    with path.open("rb") as handle:
        data = handle.read(HEAD_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the block is not an encoding error.
        if error.start >= len(data) - 3 and error.reason == "unexpected end of data":
            text = data[: error.start].decode("utf-8-sig")
        else:
            text = data.decode("cp1252", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    return text[:4096]


def read_first_line(path: Path) -> str:
    """Return the first line of a text file (a header), up to MAX_LINE_CHARS characters."""
    return next((line.text for line in iter_text_lines(path)), "")
