"""Jira issues as roadmap features, through JQL search, on Jira Cloud or Jira Server / Data
Center.

What Atlassian documents:
- Cloud (REST API v3, "Issue search"): GET /rest/api/3/search/jql?jql=...&fields=a,b
  &maxResults=N[&nextPageToken=T] (the "enhanced search" that replaced /rest/api/3/search) →
  {"issues": [{"id", "key", "self", "fields": {...}}], "nextPageToken": "..." (absent or null
  on the last page), "isLast": bool}.
- Server / Data Center (REST API v2, which has no enhanced search): GET /rest/api/2/search
  ?jql=...&fields=a,b&startAt=S&maxResults=N → {"expand", "startAt", "maxResults", "total",
  "issues": [...]}. The server may cap maxResults below what was asked (default 50), so the
  next startAt is this one plus the issues actually returned, until `total` is reached. An
  issue created or deleted between two pages shifts every later startAt (one issue skipped,
  its feature deleted, or one read twice): a `total` that changes between pages, or an issue
  answered twice (either API), reads the search again once, then fails (`_Shifted`). A page
  with no issues before `total` is reached (Data Center answers none past its search window,
  max_result_window, 10,000 by default) fails the refresh: stored, the catalog would lose
  every issue after it.
- A search whose URL would be long (a JQL listing many keys, `key in (ROAD-1, ..., ROAD-400)`)
  goes as the POST form of the same search, which takes the same parameters as a JSON body,
  `fields` as a list: Cloud POST /rest/api/3/search/jql {"jql", "fields": [...], "maxResults",
  "nextPageToken"}; Server / DC POST /rest/api/2/search {"jql", "fields": [...], "maxResults",
  "startAt"}. As a GET such a search is refused by Jira's or a proxy's URL limit ("uses the
  GET query, which limits the JQL query to 2000 characters", andygrunwald/go-jira #657; Jira's
  Java client switches to POST past 500), and a source whose JQL the config accepts (8000
  characters) could never refresh. Short searches stay GETs (`MAX_GET_URL`).
- Only the fields asked for come back; status is {"name", "statusCategory": {...}}, resolution
  is {"name", ...} or null (unresolved); on an issue in the done status category, a resolution
  other than Done/Fixed names what the issue is read as (`DONE_RESOLUTIONS`); `duedate`
  is "YYYY-MM-DD", date custom fields are "YYYY-MM-DD" (date-time fields carry a time).
- Links: an issue's url is {base_url}/browse/{key}; through Atlassian's API gateway
  (api.atlassian.com/ex/jira/<cloudId>) the site's own URL, GET /rest/api/3/serverInfo
  `baseUrl` ("The base URL of the Jira instance"), since the gateway serves no web pages.
- Auth: Jira Cloud uses basic auth with an account e-mail and an API token; Data Center uses a
  personal access token as a bearer token. config.email present → basic, else bearer.
  Credentials Jira does not accept (a wrong, expired or revoked token) are not always a 401:
  Jira serves the request as the anonymous user, who sees no issues (200 with an empty search,
  or 400 "The value 'ROAD' does not exist for the field 'project'"), and says so only in the
  answer's X-Seraph-LoginReason header: AUTHENTICATED_FAILED, or AUTHENTICATION_DENIED when it
  wants a CAPTCHA after failed logins ("JIRA REST API Example - Basic Authentication"; the
  header on an expired Cloud token's 200, jira.js issue #418). Either fails the refresh,
  naming the credentials to fix (`_check_login`).

Config: base_url, jql, token_env (env var NAME), api ("cloud", the default, or "server" for
Server / Data Center), email (optional), target_date_field (default "duedate", e.g.
"customfield_10015"), aliases_field (optional: labels, a text list, or a list of objects such
as components, fixVersions or a multi-select / user picker, read by `value`, then `name`, then
`displayName`; anything else is skipped), page_size (default 100). target_date_field may also
be a version field: fixVersions (a list of versions) or a version picker custom field, each
version {"self", "id", "name", "archived", "released", "releaseDate": "YYYY-MM-DD"}; the
target date is the latest releaseDate of the issue's versions (the feature is whole when its
last version ships), none when one of them has no release date yet (`_target_date`). A
target_date_field that holds values but yields no date for any issue (a text field) is a
refresh error:
every target date would vanish silently; so is one this Jira does not have (a custom field id
from another site), checked against GET /rest/api/{3,2}/field when no issue answered it;
so is an aliases_field it does not have.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.connectors.roadmap._http import (
    MAX_PAGES,
    check_new_page,
    make_client,
    request_json,
    source_get,
)
from app.connectors.roadmap.base import (
    FetchResult,
    SourceError,
    SourceStatusError,
    secret_from_env,
)
from app.connectors.roadmap.config import JiraConfig, parse_config
from app.rules.model import Feature

DEFAULT_STATUS_MAPPING = {
    "Backlog": "uncertain",
    "To Do": "uncertain",
    "Selected for Development": "coming_soon",
    "In Progress": "coming_soon",
    "In Review": "coming_soon",
    "Beta": "beta",
    "Done": "available",
    "Won't Do": "never",
    "Won't Fix": "never",
    "Declined": "never",
}
# Resolutions that say the work was done: the status stays what the issue is read as. Any other
# resolution ("Won't Do", "Duplicate", "Declined") is what the issue is read as instead, since
# Jira's own practice closes declined work in a Done status with resolution "Won't Do": read by
# status alone, a feature the team declined would be `available`.
DONE_RESOLUTIONS = frozenset({"done", "fixed", "complete", "completed", "resolved"})


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _closed(status: Any) -> bool:
    """Whether the issue's status is in Jira's done category (`status.statusCategory.key`
    "done"); True when the category is not given (an older server), as before it was read.

    A resolution is read only on a closed issue: a workflow whose reopen transition does not
    clear it (Atlassian's "Best practices on using the Resolution field" lists the issue "in
    an In progress column ... already strikethrough") leaves "Won't Do" on an issue the team
    took up again, which would read as `never` and block the deals that count on it."""
    category = status.get("statusCategory") if isinstance(status, dict) else None
    key = category.get("key") if isinstance(category, dict) else None
    return not isinstance(key, str) or key.strip().lower() == "done"


def _target_date(value: Any) -> date | None:
    """The target date a field's value gives: a date field's "YYYY-MM-DD" (a date-time field's
    date part); a version's releaseDate (a version picker); of a list of versions (fixVersions)
    the latest releaseDate, and none when any of them has none yet (the last version's date is
    not known). Read as text, a version list gave no date for any issue, which failed every
    refresh of a source that plans by versions."""
    if isinstance(value, dict):
        return _date(value.get("releaseDate"))
    if isinstance(value, list):
        versions = [v for v in value if isinstance(v, dict)]
        if not versions or len(versions) != len(value):
            return None
        dates = [_date(v.get("releaseDate")) for v in versions]
        return None if None in dates else max(d for d in dates if d is not None)
    return _date(value)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    """A list entry as text: a string; an option's `value`; else a component's, version's or
    user's `name` (then `displayName`). Anything else (a number, an empty or unknown object)
    gives None: never the string "None"."""
    if isinstance(value, dict):
        for key in ("value", "name", "displayName"):
            if isinstance(value.get(key), str) and value[key].strip():
                return value[key].strip()
        return None
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [text for text in map(_text, value) if text]
    if isinstance(value, dict):  # a single-select or user picker: one object
        text = _text(value)
        return [text] if text else []
    if isinstance(value, str) and value.strip():
        return [part.strip() for part in value.split(",") if part.strip()]
    return []


# Atlassian's API gateway: https://api.atlassian.com/ex/jira/<cloudId> is a Jira Cloud site's
# API, but its /browse/ pages are on the site's own URL.
ATLASSIAN_GATEWAY = "api.atlassian.com"

# X-Seraph-LoginReason values that say the credentials sent were not accepted.
LOGIN_FAILED = "AUTHENTICATED_FAILED"
LOGIN_DENIED = "AUTHENTICATION_DENIED"


def _site_link_base(value: Any) -> str | None:
    """serverInfo's `baseUrl` as the start of every issue link (shown on the dashboard, written
    into CRM notes), or None: an http(s) URL of a host and nothing else. User-info
    ("https://acme.atlassian.net@evil.example" opens evil.example), a query or a fragment (the
    /browse/ path appended to it leaves every link on one page) or characters no URL holds
    are refused, and the links stay on config.base_url."""
    if not isinstance(value, str) or not value.isascii() or len(value) > 512:
        return None
    if any(c.isspace() or c in '"<>\\`{}|^' or ord(c) < 32 for c in value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # a port that is no number
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if "@" in parts.netloc or parts.query or parts.fragment or "?" in value or "#" in value:
        return None
    host = parts.netloc.lower()
    if host != parts.hostname + ("" if port is None else f":{port}"):
        return None
    return value.rstrip("/")


# The longest search URL (query included) sent as a GET; a longer one is sent as the search's
# POST form (the module's docstring). 2000 characters is the limit URLs are commonly held to.
MAX_GET_URL = 2000


def _post_body(params: dict[str, Any]) -> dict[str, Any]:
    """The search's query parameters as its POST body: the same names, `fields` as a list."""
    return {**params, "fields": [f for f in str(params["fields"]).split(",") if f]}


