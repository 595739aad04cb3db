"""Round 15 of the notes helper: misreadings of shipping denied with "don't" or with a word
after "not" (one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

# "Don't" / "doesn't" / "didn't" (also "do not"...) before the plain present's "ship in" ("They
# don't ship in Q2 and need SCIM", "SCIM doesn't ship in Q2"), and "not" / "isn't" with
# "already", "currently", "still", "now", "also" or "yet" before "shipping" ("They are not
# already shipping in Q2"): the shipping denied, as "They are not shipping in Q2 and need SCIM"
# and "SCIM isn't shipping in Q2" already were (round 12). Each read as our promise by Q2, a
# block.
SHIPPING_DENIED_WITH_DO = [
    ("They don't ship in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They dont ship in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They don\u2019t ship in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They do not ship in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They don't currently ship in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("The customer doesn't ship in Q2 and needs SCIM", [("scim", False, None, None, False)]),
    ("They don't ship by Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("Requirements:\n- They don't ship in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They need SCIM; they don't ship in Q2", [("scim", False, None, None, False)]),
    ("SCIM doesn't ship in Q2", [("scim", False, None, None, False)]),
    ("SCIM does not ship in Q2", [("scim", False, None, None, False)]),
    ("SCIM didn't ship in Q2", [("scim", False, None, None, False)]),
    ("SCIM doesn't ship in March", [("scim", False, None, None, False)]),
    ("We don't ship in Q2, they need SCIM", [("scim", False, None, None, False)]),
    ("Doesn't ship in Q2: SCIM", [("scim", False, None, None, False)]),
    ("What we promised:\n- SSO - doesn't ship in Q2", [("sso", False, None, None, False)]),
    ("They are not already shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They aren't already shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They are not currently shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("SCIM is not already shipping in Q2", [("scim", False, None, None, False)]),
    ("SCIM isn't still shipping in Q2", [("scim", False, None, None, False)]),
    ("Isn't already shipping in Q2: SCIM", [("scim", False, None, None, False)]),
    ("They are not yet shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("SCIM is not yet shipping in Q2", [("scim", False, None, None, False)]),
    ("They don't yet ship in Q2 and need SCIM", [("scim", False, None, None, False)]),
    # ... the need's own date stays theirs (was also our promise by Q1)
    ("They don't ship in Q2 and need SCIM by Q1", [("scim", False, None, Q1, False)]),
    # ... our word after it is ours (was by Q2)
    (
        "They don't ship in Q2 and need SCIM; we will have it by Q3",
        [("scim", True, Q3, None, False)],
    ),
    ("SCIM doesn't ship in Q2 but will ship in Q3", [("scim", True, Q3, None, False)]),
    ("SCIM doesn't ship in Q2, we will have it by Q3", [("scim", True, Q3, None, False)]),
    # as they were: the forms without "don't" or the word, "won't", a promise before it in the
    # clause, "don't ship" with no date after it ("on-prem"), a feature named as what ships
    ("They are not shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They aren't shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They ship in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They currently ship in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They are already shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They won't ship in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("SCIM ships in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is already shipping in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM won't ship in Q2", [("scim", False, None, None, False)]),
    ("We promised SCIM by Q1, don't ship in Q2", [("scim", True, Q1, None, False)]),
    ("We don't ship on-prem, SCIM is promised by Q3", [("scim", True, Q3, None, False)]),
    ("They don't ship on Android, SCIM by Q1", [("scim", True, Q1, None, False)]),
    (
        "We are not currently shipping on-prem, SCIM is promised by Q3",
        [("scim", True, Q3, None, False)],
    ),
    ("They don't ship SCIM in Q2", [("scim", False, None, None, False)]),
    ("We are not currently shipping SCIM in Q2", [("scim", False, None, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), SHIPPING_DENIED_WITH_DO, ids=[c[0][:40] for c in SHIPPING_DENIED_WITH_DO]
)
def test_shipping_denied_with_do_or_a_word_after_not_is_no_promise(
    body: str, expected: list
) -> None:
    assert readings(body) == expected
