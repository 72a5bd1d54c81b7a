"""Render and encode faults mid-session: the voice goes on, the room is told, other sessions are untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.render_faults import (
    EngineFaults,
    cache_lost_mid_session,
    cache_unwritable,
    encoder_fault,
    engine_fault,
    register_faulty_engine,
)


@pytest.fixture(scope="module")
def engine_faults() -> EngineFaults:
    return register_faulty_engine()


@pytest.mark.parametrize("fault", ["raise", "slow"])
async def test_engine_fault_leaves_a_still_face_that_speaks(
    livekit_server, engine_faults: EngineFaults, room_name: str, tmp_path: Path, fault: str
) -> None:
    outcome = await engine_fault(livekit_server, engine_faults, room_name, tmp_path, fault)
    assert outcome.survived, outcome.problems
    expected = "failed" if fault == "raise" else "too slow"
    assert any(expected in notice and "voice goes on" in notice for notice in outcome.notices), outcome.notices


async def test_encoder_failure_opens_another_encoder(livekit_server, room_name: str, tmp_path: Path) -> None:
    outcome = await encoder_fault(livekit_server, room_name, tmp_path)
    assert outcome.survived, outcome.problems
    assert any("continuing with x264" in notice for notice in outcome.notices), outcome.notices


async def test_cache_deleted_or_corrupted_mid_session(livekit_server, room_name: str, tmp_path: Path) -> None:
    outcome = await cache_lost_mid_session(livekit_server, room_name, tmp_path)
    assert outcome.survived, outcome.problems


async def test_unwritable_cache_directory(livekit_server, room_name: str, tmp_path: Path) -> None:
    outcome = await cache_unwritable(livekit_server, room_name, tmp_path)
    assert outcome.survived, outcome.problems
