"""HubSpot's pipeline names for a pipeline filter given by name ("Enterprise" where the deal
stores "12345678"): read from the pipelines API of a (fake) portal, kept an hour, and a failed
read says which CRM's names are missing instead of failing the request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.connectors.hubspot.client import HubSpotApi
from app.connectors.hubspot.connector import HubSpotConnector
from app.connectors.hubspot.ratelimit import TokenBucket
from app.sandbox.hubspot import FakeHubSpot
from app.services.queries import PIPELINE_NAMES_SECONDS, PipelineNames, crm_pipeline_names


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    with FakeHubSpot() as server:
        yield server


@pytest.fixture
def connector(fake: FakeHubSpot) -> HubSpotConnector:
    api = HubSpotApi(
        access_token=fake.access_token, api_base=fake.base_url, timeout=2.0,
        bucket=TokenBucket(1000),
    )  # fmt: skip
    return HubSpotConnector(api, portal_id=fake.portal_id, app_id=fake.app_id)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_hubspot_pipeline_names_are_read_once_an_hour(fake, connector):
    fake.add_pipeline("12345678", "Enterprise", [("ent1", "Discovery", "0.1", "false")])
    clock = Clock()
    names = crm_pipeline_names({"hubspot": connector, "salesforce": object()}, clock=clock)
    assert names == PipelineNames(
        {("hubspot", "default"): "Sales pipeline", ("hubspot", "12345678"): "Enterprise"}
    )
    asked = fake.calls.copy()
    fake.add_pipeline("555", "Renewals", [("r1", "Due", "0.5", "false")])
    clock.now += PIPELINE_NAMES_SECONDS - 1
    assert crm_pipeline_names({"hubspot": connector}, clock=clock) == names
    assert fake.calls == asked  # not asked again within the hour
    clock.now += 1
    again = crm_pipeline_names({"hubspot": connector}, clock=clock)
    assert again.labels[("hubspot", "555")] == "Renewals"


def test_a_failed_read_names_the_crm_whose_names_are_missing(fake, connector):
    fake.inject("500", count=10, path="/crm/v3/pipelines")
    names = crm_pipeline_names({"hubspot": connector}, clock=Clock())
    assert names == PipelineNames({}, ("hubspot",))


class _FailingApi:
    def api(self, path: str) -> object:
        return object()

    def call(self, operation: str, fn, *args, **kwargs):
        raise RuntimeError("unexpected answer")


class _Pipelines:
    api = _FailingApi()


class _Connector:
    pipelines = _Pipelines()


def test_an_unexpected_failure_leaves_the_names_out_instead_of_failing_the_request():
    assert crm_pipeline_names({"hubspot": _Connector()}, clock=Clock()) == PipelineNames(
        {}, ("hubspot",)
    )
