"""Productboard v2 status values in the shape Productboard's v2 OpenAPI document gives them."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.connectors.roadmap import ProductboardSource

BASE = "https://api.productboard.com"
CONFIG = {"token_env": "ROADMAP_SOURCE_PB_TOKEN"}


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("ROADMAP_SOURCE_PB_TOKEN", "pb-s3cr3t-token")


@respx.mock
def test_v2_status_values_given_inline_are_the_workspace_statuses():
    # ConfigurationField.values is ConfigurationFieldValues {"inline": FieldInlineValues}, whose
    # `data` items are {id, name} objects or plain strings
    respx.get(f"{BASE}/v2/entities/configurations/feature").mock(
        return_value=httpx.Response(
            200,
            json={
                "data": {
                    "type": "feature",
                    "fields": {
                        "status": {
                            "id": "status",
                            "name": "Status",
                            "path": "/fields/status",
                            "schema": {"type": "object"},
                            "values": {
                                "inline": {
                                    "data": [
                                        {
                                            "id": "6b1c0c1e-0000-4000-8000-000000000001",
                                            "name": "Planned",
                                        },
                                        "Parked",
                                    ]
                                }
                            },
                        }
                    },
                }
            },
        )
    )
    assert ProductboardSource("pb", CONFIG).status_names() == ["Planned", "Parked"]
