"""Server faults (issue 15, item 1): livekit-server killed and restarted, a worker killed mid-session."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from support.server_faults import server_restart, worker_kill
from support.stack import LiveKitServer, start_livekit_server, start_worker


async def test_server_restart_worker_recovers(log_dir: Path, room_name: str) -> None:
    """After livekit-server is SIGKILLed and restarted on its ports, the worker registers again and serves a
    new dispatch, the cut session goes on (its agent answers its user again), and the worker holds no more
    threads, fds or child processes than before. Needs its own server: the fault kills every room on it."""
    server = start_livekit_server(log_dir / "restarted-server")
    worker = start_worker(server, log_dir / "restarted-server", name="restart")
    try:
        result = await server_restart(server, worker, room_name)
    finally:
        worker.stop()
        server.stop()
    print(f"server restart: {result}")
    assert result.failure is None, result.failure
    assert result.recovery_s is not None
    assert not result.footprint.leaks, result.footprint


async def test_worker_killed_clients_see_agent_leave_and_other_worker_serves(
    livekit_server: LiveKitServer, log_dir: Path, room_name: str
) -> None:
    """A worker SIGKILLed mid-session: its job process dies with it, the user sees the agent leave (after
    livekit-server's connection timeout), and a new dispatch to the room goes to the other worker of that name."""
    agent_name = f"streaming-avatar-test-kill-{secrets.token_hex(3)}"
    first, second = await asyncio.gather(
        *(
            asyncio.to_thread(start_worker, livekit_server, log_dir, name=name, agent_name=agent_name)
            for name in ("kill-a", "kill-b")
        )
    )
    try:
        result = await worker_kill(livekit_server, (first, second), room_name)
    finally:
        first.stop()
        second.stop()
    print(f"worker kill: {result}")
    assert result.failure is None, result.failure
    assert not result.orphans, f"job processes left running: {result.orphans}"
    assert result.served_by_other
