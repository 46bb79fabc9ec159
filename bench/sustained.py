"""Sustained load: the highest intake rate the embedded engine holds while deadlines breach.

For each --rate R, a fresh `complaints run` (dev server on its SQLite file, worker, API) on free
loopback ports with a throw-away data directory and a policy whose tier-3 deadlines are short:
first response F (--first-response), initial solution 1.5 F, resolution 2 F, each warned at 80%.
It submits tier-3 complaints ("The kettle caught fire") over HTTP on an open-loop schedule,
complaint i at start + i/R whatever became of the earlier ones (each under its own
Idempotency-Key, retried once after a 503 or a transport error), for --minutes, and leaves them
alone: once F has passed, the warnings and breaches of earlier complaints fire while intake goes
on. Then it waits (20 minutes at most) until every deadline and warning due by the end of intake
is recorded, and prints, per rate:
- intake: answers by status, latency p50/p99/max, the rate achieved, how often 256 submissions
  in flight held the next one back;
- lateness (recorded occurred_at - due time) of the breaches and, apart, of the warnings
  (due at their warn_at) due by the end of intake; complaints in the store against submitted;
- peak RSS of the engine (worker + API) and of the dev server, with the open complaints then,
  and the lines of their logs that say "exceeded" (workflow task / context deadline);
- the engine's garbage-collector pauses, whole-heap ones apart, and its turns at the SQLite
  store's write lock (its /metrics, on a free port);
- a verdict: held iff no answer was a 503 and the breaches' p99 lateness is at most 1 s.
At the end, a table of the rates and the knee: the highest rate held.

    .venv/bin/python bench/sustained.py --rate R [--rate R2 ...] [--minutes 10]
                                         [--first-response 4m] [--keep] [--as-filed]

With F = 4m a complaint's last deadline is 8 minutes after it: keep --minutes above 2 F for
a stretch of steady state. Acknowledgement is met at registration (API intake), never breached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent))
from herd import quantile, read_store  # noqa: E402
from intake import children, free_port, rss_mib, start_engine, wait_ready  # noqa: E402

from api.keys import Role, append_entry, new_key  # noqa: E402
from domain.policy import round_the_clock_span  # noqa: E402
from engine.settings import DEFAULT_POLICY  # noqa: E402

TIER_3 = (
    'deadlines = { acknowledge = "0m", first_response = "10m", initial_solution = "30m", '
    'resolution = "24h" }'
)
IN_FLIGHT = 256
DRAIN_LIMIT = 20 * 60  # seconds
SAMPLE_EVERY = 5  # seconds


def sustained_policy(path: Path, first_response: timedelta, as_filed: bool = False) -> Path:
    """The default policy with tier 3's deadlines at F, 1.5 F and 2 F (re-escalation and the
    progress updates keep their own periods: all three levels are climbed by 2 F); `as_filed`:
    only the first response at F, the rest as the default policy (the run the issue reported)."""
    text = DEFAULT_POLICY.read_text()
    assert TIER_3 in text, "the default policy's tier 3 changed: update sustained.py"
    f = first_response.total_seconds()
    later = ("30m", "24h") if as_filed else (f"{1.5 * f:.0f}s", f"{2 * f:.0f}s")
    short = (
        f'deadlines = {{ acknowledge = "0m", first_response = "{f:.0f}s", '
        f'initial_solution = "{later[0]}", resolution = "{later[1]}" }}'
    )
    path.write_text(text.replace(TIER_3, short))
    return path


def span(text: str) -> timedelta:
    try:
        return round_the_clock_span(text)
    except AttributeError:  # no match: not a duration
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 4m or 1m30s") from None


def stamp(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def store_rows(database: Path, *types: str) -> list[tuple[str, str, str, str]]:
    """(stream_id, type, occurred_at, data) of every event of `types`."""
    marks = ",".join("?" * len(types))
    query = f"SELECT stream_id, type, occurred_at, data FROM events WHERE type IN ({marks})"
    return read_store(database, query, types)


def registered(database: Path) -> int:
    query = "SELECT count(*) FROM events WHERE type = 'ComplaintRegistered'"
    return read_store(database, query)[0][0]


def lateness(database: Path, end: datetime) -> dict:
    """Of the breaches and warnings due by `end`: how many are due, and the lateness in seconds
    of those recorded; and the tiers of the complaints in the store. A deadline met (the
    acknowledgement, at registration) owes no breach."""
    rows = store_rows(
        database,
        "ComplaintClassified",
        "DeadlinesScheduled",
        "DeadlineMet",
        "DeadlineBreached",
        "DeadlineWarningIssued",
    )
    schedule, tiers, recorded, met = {}, Counter(), [], []
    for stream, kind, at, data in rows:
        fact = json.loads(data)
        if kind == "ComplaintClassified":
            tiers[fact["tier"]] += 1
        elif kind == "DeadlinesScheduled":
            for d in fact["deadlines"]:
                warn = d["warn_at"] and stamp(d["warn_at"])
                schedule[stream, d["kind"]] = {"breach": stamp(d["due_at"]), "warning": warn}
        elif kind == "DeadlineMet":
            met.append((stream, fact["kind"]))
        else:
            recorded.append(
                ("breach" if kind == "DeadlineBreached" else "warning", stream, fact, at)
            )
    for key in met:
        schedule[key]["breach"] = None
    late = {"breach": [], "warning": []}
    for kind, stream, fact, at in recorded:
        due = schedule.get((stream, fact["kind"]), {}).get(kind)
        if due and due <= end:
            late[kind].append((stamp(at) - due).total_seconds())
    owed = {k: sum(bool(d[k] and d[k] <= end) for d in schedule.values()) for k in late}
    return {"late": late, "owed": owed, "tiers": tiers}


async def submit_open_loop(http: httpx.AsyncClient, key: str, rate: float, n: int) -> dict:
    """Complaint i sent at start + i/rate, IN_FLIGHT at most in flight: answers and latencies."""
    answers, final, latencies = Counter(), Counter(), []
    gate = asyncio.Semaphore(IN_FLIGHT)
    held_back = retries = 0

    async def one(i: int) -> None:
        nonlocal retries
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4())}
        body = {
            "customer": {"name": f"Bench {i}"},
            "channel": "api",
            "subject": "Kettle",
            "description": f"The kettle caught fire ({i})",
        }
        try:
            for attempt in range(2):
                started = time.perf_counter()
                try:
                    answer = await http.post("/api/complaints", json=body, headers=headers)
                    status = answer.status_code
                except httpx.TransportError as failed:
                    status = type(failed).__name__
                latencies.append(time.perf_counter() - started)
                answers[status] += 1
                if attempt or not (status == 503 or isinstance(status, str)):
                    final[status] += 1
                    return
                retries += 1
                await asyncio.sleep(1)
        finally:
            gate.release()

    tasks, start = [], time.monotonic()
    for i in range(n):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        if gate.locked():
            held_back += 1
        await gate.acquire()
        tasks.append(asyncio.create_task(one(i)))
    sent = time.monotonic() - start
    end = datetime.now(UTC)
    await asyncio.gather(*tasks)
    return {
        "answers": answers,  # every attempt's
        "final": final,  # each complaint's last attempt's
        "latencies": latencies,
        "held_back": held_back,
        "retries": retries,
        "achieved": (n - 1) / sent if sent else float(n),
        "end": end,
    }


async def sample_memory(engine_pid: int, database: Path, peaks: dict) -> None:
    """Every few seconds until cancelled: the peak RSS of the engine and of its dev server, each
    with the complaints registered (all open: nobody answers them) at that moment."""
    while True:
        try:
            now = {
                "engine (worker + API)": rss_mib(engine_pid),
                "Temporal dev server": sum(rss_mib(p) for p in children(engine_pid)),
            }
            risen = {n: mib for n, mib in now.items() if mib > peaks.get(n, (0, 0))[0]}
            # The store is counted only at a new peak: the bench's reads load the machine too.
            if risen:
                open_now = registered(database) if database.exists() else 0
                peaks.update({n: (mib, open_now) for n, mib in risen.items()})
        except (OSError, sqlite3.Error):
            pass  # a process gone or the store busy: the next sample
        await asyncio.sleep(SAMPLE_EVERY)


def seconds(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"p50 {quantile(values, 0.5):.2f} s, p99 {quantile(values, 0.99):.2f} s, "
        f"max {max(values):.2f} s"
    )


def histograms(metrics: str, *names: str) -> dict[tuple[str, tuple], dict]:
    """The engine's histograms `names` from its /metrics: per (name, labels other than le),
    their count, sum, and cumulative counts by bucket bound ("over")."""
    text = httpx.get(f"http://{metrics}/metrics", timeout=30).text
    found: dict[tuple[str, tuple], dict] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in names:
            continue
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            figures = found.setdefault((family.name, labels), {"over": {}})
            if sample.name.endswith("_bucket"):
                figures["over"][sample.labels["le"]] = sample.value
            else:
                figures[sample.name.rsplit("_", 1)[1]] = sample.value
    return found


def longer_than(figures: dict, *bounds: str) -> str:
    return ", ".join(f"> {le} s: {figures['count'] - figures['over'][le]:.0f}" for le in bounds)


def gc_pauses(found: dict) -> list[str]:
    """A line per generation of the engine's complaints_gc_pause_seconds: how many pauses, how
    long in all, and how many of them were long (the histogram's buckets from 0.25 s)."""
    return [
        f"gc pauses, generation {dict(labels)['generation']}: {f['count']:.0f}, "
        f"{f['sum']:.1f} s in all; {longer_than(f, '0.25', '0.5', '1.0')}"
        for (name, labels), f in sorted(found.items())
        if name == "complaints_gc_pause_seconds"
    ]


def write_lock(found: dict, seconds_run: float) -> list[str]:
    """The SQLite write lock's turns: the share of the run it was held, the mean hold, and the
    waits (complaints_store_write_lock_*)."""
    held = found[("complaints_store_write_lock_held_seconds", ())]
    waited = found[("complaints_store_write_lock_wait_seconds", ())]
    turns = max(held["count"], 1)
    return [
        f"write lock: {held['count']:.0f} turns, held {held['sum'] / seconds_run:.0%} of the "
        f"{seconds_run:.0f} s run (mean {1000 * held['sum'] / turns:.1f} ms); waits mean "
        f"{1000 * waited['sum'] / max(waited['count'], 1):.1f} ms, "
        f"{longer_than(waited, '0.1', '1.0')}"
    ]


def log_lines(path: Path, word: str) -> int | str:
    if not path.exists():
        return "no log"
    with path.open(errors="replace") as log:
        return sum(word in line for line in log)


async def drain(database: Path, end: datetime) -> tuple[dict, bool]:
    """Until every breach and warning due by `end` is recorded: the figures, and whether the
    wait ran out first."""
    limit = time.monotonic() + DRAIN_LIMIT
    while True:
        figures = lateness(database, end)
        recorded = {k: len(v) for k, v in figures["late"].items()}
        if all(recorded[k] >= figures["owed"][k] for k in recorded):
            return figures, False
        if time.monotonic() > limit:
            return figures, True
        await asyncio.sleep(SAMPLE_EVERY)


async def run_rate(
    rate: float, minutes: float, first_response: timedelta, keep: bool, as_filed: bool
) -> dict:
    api_port, temporal_port, metrics = free_port(), free_port(), f"127.0.0.1:{free_port()}"
    data = Path(tempfile.mkdtemp(prefix="bench-sustained-"))
    key, entry = new_key("bench", Role.INTAKE)
    append_entry(data / "api_keys.toml", entry)
    policy = sustained_policy(data / "policy.toml", first_response, as_filed)
    engine_log, database = data / "engine.log", data / "complaints.sqlite3"
    engine = start_engine(
        data, api_port, temporal_port, engine_log,
        COMPLAINTS_POLICY=str(policy), COMPLAINTS_METRICS_ADDRESS=metrics,
    )  # fmt: skip
    started, peaks = time.monotonic(), {}
    sampler = asyncio.create_task(sample_memory(engine.pid, database, peaks))
    n = max(1, round(rate * minutes * 60))
    try:
        limits = httpx.Limits(max_connections=IN_FLIGHT)
        base = f"http://127.0.0.1:{api_port}"
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
            await wait_ready(http)
            print(
                f"\n== {rate:g}/s for {minutes:g} min ({n} complaints), first response "
                f"{first_response}, data {data}",
                flush=True,
            )
            intake = await submit_open_loop(http, key, rate, n)
        print("intake done; waiting for the deadlines due by its end to be recorded", flush=True)
        figures, ran_out = await drain(database, intake["end"])
        found = histograms(
            metrics,
            "complaints_gc_pause_seconds",
            "complaints_store_write_lock_held_seconds",
            "complaints_store_write_lock_wait_seconds",
        )
        turns = write_lock(found, time.monotonic() - started)
    finally:
        sampler.cancel()
        engine.send_signal(signal.SIGINT)
        engine.wait(timeout=60)
    answers, late, owed = intake["answers"], figures["late"], figures["owed"]
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items(), key=str))
    print(
        f"intake: sent at {intake['achieved']:.2f}/s; answers {shown}; "
        f"retried {intake['retries']}; held back by {IN_FLIGHT} in flight "
        f"{intake['held_back']} times"
    )
    print(f"intake latency: {seconds(intake['latencies'])}")
    tiers = ", ".join(f"tier {t}: {k}" for t, k in sorted(figures["tiers"].items()))
    print(f"store: {sum(figures['tiers'].values())} complaints ({tiers}) for {n} submitted")
    for kind, kinds in (("breach", "breaches"), ("warning", "warnings")):
        print(
            f"{kinds} due by the end of intake: {len(late[kind])} of {owed[kind]} recorded; "
            f"lateness {seconds(late[kind])}"
        )
    if ran_out:
        print(f"the wait for them ran out after {DRAIN_LIMIT // 60} minutes")
    for name, (mib, open_then) in peaks.items():
        print(f"peak RSS {name}: {mib:.0f} MiB, with {open_then} open complaints")
    print("\n".join(gc_pauses(found) + turns))
    print(
        f'log lines with "exceeded": engine {log_lines(engine_log, "exceeded")}, '
        f"dev server {log_lines(data / 'temporal.log', 'exceeded')}"
    )
    reasons = verdict(intake, figures, ran_out)
    held = "held" if not reasons else f"not held ({'; '.join(reasons)})"
    print(f"verdict at {rate:g}/s: {held}", flush=True)
    if not keep:
        shutil.rmtree(data, ignore_errors=True)
    p99 = quantile(late["breach"], 0.99) if late["breach"] else None
    return {"rate": rate, "held": not reasons, "p99": p99, "503": intake["answers"][503]}


