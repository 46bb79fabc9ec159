"""How a `complaints` process ends (entrypoints.process_exit): without finalizing the
interpreter, where Temporal's client threads could abort it after its work was done, and yet
with the status, the output and the traces a normal exit gives. Each case is a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from tests.e2e.otlp_receiver import OtlpReceiver


def ended(body: str, **env: str) -> subprocess.CompletedProcess:
    """A Python process whose main is `body`, ended by run_then_exit; its output piped (so
    buffered: only a flush gets it out)."""
    script = "\n".join(
        [
            "import atexit, sys",
            "from entrypoints.process_exit import run_then_exit",
            "atexit.register(lambda: print('finalized'))",
            "def main():",
            textwrap.indent(textwrap.dedent(body), "    "),
            "run_then_exit(main)",
        ]
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_it_ends_without_finalizing_and_nothing_printed_is_lost():
    done = ended("print('done')")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"  # flushed, and no atexit hook ran: finalization was skipped


@pytest.mark.parametrize(
    ("body", "status", "stderr"),
    [
        ("sys.exit(3)", 3, ""),
        ("sys.exit()", 0, ""),
        ("sys.exit('complaints: refused')", 1, "complaints: refused\n"),
        ("raise KeyboardInterrupt", 130, ""),
    ],
)
def test_its_status_is_the_one_the_interpreter_would_give(body, status, stderr):
    result = ended(body)
    assert (result.returncode, result.stderr, result.stdout) == (status, stderr, "")


def test_an_unexpected_error_prints_its_traceback_and_fails():
    result = ended("raise RuntimeError('the store went away')")
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "RuntimeError: the store went away" in result.stderr


def test_the_traces_it_made_are_exported_before_it_ends():
    """The batch processor exports on its own schedule or at exit (an atexit hook that os._exit
    skips): run_then_exit exports them itself."""
    receiver = OtlpReceiver()
    receiver.start()
    try:
        result = ended(
            f"""
            from engine.settings import Settings
            from engine.tracing import tracer_for
            tracer = tracer_for(Settings(otlp_endpoint="{receiver.url}"))
            with tracer.start_as_current_span("complaints schedules"):
                pass
            """,
            OTEL_SERVICE_NAME="complaints-cli",
        )
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 10  # the export is made before exit; its receipt is ours
        while not receiver.spans and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(s.service, s.name) for s in receiver.spans] == [
            ("complaints-cli", "complaints schedules")
        ]
    finally:
        receiver.stop()
