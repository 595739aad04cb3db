"""docker/compose.yaml cannot be run in CI (no Docker engine): what can go wrong by reading is
checked here. Compose substitutes ${...} from the .env of its project directory (docker/ with
`-f docker/compose.yaml`), so a default there silently replaces the repo root's .env value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker" / "compose.yaml"
# Values a deployment must choose: a placeholder default breaks it quietly (PUBLIC_BASE_URL is
# covered by every HubSpot v3 signature; POSTGRES_PASSWORD would be "roadmap").
REQUIRED = {"PUBLIC_BASE_URL", "POSTGRES_PASSWORD"}
# Variables compose may default: they only pick a host port.
MAY_DEFAULT = {"API_PORT"}
SUBSTITUTION = re.compile(r"\$\{([A-Z0-9_]+)(:?[-?+])?([^}]*)\}")


def _strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


def _substitutions() -> list[tuple[str, str]]:
    compose = yaml.safe_load(COMPOSE.read_text())
    return [
        (m.group(1), m.group(2) or "")
        for text in _strings(compose)
        for m in SUBSTITUTION.finditer(text)
    ]


def test_required_values_have_no_default_and_fail_when_unset():
    found = _substitutions()
    for name in REQUIRED:
        uses = [op for n, op in found if n == name]
        assert uses, f"{name} is not taken from the environment"
        assert set(uses) == {":?"}, f"{name} must be ${{{name}:?...}}, not defaulted"


def test_only_harmless_variables_have_defaults():
    defaulted = {name for name, op in _substitutions() if op in ("-", ":-")}
    assert defaulted <= MAY_DEFAULT, f"defaults would override the root .env: {defaulted}"


def test_every_documented_compose_command_passes_the_root_env_file():
    commands = []
    for path in (ROOT / "README.md", ROOT / "docs" / "operations.md", COMPOSE):
        for line in path.read_text().splitlines():
            if re.search(r"docker compose\b.*-f docker/compose\.yaml", line):
                commands.append((path.name, line.strip()))
    assert commands, "the compose commands are documented somewhere"
    for where, line in commands:
        assert "--env-file .env" in line, f"{where}: {line}"


def _docker_docs() -> str:
    text = (ROOT / "docs" / "operations.md").read_text()
    return text[text.index("## Docker") :].split("\n## ", 1)[0]


def test_every_compose_variable_is_documented_in_the_docker_section():
    documented = _docker_docs()
    for name in {name for name, _ in _substitutions()}:
        assert f"`{name}`" in documented, f"docs/operations.md, Docker: {name} not documented"


def test_the_docs_say_how_many_worker_replicas_compose_runs():
    compose = yaml.safe_load(COMPOSE.read_text())
    replicas = compose["services"]["worker"]["deploy"]["replicas"]
    word = {1: "one", 2: "two", 3: "three", 4: "four"}[replicas]
    readme = " ".join((ROOT / "README.md").read_text().split())
    docs = " ".join(_docker_docs().split())
    assert f"{word} worker replicas" in readme, "README's compose line says how many workers"
    assert f"{word} `worker` replicas" in docs


def _resolved(values: dict[str, str]) -> dict:
    """compose.yaml as compose reads it with `values` in the --env-file: every ${NAME...}
    substituted (a required one missing fails, a default applies when unset)."""

    def substitute(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3)
        if name in values and (values[name] or ":" not in op):
            return values[name]
        assert "?" not in op, f"compose would refuse to start: {arg}"
        return arg if "-" in op else ""

    def walk(node):
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return SUBSTITUTION.sub(substitute, node) if isinstance(node, str) else node

    return walk(yaml.safe_load(COMPOSE.read_text()))


@pytest.mark.parametrize("password", ["plain-Secret1", "p@ss:w/rd", "100%40off#?&"])
def test_any_postgres_password_reaches_the_app_processes_as_postgres_has_it(password):
    """POSTGRES_PASSWORD was pasted into DATABASE_URL (postgresql://roadmap:<it>@postgres/...):
    a password with '@' made the rest of it the host ('cannot use the database at
    postgresql://roadmap:***@ss@postgres...'), and '%40' in one was read as '@'. Every process
    that opens the database must get the password postgres was initialised with, and the
    host, user and database compose runs."""
    from psycopg import pq
    from sqlalchemy.engine import make_url

    from app.settings import Settings

    compose = _resolved({"POSTGRES_PASSWORD": password, "PUBLIC_BASE_URL": "https://rg.example"})
    services = compose["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == password
    for name in ("migrate", "api", "worker"):
        env = {k: str(v) for k, v in services[name]["environment"].items()}
        url = make_url(Settings(_env_file=None, database_url=env["DATABASE_URL"]).database_url)
        assert (url.host, url.port, url.username, url.database) == (
            "postgres",
            5432,
            "roadmap",
            "roadmap",
        ), name
        given = url.password if url.password is not None else env.get("PGPASSWORD")
        assert given == password, name
    # A URL without a password leaves it to libpq, which takes PGPASSWORD from the environment.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PGPASSWORD", password)
        defaults = {o.keyword: o.val for o in pq.Conninfo.get_defaults()}
    assert defaults[b"password"] == password.encode()
