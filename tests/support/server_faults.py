"""Server-side faults against the real stack: livekit-server killed and restarted, a worker killed.

Plain async scenarios (no pytest) shared by tests/integration/test_server_faults.py and the
reliability benchmark. Each returns what happened; the caller decides what is acceptable.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import psutil
from livekit import rtc

from .footprint import Footprint
from .rooms import agent_participant, wait_for
from .sessions import EN, job_of, reply_to, serve
from .stack import LiveKitServer, Worker
from .voice_client import AgentObserver


def registrations(worker: Worker) -> int:
    return worker.log_text().count('"registered worker"')


@dataclass
class ServerRestart:
    footprint: Footprint
    down_s: float
    """How long the server was down (kill → restarted server accepting connections)."""
    registered_s: float | None = None
    """Restarted server accepting → the worker registered again."""
    recovery_s: float | None = None
    """Restarted server accepting → the agent of a dispatch made once the worker registered is listening."""
    from_kill_s: float | None = None
    """Kill → that agent listening."""
    resumed_s: float | None = None
    """Restarted server accepting → the cut session's agent answers its user again (both reconnected)."""
    failure: str | None = None

    @property
    def survived(self) -> bool:
        return self.failure is None and self.recovery_s is not None and not self.footprint.leaks


async def server_restart(
    server: LiveKitServer, worker: Worker, room_name: str, *, down_s: float = 1.0, timeout: float = 60
) -> ServerRestart:
    """SIGKILL livekit-server mid-session and restart it on the same ports after `down_s` s.

    Then: the cut session should go on (the SDKs rejoin the room the new server recreates) and the
    worker should register again and serve a new dispatch. A dispatch made before the worker has
    registered again is dropped by livekit-server ("no worker available"), so it waits for that.
    `server` must be this scenario's own: every room and connection on it dies.
    """
    footprint = Footprint.of(worker)
    before = registrations(worker)
    user, agent = await serve(server, worker.agent_name, f"{room_name}-cut", timeout)
    observer = AgentObserver(user)
    killed_at = time.monotonic()
    server.kill()
    await asyncio.sleep(down_s)
    await asyncio.to_thread(server.restart)
    up_at = time.monotonic()
    result = ServerRestart(footprint, down_s=up_at - killed_at)
    second: rtc.Room | None = None
    try:
        await wait_for(lambda: registrations(worker) > before, timeout=timeout, interval=0.1, what="re-registration")
        result.registered_s = time.monotonic() - up_at
        second, _ = await serve(server, worker.agent_name, f"{room_name}-after", timeout)
        result.recovery_s = time.monotonic() - up_at
        result.from_kill_s = time.monotonic() - killed_at
        await answered_after_reconnection(observer, agent, timeout)
        result.resumed_s = time.monotonic() - up_at
    except AssertionError as e:
        result.failure = str(e)
    finally:
        observer.close()
        await user.disconnect()
        if second is not None:
            await second.disconnect()
    await footprint.settle(worker, timeout)
    return result


async def answered_after_reconnection(observer: AgentObserver, agent: rtc.Participant, timeout: float) -> None:
    """Type until the agent answers: a message that reaches the agent before its rebuilt connection
    sees the user again is dropped by RoomIO ("participant not found, ignoring text input")."""
    deadline = time.monotonic() + timeout
    await wait_for(lambda: agent.identity in observer.room.remote_participants, timeout=timeout, what="the agent back")
    while True:
        try:
            await reply_to(observer, agent, "after the restart", min(5.0, deadline - time.monotonic()))
            return
        except AssertionError:
            if time.monotonic() >= deadline:
                raise


def alive(pids: list[int]) -> list[psutil.Process]:
    found = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.NoSuchProcess:
            continue
    return found


@dataclass
class WorkerKill:
    agent_left_s: float | None = None
    """SIGKILL of the worker serving the room → its agent gone from the room (the client's view)."""
    orphans: list[int] = field(default_factory=list)
    """Job processes of the killed worker still alive after the agent left."""
    redispatch_s: float | None = None
    """New dispatch → the other worker's agent listening in the room."""
    served_by_other: bool = False
    failure: str | None = None

    @property
    def survived(self) -> bool:
        return self.failure is None and self.served_by_other and not self.orphans


async def worker_kill(
    server: LiveKitServer, workers: tuple[Worker, Worker], room_name: str, *, timeout: float = 60
) -> WorkerKill:
    """Two workers share an agent name; SIGKILL the one serving the room, then dispatch again to the room."""
    result = WorkerKill()
    user, agent = await serve(server, workers[0].agent_name, room_name, timeout)
    try:
        victim, other = workers if job_of(workers[0], room_name) else workers[::-1]
        tree = [victim.process.pid, *(c.pid for c in psutil.Process(victim.process.pid).children(recursive=True))]
        killed_at = time.monotonic()
        victim.process.kill()
        victim.process.wait()
        await wait_for(
            lambda: agent.identity not in user.remote_participants, timeout=timeout, what="the agent to leave"
        )
        result.agent_left_s = time.monotonic() - killed_at
        result.orphans = [p.pid for p in alive(tree)]
        for orphan in alive(tree):
            orphan.kill()

        dispatched_at = time.monotonic()
        await server.dispatch(other.agent_name, room_name, EN)
        new_agent = await wait_for(lambda: agent_participant(user), timeout=timeout, what="a new agent")
        await wait_for(
            lambda: new_agent.attributes.get("lk.agent.state") == "listening", timeout=timeout, what="listening"
        )
        result.redispatch_s = time.monotonic() - dispatched_at
        result.served_by_other = job_of(other, room_name) is not None
    except AssertionError as e:
        result.failure = str(e)
    finally:
        await user.disconnect()
    return result
