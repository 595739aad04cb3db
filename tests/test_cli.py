"""The core CLI: migrate, apikey create/list/revoke, queue, replay-dead, serve."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from app.cli import main
from app.jobs.ingest import InboundEvent, ingest_events
from app.jobs.queue import enqueue_deals
from app.migrate import at_head
from app.models import ApiKey, AuditLog, DealQueue
from app.security import authenticate


@pytest.fixture
def db(cli_db):
    return cli_db  # (tests/conftest.py)


def test_migrate_brings_the_database_to_head(db, capsys):
    assert at_head(db)
    assert main(["migrate"]) == 0  # idempotent
    assert "database at revision" in capsys.readouterr().out


def test_apikey_create_prints_the_key_once_list_hides_it_and_revoke_disables_it(db, capsys):
    capsys.readouterr()
    assert main(["apikey", "create", "--role", "revops", "--name", "ops bot"]) == 0
    out = capsys.readouterr().out
    key = re.search(r"^(rg_\S+)$", out, re.M).group(1)
    key_id = int(re.search(r"created API key (\d+)", out).group(1))
    with Session(db) as s:
        assert authenticate(s, key).role == "revops"

    assert main(["apikey", "list"]) == 0
    listing = capsys.readouterr().out
    assert "ops bot" in listing and "active" in listing and key not in listing

    assert main(["apikey", "revoke", str(key_id)]) == 0
    with Session(db) as s:
        assert authenticate(s, key) is None
        actions = [a.action for a in s.exec(select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["api_key.create", "api_key.revoke"]
    capsys.readouterr()
    assert main(["apikey", "revoke", str(key_id)]) == 0  # again: said so, not audited again
    assert f"API key {key_id} was already revoked at " in capsys.readouterr().out
    with Session(db) as s:
        assert len(s.exec(select(AuditLog)).all()) == 2
    assert main(["apikey", "revoke", "999"]) == 1
    with pytest.raises(SystemExit):
        main(["apikey", "create", "--role", "overlord", "--name", "x"])
    for blank in ("", "  "):  # the admin API refuses it too
        with pytest.raises(SystemExit):
            main(["apikey", "create", "--role", "viewer", "--name", blank])
    assert "argument --name: the key's name must not be blank" in capsys.readouterr().err


def test_apikey_create_refuses_a_name_an_active_key_has(db, capsys):
    assert main(["apikey", "create", "--role", "approver", "--name", "dana"]) == 0
    first = int(re.search(r"created API key (\d+)", capsys.readouterr().out).group(1))
    assert main(["apikey", "create", "--role", "viewer", "--name", "Dana"]) == 2
    out, err = capsys.readouterr()
    assert "rg_" not in out
    assert err.count("\n") == 1
    assert err.startswith("error: an active API key is already named 'dana'")
    assert f"(id {first}, prefix rg_" in err
    with Session(db) as s:
        assert len(s.exec(select(ApiKey)).all()) == 1
    assert main(["apikey", "revoke", str(first)]) == 0
    assert main(["apikey", "create", "--role", "viewer", "--name", "Dana"]) == 0


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://postgres:s3cret@127.0.0.1:1/nodb", "cannot use the database at "
         "postgresql://postgres:***@127.0.0.1:1/nodb: connection failed"),
        ("sqlite:///{tmp}/never-migrated.db", "the database is not migrated (no such table: "),
    ],
)  # fmt: skip
def test_a_database_the_command_cannot_use_is_one_line_not_a_traceback(
    monkeypatch, tmp_path, capsys, url, says
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url.format(tmp=tmp_path))
    for argv in (["queue"], ["apikey", "list"], ["replay-dead"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {says}"), err
        assert "Traceback" not in err and "s3cret" not in err
        assert err.count("\n") == 1


def test_help_names_what_each_command_does_and_a_missing_sub_command_by_its_choices(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "checks CRM deals against the product roadmap" in out
    assert "CLI_MODULES" not in out  # developers' notes are not the user's help
    with pytest.raises(SystemExit):
        main(["setup", "hubspot", "--help"])
    assert "create the HubSpot property group" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["apikey"])
    assert "the following arguments are required: {create,list,revoke}" in (capsys.readouterr().err)
    for argv in (["worker", "--grace", "-1", "--burst"], ["serve", "--port", "70000"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "is not a" in capsys.readouterr().err


def test_queue_counts_and_replay_dead(db, capsys):
    with Session(db) as s:
        enqueue_deals(s, "test", ["D1", "D2", "D3"])
        s.flush()
        for row in s.exec(select(DealQueue).where(DealQueue.deal_id != "D1")):
            row.status = "dead"
            s.add(row)
        s.commit()
    capsys.readouterr()
    assert main(["queue"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^pending\s+1$", out, re.M) and re.search(r"^dead\s+2$", out, re.M)
    assert main(["replay-dead"]) == 0
    assert "replayed 2 dead deals" in capsys.readouterr().out
    with Session(db) as s:
        assert {r.status for r in s.exec(select(DealQueue))} == {"pending"}


def test_every_command_reads_notes_in_the_configured_fiscal_year(db, monkeypatch):
    """A worker or `rules simulate` started from the CLI reads "by Q3" in the fiscal year
    FISCAL_YEAR_START_MONTH names, not the calendar one."""
    from app.services import catalog as catalog_service

    monkeypatch.setattr(catalog_service, "_fiscal_year_start", 1)  # restored afterwards
    monkeypatch.setenv("FISCAL_YEAR_START_MONTH", "7")
    assert main(["queue"]) == 0
    assert catalog_service.fiscal_year_start() == 7


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_migrates_by_itself_and_processes_a_test_delivery_with_its_embedded_worker(
    tmp_path,
):
    """The quick start: one command, a fresh data folder, the worker inside the service."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'rg.db'}",
        "WORKER_POLL_SECONDS": "0.1",
        "LOG_FORMAT": "json",
    }
    env.pop("WORKER_MODE", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("serve never became ready")
        created = subprocess.run(
            [sys.executable, "-m", "app.cli", "apikey", "create", "--role", "admin", "--name", "t"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        key = created.stdout.strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {key}"}
        sent = httpx.post(
            f"{base}/webhooks/test",
            json={"events": [{"id": "e1", "deal_id": "D1", "type": "deal.updated"}]},
            headers=headers,
        )
        assert sent.status_code == 200
        counts: dict = {}
        # Its own 30 s: on a loaded machine start-up and `apikey create` spent the readiness
        # wait's, and the queue was never read (KeyError: 'done').
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            counts = httpx.get(f"{base}/api/v1/queue", headers=headers).json()["counts"]
            if counts["pending"] == counts["running"] == 0:
                break
            time.sleep(0.2)
        assert counts["done"] == 1, counts
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, stderr = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    # uvicorn re-raises the SIGTERM it handled once shutdown is complete (exit status -15).
    assert server.returncode in (0, -signal.SIGTERM), stderr[-2000:]
    assert "Application shutdown complete" in stderr and "worker stopped" in stderr
    assert key not in stderr  # the key never reaches the log
    assert '"request_id"' in stderr


@pytest.mark.slow
def test_worker_metrics_port_serves_its_outcomes_crm_calls_and_health(db, tmp_path):
    """WORKER_MODE=off deployments: the standalone worker's outcomes are visible on its own
    metrics port, and /healthz there answers for the worker (the compose healthcheck)."""
    ingest_events(
        db,
        [InboundEvent(source="test", dedup_key="w1", crm="test", deal_id="D1", payload={})],
    )
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": str(db.url), "WORKER_POLL_SECONDS": "0.1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", "--no-schedules", "--metrics-port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"  # HOST defaults to 127.0.0.1
    body = ""
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                body = httpx.get(f"{base}/metrics").text
            except httpx.TransportError:
                body = ""
            if 'roadmap_guard_outcomes_total{crm="test",outcome="done"} 1.0' in body:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the worker's metrics never showed the outcome:\n{body[-3000:]}")
        assert 'roadmap_guard_processing_seconds_count{priority="0"} 1.0' in body
        assert re.search(
            r'roadmap_guard_crm_calls_total\{connector="test",operation="\w+",result="ok"\} [1-9]',
            body,
        )
        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            _, stderr = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
    assert worker.returncode == 0, stderr[-2000:]
    assert "metrics server listening" in stderr and "worker stopped" in stderr


GATED_WORKER = Path(__file__).parent / "jobs" / "_gated_worker.py"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("grace", "open_gate", "claimed_end"),
    [
        (120.0, True, "done"),  # the batch finishes within the grace period, then exit
        (1.0, False, "pending"),  # the batch outlives the grace period: its leases go back
    ],
    ids=["finishes-batch", "releases-batch"],
)
def test_sigterm_while_a_batch_is_in_hand_exits_0_and_leaves_no_deal_running(
    db, tmp_path, grace, open_gate, claimed_end
):
    """The real `worker` command gets SIGTERM while its processor holds a batch (it waits at a
    gate, tests/jobs/_gated_worker.py). It exits 0, and every claimed deal is done or back to
    pending with its lease released; the deals it never claimed are untouched."""
    deals = [f"D{n}" for n in range(5)]
    ingest_events(
        db,
        [
            InboundEvent(source="test", dedup_key=f"t{d}", crm="test", deal_id=d, payload={})
            for d in deals
        ],
    )
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": str(db.url),
        "WORKER_POLL_SECONDS": "0.1",
        "WORKER_BATCH_SIZE": "3",
        "RG_TEST_GATE_DIR": str(gate),
    }
    worker = subprocess.Popen(
        [sys.executable, str(GATED_WORKER), "worker", "--no-schedules", "--grace", str(grace)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (gate / "claimed").exists():
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker never claimed a batch:\n{worker.stderr.read()[-2000:]}")
            time.sleep(0.05)
        claimed = set(json.loads((gate / "claimed").read_text()))
        assert len(claimed) == 3
        with Session(db) as s:
            running = {r.deal_id for r in s.exec(select(DealQueue)) if r.status == "running"}
        assert running == claimed  # SIGTERM lands while the batch is in hand
        worker.send_signal(signal.SIGTERM)
        if open_gate:
            (gate / "open").touch()
        # Generous: the grace period plus start-up slack on a busy machine, not a timing claim.
        _, stderr = worker.communicate(timeout=grace + 60)
    except BaseException:
        worker.kill()
        worker.communicate()
        raise
    assert worker.returncode == 0, stderr[-2000:]
    assert "signal received" in stderr and "worker stopped" in stderr
    assert ("released batch" in stderr) is (not open_gate)

    with Session(db) as s:
        rows = {r.deal_id: r for r in s.exec(select(DealQueue))}
    assert set(rows) == set(deals)
    for deal_id in claimed:
        row = rows[deal_id]
        assert (row.status, row.lease_owner, row.lease_expires_at) == (claimed_end, None, None)
        # Released: the interrupted attempt is not counted.
        assert row.attempts == (1 if claimed_end == "done" else 0)
    for deal_id in set(deals) - claimed:
        row = rows[deal_id]
        assert (row.status, row.lease_owner, row.attempts) == ("pending", None, 0)


@pytest.mark.parametrize(
    ("command", "env", "gen0"),
    [
        (["serve"], {}, 10_000),
        (["worker", "--burst"], {}, 10_000),
        (["serve"], {"GC_GEN0_THRESHOLD": "2500"}, 2500),
        (["serve"], {"GC_GEN0_THRESHOLD": "0"}, 700),  # 0: Python's own
    ],
)
def test_serve_and_worker_tune_the_garbage_collector_before_they_start(
    db, monkeypatch, command, env, gen0
):
    """Full garbage collections that walked the start-up objects stopped every request for
    60-100 ms under webhook load (docs/operations.md): `serve` and `worker` freeze them first.
    Python's young-generation threshold (700) set off a full collection every half batch of
    a worker's re-checks (docs/roadmap.md): both raise it to GC_GEN0_THRESHOLD."""
    import gc

    import uvicorn

    from app.jobs.worker import Worker

    seen: dict[str, object] = {}

    def record(app=None, **kwargs) -> int:
        seen["frozen"] = gc.get_freeze_count()
        seen["threshold"] = gc.get_threshold()[0]
        seen["app"] = app
        return 0

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WORKER_MODE", "off")
    monkeypatch.setattr(uvicorn, "run", record)
    monkeypatch.setattr(Worker, "run_until_empty", lambda self, *a, **k: record(self))
    before = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(700, *before[1:])
    try:
        assert main(command) == 0
    finally:
        gc.unfreeze()  # a test process builds many apps: let them be collected
        gc.set_threshold(*before)
    assert seen["app"] is not None
    assert seen["frozen"] > 10_000
    assert seen["threshold"] == gen0


def test_backfill_queues_every_open_hubspot_deal_once_with_progress(db, capsys, monkeypatch):
    """`backfill hubspot` lists the portal's open deals (closed ones not), queues each once
    with reason backfill, shows a progress bar with the CRM's total, and records the run; a
    second run queues nothing twice. An unreachable CRM stops it with a message, exit 1."""
    from app.connectors.hubspot import connector as hubspot_connector
    from app.sandbox.hubspot import FakeHubSpot

    monkeypatch.setattr(hubspot_connector, "SEARCH_PAGE", 2)  # several pages from a few deals
    with FakeHubSpot() as fake:
        open_ids = [fake.add_deal(f"Open {i}", emit=False) for i in range(5)]
        fake.add_deal("Won", stage="closedwon", emit=False)
        fake.add_deal("Lost", stage="closedlost", emit=False)
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", fake.access_token)
        monkeypatch.setenv("HUBSPOT_API_BASE", fake.base_url)
        monkeypatch.setenv("HUBSPOT_PORTAL_ID", fake.portal_id)
        capsys.readouterr()
        assert main(["backfill", "hubspot"]) == 0
        out, err = capsys.readouterr()
        assert "queued 5 open hubspot deals (5 listed)" in out
        assert "5/5" in err  # the progress bar knew the total from the first page
        with Session(db) as s:
            rows = s.exec(select(DealQueue)).all()
            assert sorted(r.deal_id for r in rows) == sorted(open_ids)
            assert {(r.crm, r.reason, r.status) for r in rows} == {
                ("hubspot", "backfill", "pending")
            }
            audit = s.exec(select(AuditLog).where(AuditLog.action == "queue.backfill")).one()
            assert audit.after == {"listed": 5, "queued": 5, "pace": 1000.0}
        assert main(["queue"]) == 0  # how far it has got
        assert re.search(r"^  backfill\s+5\b", capsys.readouterr().out, re.M)
        assert main(["backfill", "hubspot"]) == 0
        with Session(db) as s:
            assert len(s.exec(select(DealQueue)).all()) == 5

        fake.inject("500", count=50, path="/search")
        assert main(["backfill", "hubspot"]) == 1
        assert "Run it again to go on" in capsys.readouterr().err


def test_backfill_of_a_crm_that_is_not_configured_says_which_are_and_what_to_set(db, capsys):
    assert main(["backfill", "salesforce"]) == 2
    err = capsys.readouterr().err
    assert "salesforce is not configured here (configured: test); to configure it set " in err
    for login in (
        "SALESFORCE_ACCESS_TOKEN and SALESFORCE_INSTANCE_URL",
        "SALESFORCE_USERNAME + SALESFORCE_CLIENT_ID + SALESFORCE_PRIVATE_KEY_FILE",
        "SALESFORCE_CLIENT_ID + SALESFORCE_CLIENT_SECRET",
        "SALESFORCE_USERNAME + SALESFORCE_PASSWORD",
    ):
        assert login in err
    assert main(["backfill", "hubspot"]) == 2
    err = capsys.readouterr().err
    assert "hubspot is not configured here (configured: test); to configure it set " in err
    assert "HUBSPOT_ACCESS_TOKEN" in err


def test_a_database_named_in_dot_env_is_the_one_an_error_names(monkeypatch, tmp_path, capsys):
    """DATABASE_URL read from .env, not the environment: the error named "the default SQLite
    file" instead of the database the command tried."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / ".env").write_text(
        "DATABASE_URL=postgresql://postgres:s3cret@127.0.0.1:1/fromdotenv\n"
    )
    assert main(["queue"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: cannot use the database at postgresql://postgres:***@127.0.0.1:1/fromdotenv: "
    ), err
    assert "s3cret" not in err and "default SQLite" not in err


def test_mappings_import_prints_each_row_a_feature_already_claims_after_the_summary(
    db, tmp_path, capsys
):
    """Rows for a SKU or product id a feature lists among its own are stored (exit 0), and
    each gets one warning line: the row, the value, the claiming feature, what deals selling
    it will reference; the import's other warnings (a column not read) are printed too."""
    from app.services.features_service import FeatureCreate, create_feature
    from app.settings import get_settings

    with Session(db) as s:
        for key, skus, product_ids in (
            ("copilot", ["AI-ADDON"], ["pid-7"]),
            ("scim", [], []),
            ("sso", [], []),
        ):
            body = FeatureCreate(key=key, name=key.upper(), skus=skus, product_ids=product_ids)
            create_feature(s, body, actor="test")
        s.commit()
    csv_file = tmp_path / "mappings.csv"
    csv_file.write_text(
        "match_kind,match_value,feature_keys,owner\n"
        "sku,ENT-SSO,sso,ann\n"
        "sku,ai-addon,sso|scim,bob\n"
        "product_id,PID-7,copilot,\n"
    )
    json_file = tmp_path / "mappings.json"
    json_file.write_text(
        json.dumps([{"match_kind": "sku", "match_value": "AI-ADDON", "feature_keys": ["scim"]}])
    )
    get_settings.cache_clear()  # the roadmap commands read DATABASE_URL through it
    try:
        capsys.readouterr()
        assert main(["mappings", "import", str(csv_file)]) == 0  # warnings are not errors
        csv_out = capsys.readouterr().out.splitlines()
        assert main(["mappings", "import", str(json_file)]) == 0
        json_out = capsys.readouterr().out.splitlines()
    finally:
        get_settings.cache_clear()
    assert csv_out == [
        "created 3, updated 0, unchanged 0, deleted 0; 0 open deals re-evaluated, 0 queued for "
        "write-back",
        "warning: row 1: header: column 'owner' is not read (the columns read are match_kind, "
        "match_value, feature_keys); its cells are ignored",
        "warning: row 3: sku 'ai-addon' is already claimed by feature copilot as one of its own "
        "SKUs; deals selling it will reference sso, scim, copilot",
        "warning: row 4: product_id 'PID-7' is already claimed by feature copilot as one of its "
        "own product ids; deals selling it will reference copilot",
    ]
    assert json_out[1:] == [
        "warning: row 1: sku 'AI-ADDON' is already claimed by feature copilot as one of its own "
        "SKUs; deals selling it will reference scim, copilot"
    ]
    assert json_out[0].startswith("created 0, updated 1, unchanged 0")


def test_mappings_import_reads_an_excel_windows_file_when_told_and_says_how_when_not(
    db, tmp_path, capsys
):
    """Excel's "CSV (Comma delimited)" on Windows saves Windows-1252: the CLI stopped with
    "cannot read ...: 'utf-8' codec can't decode byte 0xe9", where the API explains and takes a
    declared charset."""
    from app.models import ProductMapping
    from app.services.features_service import FeatureCreate, create_feature
    from app.settings import get_settings

    with Session(db) as s:
        create_feature(s, FeatureCreate(key="sso", name="SSO"), actor="test")
        s.commit()
    csv_file = tmp_path / "excel.csv"
    csv_file.write_bytes(
        "match_kind,match_value,feature_keys\nname,Sécurité SSO,sso\n".encode("cp1252")
    )
    get_settings.cache_clear()
    try:
        capsys.readouterr()
        assert main(["mappings", "import", str(csv_file)]) == 2
        refused = capsys.readouterr().err
        assert "line 2 has byte 0xE9" in refused and "--encoding windows-1252" in refused
        assert main(["mappings", "import", str(csv_file), "--encoding", "windows-1252"]) == 0
    finally:
        get_settings.cache_clear()
    with Session(db) as s:
        assert [m.match_value for m in s.exec(select(ProductMapping))] == ["Sécurité SSO"]


def test_a_sqlite_folder_that_cannot_be_made_is_one_line_not_a_traceback(
    monkeypatch, tmp_path, capsys
):
    """The SQLite file's folder is made on first use; when it cannot be (a path through a
    file, a read-only or root-owned volume in a container), every command ended in a traceback
    of pathlib's mkdir. Now one line naming the database and why, exit 2, as for a database
    that cannot be reached."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "volume").write_text("a file where a folder is expected")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/volume/data/rg.db")
    for argv in (["queue"], ["apikey", "list"], ["migrate"], ["roadmap", "refresh"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err == (
            f"error: cannot use the database at sqlite:///{tmp_path}/volume/data/rg.db: "
            f"cannot create its folder {tmp_path}/volume/data (Not a directory)\n"
        ), argv


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://postgres:s3cret@127.0.0.1:1/nodb", "cannot use the database at "
         "postgresql://postgres:***@127.0.0.1:1/nodb: connection failed"),
        ("sqlite:///{tmp}/never-migrated.db", "the database is not migrated (no such table: "),
    ],
)  # fmt: skip
def test_a_worker_stops_in_one_line_on_a_database_it_cannot_use(
    monkeypatch, tmp_path, capsys, url, says
):
    """Every other command stops on a database it cannot reach, or one not migrated (README,
    Command line); a standalone worker started anyway and logged a traceback per poll, from
    its loop and its schedules, for as long as it ran (a wrong DATABASE_URL looked alive)."""
    from app.jobs import worker as worker_module

    started = []
    monkeypatch.setattr(worker_module.Worker, "run_forever", lambda *a: started.append(a))
    monkeypatch.setattr(worker_module, "install_signal_handlers", lambda stop: None)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url.format(tmp=tmp_path))
    assert main(["worker", "--no-schedules"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {says}"), err
    assert err.count("\n") == 1 and "s3cret" not in err
    assert started == []


def test_migrate_says_each_step_as_it_starts(monkeypatch, tmp_path, capsys):
    """A migration can run for minutes on a large database (0007 widens every id column):
    `migrate` printed nothing until it was done. It now says where it starts, each step as
    it begins (flushed, so a slow step is seen to be the one running), and where it ends."""
    from app.migrate import head_revision

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'steps.db'}")
    head = head_revision()
    assert main(["migrate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"migrating the database from no revision (empty) to {head}"
    assert lines[1] == "  upgrade  -> 0001, initial schema"
    steps = [line for line in lines if line.startswith("  upgrade ")]
    assert len(steps) == int(head) and steps[-1].startswith(
        f"  upgrade {int(head) - 1:04d} -> {head}, "
    )
    assert all("Context impl" not in line and "DDL" not in line for line in lines)
    assert lines[-1] == f"database at revision {head}"
    assert main(["migrate"]) == 0  # at head: nothing to run, and it says so
    assert capsys.readouterr().out.splitlines() == [
        f"database at revision {head} (no migration to run)"
    ]


def test_serve_says_at_start_what_it_runs_against_without_secrets(monkeypatch, tmp_path, capsys):
    """An operator reading the log of a starting `serve` could not tell which database it
    opened, whether the worker runs in it, or which CRMs it can read (an unset token showed
    only later, as webhooks answered 503 'not configured'). One line says, with no secret."""
    import json

    import uvicorn

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    for name, value in {
        "DATABASE_URL": url,
        "WORKER_MODE": "off",
        "LOG_FORMAT": "json",
        "HUBSPOT_ACCESS_TOKEN": "pat-na1-secret-token",
        "HUBSPOT_CLIENT_SECRET": "client-secret-value",
        "PUBLIC_BASE_URL": "https://rg.example.com",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    monkeypatch.setattr("app.main.tune_garbage_collector", lambda threshold: None)
    assert main(["serve", "--port", "8123"]) == 0
    err = capsys.readouterr().err
    assert "pat-na1-secret-token" not in err and "client-secret-value" not in err
    [line] = [json.loads(x) for x in err.splitlines() if '"serve starting"' in x]
    assert line["database"] == url
    assert line["worker_mode"] == "off"
    assert line["crms"] == ["hubspot", "test"]
    assert line["listen"] == "127.0.0.1:8123"
    assert line["public_base_url"] == "https://rg.example.com"


def test_a_worker_says_at_start_what_it_runs_against_without_secrets(db, monkeypatch, capsys):
    import json

    from app.jobs import worker as worker_module

    monkeypatch.setattr(worker_module.Worker, "run_forever", lambda *a: None)
    monkeypatch.setattr(worker_module, "install_signal_handlers", lambda stop: None)
    monkeypatch.setattr("app.main.tune_garbage_collector", lambda threshold: None)
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-secret-token")
    capsys.readouterr()
    assert main(["worker", "--no-schedules"]) == 0
    err = capsys.readouterr().err
    assert "pat-na1-secret-token" not in err
    [line] = [json.loads(x) for x in err.splitlines() if '"worker starting"' in x]
    assert line["database"] == str(db.url)
    assert line["crms"] == ["hubspot", "test"]


def test_worker_help_gives_the_grace_default(capsys):
    """The grace an orchestrator's stop timeout must exceed (compose: stop_grace_period)."""
    with pytest.raises(SystemExit):
        main(["worker", "--help"])
    assert "(default 20)" in " ".join(capsys.readouterr().out.split())
