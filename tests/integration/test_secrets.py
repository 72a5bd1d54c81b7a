"""No secret reaches a room: the LiveKit API secret and the (fake) provider keys every worker of the run
has are looked for in everything a user receives. Log files and pytest's captured output of the whole run
are scanned when it ends (tests/integration/conftest.py)."""

from __future__ import annotations

import json

from support.secrets_scan import run_secrets, scan_conversation


async def test_conversation_sends_no_secret(livekit_server, worker, room_name) -> None:
    scan = await scan_conversation(livekit_server, worker.agent_name, room_name, run_secrets(livekit_server))
    assert len(scan.replies) >= 2, scan.replies
    assert scan.leaks == []


async def test_room_scan_finds_what_the_agent_repeats(livekit_server, worker, room_name) -> None:
    """The check can fail: a canary typed by the user comes back in the agent's transcript and is found."""
    canary = "canary-not-a-secret-31f7"
    scan = await scan_conversation(
        livekit_server, worker.agent_name, room_name, {"canary": canary}, chat=[f"say {canary}"]
    )
    assert [leak.secret for leak in scan.leaks] and {leak.secret for leak in scan.leaks} == {"canary"}
    assert any("lk.transcription" in leak.where for leak in scan.leaks), scan.leaks


async def test_bad_metadata_notices_send_no_secret(livekit_server, worker, room_name) -> None:
    metadata = json.dumps({"tts_provider": "acme", "language": 42, "voice": "?", "stt_provider": "google"})
    scan = await scan_conversation(
        livekit_server, worker.agent_name, room_name, run_secrets(livekit_server), metadata=metadata, chat=["hi"]
    )
    assert any("tts_provider" in notice for notice in scan.notices), scan.notices
    assert scan.leaks == []


async def test_cloud_profile_with_fake_keys_sends_no_secret(livekit_server, launch_worker, room_name) -> None:
    """Every cloud provider is configured with a fake key and fails (no network, bad key): the session falls
    back to the offline ones, and neither the room nor the logs (scanned at the end of the run) get a key."""
    cloud = launch_worker("cloud", {"STREAMING_AVATAR_VOICE_PROFILE": "cloud"})
    scan = await scan_conversation(
        livekit_server,
        cloud.agent_name,
        room_name,
        run_secrets(livekit_server),
        metadata=json.dumps({"tts_provider": "elevenlabs"}),
        chat=["what is the weather"],
        timeout=240,
    )
    assert scan.replies, scan
    assert scan.leaks == []
