"""The shared CSV reader: every physical data line is a record or a line reject."""

from __future__ import annotations

from pathlib import Path

import pytest

from licpipe.connectors import hr
from licpipe.connectors.base import SourceFileError
from licpipe.connectors.csv_records import read_csv_records
from licpipe.connectors.text_lines import MAX_LINE_CHARS, iter_text_lines

FIXTURES = Path(__file__).parents[1] / "fixtures"


def write_csv(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_stray_quote_rejects_its_line():
    header, records = read_csv_records(FIXTURES / "hr" / "stray_quote.csv")

    assert header == ["employee_id", "email", "department", "status"]
    assert [line for line, _, _ in records] == [2, 4, 5, 6]
    (reject,) = records.rejects
    assert reject.line_number == 3
    assert "double quote on line 3" in reject.reason
    assert "never closed" in reject.reason
    assert reject.raw_text == 'E2,user2@example.com,Eng,"active'


def test_stray_quote_counts_every_hr_line():
    parsed = hr.parse_file(FIXTURES / "hr" / "stray_quote.csv")

    emails = [row["email"] for row in parsed.tables["hr_directory"]]
    assert emails == [f"user{n}@example.com" for n in (1, 3, 4, 5)]
    assert [reject.line_number for reject in parsed.rejects] == [3]
    assert parsed.records_total == 5
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total


def test_stray_quote_closed_later(tmp_path):
    path = write_csv(
        tmp_path,
        'a,b,c,d\n1,2,3,"x\n5,6,7,8\n9,10,"eleven, twelve",13\n14,15,16,17\n',
    )

    _, records = read_csv_records(path)

    assert [line for line, _, _ in records] == [3, 4, 5]
    assert records[1][1] == ["9", "10", "eleven, twelve", "13"]
    (reject,) = records.rejects
    assert reject.line_number == 2
    assert "lines 3 to 4" in reject.reason


def test_swallowed_row_detected(tmp_path):
    # The runaway record has the header's width, so only the swallowed row gives it away.
    path = write_csv(tmp_path, 'a,b,c,d\n1,2,3,"x\n5,6,7,8\nend"\n')

    _, records = read_csv_records(path)

    (reject,) = records.rejects
    assert reject.line_number == 2
    assert "line 3 reads as a row of its own" in reject.reason
    assert [line for line, _, _ in records] == [3, 4]


def test_multiline_field_kept():
    _, records = read_csv_records(FIXTURES / "hr" / "multiline_quoted_field.csv")

    assert records.rejects == []
    assert [line for line, _, _ in records] == [2, 4]
    assert records[0][1][3] == "Building 4\nFloor 2"
    assert records[0][2] == 'E1,user1@example.com,Eng,"Building 4\nFloor 2",active'


def test_multiline_first_column_kept(tmp_path):
    path = write_csv(tmp_path, 'a,b,c,d\n"x\ny",2,3,4\n5,6,7,8\n')

    _, records = read_csv_records(path)

    assert records.rejects == []
    assert [fields for _, fields, _ in records] == [["x\ny", "2", "3", "4"], list("5678")]


def test_long_line_rejected(tmp_path):
    long_value = "x" * (MAX_LINE_CHARS + 10)
    path = write_csv(tmp_path, f"a,b,c\n1,2,3\n4,{long_value},6\n7,8,9\n")

    _, records = read_csv_records(path)

    assert [line for line, _, _ in records] == [2, 4]
    (reject,) = records.rejects
    assert reject.line_number == 3
    assert f"{MAX_LINE_CHARS + 14:,} characters long" in reject.reason
    assert len(reject.raw_text) == MAX_LINE_CHARS
    assert reject.raw_text.startswith("4,xxx")


def test_field_over_csv_limit_rejected(tmp_path):
    # Four lines under the line cap make one quoted field over csv's 131,072-character limit.
    chunk = "y" * 40_000
    text = f'a,b,c,d\n1,"{chunk}\n{chunk}\n{chunk}\n{chunk}",3,4\n5,6,7,8\n'
    path = write_csv(tmp_path, text)

    _, records = read_csv_records(path)

    assert records.rejects[0].line_number == 2
    assert "cannot be split into fields" in records.rejects[0].reason
    lines = {line for line, _, _ in records} | {reject.line_number for reject in records.rejects}
    assert lines == {2, 3, 4, 5, 6}
    assert records[-1] == (6, ["5", "6", "7", "8"], "5,6,7,8")


@pytest.mark.parametrize("line_end", ["\r\n", "\r", "\n"])
def test_line_ends_numbered_alike(tmp_path, line_end):
    text = line_end.join(["a,b", "1,2", "", "3,4", ""])
    path = write_csv(tmp_path, text)

    header, records = read_csv_records(path)

    assert header == ["a", "b"]
    assert [(line, fields) for line, fields, _ in records] == [(2, ["1", "2"]), (4, ["3", "4"])]


def test_cp1252_line_decoded(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("name,city\nRené,Zürich\n".encode("cp1252"))

    _, records = read_csv_records(path)

    assert records[0][1] == ["René", "Zürich"]


def test_long_header_fails_file(tmp_path):
    path = write_csv(tmp_path, "a" * (MAX_LINE_CHARS + 1) + "\n1\n")

    with pytest.raises(SourceFileError, match="line 1, the header"):
        read_csv_records(path)


def test_long_line_read_in_parts(tmp_path):
    path = tmp_path / "big.log"
    with path.open("w") as handle:
        handle.write("first\n")
        for _ in range(8):
            handle.write("z" * 1_000_000)
        handle.write("\nlast\n")

    lines = list(iter_text_lines(path))

    assert [(line.number, line.too_long) for line in lines] == [(1, False), (2, True), (3, False)]
    assert lines[1].length == 8_000_000
    assert len(lines[1].text) == MAX_LINE_CHARS
    assert lines[2].text == "last"
