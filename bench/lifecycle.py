"""A complaint's whole life on the embedded engine, beside a bare one-activity workflow.

Starts `complaints run` (dev server, worker, API) on free loopback ports with a throw-away data
directory and a policy whose confirmation and reopen windows are 5 seconds, then runs N
lifecycles over HTTP with C in flight: submit, respond, give an initial solution, resolve,
record the customer's feedback (closed); then it waits until every complaint is archived.
Throughput counts from the first submission to the last archive (the windows' 5 s add once, not
per complaint). Then it runs N bare one-activity workflows on the same server with the same
concurrency, and prints both rates and their ratio; between them, Temporal's own floor for the
same life (bench/floor_workflow.py: the same updates, local activities and window, nothing of
the engine's) and the engine's share of it.

    .venv/bin/python bench/lifecycle.py [-n 200] [-c 16]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor_workflow import FloorLifecycle, floor_worker, register  # noqa: E402
from intake import (  # noqa: E402
    CpuMeter,
    bare_baseline,
    cpu_per_item,
    engine_client,
    free_port,
    measured,
    start_engine,
    stop_engine,
    timed,
    wait_ready,
)

from api.keys import Role, append_entry, new_key  # noqa: E402
from engine.settings import DEFAULT_POLICY  # noqa: E402

# The customer's answer arrives well within 5 s of the resolution (else it would close
# unanswered and refuse the feedback); then the reopen window, 5 s, not 7 days, and archived.
SHORT_WINDOWS = {'confirmation_window = "3d"': 'confirmation_window = "5s"',
                 'reopen_window = "7d"': 'reopen_window = "5s"'}  # fmt: skip
ACTIONS = [
    ("respond", {"message": "We are calling you"}),
    ("initial-solution", {"solution": "Unplug it"}),
    ("resolve", {"resolution": "Replacement sent"}),
    ("feedback", {"rating": 5, "comment": "Fast"}),
]


async def floor_lifecycles(
    data: Path, temporal_port: int, n: int, concurrency: int
) -> tuple[float, float]:
    """Lifecycles per second (steps only, and to the end) of N FloorLifecycles
    (bench/floor_workflow.py) on the engine's server, `concurrency` in flight, decided by a
    worker of their own in this process."""
    client = await engine_client(data, temporal_port)
    window = timedelta(seconds=5)  # the short policy's reopen window
    async with floor_worker(client) as queue:
        handles = []

        async def life(i: int) -> None:
            handle = await register(client, queue, i, window)
            for status in ("in_progress", "in_progress", "resolved", "closed"):
                await handle.execute_update(FloorLifecycle.act, status)
            handles.append(handle)

        started = time.perf_counter()
        _, steps = await timed(n, concurrency, life)
        await asyncio.gather(*(h.result() for h in handles))
        return n / steps, n / (time.perf_counter() - started)


def short_policy(path: Path) -> Path:
    text = DEFAULT_POLICY.read_text()
    for default, short in SHORT_WINDOWS.items():
        assert default in text, f"the default policy lost {default!r}: update lifecycle.py"
        text = text.replace(default, short)
    path.write_text(text)
    return path


async def main(n: int, concurrency: int) -> None:
    api_port, temporal_port = free_port(), free_port()
    data = Path(tempfile.mkdtemp(prefix="bench-lifecycle-"))
    intake_key, entry = new_key("bench intake", Role.INTAKE)
    append_entry(data / "api_keys.toml", entry)
    admin_key, entry = new_key("bench desk", Role.ADMIN)
    append_entry(data / "api_keys.toml", entry)
    policy = short_policy(data / "policy.toml")
    engine = start_engine(data, api_port, temporal_port, COMPLAINTS_POLICY=str(policy))
    try:
        base = f"http://127.0.0.1:{api_port}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            await wait_ready(http)
            intake = {"Authorization": f"Bearer {intake_key}"}
            desk = {"Authorization": f"Bearer {admin_key}"}

            async def life(i: int) -> None:
                body = {
                    "customer": {"name": f"Bench {i}"},
                    "channel": "api",
                    "subject": "Kettle",
                    "description": f"The kettle caught fire ({i})",
                }
                answer = await http.post("/api/complaints", json=body, headers=intake)
                answer.raise_for_status()
                cid = answer.json()["id"]
                for action, fields in ACTIONS:
                    done = await http.post(
                        f"/api/complaints/{cid}/actions/{action}", json=fields, headers=desk
                    )
                    done.raise_for_status()
                ids.append(cid)

            async def archived(cid: str) -> None:
                while (await http.get(f"/api/complaints/{cid}", headers=desk)).json()[
                    "status"
                ] != "archived":
                    await asyncio.sleep(0.5)

            ids: list[str] = []
            await life(-1)  # warm-up
            started = time.perf_counter()
            meter = CpuMeter(engine.pid)
            steps = await measured("submit + 4 actions (HTTP)", n, concurrency, life, meter)
            await asyncio.gather(*(archived(cid) for cid in ids))
            rate = n / (time.perf_counter() - started)
            print(f"{'lifecycles, to archived':<28} {rate:6.1f} /s (all {len(ids)} archived)")

        before = meter.read()
        floor_steps, floor = await floor_lifecycles(data, temporal_port, n, concurrency)
        cpu = cpu_per_item(meter.spent(before), n)
        print(
            f"{'floor, Temporal alone':<28} {floor:6.1f} /s, steps only {floor_steps:.1f} /s (the"
            " same updates, local activities and window, nothing of the engine's); the engine"
            f" reaches {rate / floor:.2f}, steps only {steps['rate'] / floor_steps:.2f}; CPU per"
            f" floor lifecycle {cpu}"
        )
        baseline = await bare_baseline(data, temporal_port, n, concurrency, meter)
        print(
            f"ratio lifecycles/bare throughput {rate / baseline['rate']:.2f}x, steps only "
            f"{steps['rate'] / baseline['rate']:.2f}x; floor {floor / baseline['rate']:.2f}x, "
            f"steps only {floor_steps / baseline['rate']:.2f}x (n={n}, concurrency={concurrency})"
        )
    finally:
        stop_engine(engine, data)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.concurrency))
