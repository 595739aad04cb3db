"""The body checks that still held the event loop from their worker thread: re, bytes and str
methods hold the GIL for a whole call, so one pattern over an 8 MB body held every webhook ack
behind it. `errors.json_too_deep` ran its patterns over the whole body (0.2-0.6 s over 8 MB),
and the UTF-16 pattern ran over a whole body holding a NUL (0.86 s). Now the depth scan looks
at a slice of the body at a time with the same answers, and the UTF-16 pattern at the start of
the body and of its first multipart parts. Security review 11 (helper 164)."""

from __future__ import annotations

import contextlib
import json
import random
import re
import sys
from collections.abc import Callable
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from app import errors
from app.api import nul

# The implementation these replace (1021b90), the reference for their answers: the one
# benchmarks/body_checks.py measures against.
from benchmarks.body_checks import old_is_utf16, old_json_too_deep

# Pieces of text where the depth scan can go wrong: brackets of both kinds (matched or not),
# strings, escaped quotes and backslashes, runs of backslashes, text of two bytes a character.
PIECES = [
    b"[",
    b"]",
    b"{",
    b"}",
    b"[[[",
    b"]]]",
    b'"',
    b"\\",
    b"\\\\",
    b'\\"',
    b'"a"',
    b'"[{"',
    b"a",
    b",",
    b":",
    "é".encode(),
]
# Slices of a character or a few, so that every way a slice can end (inside a string, on a
# backslash, on an opening bracket) is met; and the real one.
SLICES = [1, 2, 3, 4, 7, 16, 64 * 1024]
# The most a call of the depth scan may look at (`errors._SLICE`), and where a body holding a
# NUL may be searched for UTF-16 (`nul._UTF16_LOOK` bytes from the start of the body and of
# its first `nul._UTF16_PARTS` parts).
SLICE = 64 * 1024
UTF16_LOOK = 4096
UTF16_PARTS = 16

json_values = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\aé', max_size=6),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet='[]{}"\\a', max_size=3), children, max_size=4)
    ),
    max_leaves=40,
)


def _same_answer(body: bytes, limit: int, as_text: bool, size: int) -> None:
    text = body.decode() if as_text else body
    with mock.patch.object(errors, "_SLICE", size):
        assert errors.json_too_deep(text, limit) is old_json_too_deep(text, limit), (body, limit)


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join),
    st.integers(0, 8),
    st.booleans(),
    st.sampled_from(SLICES),
)
def test_the_depth_scan_answers_as_before_over_any_text(body, limit, as_text, size) -> None:
    """Valid JSON or not: what the whole-body patterns answered, whichever slice ends where."""
    _same_answer(body, limit, as_text, size)


@settings(max_examples=800, deadline=None)
@given(json_values, st.integers(0, 6), st.booleans(), st.sampled_from(SLICES))
def test_the_depth_scan_answers_as_before_over_json(value, limit, as_text, size) -> None:
    body = json.dumps(value, ensure_ascii=False).encode()
    _same_answer(body, limit, as_text, size)


def test_the_depth_scan_answers_as_before_over_many_random_texts() -> None:
    rnd = random.Random(164)
    checked = trues = 0
    for _ in range(4000):
        body = b"".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 60)))
        limit = rnd.randint(0, 8)
        for size in SLICES:
            for as_text in (False, True):
                _same_answer(body, limit, as_text, size)
                checked += 1
        trues += old_json_too_deep(body, limit)
    assert checked == 4000 * len(SLICES) * 2
    assert 500 < trues < 3500  # both answers are met often


def test_a_string_crossing_a_slice_is_read_as_before() -> None:
    """At the real slice: a string, its escapes and backslash runs across the end of a slice,
    followed by brackets that count only if the string closed where it did."""
    tails = [b'\\"', b"\\\\", b"\\", b'"', b'\\\\"', b'\\\\\\"', b"[", b"]"]
    deep = b"[" * 260 + b"]" * 260
    checked = 0
    for tail in tails:
        for shift in range(-4, 5):
            before = b"[" * 300 + b"]" * 300 + b'["'
            fill = SLICE - len(before) - len(tail) + shift
            for after in (b'"]' + deep, b'"' + deep + b'"]', deep):
                body = before + b"x" * fill + tail + after
                for limit in (250, 255, 256, 260):
                    assert errors.json_too_deep(body, limit) is old_json_too_deep(body, limit)
                    checked += 1
    assert checked == len(tails) * 9 * 3 * 4


