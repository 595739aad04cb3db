"""JSON logs keep the traceback of an exception, whoever logged it."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from app.logging import configure_logging


@pytest.fixture
def lines(settings):
    buffer = io.StringIO()
    configure_logging(settings.model_copy(update={"log_format": "json"}), stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    configure_logging(settings)


def _fail() -> None:
    raise ValueError("boom")


@pytest.mark.parametrize(
    "logger",
    [logging.getLogger("some.library"), structlog.get_logger("app.test")],
    ids=["stdlib", "structlog"],
)
def test_an_exception_is_logged_with_its_traceback_as_text(lines, logger):
    try:
        _fail()
    except ValueError:
        logger.exception("request failed")
    [line] = [entry for entry in lines() if entry["event"] == "request failed"]
    assert line["level"] == "error"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert 'in _fail\n    raise ValueError("boom")' in line["exception"]
    assert line["exception"].rstrip().endswith("ValueError: boom")
    assert "exc_info" not in line


def test_httpx_request_lines_with_their_query_values_are_not_logged(lines):
    """httpx logs each request at INFO with its whole URL ('HTTP Request: GET
    https://roadmap.example.com/api?token=...'): a roadmap source's query may carry a secret."""
    logging.getLogger("httpx").info("HTTP Request: GET https://r.example.com/f?token=s3cret")
    logging.getLogger("httpx").warning("a warning of theirs still shows")
    shown = [line["event"] for line in lines()]
    assert shown == ["a warning of theirs still shows"]


def _app_that_fails(make_app):
    app = make_app()

    def boom() -> None:
        raise RuntimeError("the cause of the 500")

    app.add_api_route("/boom", boom)
    return app


def test_a_500_answer_carries_its_request_id(make_app):
    """The answer to an unexpected error says "the service log has the details": the request
    id it carries is how they are found, so it has one like every other answer (given or
    generated)."""
    from fastapi.testclient import TestClient

    with TestClient(_app_that_fails(make_app), raise_server_exceptions=False) as client:
        given = client.get("/boom", headers={"X-Request-ID": "req-500"})
        generated = client.get("/boom")
    assert given.status_code == generated.status_code == 500
    assert given.json()["error"]["code"] == "internal"
    assert given.headers["x-request-id"] == "req-500"
    assert len(generated.headers["x-request-id"]) == 32


def test_the_traceback_of_a_500_is_logged_with_its_request_id(lines, make_app):
    """Run under uvicorn, which logs the traceback itself ("Exception in ASGI application")
    after the app has answered: that line carries the request id of the failed request (the
    access line and the answer's header have it), and the next request has its own."""
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(_app_that_fails(make_app), log_config=None, access_log=False)
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        base = "http://{}:{}".format(*sock.getsockname())
        failed = httpx.get(f"{base}/boom", headers={"X-Request-ID": "req-boom"})
        after = httpx.get(f"{base}/healthz")
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
    assert failed.status_code == 500 and failed.headers["x-request-id"] == "req-boom"
    logged = lines()
    [traceback] = [line for line in logged if line["event"].startswith("Exception in ASGI")]
    assert traceback["request_id"] == "req-boom"
    assert "RuntimeError: the cause of the 500" in traceback["exception"]
    [access] = [line for line in logged if line.get("path") == "/boom"]
    assert access["status"] == 500 and access["request_id"] == "req-boom"
    [healthz] = [line for line in logged if line.get("path") == "/healthz"]
    assert healthz["request_id"] == after.headers["x-request-id"] != "req-boom"
    assert all("request_id" not in line for line in logged if line["event"] == "Shutting down")


def test_readiness_probes_do_not_log_alembic_context_lines(lines, tmp_path, settings):
    """/readyz reads the schema revision through alembic, which logged "Context impl
    SQLiteImpl." and "Will assume non-transactional DDL." at INFO on every probe: two lines
    every few seconds per replica, saying nothing. The migrations a start runs are still
    logged, one line each."""
    from fastapi.testclient import TestClient

    from app.db import make_engine
    from app.main import create_app
    from app.migrate import upgrade_to_head

    engine = make_engine(f"sqlite:///{tmp_path / 'ready.db'}")
    upgrade_to_head(engine)
    upgraded = [line for line in lines() if line.get("logger", "").startswith("alembic")]
    assert upgraded and all(line["event"].startswith("Running upgrade") for line in upgraded)
    app = create_app(
        settings=settings.model_copy(update={"database_url": str(engine.url)}), engine=engine
    )
    with TestClient(app) as client:
        for _ in range(3):
            assert client.get("/readyz").json()["status"] == "ok"
    probed = lines()[len(lines()) - 3 :]
    assert [line.get("path") for line in probed] == ["/readyz"] * 3
    assert [line for line in lines() if line.get("logger", "").startswith("alembic")] == upgraded
    engine.dispose()
