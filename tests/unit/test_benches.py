"""Every bench still starts: a refactor that moves what a bench imports breaks it silently
otherwise (bench/workflow_memory.py imported build_worker from where it no longer was for a
whole stop). `--help` imports the bench and parses its arguments, and runs nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
MODULES = ("bare_workflow.py", "floor_workflow.py")  # imported by the benches: no command line


def test_every_bench_imports_and_answers_help():
    benches = sorted(BENCH.glob("*.py"))
    assert len(benches) >= 9, benches  # the glob found the benches, not an empty folder
    running = {
        bench.name: subprocess.Popen(
            [sys.executable, str(bench), "--help"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for bench in benches
    }
    failed = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=120)
        if process.returncode != 0:
            failed[name] = err.strip().splitlines()[-1:]
        elif "usage:" not in out and name not in MODULES:
            failed[name] = ["no usage printed: the bench has no command line"]
    assert not failed, failed
