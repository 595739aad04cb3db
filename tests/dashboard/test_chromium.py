"""The dashboard in a real browser: Debian's headless Chromium against a real uvicorn.

Chromium is driven over the DevTools protocol (its websocket, with the `websockets` client
uvicorn[standard] already brings): sign in through the form like a user, then read the DOM
of the overview and the deal page, and save screenshots under artifacts/.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from app.security import Role, create_api_key
from tests.dashboard.seed import seed
from tests.dashboard.test_pages import dashboard_settings

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and cannot be installed here (not root / no apt)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"chromium could not be installed: {result.stderr[-300:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.skip("apt-get installed no chromium binary")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(sqlite_engine):
    import uvicorn

    from app.main import create_app

    with Session(sqlite_engine) as s:
        seed(s)
        _, key = create_api_key(s, name="erin", role=Role.engineering, created_by="tests")
        s.commit()
    port = _free_port()
    app = create_app(
        settings=dashboard_settings(sqlite_engine, public_base_url=f"http://127.0.0.1:{port}"),
        engine=sqlite_engine,
        connectors={},
    )
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", key
    srv.should_exit = True
    thread.join(10)


class Browser:
    """A minimal DevTools protocol client: one page, commands answered by id."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    def send(self, method: str, **params) -> dict:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def js(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression}; at {self.js('location.href')}")

    def open(self, url: str, ready: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for(f"document.readyState === 'complete' && !!({ready})")

    def screenshot(self, name: str) -> Path:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        path.write_bytes(base64.b64decode(data["data"]))
        return path


@pytest.fixture
def browser(tmp_path):
    from websockets.sync.client import connect

    binary = _chromium()
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1600", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None, "chromium exited at start-up"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
            b = Browser(ws)
            b.send("Page.enable")
            yield b
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_dashboard_in_chromium_shows_the_seeded_exposure_and_deals(server, browser):
    base, key = server
    # Not signed in: the dashboard sends the browser to the sign-in form.
    browser.open(f"{base}/dashboard", "document.getElementById('signin-form')")
    assert browser.js("location.pathname") == "/dashboard/signin"
    browser.js(
        f"document.getElementById('api_key').value = {json.dumps(key)};"
        "document.getElementById('signin-form').submit()"
    )
    browser.wait_for(
        "location.pathname === '/dashboard' && document.readyState === 'complete'"
        " && !!document.getElementById('exposure-chart')"
    )
    # The key lives in an HttpOnly cookie: page scripts cannot read it.
    assert "rg_api_key" not in browser.js("document.cookie")

    bars = browser.js(
        "[...document.querySelectorAll('#exposure-chart g.bar')].map(g => ["
        "g.dataset.feature, Number(g.dataset.amount), Number(g.dataset.deals),"
        "g.querySelector('rect.raw').getBBox().width])"
    )
    assert [(f, a, n) for f, a, n, _ in bars] == [
        ("audit", 7000.0, 2), ("sso", 6000.0, 3), ("scim", 3000.0, 1), ("api", 1000.0, 2)]  # fmt: skip
    # A feature's label is the one way to its page: it looks like a link, not like the values.
    label, value = browser.js(
        "[document.querySelector('#exposure-chart a text.label'),"
        " document.querySelector('#exposure-chart text.value')].map(t => getComputedStyle(t))"
        ".map(c => [c.textDecorationLine, c.fill, c.cursor])"
    )
    assert label[0] == "underline" and label[2] == "pointer" and label[1] != value[1]
    # The legend is the key to the bars' colours: each availability's swatch is its bars'.
    key = browser.js(
        "Object.fromEntries([...document.querySelectorAll('#by-availability li')].map(li =>"
        " [li.dataset.availability, getComputedStyle(li, '::before').backgroundColor]))"
    )
    fills = browser.js(
        "Object.fromEntries([...document.querySelectorAll('#exposure-chart g.bar')].map(g =>"
        " [g.classList[1], getComputedStyle(g.querySelector('rect.raw')).fill]))"
    )
    assert set(key) == set(fills) == {"never", "coming_soon", "uncertain", "available"}
    assert key == fills
    widths = [w for *_, w in bars]
    assert widths == sorted(widths, reverse=True) and widths[-1] > 0  # drawn to scale
    assert widths[0] / widths[1] == pytest.approx(7000 / 6000, rel=0.02)

    def rows(table_id: str):
        return browser.js(
            f"[...document.querySelectorAll('#{table_id} tbody tr[data-deal]')]"
            ".map(r => r.dataset.deal)"
        )

    assert rows("blocked-deals") == ["salesforce/s1", "hubspot/h2"]
    assert rows("warned-deals") == ["salesforce/s3", "hubspot/h1"]
    ledger = browser.js(
        "[...document.querySelectorAll('#ledger tbody tr[data-commitment]')]"
        ".map(r => [r.dataset.feature, r.className, r.cells[3].textContent.trim()])"
    )
    assert ledger == [["sso", "flagged", "7,000"]]
    shot = browser.screenshot("dashboard-overview.png")
    assert shot.stat().st_size > 5_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The deal page (the CRM's evaluation link) in the same signed-in browser.
    browser.open(f"{base}/dashboard/deals/hubspot/h2", "document.getElementById('findings')")
    findings = browser.js(
        "[...document.querySelectorAll('#findings tbody tr[data-feature]')]"
        ".map(r => [r.dataset.feature, r.dataset.severity])"
    )
    assert findings == [["audit", "block"]]
    assert browser.js("document.getElementById('deal-verdict').textContent.trim()") == "blocked"
    assert "audit export is a must" in browser.js("document.getElementById('references').innerText")
    browser.screenshot("dashboard-deal.png")


def test_long_unbroken_names_and_quotes_stay_inside_the_page(server, browser, sqlite_engine):
    """A deal named without spaces and a note quoting a long link: the tables grew wider than
    the page (everything right of them scrolled out of sight)."""
    from sqlmodel import update

    from app.models import Deal, DealFeature

    base, key = server
    long_name = "ACME_GLOBAL_ENTERPRISE_RENEWAL_" * 6
    link = "https://requirements.customer.example.com/" + "very-long-path-segment/" * 12
    with Session(sqlite_engine) as s:
        s.exec(update(Deal).where(Deal.deal_id == "h2").values(name=long_name))
        s.exec(update(DealFeature).where(DealFeature.deal_id == "h2").values(evidence=link))
        s.commit()
    browser.open(f"{base}/dashboard/signin", "document.getElementById('signin-form')")
    browser.js(
        f"document.getElementById('api_key').value = {json.dumps(key)};"
        "document.getElementById('signin-form').submit()"
    )
    browser.wait_for("location.pathname === '/dashboard' && document.readyState === 'complete'")
    for path, table in (
        ("/dashboard", "blocked-deals"),
        ("/dashboard/features/sso", "feature-deals"),
        ("/dashboard/deals/hubspot/h2", "findings"),
    ):
        browser.open(f"{base}{path}", f"document.getElementById('{table}')")
        widths = browser.js(
            f"[document.getElementById('{table}').getBoundingClientRect().right,"
            " document.querySelector('main').getBoundingClientRect().right,"
            " document.documentElement.scrollWidth, window.innerWidth]"
        )
        table_right, main_right, scroll_width, viewport = widths
        assert table_right <= main_right + 1, (path, widths)
        assert scroll_width <= viewport, (path, widths)
