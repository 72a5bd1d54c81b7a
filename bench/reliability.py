"""Reliability figures: faults injected and survived, bad inputs tried and crashes, sessions and leaks,
a long conversation's memory, A/V drift and frame delivery, and the recovery after a server restart.

Runs the scenarios the integration tests run (tests/support: provider_faults, render_faults,
server_faults, client_faults, floods, dispatch_fuzz, room_permissions, soak, secrets_scan), more
times and for longer, against a real livekit-server and real workers that it starts. A fault is
survived when its scenario saw what the tests assert (the session goes on, the room is told, the
next turn works); a crash is a worker that died or a traceback from our code in a worker's log
outside the fault-injection worker, or a parser exception.

    python bench/reliability.py --json bench/results/reliability.json                # ~50 min
    python bench/reliability.py --sections faults,fuzz --repeat 1                    # a quick look
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _common import json_arg_parser, machine, print_table, write_json

from agent.memory import TRIM_DELAY_S
from agent.metadata import parse_dispatch_metadata
from support.client_faults import reconnecting_client, two_rooms, vanished_client
from support.dispatch_fuzz import run_dispatch_fuzz
from support.floods import run_floods
from support.job_process import tracebacks
from support.metadata_strategies import metadata_cases
from support.outcomes import FaultOutcome
from support.provider_faults import PROVIDER_FAULTS, provider_fault
from support.render_faults import (
    cache_lost_mid_session,
    cache_unwritable,
    encoder_fault,
    engine_fault,
    register_faulty_engine,
)
from support.room_permissions import check_rpc_permissions
from support.secrets_scan import fake_provider_env, run_secrets, scan_log_dir
from support.server_faults import server_restart, worker_kill
from support.soak import conversation_soak, interruption_streak, sequential_sessions
from support.stack import LiveKitServer, Worker, start_livekit_server, start_worker

SECTIONS = ("soak", "faults", "server", "fuzz", "sessions", "interruptions")


class Run:
    """The stack of this run and what it has found so far."""

    def __init__(self, server: LiveKitServer, log_dir: Path, provider_env: dict[str, str]) -> None:
        self.server = server
        self.log_dir = log_dir
        self.provider_env = provider_env
        self.workers: dict[str, Worker] = {}
        self.faults: dict[str, dict[str, int]] = {}
        self.failures: list[str] = []
        self.result: dict[str, Any] = {}

    def worker(self, name: str, env: dict[str, str] | None = None) -> Worker:
        if name not in self.workers:
            self.workers[name] = start_worker(
                self.server, self.log_dir, name=name, extra_env={**self.provider_env, **(env or {})}
            )
        return self.workers[name]

    def room(self, what: str) -> str:
        return f"rel-{what}-{secrets.token_hex(3)}"

    def count(self, name: str, survived: bool, why: object = "") -> None:
        tally = self.faults.setdefault(name, {"injected": 0, "survived": 0})
        tally["injected"] += 1
        tally["survived"] += int(survived)
        if not survived:
            self.failures.append(f"{name}: {why}")
        print(f"  {name}: {'survived' if survived else 'NOT survived'}", flush=True)

    async def attempt(self, name: str, scenario: Callable[[], Awaitable[FaultOutcome]]) -> None:
        try:
            outcome = await scenario()
        except Exception as e:
            self.count(name, False, f"{type(e).__name__}: {e}")
            return
        self.count(name, outcome.survived, outcome.problems)


async def faults(run: Run, repeat: int) -> None:
    faults_file = run.log_dir / "faults.json"
    faulty = run.worker(
        "faults", {"STREAMING_AVATAR_FAULTS_FILE": str(faults_file), "STREAMING_AVATAR_LLM_TIMEOUT": "5"}
    )
    engine_faults = register_faulty_engine()
    cache = Path(tempfile.mkdtemp(prefix="reliability-cache-"))
    for _ in range(repeat):
        for kind, fault in PROVIDER_FAULTS:
            await run.attempt(
                f"{kind}-{fault}",
                lambda k=kind, f=fault: provider_fault(run.server, faulty, faults_file, run.room("provider"), k, f),
            )
        for fault in ("raise", "slow"):
            await run.attempt(
                f"engine-{fault}",
                lambda f=fault: engine_fault(run.server, engine_faults, run.room("engine"), cache, f),
            )
        await run.attempt("encoder-raise", lambda: encoder_fault(run.server, run.room("encoder"), cache))
        await run.attempt(
            "cache-deleted-or-corrupted", lambda: cache_lost_mid_session(run.server, run.room("cache"), cache)
        )
        await run.attempt(
            "cache-unwritable", lambda: cache_unwritable(run.server, run.room("cache"), Path(tempfile.mkdtemp()))
        )
        for flood in await run_floods(run.server, run.worker("main"), run.room("floods")):
            run.count(f"flood-{flood.flood}", flood.survived, flood)
        permissions = await check_rpc_permissions(run.server, run.worker("main").agent_name, run.room("rpc"))
        run.count(
            "session-rpc-from-non-humans",
            permissions.agent_stayed and permissions.agent_left and len(permissions.refused) == 4,
            permissions,
        )


async def server_and_client_faults(run: Run, repeat: int) -> None:
    """livekit-server restarted (each time its own server and worker), a worker SIGKILLed (each time two
    new workers sharing a name), a client process SIGKILLed, a reconnection, two rooms at once."""
    recoveries: list[float] = []
    for i in range(repeat):
        directory = run.log_dir / f"restart-{i}"
        server = start_livekit_server(directory)
        worker = start_worker(server, directory, name="restart", extra_env=run.provider_env)
        try:
            restart = await server_restart(server, worker, run.room("restart"))
        finally:
            worker.stop()
            server.stop()
        run.count("livekit-server-restart", restart.survived and not restart.footprint.leaks, restart)
        if restart.recovery_s is not None:
            recoveries.append(restart.recovery_s)

        agent_name = f"reliability-kill-{secrets.token_hex(3)}"
        pair = [
            start_worker(
                run.server, run.log_dir, name=f"kill-{i}-{n}", agent_name=agent_name, extra_env=run.provider_env
            )
            for n in ("a", "b")
        ]
        try:
            kill = await worker_kill(run.server, (pair[0], pair[1]), run.room("kill"))
        finally:
            for worker in pair:
                worker.stop()
        run.count("worker-sigkill", kill.survived, kill)

        main = run.worker("main")
        vanished = await vanished_client(run.server, main, run.room("vanish"))
        run.count("client-vanished", vanished.survived, vanished)
        reconnect = await reconnecting_client(run.server, main, run.room("reconnect"))
        run.count("client-reconnected", reconnect.survived, reconnect)
        isolation = await two_rooms(run.server, main, run.room("two-rooms"))
        run.count("two-rooms-isolated", isolation.survived, isolation)
    if recoveries:
        run.result["server_restart_recovery_s"] = round(max(recoveries), 2)
        run.result["server_restart_recovery_all_s"] = [round(r, 2) for r in recoveries]


async def fuzz(run: Run, parser_cases: int, dispatches: int) -> None:
    cases = metadata_cases(parser_cases, seed=16)
    parser_crashes = 0
    for raw in cases:
        try:
            parse_dispatch_metadata(raw, known_avatars={"default"})
        except Exception as e:
            parser_crashes += 1
            run.failures.append(f"parser raised {type(e).__name__} on {raw!r}")
    result = await run_dispatch_fuzz(run.server, run.worker("main"), count=dispatches)
    run.result["fuzz"] = {
        "parser_cases": len(cases),
        "parser_crashes": parser_crashes,
        "dispatches": result.tried,
        "dispatches_started": result.started,
        "dispatches_with_every_notice": result.tried - len(result.failures),
    }
    run.failures += [f"dispatch {case.metadata!r}: {case.error or case.missing}" for case in result.failures]


async def sessions(run: Run, count: int, executor: str) -> None:
    worker = run.worker("sessions", {"STREAMING_AVATAR_JOB_EXECUTOR": executor})
    outcome = await sequential_sessions(
        run.server, worker, run.room("sessions"), count, warmup=10, idle_s=TRIM_DELAY_S + 2
    )
    run.result.setdefault("soak", {}).update(
        {
            "sessions": outcome.sessions,
            "job_executor": executor,
            "rss_growth_pct": round(outcome.rss_growth_pct, 2),
            "leaked_fds": outcome.leaked("fds"),
            "leaked_threads": outcome.leaked("threads"),
            "leaked_children": outcome.leaked("children"),
            "rss_mb": [round(outcome.baseline["rss"] / 2**20), round(outcome.after["rss"] / 2**20)],
        }
    )


async def interruptions(run: Run, count: int) -> None:
    outcome = await interruption_streak(run.server, run.worker("main"), run.room("interrupt"), count)
    run.result.setdefault("soak", {})["interruptions"] = {
        "interrupted": outcome.interrupted,
        "replied": outcome.replied,
        "tried": count,
    }
    run.failures += outcome.problems


async def soak(run: Run, minutes: float) -> None:
    outcome = await conversation_soak(run.server, run.worker("main"), run.room("soak"), minutes)
    run.result.setdefault("soak", {}).update(
        {
            "conversation_minutes": minutes,
            "turns": outcome.turns,
            "stuck_turns": outcome.stuck_turns,
            "drift_ms": round(outcome.drift_ms, 1),
            "frames_delivered_pct": round(outcome.frames_delivered_pct, 2),
            "conversation_rss_growth_pct": round(outcome.rss_growth_pct, 2),
        }
    )
    run.failures += outcome.problems


def crashes(run: Run) -> int:
    """Workers that died, and tracebacks of our code in the logs of workers that had no fault injected."""
    dead = [name for name, w in run.workers.items() if w.process.poll() is not None]
    ours = {name: tracebacks(w).ours for name, w in run.workers.items() if name != "faults"}
    run.failures += [f"worker {name} died" for name in dead]
    run.failures += [f"worker {name}: {tb.splitlines()[-1]}" for name, found in ours.items() for tb in found]
    return len(dead) + sum(len(found) for found in ours.values())


def print_figures(result: dict[str, Any]) -> None:
    rows = [(name, str(t["injected"]), str(t["survived"])) for name, t in result["faults"].items()]
    print_table(rows, ("fault", "injected", "survived"))
    print()
    figures = [("bad inputs tried (fuzz cases)", str(result["fuzz_cases"])), ("crashes", str(result["crashes"]))]
    figures += [(f"soak {k}", json.dumps(v)) for k, v in result.get("soak", {}).items()]
    figures += [
        ("secrets found in logs", str(result["secrets_leaked"])),
        ("recovery after a server restart (s)", str(result["server_restart_recovery_s"])),
    ]
    print_table(figures, ("figure", "value"))


async def main() -> None:
    parser = json_arg_parser(__doc__ or "")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}")
    parser.add_argument("--repeat", type=int, default=3, help="times each fault is injected")
    parser.add_argument("--parser-cases", type=int, default=1000)
    parser.add_argument("--dispatches", type=int, default=50, help="fuzzed metadata sent in real dispatches")
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument(
        "--job-executor",
        choices=("thread", "process"),
        default="thread",
        help="of the sessions' worker (thread: GPU setup)",
    )
    parser.add_argument("--interruptions", type=int, default=50)
    parser.add_argument("--soak-minutes", type=float, default=30)
    args = parser.parse_args()
    chosen = set(args.sections.split(","))

    log_dir = Path(tempfile.mkdtemp(prefix="reliability-"))
    server = start_livekit_server(log_dir)
    run = Run(server, log_dir, fake_provider_env(Path(tempfile.mkdtemp(prefix="reliability-keys-"))))
    started = time.monotonic()
    try:
        sections: dict[str, Callable[[], Awaitable[None]]] = {
            "soak": lambda: soak(run, args.soak_minutes),
            "faults": lambda: faults(run, args.repeat),
            "server": lambda: server_and_client_faults(run, args.repeat),
            "fuzz": lambda: fuzz(run, args.parser_cases, args.dispatches),
            "sessions": lambda: sessions(run, args.sessions, args.job_executor),
            "interruptions": lambda: interruptions(run, args.interruptions),
        }
        for name, section in sections.items():
            if name in chosen:
                print(f"{name}:", flush=True)
                try:
                    await section()
                except Exception as e:
                    run.failures.append(f"section {name} raised {type(e).__name__}: {e}")
        crashed = crashes(run)
    finally:
        for worker in run.workers.values():
            worker.stop()
        server.stop()
    leaks = scan_log_dir(log_dir, run_secrets(server))
    run.failures += [f"secret {leak}" for leak in leaks]
    fuzz_figures = run.result.get("fuzz", {})
    result: dict[str, Any] = {
        "machine": machine(),
        "sections": sorted(chosen),
        "faults": run.faults,
        "fuzz_cases": fuzz_figures.get("parser_cases", 0) + fuzz_figures.get("dispatches", 0),
        "crashes": crashed,
        **run.result,
        "server_restart_recovery_s": run.result.get("server_restart_recovery_s"),
        "secrets_leaked": len(leaks),
        "failures": run.failures,
        "logs": str(log_dir),
        "minutes": round((time.monotonic() - started) / 60, 1),
    }
    print_figures(result)
    for failure in run.failures:
        print("failure:", failure)
    write_json(args.json, result)


if __name__ == "__main__":
    asyncio.run(main())
