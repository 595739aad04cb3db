"""Shared HTTP plumbing for the roadmap sources: one GET with clear, secret-free errors.

- Credentials go to the configured origin only (scheme, host, port): a request, a redirect or a
  `next` link to another origin is refused as a SourceError, never sent. Redirects are followed
  here, by hand (the client never follows them itself: httpx strips only `Authorization` on a
  cross-origin redirect, so a custom header such as `X-Api-Key` would go along).
- 429 and 503 are retried in the call, honouring Retry-After (seconds or an HTTP date): at most
  RETRY_ATTEMPTS tries and RETRY_BUDGET_SECONDS of waiting in all; longer waits belong to the
  next scheduled refresh.
- A source's `timeout_seconds` is a deadline for each request as a whole: connecting, sending,
  and reading the whole answer, its redirects included, must be done within it, however the
  server spreads its bytes (a per-read timeout alone let a server dripping a byte a second hold
  a refresh for as long as it dripped). The exchange runs in a helper thread the caller waits
  for until the deadline; the helper stops at its next chunk past it (or at the client's own
  per-read timeout, the same number of seconds), so nothing outlives the deadline by more.
  A retry after 429/503 is a new request, with a deadline of its own.
- An answer (one page) holds at most MAX_ANSWER_BYTES once decoded: a larger one is refused
  while it is read (at once when its Content-Length says so), never loaded whole first.
- An answer is read as strict JSON (`parse_answer`): NaN, Infinity and a number past a double
  (which Python's parser reads as inf) are refused as not JSON, and so is nesting deeper than
  MAX_JSON_DEPTH (the limit the API applies to request bodies), each saying so, instead of a
  misleading range error or an "unexpected RecursionError".
- Public addresses only (`netpolicy`): before each request (redirects included) the host is
  resolved and the request refused, unsent, if any address is loopback, private, link-local or
  otherwise not public, unless ROADMAP_SOURCE_ALLOWED_HOSTS allows it. The client's network
  backend (`netpolicy.PinnedBackend`, `make_client`) checks again when it connects, and connects
  to the address it checked: a name answering a public address first and a private one next
  (DNS rebinding) is refused, unsent.
- URLs in messages have their user-info and query values removed (`redact_url`).
"""

from __future__ import annotations

import base64
import contextlib
import json as jsonlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpcore
import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from app.connectors.roadmap.base import SourceError, SourceStatusError
from app.connectors.roadmap.netpolicy import AddressRefused, PinnedBackend, check_request_host
from app.errors import JSON_TOO_DEEP, json_too_deep

MAX_PAGES = 1000  # a loop guard: a source that always says "next" must not spin forever
MAX_REDIRECTS = 5
# The most one answer (one page, decoded) may hold. A roadmap page is kilobytes to a few MB
# (Jira's largest page, 5000 issues of a few fields, stays well under 50 MiB); a 400 MB answer
# read whole grew the API process to 1.2 GB.
MAX_ANSWER_BYTES = 50 * 1024 * 1024
RETRY_STATUSES = (429, 503)
RETRY_ATTEMPTS = 3
RETRY_BUDGET_SECONDS = 30.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _sleep(seconds: float) -> None:  # tests replace it
    time.sleep(seconds)


_on_answer: ContextVar[Callable[[], None] | None] = ContextVar("roadmap_on_answer", default=None)


@contextlib.contextmanager
def on_answer(callback: Callable[[], None]) -> Iterator[None]:
    """Call `callback` after each answer (page) `request_json` reads in this context: the CLI's
    progress bar counts pages with it."""
    token = _on_answer.set(callback)
    try:
        yield
    finally:
        _on_answer.reset(token)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urlsplit(str(url))
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def show_origin(url: str) -> str:
    scheme, host, port = origin(url)
    default = _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}" + ("" if port == default else f":{port}")


