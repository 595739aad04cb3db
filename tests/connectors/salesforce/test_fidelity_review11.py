"""Fidelity review 11 (helper 162): the fake Salesforce against Salesforce's documented REST API
behaviour, and what it showed of the connector.

Sources:
- Knowledge article 000386264 (URI plus headers at most 16,384 bytes: 414 / 431);
- Object Reference, ContentDocumentLink ("Query All Files permission to query without a filter
  on id, LinkedEntityId, and documentID fields");
- Field Reference, Note (Title string 80, Body textarea 32000) and Task (Subject 255).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote_plus

import pytest
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from app.connectors.base import PermanentError
from tests.connectors.salesforce.test_connector import write

MAX_URI_AND_HEADERS = 16_384  # knowledge article 000386264


def test_the_fake_refuses_a_uri_longer_than_salesforce_takes(rep, fake):
    """414 for a URI over 16,384 bytes, before any API call is counted; a SOQL text that long
    in a Composite subrequest (the article's remedy) is answered, each record once however
    often `Id IN (...)` names it (the fake answered it 800 times)."""
    opp = fake.add_opportunity("Long")
    ids = ", ".join(f"'{opp}'" for _ in range(800))  # ~ 22,000 characters of SOQL
    soql = f"SELECT Id FROM Opportunity WHERE Id IN ({ids})"
    used = fake.api_used
    with pytest.raises(SalesforceGeneralError) as refused:
        rep.query(soql)
    assert refused.value.status == 414
    assert fake.api_used == used
    answer = rep.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": False,
            "compositeRequest": [
                {
                    "method": "GET",
                    "url": "/services/data/v61.0/query?q=" + quote_plus(soql),
                    "referenceId": "q",
                }
            ],
        },
    )
    [sub] = answer["compositeResponse"]
    assert sub["httpStatusCode"] == 200 and sub["body"]["totalSize"] == 1
    assert len(soql) > MAX_URI_AND_HEADERS


def test_the_connectors_longest_top_level_queries_fit_salesforces_uri_limit(connector, fake):
    """The queries sent as URLs (not in a Composite body) name up to 200 ids: the
    opportunities-exist check, the marker-task and cut-short-note look-ups. At the largest
    batch they fit the 16,384-byte limit the fake now keeps."""
    ids = [fake.add_opportunity(f"D{i}") for i in range(200)]
    assert connector._existing_opportunities(ids) == set(ids)
    assert connector._marker_tasks(ids) == {}
    assert connector._our_notes_since(dict.fromkeys(ids, datetime.now(UTC))) == {}


def test_the_fake_refuses_an_unfiltered_content_document_link_query(rep, fake):
    """Without Query All Files, ContentDocumentLink is queried by Id, ContentDocumentId or
    LinkedEntityId; a child subquery (its parent is the filter) and the connector's own
    queries pass."""
    opp = fake.add_opportunity("Notes", content_notes=["<p>SSO by Q3</p>"])
    with pytest.raises(SalesforceMalformedRequest, match="ContentDocumentLink requires a filter"):
        rep.query("SELECT Id FROM ContentDocumentLink")
    with pytest.raises(SalesforceMalformedRequest, match="ContentDocumentLink requires a filter"):
        rep.query(
            "SELECT Id FROM ContentNote WHERE Id IN "
            "(SELECT ContentDocumentId FROM ContentDocumentLink WHERE ShareType = 'V')"
        )
    assert (
        rep.query(f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{opp}'")["totalSize"]
        == 1
    )
    parent = rep.query(
        "SELECT Id, (SELECT ContentDocumentId FROM ContentDocumentLinks) FROM Opportunity "
        f"WHERE Id = '{opp}'"
    )
    assert parent["records"][0]["ContentDocumentLinks"]["totalSize"] == 1
    fake.query_all_files = True
    assert rep.query("SELECT Id FROM ContentDocumentLink")["totalSize"] == 1


def test_the_fake_keeps_note_title_and_task_subject_lengths(rep, fake):
    """Note.Title holds 80 characters and Task.Subject 255: longer is STRING_TOO_LONG, as the
    connector's own notes and tasks (cut to fit) never are."""
    opp = fake.add_opportunity("Lengths")
    with pytest.raises(SalesforceMalformedRequest, match="STRING_TOO_LONG"):
        rep.Note.create({"ParentId": opp, "Title": "x" * 81, "Body": "b"})
    with pytest.raises(SalesforceMalformedRequest, match="STRING_TOO_LONG"):
        rep.Task.create({"WhatId": opp, "Subject": "x" * 256})
    rep.Note.create({"ParentId": opp, "Title": "x" * 80, "Body": "b"})
    rep.Task.create({"WhatId": opp, "Subject": "x" * 255})


def test_the_connectors_long_task_subject_and_note_title_are_cut_to_fit(connector, fake):
    """A task subject of 300 characters and the findings note land (cut), not refused."""
    opp = fake.add_opportunity("Long subject")
    snapshot = connector.read_deals([opp])[opp]
    item = write(opp, snapshot, note="findings")
    item.task.subject = "S" * 300
    outcome = connector.write_back([item])[opp]
    assert outcome.error is None
    [task] = fake.tasks_of(opp)
    assert len(task["Subject"]) == 255
    [note] = [n for n in fake.store["Note"].values() if n["ParentId"] == opp]
    assert len(note["Title"]) <= 80


def test_an_uri_too_long_answer_is_a_permanent_error_naming_the_status():
    """What the connector makes of a 414 with no JSON body (were a query ever that long)."""
    from app.connectors.salesforce.errors import from_exception

    error = from_exception(SalesforceGeneralError("https://x/q", 414, "query", ""))
    assert isinstance(error, PermanentError)


def test_the_fake_compares_text_as_soql_does_case_insensitively(rep, fake):
    """SOQL and SOSL Reference, Comparison Operators: "Comparisons on strings are case-sensitive
    for unique case-sensitive fields. For all other fields, comparisons are case-insensitive".
    The fake compared exactly (a query for 'closed won' found nothing)."""
    opp = fake.add_opportunity("Acme Renewal", stage="Closed Won")
    assert [
        r["Id"]
        for r in rep.query("SELECT Id FROM Opportunity WHERE StageName = 'closed won'")["records"]
    ] == [opp]
    assert rep.query("SELECT Id FROM Opportunity WHERE Name IN ('ACME RENEWAL')")["totalSize"] == 1
    assert rep.query("SELECT Id FROM Opportunity WHERE Name != 'acme renewal'")["totalSize"] == 0


def test_the_fake_refuses_a_filter_on_a_long_text_area(rep, fake):
    """fieldExpression Syntax: the field filtered on "can be any field except a long text area
    field, encrypted data field, or base64-encoded field". The connector filters on Subject
    and Title only."""
    fake.add_opportunity("Filters", notes=["SSO promised"])
    for soql in (
        "SELECT Id FROM Note WHERE Body LIKE '%SSO%'",
        "SELECT Id FROM Task WHERE Description = 'x'",
        "SELECT Id FROM Opportunity WHERE Roadmap_Check_Summary__c = 'x'",
        "SELECT Id, (SELECT Id FROM Notes WHERE Body = 'x') FROM Opportunity",
    ):
        with pytest.raises(SalesforceMalformedRequest, match="can not be filtered"):
            rep.query(soql)
    assert rep.query("SELECT Id FROM Note WHERE Title LIKE 'Meeting%'")["totalSize"] == 1


def test_the_fake_takes_only_the_documented_soql_datetime_literals(rep, fake):
    """SOQL and SOSL Reference, "Date Formats and Date Literals": YYYY-MM-DDThh:mm:ss+hh:mm,
    -hh:mm or Z. Salesforce's own rendering of a dateTime (".000+0000") is not one of them;
    the fake took it, and a value read back and put into a query would have passed here."""
    opp = fake.add_opportunity("Dates")
    for literal in (
        "2020-01-01T00:00:00Z",
        "2020-01-01T00:00:00+01:00",
        "2020-01-01T00:00:00-08:00",
    ):
        found = rep.query(f"SELECT Id FROM Opportunity WHERE CreatedDate > {literal}")
        assert [r["Id"] for r in found["records"]] == [opp]
    for literal in ("2020-01-01T00:00:00.000+0000", "2020-01-01T00:00:00+0000"):
        with pytest.raises(SalesforceMalformedRequest, match="invalid dateTime literal"):
            rep.query(f"SELECT Id FROM Opportunity WHERE CreatedDate > {literal}")


def test_the_fake_takes_the_documented_rest_date_formats_and_answers_its_own(rep, fake):
    """REST API Developer Guide, "Valid Date and DateTime Formats": a dateTime is
    yyyy-MM-ddTHH:mm:ss(.SSS)(Z|+/-HH:mm), a date yyyy-MM-dd; Salesforce answers a dateTime as
    2026-12-08T01:02:03.000+0000 whatever form it was written in (the fake echoed the text)."""
    opp = fake.add_opportunity("Formats")
    rep.Opportunity.update(opp, {"Roadmap_Checked_At__c": "2026-12-08T02:02:03+01:00"})
    assert fake.opportunity(opp)["Roadmap_Checked_At__c"] == "2026-12-08T01:02:03.000+0000"
    rep.Opportunity.update(opp, {"Roadmap_Checked_At__c": "2026-12-08T01:02:03.250Z"})
    assert fake.opportunity(opp)["Roadmap_Checked_At__c"] == "2026-12-08T01:02:03.250+0000"
    for bad in (
        {"Roadmap_Checked_At__c": "08/12/2026 01:02"},
        {"CloseDate": "2026-12-08T00:00:00Z"},
    ):
        with pytest.raises(SalesforceMalformedRequest, match="JSON_PARSER_ERROR"):
            rep.Opportunity.update(opp, bad)
    with pytest.raises(SalesforceMalformedRequest, match="JSON_PARSER_ERROR"):
        rep.Task.create({"WhatId": opp, "Subject": "s", "ActivityDate": "2026-12-08+01:00"})


def test_the_connectors_checked_at_and_due_dates_are_in_the_documented_formats(connector, fake):
    opp = fake.add_opportunity("Stamped")
    snapshot = connector.read_deals([opp])[opp]
    assert connector.write_back([write(opp, snapshot)])[opp].error is None
    stamped = fake.opportunity(opp)["Roadmap_Checked_At__c"]
    assert stamped.endswith(".000+0000")  # taken, and kept as Salesforce answers it
    [task] = fake.tasks_of(opp)
    assert len(task["ActivityDate"]) == 10
