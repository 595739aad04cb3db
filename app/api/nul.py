"""NUL characters in API requests: one 422 on every database.

PostgreSQL cannot store a NUL (0x00) in text: a write carrying one failed there with a 422
(`errors.unstorable_value`), a filter carrying one too, while SQLite stored the one and
matched nothing with the other. RevOps scripts run against both (SQLite on a laptop,
PostgreSQL in production), so the same request must get the same answer: requests to `/api/`
carrying a NUL in the path, the query or the body are refused before any route runs, with
nothing written. Text from the CRMs and roadmap sources is not refused (it is stored with
U+FFFD instead, `models.types.storable`): one pasted character must not stop a deal; that text
does not come through here (webhooks are outside `/api/`).

Plain ASGI: the body is read once and replayed to the route, so nothing else changes. Read
whole, it is capped: an `/api/` body over `MAX_BODY_BYTES` (room for the 5 MB mappings import
with its multipart framing) is a 413 as soon as it passes the cap, before any route runs or
any key is checked, so no request can make the service hold more than that in memory.

Other paths are not buffered here (the webhook routes read their bodies themselves, with
caps of their own, to verify signatures over the raw bytes), but their bodies are capped too,
at the same limit (except `ROUTE_CAPPED`, whose route's own cap is larger): a declared Content-Length over it is a 413 before the route runs, and a body that
passes it while a route reads it (FastAPI parsing a JSON or form parameter before any key is
checked, as `/dashboard/signin` must) stops the reading, and the answer is that same 413.

A JSON body to `/api/` nested deeper than `errors.MAX_JSON_DEPTH` is refused here too, as a 422
`invalid_request` at path `body` (Python's parser gave up near 1,000 levels with a
RecursionError, which FastAPI answered with a vague 400), and so is one holding NaN, Infinity or a number past the largest double is refused
here too (`non_finite_number`), for the same reason: nothing JSON cannot carry reaches a route.
"""

from __future__ import annotations

import email.message
import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from fastapi import params
from fastapi.routing import APIRoute, APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import JSON_TOO_DEEP, json_path, json_too_deep, not_json_body

if TYPE_CHECKING:
    from fastapi._compat import ModelField

MESSAGE = (
    "a value in the request cannot be stored: text cannot contain NUL (0x00) characters; "
    "nothing was written"
)
_NUL_IN_URL = re.compile(rb"\x00|%00")


def has_nul(body: bytes) -> bool:
    r"""Whether `body` holds a NUL as a raw byte, or as JSON's escape: `\u0000` after an even
    number of backslashes (an odd number makes the backslash before `u` literal text, as in
    "C:\\u0000"). Plain searches, not a pattern: one, with no literal to look for first, took
    0.3-0.7 s over 8 MB holding the GIL, and a worker thread's regex holds the event loop as
    surely as the loop running it (security review 11)."""
    if b"\x00" in body:
        return True
    at = body.find(b"\\u0000")
    while at != -1:
        start = at
        while start and body[start - 1] == 0x5C:  # the backslashes before it
            start -= 1
        if (at - start) % 2 == 0:
            return True
        at = body.find(b"\\u0000", at + 1)
    return False


# A body in UTF-16 (Excel's "Unicode Text", Notepad's "Unicode"): NUL bytes between its ASCII
# characters, or a UTF-16 byte order mark. Said as such, not as a NUL in a value.
_UTF16 = re.compile(rb"\xff\xfe|\xfe\xff|(?:[\t\n\r\x20-\x7e]\x00){4}|(?:\x00[\t\n\r\x20-\x7e]){4}")
UTF16_MESSAGE = (
    "the request body is UTF-16 text (as a spreadsheet's 'Unicode Text' saves it): send it as "
    "UTF-8; nothing was written"
)
# Where `_UTF16` is looked for: the first bytes of the body, and of the first parts of a
# multipart upload (a UTF-16 file shows it from its start: its byte order mark, or its first
# characters). Searched over a whole body holding a NUL, it took 0.86 s over 8 MB holding the
# GIL, so the event loop, from the worker thread checking the body (security review 11).
_UTF16_LOOK = 4096
_UTF16_PARTS = 16


def is_utf16(body: bytes) -> bool:
    """Whether `body`, or a file uploaded in it, is UTF-16 text (`_UTF16` at the start of the
    body or of one of its first `_UTF16_PARTS` multipart parts)."""
    if _UTF16.search(body, 0, _UTF16_LOOK):
        return True
    at = body.find(b"\r\n\r\n", 0)  # a part's headers end, its content begins
    for _ in range(_UTF16_PARTS):
        if at == -1:
            return False
        start = at + 4
        if _UTF16.search(body, start, start + _UTF16_LOOK):
            return True
        at = body.find(b"\r\n\r\n", start)
    return False


