"""Sessions and logins: every call has a timeout, TLS trust is configurable, the version pinned.

Auth, in the order tried:
1. an access token with its instance URL (SALESFORCE_ACCESS_TOKEN + SALESFORCE_INSTANCE_URL);
2. OAuth JWT bearer (SALESFORCE_USERNAME + SALESFORCE_CLIENT_ID + SALESFORCE_PRIVATE_KEY_FILE).
   simple-salesforce signs the JWT with aud = https://<domain>.salesforce.com, and Salesforce
   accepts only login/test there: so the audience is "test" for sandboxes ("test", or a My
   Domain containing ".sandbox."), else "login"; a My Domain in SALESFORCE_DOMAIN is where the
   token is requested (simple-salesforce's `instance_url` is that host's prefix, not a URL);
3. OAuth client credentials (SALESFORCE_CLIENT_ID + SALESFORCE_CLIENT_SECRET, with
   SALESFORCE_DOMAIN set to the org's My Domain, e.g. "acme.my": Salesforce serves this flow
   only there, so "login"/"test" are refused before any call);
4. username + password + security token: development only (a warning is logged).
simple-salesforce re-logs in by itself on INVALID_SESSION_ID for 2-4.
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from simple_salesforce import Salesforce

from app.connectors.base import CredentialsError
from app.settings import Settings, salesforce_auth_mode

log = logging.getLogger(__name__)


class TimeoutSession(requests.Session):
    """A requests session that puts a timeout on every request unless the caller set one.

    simple-salesforce passes no timeout of its own to most calls; without this a hung socket
    would hold a worker's lease until it expires.
    """

    def __init__(self, timeout: float, verify: str | bool = True) -> None:
        super().__init__()
        self.timeout = timeout
        self.verify = verify

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if kwargs.get("verify") is None and isinstance(self.verify, str):
            # Passed per request: REQUESTS_CA_BUNDLE in the environment would otherwise win.
            kwargs["verify"] = self.verify
        return super().request(method, url, *args, **kwargs)


def build_session(settings: Settings) -> TimeoutSession:
    verify: str | bool = settings.salesforce_ca_bundle or True
    return TimeoutSession(settings.salesforce_timeout_seconds, verify=verify)


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def auth_mode(settings: Settings) -> str:
    """The configured login; ValueError when the credentials are incomplete (start-up refuses
    such settings already: see Settings._salesforce_credentials)."""
    return salesforce_auth_mode(settings)


def client_kwargs(settings: Settings, session: requests.Session) -> dict[str, Any]:
    """The simple_salesforce.Salesforce(...) arguments for the configured auth mode."""
    common: dict[str, Any] = {"version": settings.salesforce_api_version, "session": session}
    mode = auth_mode(settings)
    if mode == "access_token":
        return {
            **common,
            "instance_url": settings.salesforce_instance_url,
            "session_id": _secret(settings.salesforce_access_token),
        }
    domain = settings.salesforce_domain
    if mode == "jwt_bearer":
        sandbox = domain == "test" or ".sandbox." in f".{domain}."
        kwargs = {
            **common,
            "username": settings.salesforce_username,
            "consumer_key": settings.salesforce_client_id,
            "privatekey_file": settings.salesforce_private_key_file,
            "domain": "test" if sandbox else "login",
        }
        if domain not in ("login", "test"):
            kwargs["instance_url"] = domain  # token host https://<My Domain>.salesforce.com
        return kwargs
    if mode == "client_credentials":
        if domain in ("login", "test"):
            raise CredentialsError(
                f"Salesforce client credentials need the org's My Domain: set SALESFORCE_DOMAIN "
                f"to it (e.g. 'acme.my' for https://acme.my.salesforce.com), not {domain!r}; "
                "Salesforce does not serve this flow on login/test.salesforce.com"
            )
        return {
            **common,
            "consumer_key": settings.salesforce_client_id,
            "consumer_secret": _secret(settings.salesforce_client_secret),
            "domain": settings.salesforce_domain,
        }
    log.warning("salesforce: username/password login is for development only")
    return {
        **common,
        "username": settings.salesforce_username,
        "password": _secret(settings.salesforce_password),
        "security_token": _secret(settings.salesforce_security_token) or "",
        "domain": settings.salesforce_domain,
    }


def login(settings: Settings, session: requests.Session) -> Salesforce:
    """A logged-in client. Settings that cannot make a login (incomplete credentials, a private
    key file that cannot be read or parsed) raise CredentialsError: the deals are held until an
    operator fixes them, not retried into the dead state. Network failures pass through."""
    try:
        return Salesforce(**client_kwargs(settings, session))
    except requests.RequestException:
        raise
    except (ValueError, OSError, jwt.PyJWTError) as exc:
        raise CredentialsError(
            f"Salesforce login cannot be made from the settings: {type(exc).__name__}: {exc}"
        ) from exc
