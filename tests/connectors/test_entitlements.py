import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from licpipe.connectors import entitlements
from licpipe.connectors.base import SourceFileError
from licpipe.loading import load_source

FIXTURES = Path(__file__).parents[1] / "fixtures" / "entitlements"


@pytest.mark.parametrize("name", ["entitlements.csv", "entitlements.yaml"])
def test_two_purchase_lines_kept(name):
    rows = entitlements.parse_file(FIXTURES / name).tables["entitlements"]
    e3 = [row for row in rows if row["sku"] == "Microsoft 365 E3"]

    assert len(e3) == 2
    assert [row["seats"] for row in e3] == [450, 60]
    assert [row["unit_price"] for row in e3] == [Decimal("36.0000"), Decimal("38.0000")]
    assert [row["term_start"] for row in e3] == [date(2026, 1, 1), date(2026, 7, 1)]
    assert all(row["price_period"] == "month" for row in e3)
    assert all(row["currency"] == "EUR" for row in e3)
    assert all(row["license_model"] == "named" for row in e3)


def test_csv_values_and_defaults():
    parsed = entitlements.parse_file(FIXTURES / "entitlements.csv")
    rows = {row["sku"]: row for row in parsed.tables["entitlements"]}

    assert rows["CAD_PRO"]["unit_price"] == Decimal("4800.0000")
    assert rows["CAD_PRO"]["license_model"] == "concurrent"
    assert rows["CAD_PRO"]["feature"] == "CAD_PRO"
    assert rows["CAD_PRO"]["quote_unit_price"] == Decimal("4500.0000")
    assert rows["CAD_VIEW"]["license_model"] == "concurrent"
    assert rows["CAD_VIEW"]["currency"] == "EUR"
    assert rows["CAD_VIEW"]["price_period"] == "year"
    assert parsed.notes["defaulted_price_period"] == 1


def test_csv_invalid_lines_rejected():
    parsed = entitlements.parse_file(FIXTURES / "entitlements.csv")
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert set(reasons) == {6, 7, 8}
    assert "license_model" in reasons[6]
    assert "'per seat'" in reasons[6]
    assert "seats" in reasons[7]
    assert "currency" in reasons[8]
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 7


def test_yaml_line_numbers():
    parsed = entitlements.parse_file(FIXTURES / "entitlements.yaml")
    rows = parsed.tables["entitlements"]
    text = (FIXTURES / "entitlements.yaml").read_text().split("\n")

    assert [row["_line_number"] for row in rows] == [3, 14, 25]
    assert text[parsed.rejects[0].line_number - 1].strip() == "- application: AcmeCAD"
    assert "unit_price" in parsed.rejects[0].reason
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 4


def test_yaml_top_level_list(tmp_path):
    path = tmp_path / "e.yml"
    path.write_text(
        "- application: Slack\n  sku: Slack Business+\n  license_model: named\n"
        "  seats: 500\n  unit_price: 12.5\n  price_period: monthly\n  currency: usd\n"
        "- just a string\n"
    )

    parsed = entitlements.parse_file(path)

    assert parsed.tables["entitlements"][0]["unit_price"] == Decimal("12.5000")
    assert parsed.tables["entitlements"][0]["currency"] == "USD"
    assert parsed.rejects[0].line_number == 8
    assert "not a mapping" in parsed.rejects[0].reason


def test_invalid_yaml_raises(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("entitlements:\n  - sku: [unclosed\n")

    with pytest.raises(SourceFileError, match="invalid YAML"):
        entitlements.parse_file(path)


def test_missing_required_column_raises(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("application,sku,license_model,seats,currency\nSlack,Biz,named,5,EUR\n")

    with pytest.raises(SourceFileError, match="unit_price"):
        entitlements.parse_file(path)


def test_term_end_before_start_rejected(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(
        "application,sku,license_model,seats,unit_price,currency,term_start,term_end\n"
        "Slack,Biz,named,5,1,EUR,2026-12-31,2026-01-01\n"
    )

    parsed = entitlements.parse_file(path)

    assert parsed.rows_landed == 0
    assert "term_end" in parsed.rejects[0].reason


def test_duckdb_load_exact_prices(tmp_path):
    landing = tmp_path / "landing"
    (landing / "entitlements").mkdir(parents=True)
    shutil.copy(FIXTURES / "entitlements.yaml", landing / "entitlements" / "entitlements.yaml")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))

    load_source(con, "entitlements", landing)
    total = con.execute(
        "select sum(seats * unit_price), typeof(any_value(unit_price)) from raw.entitlements "
        "where sku = 'Microsoft 365 E3'"
    ).fetchall()
    rejects = con.sql("select line_number from raw.rejects").fetchall()

    assert total == [(Decimal("18480.0000"), "DECIMAL(18,4)")]
    assert rejects == [(33,)]


def test_decimal_comma_and_fraction_rejected():
    parsed = entitlements.parse_file(FIXTURES / "semicolon_decimal_comma.csv")

    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}
    assert set(reasons) == {2, 3}
    assert "column unit_price: '1.234,50' contains a comma" in reasons[2]
    assert "Use a dot as the decimal separator" in reasons[2]
    assert reasons[3] == "column seats: '2.7' is not a whole number"
    (row,) = parsed.tables["entitlements"]
    assert row["sku"] == "CAD_LITE"
    assert row["unit_price"] == Decimal("250.0000")


@pytest.mark.parametrize(
    ("seats", "price", "expected"),
    [
        ("12.0", "36.00", (12, Decimal("36.0000"))),
        ('"1,200"', '"1,234.50"', (1200, Decimal("1234.5000"))),
        ("3", '"1,234,5"', "column unit_price: '1,234,5' has a decimal comma"),
        ("3", '"36,00"', "column unit_price: '36,00' has a decimal comma"),
        ("3", "1e15", "column unit_price: '1e15' is over the DECIMAL(18,4) maximum"),
        ("2.5", "36.00", "column seats: '2.5' is not a whole number"),
    ],
)
def test_comma_file_numbers(tmp_path, seats, price, expected):
    path = tmp_path / "e.csv"
    path.write_text(
        "application,sku,license_model,seats,unit_price,currency\n"
        f"Slack,Biz,named,{seats},{price},EUR\n"
    )

    parsed = entitlements.parse_file(path)

    if isinstance(expected, tuple):
        (row,) = parsed.tables["entitlements"]
        assert (row["seats"], row["unit_price"]) == expected
    else:
        (reject,) = parsed.rejects
        assert reject.reason.startswith(expected)
