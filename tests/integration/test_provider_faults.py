"""Provider faults (agent/faults.py wraps the real offline providers): each costs one turn, never the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.provider_faults import PROVIDER_FAULTS, provider_fault
from support.stack import Worker


@pytest.fixture(scope="module")
def faults_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults") / "faults.json"


@pytest.fixture(scope="module")
def faulty_worker(launch_worker, faults_file: Path) -> Worker:
    return launch_worker(
        "faults", {"STREAMING_AVATAR_FAULTS_FILE": str(faults_file), "STREAMING_AVATAR_LLM_TIMEOUT": "5"}
    )


@pytest.mark.parametrize(("kind", "fault"), list(PROVIDER_FAULTS), ids=[f"{k}-{f}" for k, f in PROVIDER_FAULTS])
async def test_provider_fault_costs_one_turn(
    livekit_server, faulty_worker: Worker, faults_file: Path, room_name: str, kind: str, fault: str
) -> None:
    outcome = await provider_fault(livekit_server, faulty_worker, faults_file, room_name, kind, fault)
    assert outcome.survived, outcome.problems
