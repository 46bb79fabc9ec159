"""Who the CLI's operator is, for every command that records an action."""

from __future__ import annotations

import getpass

from domain.access import Author


def operator(named: str | None) -> Author:
    """Whoever runs the CLI: it needs the engine's own keys, so it may act on every complaint;
    what it does is recorded as theirs (--as, else the login name), with no API key."""
    name = (named if named is not None else getpass.getuser()).strip()
    if not name:
        raise ValueError("--as: must name who is acting")
    return Author(name=name, role="operator")
