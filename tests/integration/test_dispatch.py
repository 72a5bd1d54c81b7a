"""The worker joins rooms on dispatch: explicit API dispatch and token room configuration."""

from __future__ import annotations

from livekit import api, rtc

from support.rooms import agent_participant, wait_for


async def test_explicit_dispatch_joins_with_agent_state(livekit_server, worker, connect, room_name) -> None:
    room = await connect(room_name)
    await livekit_server.dispatch(worker.agent_name, room_name)
    agent = await wait_for(lambda: agent_participant(room), what="agent participant")
    state = await wait_for(lambda: agent.attributes.get("lk.agent.state"), what="lk.agent.state attribute")
    assert state in {"initializing", "listening", "thinking", "speaking", "idle"}


async def test_token_room_config_dispatches_agent(livekit_server, worker, connect, room_name) -> None:
    config = api.RoomConfiguration(agents=[api.RoomAgentDispatch(agent_name=worker.agent_name)])
    room = await connect(room_name, room_config=config)
    agent = await wait_for(lambda: agent_participant(room), what="agent dispatched by token")
    assert agent.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT


async def test_no_dispatch_means_no_agent(worker, connect, room_name) -> None:
    """agent_name is set, so the worker is never dispatched automatically."""
    room = await connect(room_name)
    try:
        await wait_for(lambda: agent_participant(room), timeout=3, what="an agent")
    except AssertionError:
        return
    raise AssertionError("an agent joined a room nobody dispatched it to")
