"""CLI sub-commands of this domain (stub: the owner fills it in)."""


def register(subparsers) -> None:
    return None