def verdict(intake: dict, figures: dict, ran_out: bool) -> list[str]:
    """Why the rate was not held; empty if it was."""
    reasons, breaches = [], figures["late"]["breach"]
    if intake["answers"][503]:
        reasons.append(f"{intake['answers'][503]} answers 503")
    # A dropped connection retried with the same key and then answered is not a failure.
    if failed := sum(v for k, v in intake["final"].items() if k not in (200, 201, 202, 503)):
        reasons.append(f"{failed} submissions failed even when retried")
    if not figures["owed"]["breach"]:
        reasons.append("no deadline fell due during intake: run longer than --first-response")
    elif breaches and quantile(breaches, 0.99) > 1:
        reasons.append(f"breach p99 lateness {quantile(breaches, 0.99):.1f} s > 1 s")
    if ran_out:
        reasons.append("not every deadline due was recorded")
    return reasons


async def main(args: argparse.Namespace) -> None:
    rows = [
        await run_rate(rate, args.minutes, args.first_response, args.keep, args.as_filed)
        for rate in args.rate
    ]
    print(f"\n{'rate /s':>8} {'503s':>6} {'breach p99':>11}  verdict")
    for row in rows:
        p99 = "none" if row["p99"] is None else f"{row['p99']:.2f} s"
        print(
            f"{row['rate']:>8g} {row['503']:>6} {p99:>11}  {'held' if row['held'] else 'not held'}"
        )
    held = [row["rate"] for row in rows if row["held"]]
    print(f"knee: highest rate held = {max(held):g}/s" if held else "knee: none held")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rate",
        type=float,
        action="append",
        required=True,
        help="complaints per second; repeat for several runs",
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--first-response", type=span, default=timedelta(minutes=4))
    parser.add_argument("--keep", action="store_true", help="keep each run's data directory")
    parser.add_argument(
        "--as-filed",
        action="store_true",
        help="only the first response at F, the later deadlines as the default policy's",
    )
    args = parser.parse_args()
    if any(rate <= 0 for rate in args.rate) or args.minutes <= 0:
        raise SystemExit("--rate and --minutes must be positive")
    asyncio.run(main(args))
