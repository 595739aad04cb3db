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
