"""Bad dispatch metadata never stops a job: defaults are used and the room is told why."""

from __future__ import annotations

import json

import pytest

from agent.metadata import MAX_METADATA_BYTES
from agent.room_notices import NOTICES_ATTRIBUTE
from support.rooms import agent_participant, wait_for

BAD_METADATA = {
    "not_json": ("{avatar: default", "not valid JSON"),
    "wrong_types": (json.dumps({"language": 42, "tts_provider": "acme"}), "field 'language' is invalid"),
    "unknown_avatar": (json.dumps({"avatar": "nobody-here"}), "unknown avatar 'nobody-here'"),
    "path_traversal": (json.dumps({"avatar": "../../etc"}), "field 'avatar' is invalid"),
    "too_large": (json.dumps({"instructions": "x" * (MAX_METADATA_BYTES + 10)}), "larger than"),
}


@pytest.mark.parametrize("case", sorted(BAD_METADATA))
async def test_bad_metadata_runs_with_defaults_and_tells_room(livekit_server, worker, connect, room_name, case) -> None:
    metadata, expected = BAD_METADATA[case]
    room = await connect(room_name)
    await livekit_server.dispatch(worker.agent_name, room_name, metadata)
    agent = await wait_for(lambda: agent_participant(room), what="agent participant")
    notices_raw = await wait_for(lambda: agent.attributes.get(NOTICES_ATTRIBUTE), what="notices attribute")
    notices = json.loads(notices_raw)
    assert any(expected in n for n in notices), notices
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", what="agent listening")
