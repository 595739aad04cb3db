"""OAuth logins with the real simple-salesforce against the fake org's /services/oauth2/token.

simple-salesforce builds its own token URLs (https://<domain>.salesforce.com/...); the session
routes *.salesforce.com to the fake server (a stand-in for DNS), the client is not patched.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from app.connectors.base import CredentialsError
from app.connectors.salesforce import SalesforceConnector
from app.connectors.salesforce.auth import login
from app.connectors.salesforce.client import SalesforceApi
from app.sandbox.salesforce import INTEGRATION_USER, route_salesforce_hosts
from app.settings import Settings

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _key_pair(tmp_path) -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "connected-app.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return str(path), public


def _oauth_settings(sf_settings: Settings, **update) -> Settings:
    return sf_settings.model_copy(
        update={"salesforce_access_token": None, "salesforce_instance_url": None, **update}
    )


def _connector(settings: Settings, sf_server) -> SalesforceConnector:
    api = SalesforceApi(
        settings, factory=lambda s, session: login(s, route_salesforce_hosts(session, sf_server))
    )
    return SalesforceConnector(settings, api=api)


def _issued_tokens(fake) -> dict[str, str]:
    return {t: u for t, u in fake.tokens.items() if t not in ("integration-token", "rep-token")}


@pytest.mark.parametrize(
    ("domain", "token_host"),
    [("login", "login.salesforce.com"), ("fakeorg.my", "fakeorg.my.salesforce.com")],
)
def test_jwt_bearer_login_reads_opportunities_as_the_integration_user(
    sf_settings, sf_server, fake, tmp_path, domain, token_host
):
    # With a My Domain the token is requested there, and the JWT audience stays login.
    key_file, public_key = _key_pair(tmp_path)
    fake.add_connected_app("jwt-app", public_key_pem=public_key)
    settings = _oauth_settings(
        sf_settings,
        salesforce_username="rg@example.com",
        salesforce_client_id="jwt-app",
        salesforce_private_key_file=key_file,
        salesforce_domain=domain,
    )
    opp = fake.add_opportunity("Deal")
    snap = _connector(settings, sf_server).read_deals([opp])[opp]
    assert snap is not None and snap.name == "Deal"
    assert fake.token_requests == [(token_host, JWT_GRANT)]
    assert list(_issued_tokens(fake).values()) == [INTEGRATION_USER]


def test_jwt_signed_with_another_key_is_a_credentials_error(sf_settings, sf_server, fake, tmp_path):
    key_file, _ = _key_pair(tmp_path)
    (tmp_path / "other").mkdir()
    _, other_public = _key_pair(tmp_path / "other")  # the connected app holds another key
    fake.add_connected_app("jwt-app", public_key_pem=other_public)
    settings = _oauth_settings(
        sf_settings,
        salesforce_username="rg@example.com",
        salesforce_client_id="jwt-app",
        salesforce_private_key_file=key_file,
    )
    with pytest.raises(CredentialsError, match="invalid_grant"):
        _connector(settings, sf_server).read_deals([fake.add_opportunity("Deal")])
    assert _issued_tokens(fake) == {}


def test_client_credentials_login_on_my_domain_reads_opportunities(sf_settings, sf_server, fake):
    fake.add_connected_app("cc-app", secret="cc-secret", run_as=INTEGRATION_USER)
    settings = _oauth_settings(
        sf_settings,
        salesforce_client_id="cc-app",
        salesforce_client_secret=SecretStr("cc-secret"),
        salesforce_domain=fake.my_domain,
    )
    opp = fake.add_opportunity("Deal")
    assert _connector(settings, sf_server).read_deals([opp])[opp] is not None
    assert fake.token_requests == [("fakeorg.my.salesforce.com", "client_credentials")]
    assert list(_issued_tokens(fake).values()) == [INTEGRATION_USER]


@pytest.mark.parametrize("domain", ["login", "test"])
def test_client_credentials_refuse_login_and_test_domains_before_any_call(
    sf_settings, sf_server, fake, domain
):
    fake.add_connected_app("cc-app", secret="cc-secret")
    settings = _oauth_settings(
        sf_settings,
        salesforce_client_id="cc-app",
        salesforce_client_secret=SecretStr("cc-secret"),
        salesforce_domain=domain,
    )
    with pytest.raises(CredentialsError, match="My Domain"):
        _connector(settings, sf_server).read_deals([fake.add_opportunity("Deal")])
    assert fake.count() == 0


@pytest.mark.parametrize("key", ["missing", "garbage"])
def test_a_key_file_that_cannot_make_a_login_is_a_credentials_error_not_a_retry(
    sf_settings, sf_server, fake, tmp_path, key
):
    # Start-up refuses such settings; if the file goes away (or is replaced) afterwards, the
    # deals are held (CredentialsError), not retried eight times into the dead state.
    key_file, public_key = _key_pair(tmp_path)
    fake.add_connected_app("jwt-app", public_key_pem=public_key)
    path = tmp_path / "connected-app.key"
    if key == "missing":
        path.unlink()
    else:
        path.write_text("not a key")
    settings = _oauth_settings(
        sf_settings,
        salesforce_username="rg@example.com",
        salesforce_client_id="jwt-app",
        salesforce_private_key_file=str(path),
    )
    with pytest.raises(CredentialsError, match="cannot be made from the settings"):
        _connector(settings, sf_server).read_deals([fake.add_opportunity("Deal")])


def test_incomplete_credentials_at_login_are_a_credentials_error(sf_settings, sf_server, fake):
    settings = _oauth_settings(sf_settings, salesforce_username="rg@example.com")
    with pytest.raises(CredentialsError, match="incomplete"):
        _connector(settings, sf_server).read_deals([fake.add_opportunity("Deal")])