def redact_url(url: str) -> str:
    """The URL without user-info, and with every query value replaced by `***`: safe in an
    error message, a log line or last_error."""
    parts = urlsplit(str(url))
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(f"{name}=***" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def check_origin(url: str, allowed: str, *, source: str, what: str) -> None:
    """SourceError unless `url` is on the origin of `allowed` (the configured URL)."""
    if origin(url) != origin(allowed):
        raise SourceError(
            f"{source}: {what} {redact_url(url)} is on another origin than the configured "
            f"{show_origin(allowed)}; refused, so the credentials are not sent there"
        )


class _Throttled(Exception):
    def __init__(self, response: httpx.Response, wait: float):
        super().__init__(response.status_code)
        self.response = response
        self.wait = wait


def retry_after_seconds(response: httpx.Response, attempt: int) -> float:
    """Retry-After as seconds (delta or HTTP date); else X-RateLimit-Reset, when the limit
    resets (`_reset_seconds`); exponential 1, 2, 4... s without either."""
    value = (response.headers.get("Retry-After") or "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            return _until(when)
    reset = _reset_seconds((response.headers.get("X-RateLimit-Reset") or "").strip())
    return reset if reset is not None else float(2 ** (attempt - 1))


def _until(when: datetime) -> float:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# Below this an X-RateLimit-Reset number is seconds to wait, above it a Unix time (2001-09-09).
_EPOCH_FROM = 1_000_000_000


def _reset_seconds(value: str) -> float | None:
    """X-RateLimit-Reset as seconds to wait: Jira Cloud sends the moment the limit resets as
    ISO 8601 ("2026-12-07T13:45Z", its rate-limiting page: the request's time plus the
    Retry-After period, and it may come without Retry-After); other APIs send a Unix time or
    a number of seconds. None when it is none of these."""
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if number != number or number in (float("inf"), float("-inf")):
            return None
        if number >= _EPOCH_FROM:
            return _until(datetime.fromtimestamp(number, UTC))
        return max(0.0, number)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return _until(when)


def _stop(state: RetryCallState) -> bool:
    """Stop after RETRY_ATTEMPTS tries, or when the wait asked for would exceed the budget."""
    if state.attempt_number >= RETRY_ATTEMPTS:
        return True
    exc = state.outcome.exception() if state.outcome else None
    wait = exc.wait if isinstance(exc, _Throttled) else 0.0
    return state.idle_for + wait > RETRY_BUDGET_SECONDS


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    return exc.wait if isinstance(exc, _Throttled) else 0.0


class _Late(Exception):
    """The answer was not whole by the request's deadline."""


class _TooLarge(Exception):
    """The answer holds more than MAX_ANSWER_BYTES."""


def show_size(count: int) -> str:
    mib = 1024 * 1024
    return f"{count // mib} MiB" if count % mib == 0 else f"{count} bytes"


# Response headers that describe the bytes as they came over the wire: the answer is kept
# decoded, so they no longer apply to it.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _read_whole(client: httpx.Client, request: httpx.Request, deadline: float) -> httpx.Response:
    """Send `request` and read its whole (decoded) answer, chunk by chunk, giving up at the
    first chunk past `deadline` (time.monotonic()) or past MAX_ANSWER_BYTES. The host must be
    one the network policy allows (`netpolicy.check_request_host`: resolved here, within the
    deadline, since DNS has no timeout of its own)."""
    check_request_host(request.url.host, request.url.port)
    response = client.send(request, stream=True, follow_redirects=False)
    try:
        declared = response.headers.get("Content-Length", "")
        # refused before reading a byte (the wire's size: decoded, a compressed answer is larger)
        if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
            raise _TooLarge
        chunks = []
        size = 0
        for chunk in response.iter_bytes():
            if time.monotonic() > deadline:
                raise _Late
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise _TooLarge
            chunks.append(chunk)
    finally:
        response.close()
    return httpx.Response(
        response.status_code,
        headers=[
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS
        ],
        content=b"".join(chunks),
        request=response.request,
    )


def _exchange(client: httpx.Client, request: httpx.Request, deadline: float) -> httpx.Response:
    """`_read_whole` in a helper thread, waited for until `deadline` at most: a read blocked
    on the socket cannot be interrupted where it runs, and DNS has no timeout at all."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["response"] = _read_whole(client, request, deadline)
        except BaseException as exc:  # handed to the caller, which re-raises it
            outcome["error"] = exc

    helper = threading.Thread(target=run, name="roadmap-source-request", daemon=True)
    helper.start()
    helper.join(max(0.0, deadline - time.monotonic()))
    if helper.is_alive():
        raise _Late
    if "error" in outcome:
        raise outcome["error"]
    return outcome["response"]


def _send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    source: str,
    allowed: str,
    headers: dict[str, str] | None,
    params: dict[str, Any] | None,
    json: Any,
    timeout: float,
) -> httpx.Response:
    """One request, following same-origin redirects by hand; a redirect elsewhere is refused.
    The request and its redirects must be answered in full within `timeout` seconds."""
    check_origin(url, allowed, source=source, what=f"{method}")
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        request = client.build_request(method, url, headers=headers, params=params, json=json)
        try:
            response = _exchange(client, request, deadline)
        except (httpx.TimeoutException, _Late):
            raise SourceError(
                f"{source}: {method} {redact_url(url)} timed out: no whole answer within "
                f"config.timeout_seconds ({timeout:g} s)"
            ) from None
        except AddressRefused as exc:  # nothing was sent: says nothing of the port
            raise SourceError(f"{source}: {method} {redact_url(url)} refused: {exc}") from None
        except _TooLarge:
            raise SourceError(
                f"{source}: {method} {redact_url(url)} answered more than "
                f"{show_size(MAX_ANSWER_BYTES)}, the most one answer (one page) may hold; "
                "refused"
            ) from None
        except httpx.HTTPError as exc:
            raise SourceError(
                f"{source}: {method} {redact_url(url)} failed: {type(exc).__name__}"
            ) from None
        if not response.has_redirect_location:
            return response
        target = urljoin(str(response.url), response.headers["Location"])
        check_origin(
            target, allowed, source=source, what=f"{method} {redact_url(url)} redirected to"
        )
        url, params = target, None  # the Location carries its own query
        if response.status_code == 303:
            method, json = "GET", None
    raise SourceError(f"{source}: {method} {redact_url(url)}: more than {MAX_REDIRECTS} redirects")


# Headers the sources send that carry no credential (an ETag or "application/json" quoted in an
# error stays readable).
_NOT_SECRET_HEADERS = frozenset(
    {"accept", "content-type", "if-none-match", "x-version", "user-agent"}
)


def check_new_page(seen: set[str], marker: str, *, source: str, where: str) -> None:
    """Refuse a next-page link or cursor already followed in this fetch: a server whose last
    page points back at an earlier one (reported of Productboard's cursors) would otherwise be
    read MAX_PAGES times at every refresh, spending the API's rate limit, and still fail."""
    if marker in seen:
        raise SourceError(f"{source}: {where} repeats an earlier page; stopping")
    seen.add(marker)


def scrub_secrets(text: str, headers: dict[str, str] | None) -> str:
    """`text` without the credentials sent in `headers`: an upstream that echoes what it was
    sent ("invalid token s3cr3t", "got: Bearer s3cr3t") must not put the secret into the
    source's `last_error`, which every API reader sees, or into the logs. The whole header
    value and each word of it long enough to be a secret (the token after "Bearer") go."""
    for name, value in (headers or {}).items():
        if name.lower() in _NOT_SECRET_HEADERS:
            continue
        secrets = {value, *value.split()}
        scheme, _, encoded = value.partition(" ")
        if scheme.lower() == "basic":  # Jira's email:token: the token alone may be echoed
            with contextlib.suppress(ValueError):  # not base64 or not text: nothing more
                secrets.update(base64.b64decode(encoded, validate=True).decode().split(":", 1))
        for secret in sorted(secrets, key=len, reverse=True):
            if len(secret) >= 8 and secret in text:
                text = text.replace(secret, "***")
    return text


class NotStrictJson(ValueError):
    """JSON Python's parser reads but JSON does not allow, or nested past MAX_JSON_DEPTH; the
    message starts "not valid JSON: " and says which."""


def _no_constant(token: str) -> Any:
    raise NotStrictJson(f"not valid JSON: {token} is not a number JSON allows")


def _finite(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        shown = token if len(token) <= 40 else token[:37] + "..."
        raise NotStrictJson(
            f"not valid JSON: {shown} is beyond the largest number JSON can carry here (±1.8e308)"
        )
    return value


def parse_answer(content: bytes) -> Any:
    """`content` as strict JSON. NotStrictJson for NaN, Infinity, a number past a double (all
    read by Python's parser) or nesting deeper than MAX_JSON_DEPTH (JSON_TOO_DEEP, as the API
    says of request bodies); another ValueError for what is not JSON at all."""
    if json_too_deep(content):
        raise NotStrictJson(JSON_TOO_DEEP)
    try:
        return jsonlib.loads(content, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:  # the parser's own limit; json_too_deep stops far earlier
        raise NotStrictJson(JSON_TOO_DEEP) from None


ERROR_DETAIL_CHARS = 600


def error_collection(content: bytes) -> str | None:
    """The messages of Jira's error answer, its ErrorCollection {"errorMessages": [...],
    "errors": {"field": "message"}}, as one line (at most ERROR_DETAIL_CHARS); None for any
    other answer. Quoted raw, the JSON's first 200 characters cut a JQL error's message
    short, or left out the second of its messages, the one naming the field at fault."""
    if len(content) > 64 * 1024:
        return None
    try:
        body = parse_answer(content)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    messages = body.get("errorMessages")
    errors = body.get("errors")
    said = [m for m in messages if isinstance(m, str)] if isinstance(messages, list) else []
    if isinstance(errors, dict):
        said += [f"{k}: {v}" for k, v in errors.items() if isinstance(v, str)]
    if not said:
        return None
    text = "; ".join(m.strip() for m in said if m.strip())
    if len(text) > ERROR_DETAIL_CHARS:
        text = text[: ERROR_DETAIL_CHARS - 3] + "..."
    return text or None


def source_get(
    client: httpx.Client,
    source: Any,
    url: str,
    *,
    headers: dict[str, str],
    params: dict[str, Any] | None = None,
    inspect: Callable[[httpx.Response], None] | None = None,
) -> tuple[httpx.Response, Any]:
    """`request_json` GET for a source with `name`, `settings.timeout_seconds` and
    `base_url` (Jira, Productboard): its own timeout, and only its base URL's origin."""
    return request_json(
        client,
        "GET",
        url,
        source=source.name,
        timeout=source.settings.timeout_seconds,
        origin_url=source.base_url,
        headers=headers,
        params=params,
        inspect=inspect,
    )


def request_json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    source: str,
    timeout: float,
    origin_url: str | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    json: Any = None,
    allow_not_modified: bool = False,
    inspect: Callable[[httpx.Response], None] | None = None,
) -> tuple[httpx.Response, Any]:
    """Send one request; return (response, parsed JSON or None on 304). Raises SourceError.

    `timeout`: the source's timeout_seconds, the deadline for the whole answer (redirects
    included; each retry has its own). `origin_url`: the configured URL whose origin alone may
    receive the request (and its credentials); default: `url`'s own, so a redirect can never
    leave it. `inspect`: called with the final answer (after any retries), whatever its status,
    before it is read; it may raise SourceError (Jira's header saying the login failed)."""
    allowed = origin_url or url
    tries = 0

    def attempt() -> httpx.Response:
        nonlocal tries
        tries += 1
        response = _send(
            client,
            method,
            url,
            source=source,
            allowed=allowed,
            headers=headers,
            params=params,
            json=json,
            timeout=timeout,
        )
        if response.status_code in RETRY_STATUSES:
            raise _Throttled(response, retry_after_seconds(response, tries))
        return response

    retrying = Retrying(
        retry=retry_if_exception_type(_Throttled),
        stop=_stop,
        wait=_wait,
        sleep=lambda seconds: _sleep(seconds),
        reraise=True,
    )
    shown = redact_url(url)

    def detail_of(response: httpx.Response) -> str:
        said = error_collection(response.content)
        text = said if said is not None else response.text[:200]
        return scrub_secrets(text.strip().replace("\n", " "), headers)

    try:
        response = retrying(attempt)
    except _Throttled as exc:
        response = exc.response
        detail = detail_of(response)
        after = response.headers.get("Retry-After")
        reset = response.headers.get("X-RateLimit-Reset")
        raise SourceStatusError(
            f"{source}: {method} {shown} answered HTTP {response.status_code} "
            f"({tries} {'try' if tries == 1 else 'tries'})"
            + (f" (Retry-After: {after[:40]})" if after else "")
            + (f" (X-RateLimit-Reset: {reset[:40]})" if reset and not after else "")
            + f": {detail}",
            response.status_code,
        ) from None
    callback = _on_answer.get()
    if callback is not None:
        callback()
    if inspect is not None:
        inspect(response)
    if allow_not_modified and response.status_code == 304:
        return response, None
    if response.status_code >= 400:
        detail = detail_of(response)
        raise SourceStatusError(
            f"{source}: {method} {shown} answered HTTP {response.status_code}: {detail}",
            response.status_code,
        )
    try:
        return response, parse_answer(response.content)
    except NotStrictJson as exc:
        raise SourceError(f"{source}: {method} {shown} answered {exc}") from None
    except ValueError:
        raise SourceError(f"{source}: {method} {shown} did not answer JSON") from None


class PinnedTransport(httpx.HTTPTransport):
    """httpx's default transport whose connections go through `netpolicy.PinnedBackend`:
    each one is made to an address the network policy checked (httpx's HTTPTransport takes
    no network backend, so it is set on its connection pool before any connection exists)."""

    def __init__(self) -> None:
        super().__init__()
        pool = self._pool
        if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(
            pool, "_network_backend"
        ):  # an httpx/httpcore upgrade changed this: fail loudly, never connect unchecked
            raise RuntimeError("cannot set the roadmap sources' network backend on this httpx")
        pool._network_backend = PinnedBackend()


def make_client(timeout_seconds: float) -> httpx.Client:
    # Redirects are followed by request_json, which refuses those to another origin. The
    # client's timeout bounds each connect and read; request_json's `timeout`, the same
    # number, the whole answer. Connections go to addresses the network policy checked
    # (PinnedTransport); a proxy from the environment (HTTPS_PROXY...) keeps its own transport.
    return httpx.Client(
        timeout=timeout_seconds, follow_redirects=False, transport=PinnedTransport()
    )
