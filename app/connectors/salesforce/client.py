"""SalesforceApi: the one place HTTP calls to Salesforce happen.

Every call is counted with `crm_call("salesforce", operation, result)`, passes through the
timeout session, records the `Sforce-Limit-Info` usage simple-salesforce parses, and turns any
failure into TransientError / PermanentError (errors.py). No retries here: the deal queue owns
retry policy, and a Salesforce 24-hour limit is not something to sleep through in-process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce

from app.connectors.base import ConnectorError, CredentialsError, TransientError
from app.connectors.salesforce import errors
from app.connectors.salesforce.auth import build_session, login
from app.metrics import crm_call
from app.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
USAGE_WARN_FRACTION = 0.9


class SalesforceApi:
    def __init__(
        self,
        settings: Settings,
        *,
        factory: Callable[[Settings, requests.Session], Salesforce] = login,
    ) -> None:
        self.settings = settings
        self.version = settings.salesforce_api_version
        self._factory = factory
        self._session = build_session(settings)
        self._sf: Salesforce | None = None
        self._lock = threading.Lock()
        self.api_usage: tuple[int, int] | None = None  # (used, allowed) from Sforce-Limit-Info

    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce client, logged in on first use (not at start-up)."""
        with self._lock:
            if self._sf is None:
                self._sf = self._call("login", lambda: self._factory(self.settings, self._session))
            return self._sf

    @property
    def data_path(self) -> str:
        return f"/services/data/v{self.version}/"

    @property
    def instance_url(self) -> str:
        return f"https://{self.sf.sf_instance}"

    def _call(self, operation: str, fn: Callable[[], T]) -> T:
        try:
            result = fn()
        except Exception as exc:  # mapped below; nothing is swallowed
            error = errors.from_exception(exc)
            outcome = "error"
            if isinstance(error, CredentialsError):
                outcome = "unauthorized"
            elif isinstance(error, TransientError):
                outcome = (
                    "timeout"
                    if isinstance(exc, requests.Timeout)
                    else "rate_limited"
                    if isinstance(error, errors.RequestLimitExceeded)
                    else "error"
                )
            crm_call("salesforce", operation, outcome)
            raise error from exc
        crm_call("salesforce", operation, "ok")
        self._note_usage()
        return result

    def _note_usage(self) -> None:
        usage = getattr(self._sf, "api_usage", None) or {}
        api = usage.get("api-usage")
        if api is None:
            return
        self.api_usage = (api.used, api.total)
        if api.total and api.used >= api.total * USAGE_WARN_FRACTION:
            log.warning("salesforce API usage high: %s of %s daily requests", api.used, api.total)

    # --- calls ------------------------------------------------------------------------------
    def composite(self, operation: str, subrequests: list[dict]) -> list[dict]:
        """POST /composite (allOrNone false): the subresponses, in order."""
        body = {"allOrNone": False, "compositeRequest": subrequests}
        sf = self.sf
        result = self._call(operation, lambda: sf.restful("composite", method="POST", json=body))
        responses = (result or {}).get("compositeResponse")
        if not isinstance(responses, list) or len(responses) != len(subrequests):
            raise TransientError(
                "Salesforce composite answered without one response per subrequest"
            )
        return responses

    def query_more(self, next_records_url: str) -> dict:
        sf = self.sf
        return self._call(
            "query_more", lambda: sf.query_more(next_records_url, identifier_is_url=True)
        )

    def query_all(self, operation: str, soql: str) -> list[dict]:
        return [r for page in self.query_pages(operation, soql) for r in page.get("records", [])]

    def query_all_rows(self, operation: str, soql: str) -> list[dict]:
        """queryAll: the result includes deleted (IsDeleted, in the Recycle Bin) and merged
        records; sharing still applies. One page is enough for up to 2,000 rows."""
        sf = self.sf
        page = self._call(operation, lambda: sf.query(soql, include_deleted=True))
        rows = list(page.get("records", []))
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            page = self.query_more(page["nextRecordsUrl"])
            rows.extend(page.get("records", []))
        return rows

    def query_pages(self, operation: str, soql: str) -> Iterator[dict]:
        """Each page of a query's result (`totalSize`, `records`), following nextRecordsUrl."""
        sf = self.sf
        page = self._call(operation, lambda: sf.query(soql))
        yield page
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            page = self.query_more(page["nextRecordsUrl"])
            yield page

    def describe(self, sobject: str) -> dict:
        sf = self.sf
        return self._call("describe", lambda: sf.restful(f"sobjects/{sobject}/describe"))

    def whoami(self) -> dict:
        """The user these credentials act as (Connect API User Detail: id, username, name)."""
        sf = self.sf
        return self._call("whoami", lambda: sf.restful("chatter/users/me"))

    def blob(self, path: str) -> bytes:
        """GET a base64 field's blob URL (e.g. a ContentNote's Content): raw bytes."""
        sf = self.sf

        def _get() -> bytes:
            response = sf._call_salesforce("GET", f"https://{sf.sf_instance}{path}", name="blob")
            return response.content

        return self._call("note_body", _get)

    def apex_post(self, operation: str, path: str, body: dict) -> Any:
        """POST JSON to an Apex REST resource (/services/apexrest/<path>): the decoded answer.
        A missing (404) or forbidden (403) resource raises ApexResourceUnavailable, an exception
        in the Apex code ApexResourceFailed; anything else maps as every other call does."""
        sf = self.sf

        def _post() -> Any:
            try:
                return sf.apexecute(path, method="POST", data=body)
            except Exception as exc:
                mapped = errors.apex_error(exc)
                if mapped is None:
                    raise
                raise mapped from exc

        return self._call(operation, _post)

    def deploy(
        self, zip_path: str, *, check_only: bool = False, tests: list[str] | None = None
    ) -> dict:
        """Metadata API deploy. With `tests`, only those Apex tests run (RunSpecifiedTests):
        production requires tests for Apex, and the org's own tests are not ours to run."""
        sf = self.sf
        options: dict[str, Any] = {"checkOnly": check_only}
        if tests:
            options.update(testLevel="RunSpecifiedTests", tests=list(tests))
        return self._call("deploy", lambda: sf.deploy(zip_path, sandbox=False, **options))

    def deploy_status(self, async_id: str) -> dict:
        sf = self.sf
        return self._call("deploy_status", lambda: sf.checkDeployStatus(async_id))


def subresponse_error(response: dict) -> ConnectorError | None:
    """The typed error of a failed composite subresponse, or None when it succeeded."""
    status = int(response.get("httpStatusCode") or 0)
    if status < 400:
        return None
    entries = errors.error_entries(response.get("body"))
    first = entries[0] if entries else {}
    return errors.classify(errors.error_code(first), errors.describe_errors(entries), status=status)


def subrequest(method: str, url: str, reference_id: str, body: Any = None) -> dict:
    sub: dict[str, Any] = {"method": method, "url": url, "referenceId": reference_id}
    if body is not None:
        sub["body"] = body
    return sub
