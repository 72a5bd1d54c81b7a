"""Start the real stack for tests and benchmarks: livekit-server and the worker.

Plain functions (no pytest) so bench/ scripts use exactly what the tests use.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from livekit import api

from .paths import REPO

SERVER_BIN = REPO / ".bin" / "livekit-server"
CLOUD_KEYS = ("GOOGLE_API_KEY", "ELEVEN_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS")


class StackError(RuntimeError):
    pass


# Below Linux's ephemeral range (32768-60999), so outgoing connections never take our ports.
TCP_PORTS = range(20000, 32000)
UDP_PORTS = range(10000, 20000)


def free_port() -> int:
    for _ in range(100):
        port = TCP_PORTS.start + secrets.randbelow(len(TCP_PORTS))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise StackError("no free TCP port")


def free_udp_range(size: int = 100) -> int:
    """First port of `size` consecutive free UDP ports."""
    for _ in range(50):
        start = UDP_PORTS.start + secrets.randbelow(len(UDP_PORTS) // size) * size
        socks: list[socket.socket] = []
        try:
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
    raise StackError("no free UDP port range")


def terminate(process: subprocess.Popen[bytes], timeout: float) -> int:
    """SIGTERM, then SIGKILL if it has not exited after `timeout` s (livekit-server and the worker drain first)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def wait_for_port(port: int, process: subprocess.Popen[bytes], log_path: Path, what: str, timeout: float) -> None:
    """Until something accepts connections on 127.0.0.1:`port`; StackError if `process` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                terminate(process, 5)
                raise StackError(f"{what} did not start:\n{tail(log_path)}") from None
            time.sleep(0.1)


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass(frozen=True)
class ServerPorts:
    port: int
    tcp_port: int
    udp_start: int


@dataclass
class LiveKitServer:
    url: str
    http_url: str
    api_key: str
    api_secret: str
    log_path: Path
    process: subprocess.Popen[bytes]
    ports: ServerPorts

    def env(self) -> dict[str, str]:
        return {"LIVEKIT_URL": self.url, "LIVEKIT_API_KEY": self.api_key, "LIVEKIT_API_SECRET": self.api_secret}

    def token(
        self, room: str, identity: str, *, room_config: api.RoomConfiguration | None = None, kind: str = "standard"
    ) -> str:
        """A join token; kind="agent" joins as an agent participant."""
        token = (
            api.AccessToken(self.api_key, self.api_secret)
            .with_identity(identity)
            .with_kind(kind)  # type: ignore[arg-type]
            .with_grants(api.VideoGrants(room_join=True, room=room))
        )
        if room_config is not None:
            token = token.with_room_config(room_config)
        return token.to_jwt()

    def api(self) -> api.LiveKitAPI:
        return api.LiveKitAPI(self.http_url, self.api_key, self.api_secret)

    async def dispatch(self, agent_name: str, room: str, metadata: str = "") -> None:
        """Explicit agent dispatch through the server API."""
        async with self.api() as lkapi:
            await lkapi.agent_dispatch.create_dispatch(
                api.CreateAgentDispatchRequest(agent_name=agent_name, room=room, metadata=metadata)
            )

    def stop(self) -> None:
        terminate(self.process, 10)

    def kill(self) -> None:
        """SIGKILL: no drain, no goodbye to anyone connected (a crashed or lost server)."""
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        """A fresh server on the same ports (and log, appended); returns once it accepts connections.

        It knows nothing of the rooms of the one before: without Redis, their state died with it.
        """
        self.process = _launch_server(self.ports, self.log_path)


@dataclass
class Worker:
    agent_name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int:
        return terminate(self.process, timeout)


def start_livekit_server(log_dir: Path) -> LiveKitServer:
    """livekit.yaml on free loopback ports; returns once it accepts connections."""
    config = yaml.safe_load((REPO / "livekit.yaml").read_text())
    api_key, api_secret = next(iter(config["keys"].items()))
    ports = ServerPorts(free_port(), free_port(), free_udp_range())
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "livekit-server.log"
    proc = _launch_server(ports, log_path)
    url = f"127.0.0.1:{ports.port}"
    return LiveKitServer(f"ws://{url}", f"http://{url}", api_key, api_secret, log_path, proc, ports)


def _launch_server(ports: ServerPorts, log_path: Path) -> subprocess.Popen[bytes]:
    if not SERVER_BIN.exists():
        raise StackError("livekit-server is not installed: run scripts/setup.sh")
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                str(SERVER_BIN),
                "--config",
                str(REPO / "livekit.yaml"),
                "--port",
                str(ports.port),
                "--rtc.tcp_port",
                str(ports.tcp_port),
                "--rtc.port_range_start",
                str(ports.udp_start),
                "--rtc.port_range_end",
                str(ports.udp_start + 99),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    wait_for_port(ports.port, proc, log_path, "livekit-server", 20)
    return proc


def start_worker(
    server: LiveKitServer,
    log_dir: Path,
    *,
    name: str,
    agent_name: str | None = None,
    extra_env: dict[str, str] | None = None,
    ready_timeout: float = 180,
) -> Worker:
    """`python -m agent start` with the offline profile; returns once it registered.

    The wait is long because a worker started while others render (the scaling test starts
    its third worker beside four live avatar sessions on two cores) took 50 s to import and
    35 s more to prewarm in one CI run. Workers given the same `agent_name` share its dispatches.
    """
    agent_name = agent_name or f"streaming-avatar-test-{name}-{secrets.token_hex(3)}"
    env = {k: v for k, v in os.environ.items() if k not in CLOUD_KEYS}
    env.update(server.env())
    env.update(
        {
            "STREAMING_AVATAR_AGENT_NAME": agent_name,
            "STREAMING_AVATAR_VOICE_PROFILE": "offline",
            "STREAMING_AVATAR_HTTP_PORT": "0",
            "STREAMING_AVATAR_IDLE_PROCESSES": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env or {})
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"worker-{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "start"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    worker = Worker(agent_name, proc, log_path)
    deadline = time.monotonic() + ready_timeout
    while "registered worker" not in worker.log_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            raise StackError(f"worker did not register:\n{tail(log_path)}")
        time.sleep(0.2)
    return worker


@dataclass
class WebServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        terminate(self.process, 10)


def start_web_server(
    server: LiveKitServer, log_dir: Path, *, agent_name: str, name: str = "web", extra_env: dict[str, str] | None = None
) -> WebServer:
    """`python -m agent web` on a free loopback port; returns once /healthz answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLOUD_KEYS}
    env.update(server.env())
    env.update({"STREAMING_AVATAR_AGENT_NAME": agent_name, "PYTHONUNBUFFERED": "1"})
    env.update(extra_env or {})
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "web", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    wait_for_port(port, proc, log_path, "the web server", 30)
    return WebServer(f"http://127.0.0.1:{port}", proc, log_path)
