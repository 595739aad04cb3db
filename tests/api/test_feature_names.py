"""A registry feature's name and aliases must not read as another feature's name in notes."""

from __future__ import annotations

from sqlmodel import Session, select

from app.models import AuditLog
from app.models import Feature as FeatureRow


def _create(client, headers, key, name, aliases=()):
    return client.post(
        "/api/v1/features",
        json={"key": key, "name": name, "availability": "available", "aliases": list(aliases)},
        headers=headers,
    )


def test_an_alias_spelling_another_features_name_is_refused(client, api_key, engine):
    revops = api_key("revops")
    assert _create(client, revops, "sso", "Single sign-on", ["SAML"]).status_code == 201

    r = _create(client, revops, "x4", "X four", ["single sign on", "Xfour"])
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["details"] == [
        {
            "path": "aliases[0]",
            "message": "'single sign on' reads as the name 'Single sign-on' of feature 'sso'",
            "feature": "sso",
        }
    ]
    assert "would also match another feature" in error["message"]
    # A name spelling another feature's alias, likewise.
    r = _create(client, revops, "saml", "S.A.M.L.")
    assert r.status_code == 409
    assert r.json()["error"]["details"][0]["message"] == (
        "'S.A.M.L.' reads as the alias 'SAML' of feature 'sso'"
    )
    with Session(engine) as s:  # nothing half-written
        assert s.exec(select(FeatureRow.key)).all() == ["sso"]
        assert [a.action for a in s.exec(select(AuditLog))] == ["feature.create"]


def test_an_update_is_checked_too_and_its_own_names_do_not_clash(client, api_key, engine):
    revops = api_key("revops")
    assert _create(client, revops, "sso", "Single sign-on").status_code == 201
    assert _create(client, revops, "scim", "SCIM provisioning", ["SCIM"]).status_code == 201

    r = client.patch("/api/v1/features/scim", json={"aliases": ["SSO", "Single-Sign-On"]},
                     headers=revops)  # fmt: skip
    assert r.status_code == 409
    assert r.json()["error"]["details"][0]["path"] == "aliases[1]"
    r = client.patch("/api/v1/features/scim", json={"name": "Single Sign On"}, headers=revops)
    assert r.status_code == 409
    with Session(engine) as s:
        row = s.get(FeatureRow, "scim")
        assert (row.name, row.aliases) == ("SCIM provisioning", ["SCIM"])

    # Its own name and alias may be re-sent, respelt; an alias another feature also uses as
    # an alias is allowed (an ambiguous abbreviation is a dependency on both).
    r = client.patch("/api/v1/features/scim",
                     json={"name": "SCIM Provisioning", "aliases": ["scim", "SSO"]},
                     headers=revops)  # fmt: skip
    assert r.status_code == 200, r.text
    r = client.patch("/api/v1/features/sso", json={"aliases": ["SSO"]}, headers=revops)
    assert r.status_code == 200, r.text