def _looked_at(
    call: Callable[[], object], patterns: dict[str, list[str]], methods: bool = True
) -> tuple[object, list[int]]:
    """What `call()` gives, and the sizes of what each C call it made looked at: the part of
    its subject one of `patterns` (module -> names) searched, and with `methods` a bytes or str
    method's own text. Such a call holds the GIL from start to end."""
    sizes: list[int] = []

    class Recorded:
        def __init__(self, pattern: re.Pattern) -> None:
            self.pattern = pattern

        def __getattr__(self, name: str):
            method = getattr(self.pattern, name)

            def recorded(*args):
                at = 1 if name in ("sub", "subn") else 0
                subject, bounds = args[at], args[at + 1 :]  # (pos, endpos) or none
                pos, end = (*bounds, 0, None)[:2] if len(bounds) != 1 else (bounds[0], None)
                sizes.append(len(subject[pos:end]))
                return method(*args)

            return recorded

    def profile(frame, event, arg) -> None:
        if event == "c_call" and isinstance(getattr(arg, "__self__", None), bytes | str):
            sizes.append(len(arg.__self__))

    with contextlib.ExitStack() as stack:
        for key, module in (("errors", errors), ("nul", nul)):
            for name in patterns.get(key, ()):
                stack.enter_context(
                    mock.patch.object(module, name, Recorded(getattr(module, name)))
                )
        sys.setprofile(profile if methods else None)
        try:
            answer = call()
        finally:
            sys.setprofile(None)
    return answer, sizes


ITEM = b'{"note": "a [b] {c} \\"quoted\\" \\\\", "ids": [[1], {"k": []}], "t": "\xc3\xa9"},'


def test_a_large_body_is_scanned_for_depth_a_slice_at_a_time() -> None:
    """Every call the depth scan makes over a 1.5 MB body looks at one slice of it at most
    (before: each count, pattern and translation over the whole body, 0.2-0.6 s over 8 MB
    holding the GIL), and it looks at all of it; bytes and text, too deep or not."""
    flat = b"[" + ITEM * (1536 * 1024 // len(ITEM)) + b"{}]"
    deep = flat[:-1] + b"," + b"[" * 300 + b"1" + b"]" * 301
    patterns = {"errors": [n for n, v in vars(errors).items() if isinstance(v, re.Pattern)]}
    for body, too_deep in ((flat, False), (deep, True)):
        for text in (body, body.decode()):
            answer, sizes = _looked_at(lambda t=text: errors.json_too_deep(t), patterns)
            assert answer is too_deep is old_json_too_deep(text)
            # a slice of text is encoded: up to 4 bytes a character (2 here)
            assert max(sizes) <= SLICE * (2 if isinstance(text, str) else 1) + 8, max(sizes)
            assert len(sizes) >= 4 * len(body) // SLICE  # counts, strings, pairs, walk


def test_a_body_with_a_nul_is_looked_at_for_utf16_at_its_start() -> None:
    """The UTF-16 pattern took 0.86 s over 8 MB with a NUL at its end, holding the GIL: it is
    searched over the first bytes of the body and of its first parts, no further."""
    rows = b"sku,feature_keys\r\n\r\n" + b"SKU-1,sso\r\n\r\n" * 100_000
    for body in (json.dumps([{"a": "x" * 50}] * 20_000).encode() + b"\x00", rows + b"\x00"):
        answer, searched = _looked_at(
            lambda b=body: nul._body_refusal(b, True), {"nul": ["_UTF16"]}, methods=False
        )
        assert answer["error"]["message"] == nul.MESSAGE
        assert 1 <= len(searched) <= 1 + UTF16_PARTS
        assert max(searched) <= UTF16_LOOK, max(searched)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"\x00", b"a", b"\n", b"\xff", b"\xfe", b"\xe9", b"\r\n\r\n", b" "]),
        max_size=60,
    ).map(b"".join)
)
def test_utf16_is_said_as_before_of_a_body_within_its_look(body) -> None:
    assert nul.is_utf16(body) is old_is_utf16(body)


def test_the_bounds_are_the_ones_tested() -> None:
    assert (errors._SLICE, nul._UTF16_LOOK, nul._UTF16_PARTS) == (SLICE, UTF16_LOOK, UTF16_PARTS)


def _multipart(*parts: tuple[str, str | None, bytes]) -> tuple[bytes, str]:
    boundary = "b0undary164"
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: text/csv\r\n"
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_utf16_files_are_said_so_large_or_small(client, api_key) -> None:
    """A spreadsheet's 'Unicode Text' sent as the body or uploaded after other fields, in a
    body over OFF_LOOP_BYTES or not: the UTF-16 answer, as before; a NUL in UTF-8 text is a
    NUL."""
    headers = api_key("revops")
    csv = "match_kind,match_value,feature_keys\r\n" + "".join(
        f"sku,SKU-{i},sso\r\n" for i in range(4000)
    )
    assert len(csv.encode("utf-16")) > nul.OFF_LOOP_BYTES
    for rows in (csv[:80], csv):
        for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
            file = rows.encode(encoding)
            sent = [(file, "text/csv")]
            for fields in ([], [("replace", None, b"false"), ("note", None, b"x" * 5000)]):
                sent.append(_multipart(*fields, ("file", "mappings.txt", file)))
            for body, content_type in sent:
                r = client.post(
                    "/api/v1/mappings/import",
                    content=body,
                    headers={**headers, "Content-Type": content_type},
                )
                assert r.status_code == 422, r.text
                assert r.json()["error"]["message"] == nul.UTF16_MESSAGE, (encoding, len(body))
                assert old_is_utf16(body)
    body = csv.encode() + "é\x00".encode()
    r = client.post(
        "/api/v1/mappings/import", content=body, headers={**headers, "Content-Type": "text/csv"}
    )
    assert r.status_code == 422 and r.json()["error"]["message"] == nul.MESSAGE