# A spreadsheet workbook sent where text was meant: an .xlsx (a ZIP archive, as .ods and .docx
# are too) or an .xls (an OLE2 compound file). Either holds NUL bytes; said as a workbook.
_WORKBOOK_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive, as an Excel .xlsx workbook is"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel .xls workbook"),
)
WORKBOOK_MESSAGE = (
    "the {where} is {what}, not text: a spreadsheet must be sent as CSV; in Excel, File > "
    "Save As > 'CSV UTF-8 (Comma delimited) (*.csv)', and send that file; nothing was written"
)


def workbook_message(body: bytes, where: str = "request body") -> str | None:
    """Said of a `body` that is a workbook, or holds one as a multipart upload's file: None if
    it is neither."""
    for signature, what in _WORKBOOK_SIGNATURES:
        if body.startswith(signature):
            return WORKBOOK_MESSAGE.format(where=where, what=what)
        if b"\r\n\r\n" + signature in body:
            return WORKBOOK_MESSAGE.format(where="uploaded file", what=what)
    return None


NON_FINITE_MESSAGE = (
    "{path}: numbers must be finite (JSON has no NaN or Infinity, and nothing beyond ±1.8e308); "
    "got {token}; nothing was written"
)
# What may spell a non-finite number: Python's json reads NaN and Infinity, and a literal past
# the largest double as inf: an exponent of three digits, or (with one of two) a run of over 200
# digits ('1' and 400 zeros '.0' is inf: it passed, the run not looked for). Only a small body
# holding one of these is parsed a second time (a large one is parsed once for both checks).
_MAYBE_NON_FINITE = re.compile(rb"NaN|Infinity|[eE][+]?[0-9]{3}|[0-9]{200}")
_WITH_BODY = frozenset(("POST", "PUT", "PATCH", "DELETE"))
MAX_BODY_BYTES = 8 * 1024 * 1024
# Routes outside `/api/` that read their body with a cap of their own larger than
# MAX_BODY_BYTES, and answer its 413 themselves: HubSpot's deliveries of up to 100 note edits
# each carrying up to 65,536 characters (`webhooks_hubspot.MAX_BODY_BYTES`, 20 MB). Capped
# here at 8 MB too, such a delivery was refused, retried by HubSpot and then dropped.
ROUTE_CAPPED = frozenset({"/webhooks/hubspot", "/webhooks/hubspot/"})


