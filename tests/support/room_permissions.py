"""Who may call the agent's session RPCs (`interrupt`, `end_session`): a scenario against the real server.

Plain functions (no pytest), so bench/ runs exactly what the tests run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from livekit import api, rtc
from livekit.agents.types import ATTRIBUTE_PUBLISH_ON_BEHALF

from .rooms import agent_participant, wait_for
from .stack import LiveKitServer

SESSION_RPCS = ("interrupt", "end_session")


@dataclass
class RpcPermissions:
    refused: dict[str, str] = field(default_factory=dict)
    """"<caller> <method>" → the RpcError message, for each call the agent refused."""
    honoured: dict[str, str] = field(default_factory=dict)
    """"<caller> <method>" → the response, for each call the agent answered."""
    agent_stayed: bool = False
    """The agent was still in the room after every refused end_session."""
    agent_left: bool = False
    """The agent left after the user's end_session."""


def _token(server: LiveKitServer, room: str, identity: str, *, agent: bool, attributes: dict[str, str]) -> str:
    token = (
        api.AccessToken(server.api_key, server.api_secret)
        .with_identity(identity)
        .with_attributes(attributes)
        .with_grants(api.VideoGrants(room_join=True, room=room, agent=agent))
    )
    return (token.with_kind("agent") if agent else token).to_jwt()


async def _call(caller: rtc.Room, name: str, agent_identity: str, method: str, result: RpcPermissions) -> None:
    try:
        response = await caller.local_participant.perform_rpc(
            destination_identity=agent_identity, method=method, payload=""
        )
    except rtc.RpcError as e:
        result.refused[f"{name} {method}"] = e.message
    else:
        result.honoured[f"{name} {method}"] = response


async def check_rpc_permissions(
    server: LiveKitServer, agent_name: str, room_name: str, *, timeout: float = 120
) -> RpcPermissions:
    """In one session: another agent and a participant publishing on behalf of the avatar agent call both
    session RPCs, then the user does (end_session last)."""
    result = RpcPermissions()
    rooms: list[rtc.Room] = []

    async def join(identity: str, *, agent: bool = False, attributes: dict[str, str] | None = None) -> rtc.Room:
        room = rtc.Room()
        rooms.append(room)
        await room.connect(server.url, _token(server, room_name, identity, agent=agent, attributes=attributes or {}))
        return room

    try:
        user = await join("user")
        await server.dispatch(agent_name, room_name)
        avatar = await wait_for(lambda: agent_participant(user), timeout, what="agent participant")
        await wait_for(lambda: avatar.attributes.get("lk.agent.state") == "listening", timeout, what="agent listening")
        intruders = {
            "other-agent": await join("other-agent", agent=True),
            "on-behalf": await join("render-worker", attributes={ATTRIBUTE_PUBLISH_ON_BEHALF: avatar.identity}),
        }
        for name, caller in intruders.items():
            await wait_for(lambda c=caller: avatar.identity in c.remote_participants, timeout, what=f"{name} joined")
            await wait_for(
                lambda c=caller: c.local_participant.identity in user.remote_participants, timeout, what="seen"
            )
            for method in SESSION_RPCS:
                await _call(caller, name, avatar.identity, method, result)
        result.agent_stayed = avatar.identity in user.remote_participants
        for method in SESSION_RPCS:
            await _call(user, "user", avatar.identity, method, result)
        await wait_for(lambda: avatar.identity not in user.remote_participants, timeout, what="the agent leaving")
        result.agent_left = True
    finally:
        for room in rooms:
            await room.disconnect()
    return result
