"""Hostile notes: a note is read up to `NOTE_READ_LIMIT` characters of its plain text, and the
readers that once scanned a whole clause or word for each name in it (`_date_for`,
`_their_report`, `_in_address`) read long clauses and words as they read short ones. No
timing here: `benchmarks/notes_worst_case.py` prints the figures."""

from __future__ import annotations

from datetime import date

from structlog.testing import capture_logs

from app.rules.catalog import Catalog
from app.rules.references import NOTE_READ_LIMIT, find_references, plain_note_text

from .conftest import TODAY, make_deal

Q1 = date(2027, 3, 31)
Q3 = date(2027, 9, 30)


def _filler(chars: int) -> str:
    """Plain sentences naming nothing, `chars` long."""
    unit = "Talked about the weather. "
    return (unit * (chars // len(unit) + 1))[:chars]


def _read(catalog: Catalog, body: str) -> dict[str, tuple[bool, date | None]]:
    refs = find_references(make_deal(body), catalog, today=TODAY)
    return {r.feature_key: (r.is_commitment, r.promised_date) for r in refs}


def test_a_promise_before_the_limit_is_read_one_after_it_is_not(catalog: Catalog) -> None:
    before = "We will have SCIM by Q1. "
    after = " We will have SSO by Q3."
    body = _filler(NOTE_READ_LIMIT - len(before) - 10) + before + _filler(20) + after
    assert len(body) > NOTE_READ_LIMIT
    with capture_logs() as logs:
        read = _read(catalog, body)
    assert read == {"scim": (True, Q1)}
    assert [e["event"] for e in logs] == ["note_read_in_part"]
    assert logs[0]["note_chars"] == len(body) and logs[0]["read_chars"] <= NOTE_READ_LIMIT


def test_the_limit_is_on_the_plain_text(catalog: Catalog) -> None:
    # markup does not count: the promise is within the limit once the tags are read as text
    promise = "We will have SCIM by Q1."
    body = "<b></b>" * (NOTE_READ_LIMIT // 7) + promise
    assert len(body) > NOTE_READ_LIMIT >= len(plain_note_text(body))
    assert _read(catalog, body) == {"scim": (True, Q1)}


def test_a_name_the_limit_falls_in_is_not_read_in_part(catalog: Catalog) -> None:
    # "SCIM" from NOTE_READ_LIMIT - 2: cut before it, not read as "SC" (nor as a misspelt name)
    body = _filler(NOTE_READ_LIMIT - 3) + " SCIM is needed."
    assert body.index("SCIM") == NOTE_READ_LIMIT - 2
    assert _read(catalog, body) == {}


def test_a_note_at_the_limit_is_read_whole(catalog: Catalog) -> None:
    promise = " We will have SCIM by Q1."
    body = _filler(NOTE_READ_LIMIT - len(promise)) + promise
    assert len(body) == NOTE_READ_LIMIT
    with capture_logs() as logs:
        assert _read(catalog, body) == {"scim": (True, Q1)}
    assert logs == []


def test_a_long_clause_gives_each_name_the_date_of_its_part(catalog: Catalog) -> None:
    # a clause longer than `_JOINT_INDEX_FROM`: the parts' joints from the note's index
    tail = " lorem ipsum" * 80
    short = _read(catalog, "We will have SSO by Q1 and SCIM by Q3")
    assert short == {"sso": (True, Q1), "scim": (True, Q3)}
    assert _read(catalog, "We will have SSO by Q1 and SCIM by Q3" + tail) == short
    assert _read(catalog, "By Q1 we will have SSO, by Q3 SCIM" + tail) == short


def test_a_long_clause_keeps_their_report(catalog: Catalog) -> None:
    # "They told us SCIM releases in Q2" is theirs however long the clause
    tail = " lorem ipsum" * 80
    assert _read(catalog, "They told us SCIM will be ready by Q1" + tail) == {"scim": (False, None)}


def test_names_in_a_long_word(catalog: Catalog) -> None:
    # a name in a long address is none; names in a long word that is no address are read
    address = "See https://docs.acme.com/" + "a/" * 300 + "sso-setup for details."
    assert _read(catalog, address) == {}
    assert _read(catalog, "They need " + "SSO/" * 300 + "SCIM") == {
        "sso": (False, None),
        "scim": (False, None),
    }