class RefuseNulMiddleware:
    def __init__(self, app: ASGIApp, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not scope["path"].startswith(self.prefix):
            if scope["path"] in ROUTE_CAPPED:  # the route caps its body itself, above ours
                await self.app(scope, receive, send)
                return
            await _capped(self.app, scope, receive, send)
            return
        if _NUL_IN_URL.search(scope.get("raw_path") or b"") or _NUL_IN_URL.search(
            scope.get("query_string") or b""
        ):
            await _refuse(send, 422, "invalid", MESSAGE)
            return
        if scope.get("method") not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await _refuse(
                    send,
                    413,
                    "payload_too_large",
                    f"request body larger than {MAX_BODY_BYTES // (1024 * 1024)} MB",
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if len(body) > OFF_LOOP_BYTES:
            # Parsed off the event loop: megabytes of JSON parsed three times held it for
            # seconds, every webhook ack waiting behind it (security review 10).
            refusal = await anyio.to_thread.run_sync(_body_refusal, body, _is_json(scope))
        else:
            refusal = _body_refusal(body, _is_json(scope))
        if refusal is not None:
            await _refuse_with(send, 422, refusal)
            return
        if len(body) > OFF_LOOP_BYTES and _is_form(scope):
            # A form is parsed as it is received (Starlette's parsers, on the event loop): in
            # one message, 5 MB of multipart upload held the loop for its whole parse.
            replayed = _replay_in_slices(body, receive)
        else:
            replayed = _replay([{"type": "http.request", "body": body}], receive)
        await self.app(scope, replayed, send)


# A body larger than this is checked in a worker thread (`RefuseNulMiddleware`), and a route's
# JSON body parsed and validated in one (`OffLoopBodyRoute`).
OFF_LOOP_BYTES = 64 * 1024


class OffLoopBodyRoute(APIRoute):
    """A route whose JSON body, when larger than OFF_LOOP_BYTES, is parsed, and validated
    against the route's body type, in a worker thread before FastAPI's handler runs.

    FastAPI parses a JSON body (`await request.json()`, `json.loads`) and validates it with
    pydantic on the event loop: an /api/ body of up to 8 MB held the loop for a second or more
    (10 MB of posted simulate snapshots: 0.2 s to parse, 0.6 s to validate; a flat list of
    small objects 0.6 s to parse), and every webhook ack and request of the process waited
    behind it, for any key a route with a body admits (security review 11). The handler is
    handed what the thread made, so it neither parses nor validates again:

    - the parsed body, as `Request.json()` caches it (`_json`), or the value validated from it
      when validating that value again gives it back unchanged (a model instance: pydantic does
      not validate an instance of the model again; `Any`: the value itself);
    - a body that is not JSON: `Request.json()` raises what `json.loads` raised, and FastAPI
      answers it as its own parse's error (the same 422 or 400, from the same exception);
    - a body that parses but fails validation: the parsed body, which FastAPI validates on the
      loop for its errors, as before (their order with the query's errors is FastAPI's).

    A thread alone does not free the loop: json's C parser holds the GIL for a whole parse, so
    the body is parsed with `loads_letting_go`. Validation gives the loop turns at the models'
    Python validators (each posted snapshot has some). Measured with 6-8 MB bodies on a loaded
    2-core machine, with the body checks' changes: the longest stall of the loop fell from
    0.37-0.58 s to 0.19-0.33 s. The body checks' depth scan (`errors.json_too_deep`) and
    UTF-16 search, in `RefuseNulMiddleware`'s thread, then held it for 0.1-0.46 s (each pattern
    over the whole body); they look at a slice at a time now (6-21 ms, `benchmarks/
    body_checks.py`). What is left of the whole check (10-90 ms) is garbage collection during
    the parse, and json's C parser over a long run of strings (a string gives no turn).

    Small bodies, forms and bodies FastAPI does not read as JSON are left to FastAPI. `create_app`
    makes every route of its routers one of these (`off_loop_bodies`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        field = self.body_field
        if field is None or isinstance(field.field_info, params.Form) or self._embed_body_fields:
            return handler

        async def parsed_off_loop(request: Request) -> Response:
            await _parse_off_loop(request, field)
            return await handler(request)

        return parsed_off_loop


def off_loop_bodies(router: APIRouter) -> None:
    """Make each of `router`'s routes an `OffLoopBodyRoute` (idempotent). The routers are
    module singletons built with FastAPI's APIRoute; the app includes them by reference and
    builds each route's handler with the route's `get_route_handler` when it includes them."""
    for route in router.routes:
        if type(route) is APIRoute:
            route.__class__ = OffLoopBodyRoute


async def _parse_off_loop(request: Request, field: ModelField) -> None:
    if not _read_as_json(request.headers.get("content-type")):
        return
    try:
        body = await request.body()
    except Exception:  # FastAPI's own read meets it again and answers it as it does
        return
    if len(body) <= OFF_LOOP_BYTES:
        return
    value, failure = await anyio.to_thread.run_sync(_parse_and_validate, body, field)
    if failure is None:
        request._json = value
        return

    async def failed() -> Any:
        raise failure

    request.json = failed  # FastAPI's `await request.json()` raises it


def _parse_and_validate(body: bytes, field: ModelField) -> tuple[Any, Exception | None]:
    """(the value to hand the route, None), or (None, what parsing `body` raised)."""
    try:
        doc = loads_letting_go(body)
    except Exception as exc:
        return None, exc
    try:
        value, errors = field.validate(doc, {}, loc=("body",))
        if not errors and field.validate(value, {}, loc=("body",))[0] is value:
            return value, None
    except Exception:  # raised again where FastAPI validates, and answered as before
        pass
    return doc, None


def loads_letting_go(body: bytes | str, **hooks: Any) -> Any:
    """`json.loads(body)`, the value `Request.json()` gives, parsed calling back into Python
    for each object and number. json's C parser holds the GIL from start to end, and threads
    take turns only between Python instructions: parsed in a worker thread without these
    callbacks, 8 MB of small objects still held the event loop for the whole parse (99 ms of
    115 measured here; 20 ms at most with them, for a parse half again as long). A string or a
    run of `true`s gives no turn: 8 MB of short strings held it 31 ms."""
    return json.loads(
        body, **{"object_hook": _same, "parse_int": _int, "parse_float": _float, **hooks}
    )


def _same(value: dict) -> dict:
    return value


def _int(text: str) -> int:
    return int(text)


def _float(text: str) -> float:
    return float(text)


def _read_as_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of `content_type` as JSON (its test, `get_request_handler`;
    a body without a Content-Type is read as bytes, its routes being strict)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _body_refusal(body: bytes, is_json: bool) -> dict | None:
    """The 422 answer for a body with a NUL, or JSON nested too deep, with a repeated key or a
    non-finite number; None for a body the routes may read."""
    if has_nul(body):
        said = workbook_message(body) or (UTF16_MESSAGE if is_utf16(body) else MESSAGE)
        return {"error": {"code": "invalid", "message": said}}
    if not is_json:
        return None
    if json_too_deep(body):
        return not_json_body(JSON_TOO_DEEP)
    if len(body) > OFF_LOOP_BYTES:
        # Parsed once for both checks, with no pattern searched first: over 8 MB a pattern
        # took 0.1-0.3 s holding the GIL, so holding the event loop from this worker thread.
        parsed = _parsed(body)
        if parsed is None:  # not JSON: the route says where it breaks
            return None
        doc, repeats, non_finite = parsed
        if repeats:
            return _duplicate_key_body(_repeated_at(doc))
        if non_finite:
            return _non_finite_body(*_non_finite_at(doc))
        return None
    if (repeated := duplicate_key(body)) is not None:
        return _duplicate_key_body(repeated)
    if (found := non_finite_number(body)) is not None:
        path, token = found
        return _non_finite_body(path, token)
    return None


class _Repeated(dict):
    """An object that named `key` more than once (see `duplicate_key`)."""

    key: str


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    repeated = _Repeated(out)
    repeated.key = next(k for k, _ in pairs if k in seen or seen.add(k))
    return repeated


def duplicate_key(body: bytes) -> tuple[str | int, ...] | None:
    """Where a JSON body's object names a key twice (its loc, the key last), else None.

    Python's json keeps the last value: `{"severity": "warning", ..., "severity": "block"}`
    was stored as a blocking rule, the first value dropped without a word. A body that is not
    JSON is left to the route, which says where it breaks."""
    if body.count(b'"') < 4:  # two keys at least
        return None
    parsed = _parsed(body)
    if parsed is None or not parsed[1]:  # not JSON, or no key repeated: nothing to walk
        return None
    return _repeated_at(parsed[0])


def _parsed(body: bytes) -> tuple[object, int, int] | None:
    """`body` parsed (`loads_letting_go`), with how many of its objects repeat a key and how
    many of its numbers are not finite; None if it is not JSON. Walking 8 MB of small objects
    for where took 1.4 s: only a body holding one is walked."""
    repeats = 0
    non_finite = 0

    def pairs(pairs: list[tuple[str, object]]) -> dict:
        nonlocal repeats
        out = _pairs(pairs)
        repeats += isinstance(out, _Repeated)
        return out

    def number(text: str) -> float:
        nonlocal non_finite
        value = float(text)  # as json reads a number with a fraction or an exponent, NaN...
        non_finite += not math.isfinite(value)
        return value

    try:
        doc = loads_letting_go(
            body, object_pairs_hook=pairs, parse_float=number, parse_constant=number
        )
    except (ValueError, RecursionError):
        return None
    return doc, repeats, non_finite


def _repeated_at(doc: object) -> tuple[str | int, ...]:
    """The loc of the first repeated key in `doc` (which `_parsed` counted)."""
    stack: list[tuple[tuple[str | int, ...], object]] = [((), doc)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, _Repeated):
            return (*loc, value.key)
        if isinstance(value, dict):
            stack.extend(((*loc, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*loc, i), v) for i, v in reversed(list(enumerate(value))))
    raise AssertionError("no repeated key")


def _duplicate_key_body(loc: tuple[str | int, ...]) -> dict:
    path = json_path(loc)
    msg = (
        f"key '{loc[-1]}' given more than once in this object: write it once (the values "
        "would be read as the last alone); nothing was written"
    )
    # `details` locates it in the body, as every body mistake (["when", "op"]); FastAPI's
    # `detail` with "body" first, as its own
    detail = {"loc": list(loc), "path": path, "msg": msg, "type": "duplicate_key"}
    return {
        "error": {"code": "invalid_request", "message": f"{path}: {msg}", "details": [detail]},
        "detail": [{"loc": ["body", *loc], "msg": msg, "type": "duplicate_key"}],
    }


def _non_finite_body(path: str, token: str) -> dict:
    """The 422 for a non-finite number at `path`: `invalid_request`, the mistake in `details`
    with its path as every other mistake in a body is (the message alone named it before)."""
    message = NON_FINITE_MESSAGE.format(path=path, token=token)
    loc = _loc(path)
    detail = {
        "loc": loc or ["body"],  # as every body mistake; FastAPI's `detail`: "body" first
        "path": path,
        "msg": message.split(": ", 1)[1],
        "type": "finite_number",
    }
    return {
        "error": {"code": "invalid_request", "message": message, "details": [detail]},
        "detail": [{**{k: detail[k] for k in ("msg", "type")}, "loc": ["body", *loc]}],
    }


def _loc(path: str) -> list[str | int]:
    """`json_path` read back: "when.value[2]" -> ["when", "value", 2]; "body" -> []."""
    if path == "body":
        return []
    return [
        int(index) if index else key
        for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)
        if key or index
    ]


class _TooLarge(HTTPException):
    """Raised from `receive` to stop a route reading a body past the cap. An HTTPException so
    that FastAPI's body parsing re-raises it instead of answering 400; whatever answer the app
    then makes, `_capped` sends the 413 instead."""

    def __init__(self) -> None:
        super().__init__(413, _TOO_LARGE)


_TOO_LARGE = f"request body larger than {MAX_BODY_BYTES // (1024 * 1024)} MB"


async def _capped(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app` with the request body capped at MAX_BODY_BYTES, without buffering it."""
    if scope.get("method") not in _WITH_BODY:
        await app(scope, receive, send)
        return
    declared = _content_length(scope)
    if declared is not None and declared > MAX_BODY_BYTES:
        await _refuse(send, 413, "payload_too_large", _TOO_LARGE)
        return
    size = 0
    over = False
    refused = False

    async def counted() -> Message:
        nonlocal size, over
        if over:
            raise _TooLarge()
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > MAX_BODY_BYTES:
                over = True
                raise _TooLarge()
        return message

    async def guarded(message: Message) -> None:
        nonlocal refused
        if not over:
            await send(message)
        elif not refused and message["type"] == "http.response.start":
            refused = True
            await _refuse(send, 413, "payload_too_large", _TOO_LARGE)

    await app(scope, counted, guarded)


def non_finite_number(body: bytes) -> tuple[str, str] | None:
    """Where a JSON body holds NaN, Infinity or a number past the largest double, and which.

    Python's json accepts them (NaN and Infinity are not JSON; `1e999` overflows to inf), and a
    non-finite number then reached the database as null (a rule's value, which every later
    evaluation refused), or an error answer that could not be written back (a 500). A body that
    is not JSON at all is left to the route, which says where it breaks.
    """
    if not _MAYBE_NON_FINITE.search(body):
        return None
    parsed = _parsed(body)
    if parsed is None or not parsed[2]:  # not JSON, or finite ('NaN' in a text): no walk
        return None
    return _non_finite_at(parsed[0])


def _non_finite_at(doc: object) -> tuple[str, str]:
    """Where the first non-finite number in `doc` (which `_parsed` counted) is, and which."""
    stack: list[tuple[tuple[str | int, ...], object]] = [((), doc)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            token = "NaN" if value != value else ("-Infinity" if value < 0 else "Infinity")
            return json_path(loc) or "body", token
        if isinstance(value, dict):
            stack.extend(((*loc, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*loc, i), v) for i, v in reversed(list(enumerate(value))))
    raise AssertionError("no non-finite number")


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


_FORMS = frozenset((b"multipart/form-data", b"application/x-www-form-urlencoded"))


def _is_form(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() in _FORMS
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()  # after the body: a disconnect, as the server reports it
        return {"type": "http.disconnect"}

    return receive


def _replay_in_slices(body: bytes, then: Receive) -> Receive:
    """`body` replayed in messages of OFF_LOOP_BYTES, letting the event loop run other work
    between two of them, then what `then` receives (as `_replay`)."""
    starts = iter(range(0, len(body), OFF_LOOP_BYTES))

    async def receive() -> Message:
        start = next(starts, None)
        if start is None:
            return await then()
        if start:
            await anyio.lowlevel.checkpoint()
        end = start + OFF_LOOP_BYTES
        return {"type": "http.request", "body": body[start:end], "more_body": end < len(body)}

    return receive


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    await _refuse_with(send, status, {"error": {"code": code, "message": message}})


async def _refuse_with(send: Send, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
