"""Short versions of the soak figures (bench/reliability.py runs them long): interruptions in a row, and a
conversation with no turn stuck and its speech frames delivered. The A/V drift is measured by the bench
only: over half a minute its few replies' offsets are too few to tell drift from a loaded machine's jitter."""

from __future__ import annotations

from support.soak import conversation_soak, interruption_streak
from support.stack import Worker


async def test_interruptions_in_a_row_each_followed_by_a_full_reply(livekit_server, worker: Worker, room_name) -> None:
    outcome = await interruption_streak(livekit_server, worker, room_name, count=3)
    assert outcome.problems == []
    assert (outcome.interrupted, outcome.replied) == (3, 3)


async def test_a_conversation_keeps_sync_and_frames(livekit_server, worker: Worker, room_name) -> None:
    outcome = await conversation_soak(livekit_server, worker, room_name, minutes=0.5)
    assert outcome.stuck_turns == 0, outcome.problems
    assert outcome.turns >= 4 and len(outcome.offsets_ms) >= outcome.turns - 1, outcome
    # The bench reports the real figure (target ≥ 99 %); on a loaded 2-core machine a few frames go late.
    assert outcome.frames_delivered_pct >= 90, outcome