class _Shifted(Exception):
    """The search's results changed between two of its pages (the message says how)."""


class JiraSource:
    kind = "jira"

    def __init__(self, name: str, config: dict[str, Any], client: httpx.Client | None = None):
        self.name = name
        self.config = config
        self.settings: JiraConfig = parse_config(self.kind, config)
        self.base_url = self.settings.base_url.rstrip("/")
        self.jql = self.settings.jql
        self.date_field = self.settings.target_date_field
        self.aliases_field = self.settings.aliases_field
        self.page_size = self.settings.page_size
        self.api = self.settings.api
        self._client = client
        self._site = self.base_url  # where an issue's /browse/ link points (`_site_url`)

    def _headers(self) -> dict[str, str]:
        token = secret_from_env(self.config, "token_env")
        email = self.settings.email
        if email:
            basic = base64.b64encode(f"{email}:{token}".encode()).decode()
            auth = f"Basic {basic}"
        else:
            auth = f"Bearer {token}"
        return {"Authorization": auth, "Accept": "application/json"}

    def fetch(self, etag: str | None = None) -> FetchResult:
        client = self._client or make_client(self.settings.timeout_seconds)
        try:
            try:
                return self._fetch(client)
            except _Shifted:  # read again once: a change between two pages is rare
                pass
            try:
                return self._fetch(client)
            except _Shifted as exc:
                raise SourceError(
                    f"{self.name}: the search's results changed while its pages were read, "
                    f"twice in a row ({exc}): an issue created, deleted or moved between two "
                    "pages would be lost or read twice; the last good catalog is kept (an "
                    "ORDER BY key in the JQL keeps the pages stable)"
                ) from None
        finally:
            if self._client is None:
                client.close()

    def _fetch(self, client: httpx.Client) -> FetchResult:
        fields = ["summary", "status", "resolution", self.date_field]
        if self.aliases_field:
            fields.append(self.aliases_field)
        params: dict[str, Any] = {
            "jql": self.jql,
            "fields": ",".join(fields),
            "maxResults": self.page_size,
        }
        pages = self._server_pages if self.api == "server" else self._cloud_pages
        result = FetchResult()
        undated: list[str] = []  # issues with a value in the date field that is not a date
        read: dict[str, str] = {}  # issue key -> where it was read
        answered: set[str] = set()  # the fields some issue answered at all (null included)
        headers = self._headers()
        self._site = self._site_url(client, headers)
        for body in pages(client, headers, params, result):
            for index, issue in enumerate(body["issues"]):
                where = f"page {result.pages} issues[{index}]"
                feature = self._feature(issue, where)
                if feature.key in read:  # the pages moved under us: another issue was skipped
                    raise _Shifted(f"{feature.key} came at {read[feature.key]} and {where}")
                read[feature.key] = where
                result.features.append(feature)
                result.locations.append(where)
                answered.update(issue["fields"])
                if feature.target_date is None and issue["fields"].get(self.date_field):
                    undated.append(str(issue["key"]))
        unanswered = {
            key: field
            for key, field in (
                ("target_date_field", self.date_field),
                ("aliases_field", self.aliases_field),
            )
            if field and field not in answered
        }
        if result.features and unanswered:
            self._check_fields(client, headers, unanswered)
        if undated and all(f.target_date is None for f in result.features):
            # e.g. a text field or a list of labels: every target date
            # would silently vanish, and a promised feature without one blocks the deal
            raise SourceError(
                f"{self.name}: config.target_date_field {self.date_field!r} gave no date for any "
                f"issue, though {len(undated)} of them have a value in it (e.g. {undated[0]}); "
                "it must be a date field (YYYY-MM-DD), such as duedate or a date custom field, "
                "or a version field (fixVersions: the versions' releaseDate); "
                "the last good catalog is kept"
            )
        return result

    def _site_url(self, client: httpx.Client, headers: dict[str, str]) -> str:
        """The site an issue's /browse/ link is on: config.base_url, except through Atlassian's
        API gateway (https://api.atlassian.com/ex/jira/<cloudId>, how OAuth 2.0 and scoped API
        tokens reach Jira Cloud), which serves no web pages: there, the site's own URL from
        GET /rest/api/3/serverInfo (`baseUrl`, "The base URL of the Jira instance"; readable
        anonymously). Links kept as before if it cannot be read."""
        if urlsplit(self.base_url).hostname != ATLASSIAN_GATEWAY:
            return self.base_url
        try:
            _, body = source_get(
                client,
                self,
                f"{self.base_url}/rest/api/3/serverInfo",
                headers=headers,
                inspect=self._check_login,
            )
        except SourceStatusError:
            return self.base_url
        site = _site_link_base(body.get("baseUrl") if isinstance(body, dict) else None)
        return site or self.base_url

    def _check_login(self, response: httpx.Response) -> None:
        """SourceError when Jira says it did not accept the credentials
        (X-Seraph-LoginReason), whatever the answer's status: served as the anonymous user,
        an empty search would read as an empty roadmap, a JQL error as the JQL's fault."""
        reasons = {
            part.strip().upper()
            for part in response.headers.get("X-Seraph-LoginReason", "").split(",")
        }
        if not reasons & {LOGIN_FAILED, LOGIN_DENIED}:
            return
        var = self.config.get("token_env")
        email = self.settings.email
        if LOGIN_DENIED in reasons:
            fix = (
                "after failed logins Jira asks for a CAPTCHA and refuses the account's logins "
                f"unchecked: log in once in a browser as {email or 'the account'}, and check "
                f"the token in {var} (config.token_env)"
            )
        elif email:
            fix = (
                f"the API token in {var} (config.token_env) is wrong, expired or revoked, or "
                f"it is not the token of config.email {email}'s account"
            )
        else:
            fix = (
                f"the token in {var} (config.token_env) is wrong, expired or revoked; without "
                "config.email it is sent as a bearer token, which only Data Center takes (a "
                "personal access token): for Jira Cloud set config.email to the account's e-mail"
            )
        raise SourceError(  # not a SourceStatusError: no status hint (a 404's) applies
            f"{self.name}: Jira did not accept the credentials (X-Seraph-LoginReason: "
            f"{response.headers['X-Seraph-LoginReason'][:60]}) and answered HTTP "
            f"{response.status_code} as an anonymous user, who sees no issues: {fix}; the "
            "last good catalog is kept"
        )

    def _check_fields(
        self, client: httpx.Client, headers: dict[str, str], unanswered: dict[str, str]
    ) -> None:
        """No issue answered config.target_date_field (or aliases_field), not even as null:
        Jira leaves out a requested field it does not have (a custom field id from another
        site, a typo), and every target date (or alias) would vanish silently. GET
        /rest/api/{2,3}/field (every system and custom field, {id, name, schema: {type}})
        tells: a field it lists is merely empty on these issues; one it does not list is a
        refresh error, naming the site's date fields for the target date."""
        path = f"/rest/api/{2 if self.api == 'server' else 3}/field"
        _, body = source_get(
            client,
            self,
            f"{self.base_url}{path}",
            headers=headers,
            inspect=self._check_login,
        )
        if not isinstance(body, list):
            return  # cannot tell: the issues are read as they are
        fields = [f for f in body if isinstance(f, dict)]
        known = {f.get("id") for f in fields}
        problems = []
        if "target_date_field" in unanswered and self.date_field not in known:
            dates = sorted(
                f"{f['id']} ({f.get('name')})"
                for f in fields
                if isinstance(f.get("id"), str)
                and _obj(f.get("schema")).get("type") in ("date", "datetime")
            )
            shown = ", ".join(dates[:15]) + (
                f" (and {len(dates) - 15} more)" if len(dates) > 15 else ""
            )
            problems.append(
                f"config.target_date_field {self.date_field!r} is not a field of this Jira, so "
                f"every target date would be dropped (its date fields: {shown or 'none'})"
            )
        if "aliases_field" in unanswered and self.aliases_field not in known:
            problems.append(
                f"config.aliases_field {self.aliases_field!r} is not a field of this Jira, so "
                "every alias would be dropped (e.g. labels, components)"
            )
        if problems:
            raise SourceError(
                f"{self.name}: " + "; ".join(problems) + f" (GET {path} does not list it, and "
                "no issue answered it); the last good catalog is kept"
            )

    def _page(
        self,
        client: httpx.Client,
        url: str,
        headers: dict[str, str],
        params: dict[str, Any],
        result: FetchResult,
    ) -> dict[str, Any]:
        if result.pages >= MAX_PAGES:
            raise SourceError(f"{self.name}: more than {MAX_PAGES} pages; stopping")
        long_url = len(str(httpx.URL(url, params=params))) > MAX_GET_URL
        try:
            _, body = request_json(
                client,
                "POST" if long_url else "GET",
                url,
                source=self.name,
                timeout=self.settings.timeout_seconds,
                origin_url=self.base_url,
                headers=headers,
                params=None if long_url else params,
                json=_post_body(params) if long_url else None,
                inspect=self._check_login,
            )
        except SourceStatusError as exc:
            if exc.status != 404 or result.pages:
                raise
            # the first search found no search here: the wrong API, or not the site's URL
            hint = (
                "Jira Server / Data Center has no /rest/api/3/search/jql: if this is one, set "
                'config.api to "server"; otherwise config.base_url is not the Jira site\'s URL'
                if self.api == "cloud"
                else "config.base_url is not the Jira site's URL (a context path such as /jira "
                "missing?)"
            )
            raise SourceStatusError(f"{exc} ({hint})", exc.status) from None
        result.pages += 1
        if not isinstance(body, dict) or not isinstance(body.get("issues"), list):
            raise SourceError(f"{self.name}: search page {result.pages} has no 'issues' list")
        return body

    def _cloud_pages(
        self,
        client: httpx.Client,
        headers: dict[str, str],
        params: dict[str, Any],
        result: FetchResult,
    ) -> Iterator[dict[str, Any]]:
        url = f"{self.base_url}/rest/api/3/search/jql"
        token: str | None = None
        seen: set[str] = set()
        while True:
            page_params = {**params, "nextPageToken": token} if token else params
            body = self._page(client, url, headers, page_params, result)
            yield body
            token = body.get("nextPageToken")
            if not token or body.get("isLast") is True:
                return
            where = f"search page {result.pages} nextPageToken"
            check_new_page(seen, str(token), source=self.name, where=where)

    def _server_pages(
        self,
        client: httpx.Client,
        headers: dict[str, str],
        params: dict[str, Any],
        result: FetchResult,
    ) -> Iterator[dict[str, Any]]:
        url = f"{self.base_url}/rest/api/2/search"
        start = 0
        first_total: int | None = None
        while True:
            body = self._page(client, url, headers, {**params, "startAt": start}, result)
            total = body.get("total")
            if not isinstance(total, int) or isinstance(total, bool):
                raise SourceError(f"{self.name}: search page {result.pages} has no 'total'")
            if first_total is None:
                first_total = total
            elif total != first_total:
                # an issue created or deleted since page 1 shifted every startAt after it: one
                # issue would be read twice, or skipped and its feature deleted
                raise _Shifted(f"page 1 counted {first_total} issues, page {result.pages} {total}")
            yield body
            if not body["issues"] and start < total:
                # Data Center answers no issues past its search window (max_result_window,
                # 10,000 by default: "the API returns an error or empty results", Atlassian's
                # KB "Handling JQL REST API searching exceeding max_result_window"): stored as
                # read, every issue past it would be deleted, and the deals counting on them
                # re-evaluated without them
                raise SourceError(
                    f"{self.name}: search page {result.pages} (startAt={start}) answered no "
                    f"issues, though the search counts {total}: the {total - start} issues "
                    "after it cannot be read (Jira Data Center answers none past its search "
                    "window, 10,000 issues by default); narrow the JQL. The last good catalog "
                    "is kept"
                )
            start += len(body["issues"])
            if not body["issues"] or start >= total:
                return

    def _feature(self, issue: Any, where: str) -> Feature:
        fields_value = issue.get("fields") if isinstance(issue, dict) else None
        if not isinstance(fields_value, dict) or not issue.get("key"):
            raise SourceError(f"{self.name}: search {where} lacks key or fields")
        status = fields_value.get("status") or {}
        status_name = status.get("name") if isinstance(status, dict) else None
        resolution = fields_value.get("resolution")
        resolved_as = resolution.get("name") if isinstance(resolution, dict) else None
        if (
            isinstance(resolved_as, str)
            and resolved_as.strip().lower() not in DONE_RESOLUTIONS
            and _closed(status)
        ):
            status_name = resolved_as
        return Feature(
            key=str(issue["key"]),
            name=str(fields_value.get("summary") or issue["key"])[:255],
            aliases=_strings(fields_value.get(self.aliases_field)) if self.aliases_field else [],
            target_date=_target_date(fields_value.get(self.date_field)),
            source=self.name,
            source_status=status_name,
            url=f"{self._site}/browse/{issue['key']}",
        )
