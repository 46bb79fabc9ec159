"""`complaints run` stands or falls as one (entrypoints.local): a port in use stops it before
anything starts, with the setting to change; a part of it that ends on its own (here its Temporal
dev server, killed) stops everything, and the command fails saying so, where it used to go on
taking complaints with nothing to run them. Each case is the real command in a process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.ports import free_port, free_temporal_port

COMPLAINTS = Path(sys.executable).parent / "complaints"
STARTUP_WAIT = 60.0  # seconds; the machine is shared


def complaints_run(data: Path, port: int, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [COMPLAINTS, "run", "--port", str(port), "--temporal-port", str(free_temporal_port())],
        env={
            **os.environ,
            "PATH": f"{COMPLAINTS.parent}:{os.environ['PATH']}",  # the temporal binaries
            "COMPLAINTS_DATA_DIR": str(data),
            "COMPLAINTS_MAIL_IN_PORT": "0",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@contextmanager
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def ended(run: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = run.communicate(timeout=STARTUP_WAIT)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    return run.returncode, out, err


def wait_until_ready(run: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + STARTUP_WAIT
    while time.monotonic() < deadline and run.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"not ready: {ended(run)}")


def children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):  # ended between the listing and the read
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def test_an_api_port_in_use_stops_it_before_anything_starts(tmp_path):
    data = tmp_path / "data"
    with taken_port() as port:
        status, out, err = ended(complaints_run(data, port))
    assert status == 1, (out, err)
    assert err == (
        f"complaints: the API cannot listen on 127.0.0.1:{port} (--host, --port):"
        " Address already in use\n"
    )
    assert "complaint engine running" not in out
    assert not (data / "temporal.log").exists()  # no dev server was started
    assert not (data / "api_keys.toml").exists()  # no first key made that nobody was shown


def test_a_mail_port_in_use_stops_it_before_it_serves(tmp_path):
    data = tmp_path / "data"
    with taken_port() as mail_port:
        run = complaints_run(data, free_port(), COMPLAINTS_MAIL_IN_PORT=str(mail_port))
        status, out, err = ended(run)
    assert status == 1, (out, err)
    assert err.endswith(
        f"complaints: inbound mail: cannot listen on 127.0.0.1:{mail_port}"
        " (COMPLAINTS_MAIL_IN_HOST, COMPLAINTS_MAIL_IN_PORT): error while attempting to bind on"
        f" address ('127.0.0.1', {mail_port}): address already in use\n"
    ), err
    # Nothing had started to serve: no banner, and no cancelled API's traceback on the way out.
    assert "complaint engine running" not in out
    assert "Traceback" not in out + err
    assert not (data / "api_keys.toml").exists()  # the next start shows the first key


def test_its_dev_server_gone_it_stops_everything_and_fails_saying_so(tmp_path):
    data, port = tmp_path / "data", free_port()
    run = complaints_run(data, port)
    wait_until_ready(run, port)
    (server,) = children_of(run.pid)
    os.kill(server, signal.SIGKILL)
    status, out, err = ended(run)
    assert status == 1, (out, err)
    assert err.endswith(
        f"complaints: the Temporal dev server exited (its log: {data.resolve()}/temporal.log);"
        " everything was stopped, and a restart keeps every complaint\n"
    ), err
    assert "worker stopping" in out  # stopped in order, as on Ctrl-C
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        raise AssertionError("the API still answers")
    except httpx.ConnectError:
        pass


def test_asked_to_stop_it_stops_everything_and_succeeds(tmp_path):
    data, port = tmp_path / "data", free_port()
    run = complaints_run(data, port)
    wait_until_ready(run, port)
    (server,) = children_of(run.pid)
    os.killpg(run.pid, signal.SIGINT)
    status, out, err = ended(run)
    assert status == 0, (out, err)
    assert "complaints:" not in err
    assert not Path(f"/proc/{server}").exists()  # its dev server stopped with it
