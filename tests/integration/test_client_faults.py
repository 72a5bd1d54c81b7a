"""Client faults (issue 15, item 2): a user that vanishes, one that reconnects, two rooms at once."""

from __future__ import annotations

from support.client_faults import reconnecting_client, two_rooms, vanished_client
from support.stack import LiveKitServer, Worker


async def test_vanished_client_session_ends_and_frees_everything(
    livekit_server: LiveKitServer, worker: Worker, room_name: str
) -> None:
    """A user's process SIGKILLed mid-session: livekit-server drops it after its connection timeout, the
    session ends at once then, and the worker is back to its threads, fds and child processes of before.
    The session must end itself: livekit-server also closes the room 10 s later (its departure_timeout),
    which ends the job from outside ("parent process shutdown"), so leaving alone proves nothing."""
    result = await vanished_client(livekit_server, worker, room_name)
    print(f"vanished client: {result}")
    assert result.failure is None, result.failure
    assert result.ended_by is not None and result.ended_by.startswith("agent session closed"), result.ended_by
    assert not result.footprint.leaks, result.footprint


async def test_reconnecting_client_conversation_goes_on(
    livekit_server: LiveKitServer, worker: Worker, room_name: str
) -> None:
    """A second connection with the user's identity replaces the first: the same agent answers a typed
    message on it, and is still there after the departure grace (it ended the session at once before)."""
    result = await reconnecting_client(livekit_server, worker, room_name)
    print(f"reconnecting client: {result}")
    assert result.failure is None, result.failure
    assert result.same_agent, "the agent in the room is not the one of the session before the reconnection"
    assert result.stayed, "the session ended although its user came back"


async def test_two_rooms_at_once_never_cross(livekit_server: LiveKitServer, worker: Worker, room_name: str) -> None:
    """Two sessions on one worker: each room holds only its own job's agent and tracks, only its own
    transcripts, and its avatar's frames stay idle (per-frame metadata) while only the other one speaks."""
    result = await two_rooms(livekit_server, worker, room_name)
    print(f"two rooms: {result}")
    assert result.failure is None, result.failure
    assert not result.crossings, result.crossings
    assert all(n > 0 for n in result.idle_frames_checked.values()), result.idle_frames_checked
