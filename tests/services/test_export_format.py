"""How amounts and CSV cells leave the service (every list endpoint's CSV form uses these)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from app.services.queries import money, to_csv


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 0.0),
        (7, 7.0),
        (Decimal("1.005"), 1.01),  # half up, not to even
        (Decimal("-2.675"), -2.68),
        (Decimal("123456789012.345"), 123456789012.35),
        (2.675, 2.68),  # a float (SQLite's SUM of NUMERIC) rounds as the decimal it prints as
        (1234.5, 1234.5),
    ],
)
def test_money_rounds_half_up_to_cents(value, expected):
    assert money(value) == expected


def test_csv_cells_lists_joined_none_empty_and_chunked():
    rows = [
        {"key": "sso", "owners": ["Ann", "Bo"], "stages": ("demo",), "date": date(2026, 3, 31)},
        {"key": "scim", "owners": [], "stages": None},
    ] + [{"key": f"feature-{i:06d}", "owners": None, "date": None} for i in range(8000)]
    chunks = list(to_csv(rows, ["key", "owners", "stages", "date"]))
    assert len(chunks) > 1  # streamed, not one string
    parsed = list(csv.reader(io.StringIO("".join(chunks))))
    assert parsed[0] == ["key", "owners", "stages", "date"]
    assert parsed[1] == ["sso", "Ann | Bo", "demo", "2026-03-31"]
    assert parsed[2] == ["scim", "", "", ""]
    assert len(parsed) == 3 + 8000


def test_text_a_spreadsheet_would_run_as_a_formula_is_made_inert():
    """CSV injection: CRM text such as a deal name '=HYPERLINK(...)' must open as text."""
    rows = [
        {"deal": '=HYPERLINK("http://x","open")', "amount": -1200.5, "note": "+1 555 0100"},
        {"deal": "@SUM(A1)", "amount": 3.0, "note": ["-rep", "fine"]},
        {"deal": "\tTAB", "amount": None, "note": "Plain = text"},
    ]
    parsed = list(csv.reader(io.StringIO("".join(to_csv(rows, ["deal", "amount", "note"])))))
    assert parsed[1:] == [
        ['\'=HYPERLINK("http://x","open")', "-1200.5", "'+1 555 0100"],
        ["'@SUM(A1)", "3.0", "'-rep | fine"],
        ["'\tTAB", "", "Plain = text"],
    ]
