"""The image's file set, checked without Docker: exactly the files the Dockerfile COPYs are
installed (`pip install .`, as the image does) into a fresh virtual environment, every module
is imported from there, and `complaints run` starts the worker and the API on a dev server.

Why a fresh venv and not this checkout: the project is installed editable here, so a package the
Dockerfile forgot would still import from the working tree. The fresh venv sees the project's
third-party dependencies through a .pth line naming .venv's site-packages; a line in a .pth file
adds a directory without processing that directory's own .pth files, so .venv's editable finder
(which points back at this checkout) never loads. Every module must come from the new install:
the test checks each module's file, not just that the import worked."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import time
import tomllib
from pathlib import Path

import httpx

from tests.ports import free_port, free_temporal_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_WAIT = 90.0  # seconds for `complaints run` to answer on /healthz (a limit, not an assert)


def copied_paths(dockerfile: Path) -> list[str]:
    """The sources of every COPY line (the last argument is the destination)."""
    sources: list[str] = []
    for line in dockerfile.read_text().splitlines():
        words = shlex.split(line)
        if words and words[0].upper() == "COPY":
            sources.extend(w for w in words[1:-1] if not w.startswith("--"))
    return sources


def copy_image_files(target: Path) -> None:
    for source in copied_paths(ROOT / "Dockerfile"):
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, target / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, target / source)


def fresh_venv(where: Path) -> Path:
    """A venv of its own, seeing .venv's dependencies (not its editable install); its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


IMPORT_ALL = """
import importlib, pkgutil, sys
from pathlib import Path
root, names = Path(sys.argv[1]).resolve(), sys.argv[2:]
bad = []
for name in names:
    module = importlib.import_module(name)
    found = [module]
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, name + "."):
            if info.name.endswith(".migrations.env"):
                continue  # alembic's script, run by alembic only (migrate() runs it below)
            found.append(importlib.import_module(info.name))
    for m in found:
        if root not in Path(m.__file__).resolve().parents:
            bad.append(f"{m.__name__} from {m.__file__}")
print("\\n".join(bad) or "ok")
"""


def first_party() -> list[str]:
    """Every package and module pyproject.toml ships, plus every package directory in the
    checkout: one the Dockerfile or pyproject forgot fails the import from the new install."""
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = [p.rstrip("*") for p in setup["packages"]["find"]["include"] if p.endswith("*")]
    on_disk = [p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"]
    return sorted({*declared, *on_disk, *setup["py-modules"]})


def connections_to(pid: int, port: int) -> int:
    """How many established TCP connections process `pid` holds to 127.0.0.1:`port`: its
    socket descriptors matched by inode against the kernel's table."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except FileNotFoundError:  # closed between the listing and the read: the process is busy
            continue
        if link.startswith("socket:["):
            inodes.add(link.removeprefix("socket:[").removesuffix("]"))
    established, remote = "01", f"0100007F:{port:04X}"
    rows = (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
    return sum(1 for r in rows if r[2] == remote and r[3] == established and r[9] in inodes)


def test_the_image_files_install_import_and_run(tmp_path):
    source, venv = tmp_path / "app", tmp_path / "venv"
    source.mkdir()
    copy_image_files(source)
    python = fresh_venv(venv)
    install = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(source),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )

    # Without PYTHONPATH: a source tree on it (a worktree's tests) would be imported instead.
    installed_only = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    imported = subprocess.run(
        [python, "-c", IMPORT_ALL, str(site), *first_party()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=installed_only,
    )
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert imported.stdout.strip() == "ok", imported.stdout

    # And it runs: dev server, worker and API from the installed console script.
    port, temporal_port = free_port(), free_temporal_port()
    # The test's own venv holds the temporal binaries (wherever it is: a worktree has none).
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "COMPLAINTS_MAIL_IN_PORT": "0",
        "COMPLAINTS_DATA_DIR": str(tmp_path / "data"),
        # The shipped example of two client contracts, as the image holds it.
        "COMPLAINTS_CONTRACTS": str(source / "contracts" / "example" / "contracts.toml"),
    }
    env.pop("PYTHONPATH", None)
    run = subprocess.Popen(
        [
            venv / "bin" / "complaints",
            "run",
            "--port",
            str(port),
            "--temporal-port",
            str(temporal_port),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_WAIT
        ready = None
        while time.monotonic() < deadline and run.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        assert run.poll() is None, run.stdout.read().decode()[-3000:]
        assert ready is not None and ready.status_code == 200
        # Package data too: templates, the pages' static files, the docs' assets.
        for path in ("/", "/static/pages.css", "/docs", "/static/docs/swagger-ui-bundle.js"):
            assert httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code == 200
        # The Web UI decodes payloads through the API's codec endpoint, which answers its origin.
        ui = f"http://127.0.0.1:{temporal_port + 1000}"
        codec = httpx.get(f"{ui}/api/v1/settings", timeout=5).json()["Codec"]
        assert codec["Endpoint"] == f"http://127.0.0.1:{port}/codec"
        preflight = httpx.options(
            f"http://127.0.0.1:{port}/codec/decode",
            timeout=5,
            headers={"Origin": ui, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers.get("access-control-allow-origin") == ui, preflight.text
        # The worker and the API (and the mail receiver, off here) share one Temporal client
        # and one store: one connection to the server, where each part used to open its own.
        assert connections_to(run.pid, temporal_port) == 1
        # Its data directory (complaints, Temporal's histories, keys, logs) is owner-only.
        data = tmp_path / "data"
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        made = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.rglob("*")}
        assert {"complaints.sqlite3", "temporal.sqlite3", "encryption-keys.json"} <= set(made)
        assert {name: m for name, m in made.items() if m & 0o077} == {}, made
    finally:
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
