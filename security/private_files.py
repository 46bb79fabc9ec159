"""Files and directories only the engine's own user may read: the data directory holds complaint
texts, customers' sealed data and the keys, so it is 0700 and what we create in it 0600, whatever
the process's umask says."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# For child processes (the Temporal dev server): whatever they create is owner-only too.
UMASK = 0o077


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) 0700; an existing directory is left as it is, since
    it may be shared (a database in /tmp): callers that own it tighten it themselves."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode=DIR_MODE)  # a umask only ever removes bits from it
    return path


def private_file(path: Path) -> bool:
    """Create an empty 0600 file unless it exists; True if it was created."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True
