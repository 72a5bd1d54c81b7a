"""What room participants can do to a running session besides talking and typing.

- RPC `interrupt`: stop the avatar's current speech now.
- RPC `end_session`: end the session; the agent leaves.
- The session ends when the last human leaves. When the human the session
  listens to leaves while others stay, it listens to another one of them.
- A human who may come back (replaced by a new connection of the same identity,
  or gone while our own connection was rebuilt after a server restart) gets
  `departure_grace` seconds to do so before the session ends. One who left,
  was removed, or whose connection the server timed out is gone at once.

The default of LiveKit's RoomIO, closing when the *linked* participant leaves,
is turned off in the entrypoint (`close_on_disconnect=False`) for this.

Who may call the RPCs: LiveKit delivers an RPC only between participants of the
same room, and the caller identity the agent sees is the one the server stamped
from the caller's join token, so a caller is always someone admitted to this
room. On top of that, both RPCs are honoured only from the people the session
serves (`humans`): another agent in the room, or a participant publishing on
behalf of this agent (a remote render worker), gets an RpcError and nothing
changes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents.job import DEFAULT_PARTICIPANT_KINDS
from livekit.agents.types import ATTRIBUTE_PUBLISH_ON_BEHALF

INTERRUPT_RPC = "interrupt"
END_SESSION_RPC = "end_session"
CALLER_WAIT_S = 2.0
GONE_FOR_GOOD = frozenset(
    {
        rtc.DisconnectReason.CLIENT_INITIATED,
        rtc.DisconnectReason.PARTICIPANT_REMOVED,
        # livekit-server already waited ~20 s for the lost connection to resume (measured in
        # tests/integration/test_client_faults.py); more waiting only keeps an avatar rendering for nobody
        rtc.DisconnectReason.CONNECTION_TIMEOUT,
    }
)

logger = logging.getLogger("streaming-avatar")


def is_human(room: rtc.Room, participant: rtc.RemoteParticipant) -> bool:
    """A participant the session talks with: not an agent, nor publishing on behalf of this agent."""
    own_identity = room.local_participant.identity
    return (
        participant.kind in DEFAULT_PARTICIPANT_KINDS
        and participant.attributes.get(ATTRIBUTE_PUBLISH_ON_BEHALF) != own_identity
    )


def humans(room: rtc.Room) -> list[rtc.RemoteParticipant]:
    return [p for p in room.remote_participants.values() if is_human(room, p)]


async def check_caller(room: rtc.Room, data: rtc.RpcInvocationData) -> None:
    """RpcError unless the caller is one of the people the session serves.

    A caller who has just joined may call before this side has heard of them joining: they get
    `CALLER_WAIT_S` to show up.
    """
    caller = room.remote_participants.get(data.caller_identity)
    deadline = time.monotonic() + CALLER_WAIT_S
    while caller is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        caller = room.remote_participants.get(data.caller_identity)
    if caller is None or not is_human(room, caller):
        logger.warning("refused RPC %s", data.method, extra={"caller": data.caller_identity})
        raise rtc.RpcError(
            rtc.RpcError.ErrorCode.APPLICATION_ERROR,
            f"{data.method} is only for the people this avatar talks with, not for {data.caller_identity!r} "
            "(another agent, or a participant publishing for this one)",
        )


def install_room_controls(room: rtc.Room, session: AgentSession[Any], *, departure_grace: float) -> None:
    ending: asyncio.TimerHandle | None = None

    async def interrupt(data: rtc.RpcInvocationData) -> str:
        await check_caller(room, data)
        try:
            await session.interrupt(force=True)
        except RuntimeError as e:
            raise rtc.RpcError(rtc.RpcError.ErrorCode.APPLICATION_ERROR, f"cannot interrupt: {e}") from e
        logger.info("interrupted by RPC", extra={"caller": data.caller_identity})
        return json.dumps({"interrupted": True})

    async def end_session(data: rtc.RpcInvocationData) -> str:
        await check_caller(room, data)
        logger.info("session ended by RPC", extra={"caller": data.caller_identity})
        asyncio.get_running_loop().call_soon(lambda: session.shutdown(drain=False))
        return json.dumps({"ending": True})

    def end_if_alone() -> None:
        nonlocal ending
        ending = None
        if not humans(room):
            logger.info("nobody came back within %.0f s; ending the session", departure_grace)
            session.shutdown(drain=False)

    def on_participant_disconnected(participant: rtc.RemoteParticipant) -> None:
        nonlocal ending
        remaining = humans(room)
        if not remaining:
            reason = rtc.DisconnectReason.Name(participant.disconnect_reason or rtc.DisconnectReason.UNKNOWN_REASON)
            extra = {"participant": participant.identity, "reason": reason}
            if participant.disconnect_reason in GONE_FOR_GOOD:
                logger.info("last participant left; ending the session", extra=extra)
                session.shutdown(drain=False)
            elif ending is None:
                logger.info(
                    "last participant lost; waiting %.0f s for someone to come back", departure_grace, extra=extra
                )
                ending = asyncio.get_running_loop().call_later(departure_grace, end_if_alone)
            return
        linked = session.room_io.linked_participant
        if linked is None or linked.identity == participant.identity:
            session.room_io.set_participant(remaining[0].identity)

    def on_participant_connected(participant: rtc.RemoteParticipant) -> None:
        nonlocal ending
        if ending is not None and participant.identity in {p.identity for p in humans(room)}:
            logger.info("participant back; the session goes on", extra={"participant": participant.identity})
            ending.cancel()
            ending = None

    def on_close(_event: object) -> None:
        if ending is not None:
            ending.cancel()

    room.local_participant.register_rpc_method(INTERRUPT_RPC, interrupt)
    room.local_participant.register_rpc_method(END_SESSION_RPC, end_session)
    room.on("participant_disconnected", on_participant_disconnected)
    room.on("participant_connected", on_participant_connected)
    session.on("close", on_close)
