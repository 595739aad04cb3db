"""The roadmap source protocol: one `fetch` that returns the source's whole catalog, or says
nothing changed since the ETag we hold.

A source returns features with its own status name in `source_status`; turning that name into
one of the six availabilities is the editable per-source status mapping's job
(`apply_status_mapping`), so RevOps can change the mapping without re-fetching anything.

A feature without a status (none given, null, or only spaces) has the status NO_STATUS,
"(none)": counted, listed and mapped under that name like any other (unknown until mapped).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from app.rules.model import Availability, Feature


class SourceError(Exception):
    """The source could not be read (network, HTTP status, bad payload, missing secret).

    The refresh keeps the last good catalog and records the message as the source's last_error,
    so the message must be safe to show: never include a secret.
    """


class SourceStatusError(SourceError):
    """The source answered an HTTP error status (`status`): 4xx, 5xx, or 429/503 past its
    retries."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class SourceConfigError(SourceError):
    """The source's stored configuration cannot work (missing URL, unset env var...)."""


@dataclass
class FetchResult:
    features: list[Feature] = field(default_factory=list)
    etag: str | None = None
    not_modified: bool = False  # 304: keep the catalog we have
    pages: int = 0
    # where each feature was read, parallel to `features` ("page 2 features[3]"), so a bad item
    # found later (a key the catalog refuses) can be named
    locations: list[str] = field(default_factory=list)

    def location(self, index: int) -> str:
        return self.locations[index] if index < len(self.locations) else f"item {index}"


@runtime_checkable
class RoadmapSource(Protocol):
    name: str
    kind: str

    def fetch(self, etag: str | None = None) -> FetchResult:
        """Read every feature of the source. Raises SourceError on any failure."""
        ...


# A source's credential comes only from an environment variable with this prefix: a source's
# config (chosen through the API by a RevOps key) could otherwise name any variable of the
# process (DATABASE_URL, HUBSPOT_CLIENT_SECRET, AWS_SECRET_ACCESS_KEY, ...) and have its value
# sent as a header to the URL it chose. The one setting with the prefix is no credential and is
# not sent either.
SECRET_ENV_PREFIX = "ROADMAP_SOURCE_"
NOT_SECRET_ENV = frozenset({"ROADMAP_SOURCE_ALLOWED_HOSTS"})


def secret_env_problem(var: str) -> str | None:
    """Why `var` may not hold a source's credential, or None."""
    if not var.startswith(SECRET_ENV_PREFIX) or len(var) == len(SECRET_ENV_PREFIX):
        return (
            "a roadmap source's credential must come from an environment variable whose name "
            f"starts with {SECRET_ENV_PREFIX} (e.g. {SECRET_ENV_PREFIX}JIRA_TOKEN); no other "
            "variable is sent to a source"
        )
    if var in NOT_SECRET_ENV:
        return f"{var} is a setting, not a credential; name a variable holding the token"
    return None


def renamed_secret_env(var: str) -> str:
    """A name with the prefix to suggest for `var`."""
    if var in NOT_SECRET_ENV or var == SECRET_ENV_PREFIX:
        return f"{SECRET_ENV_PREFIX}TOKEN"
    return SECRET_ENV_PREFIX + var.removeprefix(SECRET_ENV_PREFIX)


def secret_from_env(config: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    """The value of the env var whose NAME is stored in config[key]; secrets never touch the DB.
    Only a ROADMAP_SOURCE_* variable is read (`secret_env_problem`), whatever the config says:
    a source stored before the rule fails its refresh naming the variable to rename."""
    var = config.get(key)
    if not var:
        if required:
            raise SourceConfigError(
                f"config.{key} must name the environment variable holding the credential"
            )
        return None
    problem = secret_env_problem(str(var))
    if problem:
        raise SourceConfigError(
            f"config.{key} names {var}, which is not read ({problem}): rename the variable "
            f"(e.g. to {renamed_secret_env(str(var))}) and set config.{key} to the new name"
        )
    value = os.environ.get(str(var))
    if not value:
        raise SourceConfigError(f"environment variable {var} (config.{key}) is not set")
    return value


# The status of a feature the source gives none (missing, null, blank): a name that can be
# mapped, listed and reported unmapped like any other. A source status literally called
# "(none)" is the same status.
NO_STATUS = "(none)"


def normalise_status(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()


def shown_status(name: str | None) -> str:
    """The status as listed: the source's name, or NO_STATUS for none (missing or blank)."""
    return name if normalise_status(name) else NO_STATUS


def status_key(name: str | None) -> str:
    """What a status is compared by: case and spacing ignored, no status as NO_STATUS."""
    return normalise_status(shown_status(name))


def map_status(status: str | None, mapping: Mapping[str, str]) -> Availability:
    """Source status name → availability; case and spacing do not matter; no status is
    NO_STATUS; unmapped → unknown."""
    wanted = status_key(status)
    for name, availability in mapping.items():
        if normalise_status(name) == wanted:
            try:
                return Availability(availability)
            except ValueError:
                return Availability.unknown
    return Availability.unknown


def status_mapping_errors(mapping: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Mistakes a status mapping can hold beyond its shape, as {loc, path, msg, type}: a blank
    status name, and two names that are the same status once case and spacing are ignored
    but map to different availabilities (which one would win depends on key order, and
    PostgreSQL's JSONB does not keep the order)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    errors: list[dict[str, Any]] = []
    for name, availability in mapping.items():
        value = getattr(availability, "value", availability)
        if not normalise_status(name):
            errors.append(
                _mapping_error(
                    name,
                    f"a status name must not be blank; features without a status are mapped "
                    f"under {NO_STATUS!r}",
                    "blank_status",
                )
            )
            continue
        groups.setdefault(normalise_status(name), []).append((name, str(value)))
    for entries in groups.values():
        if len({availability for _, availability in entries}) > 1:
            names = " and ".join(repr(name) for name, _ in entries)
            targets = ", ".join(f"{name!r} → {availability}" for name, availability in entries)
            errors.append(
                _mapping_error(
                    entries[1][0],
                    f"{names} are the same status (case and spacing are ignored) but map to "
                    f"different availabilities ({targets}); keep one",
                    "conflicting_status",
                )
            )
    return errors


def _mapping_error(name: str, msg: str, type_: str) -> dict[str, Any]:
    return {
        "loc": ["status_mapping", name],
        "path": f"status_mapping.{name}",
        "msg": msg,
        "type": type_,
    }


def normalised_status_mapping(mapping: Mapping[str, Any]) -> dict[str, str]:
    """One entry per status (the first spelling given), so a stored mapping never holds two
    keys for the same status. Call after `status_mapping_errors` found nothing."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, availability in mapping.items():
        if normalise_status(name) not in seen:
            seen.add(normalise_status(name))
            out[name] = str(getattr(availability, "value", availability))
    return out


def apply_status_mapping(features: list[Feature], mapping: Mapping[str, str]) -> list[Feature]:
    return [
        f.model_copy(update={"availability": map_status(f.source_status, mapping)})
        for f in features
    ]


def unmapped_statuses(statuses: list[str | None], mapping: Mapping[str, str]) -> list[str]:
    """The statuses (as the features spell them; no status as NO_STATUS) the mapping does not
    cover, each once."""
    known = {normalise_status(k) for k in mapping}
    seen: dict[str, str] = {}
    for status in statuses:
        if status_key(status) not in known:
            seen.setdefault(status_key(status), shown_status(status))
    return sorted(seen.values())
