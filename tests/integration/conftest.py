"""Fixtures of every test under tests/integration (e2e/ included): the real livekit-server, the real
worker (`python -m agent start`, offline profile), the web server and LiveKit SDK participants.

Each of these tests is marked `integration`. Server and worker logs go to test-logs/<run>/ and
are kept; a failing test gets their tails in its report.

Every worker and web server gets known fake provider keys; when the run ends, every file of
test-logs/<run>/ and everything pytest captured is scanned for them and for the LiveKit API
secret, and a find fails the run (naming file and line, never the secret).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from livekit import api, rtc

from support.paths import REPO
from support.secrets_scan import Leak, fake_provider_env, run_secrets, scan_log_dir, scan_texts
from support.stack import (
    LiveKitServer,
    StackError,
    WebServer,
    Worker,
    start_livekit_server,
    start_web_server,
    start_worker,
    tail,
)

LOG_DIR = REPO / "test-logs" / time.strftime("%Y%m%d-%H%M%S")
_LOGS: list[Path] = []
_SECRETS: dict[str, str] = {}
"""Filled when the session's livekit-server starts: what the end-of-run scan looks for."""
_CAPTURED_LEAKS: list[Leak] = []
P = TypeVar("P", LiveKitServer, Worker, WebServer)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of this directory `integration` (the hook sees every collected test)."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for path in _LOGS:
            report.sections.append((f"log {path}", tail(path)))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Scan what pytest captured of each test phase (log, stdout, stderr, failure text) as it is reported."""
    if not _SECRETS:
        return
    texts = [(f"{report.nodeid} {name}", text) for name, text in report.sections if name.endswith(report.when)]
    texts.append((f"{report.nodeid} ({report.when}) report", report.longreprtext))
    _CAPTURED_LEAKS.extend(scan_texts(texts, _SECRETS))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run if a secret appears in any log file of the run or in pytest's captured output."""
    if not _SECRETS:
        return
    leaks = _CAPTURED_LEAKS + (scan_log_dir(LOG_DIR, _SECRETS) if LOG_DIR.exists() else [])
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.section("secrets found", sep="!", red=True)
            for leak in leaks:
                reporter.line(str(leak), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _started(start: Callable[[], P]) -> P:
    """start() a stack process; a StackError fails the test, and the process's log joins failing reports."""
    try:
        process = start()
    except StackError as e:
        pytest.fail(str(e))
    _LOGS.append(process.log_path)
    return process


@pytest.fixture(scope="session")
def log_dir() -> Path:
    """This run's folder for logs and screenshots (kept after the run)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return LOG_DIR


@pytest.fixture(scope="session")
def livekit_server() -> Iterator[LiveKitServer]:
    server = _started(lambda: start_livekit_server(LOG_DIR))
    _SECRETS.update(run_secrets(server))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def uploads_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this run's web servers store uploaded avatars and its workers find them (one shared directory)."""
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="session")
def provider_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Known fake provider keys every worker and web server of the run gets (outside test-logs: the
    credentials file holds a fake private key the end-of-run scan looks for)."""
    return fake_provider_env(tmp_path_factory.mktemp("fake-credentials"))


@pytest.fixture(scope="session")
def launch_worker(livekit_server: LiveKitServer, uploads_dir: Path, provider_keys: dict[str, str]) -> Iterator:
    """launch_worker(name, extra_env=None) → a registered Worker (offline profile unless extra_env says
    otherwise; fake provider keys), stopped at session end."""
    workers: list[Worker] = []

    def _launch(name: str, extra_env: dict[str, str] | None = None) -> Worker:
        env = {**provider_keys, "STREAMING_AVATAR_UPLOADS_DIR": str(uploads_dir), **(extra_env or {})}
        w = _started(lambda: start_worker(livekit_server, LOG_DIR, name=name, extra_env=env))
        workers.append(w)
        return w

    yield _launch
    for w in workers:
        w.stop()


@pytest.fixture(scope="session")
def worker(launch_worker) -> Worker:
    return launch_worker("main")


@pytest.fixture(scope="session")
def launch_web_server(livekit_server: LiveKitServer, uploads_dir: Path, provider_keys: dict[str, str]) -> Iterator:
    """launch_web_server(name, agent_name, extra_env=None) → `python -m agent web`, stopped at session end.

    Every test's browser is 127.0.0.1, one client to the session limits, so they are raised unless a
    test sets them.
    """
    servers: list[WebServer] = []

    def _launch(name: str, agent_name: str, extra_env: dict[str, str] | None = None) -> WebServer:
        env = {
            **provider_keys,
            "STREAMING_AVATAR_WEB_MAX_SESSIONS_PER_CLIENT": "100",
            "STREAMING_AVATAR_WEB_MAX_SESSIONS": "100",
            "STREAMING_AVATAR_UPLOADS_DIR": str(uploads_dir),
        }
        env.update(extra_env or {})
        web = _started(
            lambda: start_web_server(livekit_server, LOG_DIR, agent_name=agent_name, name=name, extra_env=env)
        )
        servers.append(web)
        return web

    yield _launch
    for web in servers:
        web.stop()


@pytest.fixture(scope="session")
def web_server(launch_web_server, worker: Worker) -> WebServer:
    """The session API and page in front of the main worker."""
    return launch_web_server("web", worker.agent_name)


@pytest.fixture
def room_name(request: pytest.FixtureRequest) -> str:
    return f"{request.node.name[:40]}-{secrets.token_hex(3)}"


@pytest.fixture
async def connect(livekit_server: LiveKitServer) -> AsyncIterator:
    """connect(room, identity="user", room_config=None) → a connected rtc.Room, closed after the test."""
    rooms: list[rtc.Room] = []

    async def _connect(
        room: str, identity: str = "user", *, room_config: api.RoomConfiguration | None = None
    ) -> rtc.Room:
        r = rtc.Room()
        await r.connect(livekit_server.url, livekit_server.token(room, identity, room_config=room_config))
        rooms.append(r)
        return r

    yield _connect
    for r in rooms:
        await r.disconnect()
