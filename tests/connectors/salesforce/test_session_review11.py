"""An access token that expires mid-life: 401 INVALID_SESSION_ID, as the REST API documents it
("401: The session ID or OAuth token used has expired or is invalid. The response body contains
the message and errorCode", Status Codes and Error Responses). Fidelity review 11 (helper 162).

With a login it can repeat (JWT bearer, client credentials) simple-salesforce logs in again and
resends the call itself (Salesforce._call_salesforce: a 401 whose first error is
INVALID_SESSION_ID calls _refresh_session); with a bare access token there is nothing to renew
and the deals are held (CredentialsError) until an operator sets a new one.
"""

from __future__ import annotations

import pytest

from app.connectors.base import CredentialsError
from app.sandbox.salesforce import INTEGRATION_USER
from tests.connectors.salesforce.test_auth import (
    JWT_GRANT,
    _connector,
    _issued_tokens,
    _key_pair,
    _oauth_settings,
)
from tests.connectors.salesforce.test_connector import write


def test_an_expired_jwt_session_is_renewed_and_the_read_and_write_go_through(
    sf_settings, sf_server, fake, tmp_path
):
    key_file, public_key = _key_pair(tmp_path)
    fake.add_connected_app("jwt-app", public_key_pem=public_key)
    settings = _oauth_settings(
        sf_settings,
        salesforce_username="rg@example.com",
        salesforce_client_id="jwt-app",
        salesforce_private_key_file=key_file,
    )
    connector = _connector(settings, sf_server)
    opp = fake.add_opportunity("Deal")
    assert connector.read_deals([opp])[opp] is not None
    [first] = _issued_tokens(fake)
    fake.tokens.pop(first)  # the session expires (or an admin revokes it)
    snapshot = connector.read_deals([opp])[opp]
    assert snapshot is not None
    outcome = connector.write_back([write(opp, snapshot)])[opp]
    assert outcome.error is None
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True
    assert [grant for _host, grant in fake.token_requests] == [JWT_GRANT, JWT_GRANT]
    assert list(_issued_tokens(fake).values()) == [INTEGRATION_USER]


def test_an_expired_bare_access_token_holds_the_deals(connector, fake):
    opp = fake.add_opportunity("Deal")
    assert connector.read_deals([opp])[opp] is not None
    fake.tokens.pop("integration-token")
    with pytest.raises(CredentialsError, match="INVALID_SESSION_ID"):
        connector.read_deals([opp])


def test_a_renewal_the_org_refuses_holds_the_deals(sf_settings, sf_server, fake, tmp_path):
    """The connected app was removed since: the renewal is refused (invalid_client_id) and the
    deals are held, not retried into the dead state."""
    key_file, public_key = _key_pair(tmp_path)
    fake.add_connected_app("jwt-app", public_key_pem=public_key)
    settings = _oauth_settings(
        sf_settings,
        salesforce_username="rg@example.com",
        salesforce_client_id="jwt-app",
        salesforce_private_key_file=key_file,
    )
    connector = _connector(settings, sf_server)
    opp = fake.add_opportunity("Deal")
    assert connector.read_deals([opp])[opp] is not None
    fake.tokens.clear()
    fake.connected_apps.clear()
    with pytest.raises(CredentialsError):
        connector.read_deals([opp])
