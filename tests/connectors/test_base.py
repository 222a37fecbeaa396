"""Shared value parsers: numbers are read exactly or rejected, never silently changed."""

from __future__ import annotations

import pytest

from licpipe.connectors.base import to_float, to_int


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", 12), (" 1,234 ", 1234), ("12.0", 12), ("1.5E+3", 1500), ("", None), ("-3", -3)],
)
def test_to_int_whole_numbers(text, expected):
    assert to_int(text) == expected


@pytest.mark.parametrize("text", ["2.7", "1,5", "1.234,50", "12,34", "ten", "inf"])
def test_to_int_rejects_fraction_or_text(text):
    with pytest.raises(ValueError, match=repr(text).replace(".", r"\.")):
        to_int(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.5", 0.5), ("1,234.5", 1234.5), ("1,234,567", 1234567.0), ("n/a", None), ("", None)],
)
def test_to_float_numbers(text, expected):
    assert to_float(text) == expected


@pytest.mark.parametrize("text", ["0,5", "1.234,50", "1,23"])
def test_to_float_rejects_decimal_comma(text):
    with pytest.raises(ValueError, match="Use a dot as the decimal separator"):
        to_float(text)
