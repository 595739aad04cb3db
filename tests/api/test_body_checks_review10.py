"""The /api body checks (NUL, nesting depth, repeated keys, NaN/Infinity) parse a body up to
8 MB three times: on the event loop that held every webhook ack behind it for seconds. A body
over OFF_LOOP_BYTES is checked in a worker thread; its answer is the same. Security review 10."""

from __future__ import annotations

import threading

from app.api import nul


def test_a_large_body_is_checked_off_the_event_loop(client, api_key, monkeypatch) -> None:
    threads: list[int] = []
    real = nul._body_refusal

    def recording(body: bytes, is_json: bool):
        threads.append(threading.get_ident())
        return real(body, is_json)

    monkeypatch.setattr(nul, "_body_refusal", recording)
    headers = {**api_key("revops"), "Content-Type": "application/json"}
    small = b'{"key": "sso", "name": "SSO", "name": "Single"}'
    padding = b" " * (nul.OFF_LOOP_BYTES + 1)
    large = b'{"key": "sso", "name": "SSO",' + padding + b'"name": "Single"}'
    for body in (small, large, small):
        r = client.post("/api/v1/features", content=body, headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["type"] == "duplicate_key"  # the same answer
    loop_thread = threads[0]
    assert threads[2] == loop_thread  # small bodies: checked where they are read
    assert threads[1] != loop_thread  # the large one: in a worker thread
