"""Fixtures shared by the integration tests: the real livekit-server, the real
worker (`python -m agent start`, offline profile) and LiveKit SDK participants.

Server and worker logs go to test-logs/<session>/ and are kept; a failing test
prints their paths and tails.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from livekit import api, rtc

REPO = Path(__file__).resolve().parent.parent
SERVER_BIN = REPO / ".bin" / "livekit-server"
LOG_ROOT = REPO / "test-logs" / time.strftime("%Y%m%d-%H%M%S")

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def free_udp_range(size: int = 100) -> int:
    """First port of `size` consecutive free UDP ports."""
    for _ in range(50):
        start = 40000 + secrets.randbelow(20000 // size) * size
        try:
            socks = []
            for port in range(start, start + size):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return start
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free UDP port range")

@dataclass
class LiveKitServer:
    url: str
    http_url: str
    api_key: str
    api_secret: str
    log_path: Path

    def env(self) -> dict[str, str]:
        return {"LIVEKIT_URL": self.url, "LIVEKIT_API_KEY": self.api_key, "LIVEKIT_API_SECRET": self.api_secret}

    def token(self, room: str, identity: str, *, room_config: api.RoomConfiguration | None = None) -> str:
        token = (
            api.AccessToken(self.api_key, self.api_secret)
            .with_identity(identity)
            .with_grants(api.VideoGrants(room_join=True, room=room))
        )
        if room_config is not None:
            token = token.with_room_config(room_config)
        return token.to_jwt()

    def api(self) -> api.LiveKitAPI:
        return api.LiveKitAPI(self.http_url, self.api_key, self.api_secret)

@dataclass
class Worker:
    agent_name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

_LOGS: list[Path] = []

def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and _LOGS:
        for path in _LOGS:
            report.sections.append((f"log {path}", _tail(path)))

@pytest.fixture(scope="session")
def livekit_server() -> Iterator[LiveKitServer]:
    if not SERVER_BIN.exists():
        pytest.fail("livekit-server is not installed: run scripts/setup.sh")
    config = yaml.safe_load((REPO / "livekit.yaml").read_text())
    api_key, api_secret = next(iter(config["keys"].items()))
    port, tcp_port, udp_start = free_port(), free_port(), free_udp_range()
    LOG_ROOT.mkdir(parents=True, exist_ok=True)
    log_path = LOG_ROOT / "livekit-server.log"
    _LOGS.append(log_path)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(SERVER_BIN), "--config", str(REPO / "livekit.yaml"),
                "--port", str(port), "--rtc.tcp_port", str(tcp_port),
                "--rtc.port_range_start", str(udp_start), "--rtc.port_range_end", str(udp_start + 99),
            ],
            stdout=log, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"livekit-server did not start:\n{_tail(log_path)}")
            time.sleep(0.1)
    yield LiveKitServer(f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}", api_key, api_secret, log_path)
    proc.terminate()
    proc.wait(10)

def start_worker(
    server: LiveKitServer, *, name: str, extra_env: dict[str, str] | None = None, ready_timeout: float = 90
) -> Worker:
    """Start `python -m agent start` (offline profile) and wait until it registered."""
    agent_name = f"streaming-avatar-test-{name}-{secrets.token_hex(3)}"
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "ELEVEN_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS")}
    env.update(server.env())
    env.update(
        {
            "STREAMING_AVATAR_AGENT_NAME": agent_name,
            "STREAMING_AVATAR_VOICE_PROFILE": "offline",
            "STREAMING_AVATAR_HTTP_PORT": str(free_port()),
            "STREAMING_AVATAR_IDLE_PROCESSES": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env or {})
    log_path = LOG_ROOT / f"worker-{name}.log"
    _LOGS.append(log_path)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "start"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    worker = Worker(agent_name, proc, log_path, env)
    deadline = time.monotonic() + ready_timeout
    while "registered worker" not in worker.log_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            pytest.fail(f"worker did not register:\n{_tail(log_path)}")
        time.sleep(0.2)
    return worker

@pytest.fixture(scope="session")
def worker(livekit_server: LiveKitServer) -> Iterator[Worker]:
    w = start_worker(livekit_server, name="main")
    yield w
    w.stop()

@pytest.fixture
def room_name(request: pytest.FixtureRequest) -> str:
    return f"{request.node.name[:40]}-{secrets.token_hex(3)}"

@pytest.fixture
async def connect(livekit_server: LiveKitServer) -> AsyncIterator:
    """connect(room, identity, room_config=None) → a connected rtc.Room, closed after the test."""
    rooms: list[rtc.Room] = []

    async def _connect(room: str, identity: str = "user", *, room_config: api.RoomConfiguration | None = None) -> rtc.Room:
        r = rtc.Room()
        await r.connect(livekit_server.url, livekit_server.token(room, identity, room_config=room_config))
        rooms.append(r)
        return r

    yield _connect
    for r in rooms:
        await r.disconnect()
