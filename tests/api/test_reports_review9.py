"""Review 9: the leadership report's range."""

from __future__ import annotations

from datetime import timedelta

from app.models.types import utcnow


def test_a_from_after_today_without_to_says_the_report_ends_today(client, api_key):
    """`from` a month ahead and no `to` was refused as "from ... is after to 2026-12-07", a
    `to` the reader never wrote. It names today (in BUSINESS_TIMEZONE) as the end it took and
    how to ask for quarters ahead; a range ahead given in full is answered."""
    h = api_key("viewer")
    today = utcnow().date()  # the test settings' BUSINESS_TIMEZONE is UTC
    ahead = today + timedelta(days=40)
    r = client.get(f"/api/v1/reports/commitments?from={ahead.isoformat()}", headers=h)
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["loc"] == ["query", "from"]
    assert f"is after today ({today.isoformat()} in UTC)" in detail["msg"]
    assert "give `to`" in detail["msg"]
    later = ahead + timedelta(days=60)
    r = client.get(
        f"/api/v1/reports/commitments?from={ahead.isoformat()}&to={later.isoformat()}", headers=h
    )
    assert r.status_code == 200, r.text
    r = client.get(
        f"/api/v1/reports/commitments?from={later.isoformat()}&to={ahead.isoformat()}", headers=h
    )
    assert r.status_code == 422
    assert f"is after to {ahead.isoformat()}" in r.json()["error"]["details"][0]["msg"]
