"""docker/compose.yaml cannot be run in CI (no Docker engine): what can go wrong by reading is
checked here. Compose substitutes ${...} from the .env of its project directory (docker/ with
`-f docker/compose.yaml`), so a default there silently replaces the repo root's .env value."""

from __future__ import annotations

import re
from pathlib import Path

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
