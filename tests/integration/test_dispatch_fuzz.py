"""Fuzzed dispatch metadata through real dispatches (issue 15, item 6): every job starts, every problem is a notice.

The cases are the parser fuzz's strategies (tests/support/metadata_strategies.py) drawn with a fixed
seed, so every run dispatches the same ones; bench/reliability.py runs many more of them.
"""

from __future__ import annotations

from support.dispatch_fuzz import run_dispatch_fuzz

CASES = 10


async def test_fuzzed_metadata_starts_every_job_and_tells_the_room(livekit_server, worker) -> None:
    result = await run_dispatch_fuzz(livekit_server, worker, count=CASES)

    assert result.tried == CASES
    assert not result.failures, [(case.metadata, case.error, case.missing) for case in result.failures]
    assert not result.our_tracebacks, result.our_tracebacks[0]
