"""`python -m agent dispatch|token|schema` against the real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from livekit import api

from support.paths import REPO
from support.rooms import agent_participant, wait_for
from support.stack import LiveKitServer


def run_agent_cli(
    server: LiveKitServer, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **server.env(), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=60
    )


def test_token_embeds_dispatch_and_hides_secret(livekit_server) -> None:
    out = run_agent_cli(
        livekit_server,
        "token",
        "--room",
        "r1",
        "--identity",
        "bob",
        "--dispatch",
        "--metadata",
        '{"language":"en"}',
        env={"STREAMING_AVATAR_AGENT_NAME": "my-agent"},
    )
    assert out.returncode == 0, out.stderr
    assert livekit_server.api_secret not in out.stdout + out.stderr
    claims = api.TokenVerifier(livekit_server.api_key, livekit_server.api_secret).verify(out.stdout.strip())
    assert claims.identity == "bob" and claims.video.room == "r1" and claims.video.room_join
    assert claims.room_config.agents[0].agent_name == "my-agent"
    assert json.loads(claims.room_config.agents[0].metadata) == {"language": "en"}


def test_cli_rejects_bad_metadata_and_missing_credentials(livekit_server) -> None:
    bad = run_agent_cli(livekit_server, "token", "--room", "r", "--identity", "i", "--dispatch", "--metadata", "{x")
    assert bad.returncode != 0 and "not valid JSON" in bad.stderr
    no_env = run_agent_cli(livekit_server, "dispatch", "--room", "r", env={"LIVEKIT_API_SECRET": ""})
    assert no_env.returncode != 0 and "LIVEKIT_API_SECRET" in no_env.stderr


async def test_dispatch_command_brings_the_agent(livekit_server, worker, connect, room_name) -> None:
    room = await connect(room_name)
    out = run_agent_cli(
        livekit_server,
        "dispatch",
        "--room",
        room_name,
        "--metadata",
        '{"language":"en"}',
        env={"STREAMING_AVATAR_AGENT_NAME": worker.agent_name},
    )
    assert out.returncode == 0, out.stderr
    assert livekit_server.api_secret not in out.stdout + out.stderr
    assert json.loads(out.stdout)["room"] == room_name
    await wait_for(lambda: agent_participant(room), what="agent dispatched by the CLI")
