"""GuardedLLM and the fault switch, on the real offline LLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from livekit.agents import APIConnectOptions, APIError, APITimeoutError, llm

from agent.faults import Faults, FaultSwitch, FaultyLLM
from agent.offline import ScriptedLLM
from agent.provider_guards import GuardedLLM

QUICK = APIConnectOptions(max_retry=0, retry_interval=0.01, timeout=1)


async def reply(model: llm.LLM, conn_options: APIConnectOptions = QUICK) -> str:
    ctx = llm.ChatContext()
    ctx.add_message(role="user", content="hello there")
    async with model.chat(chat_ctx=ctx, conn_options=conn_options) as stream:
        return "".join([chunk.delta.content or "" async for chunk in stream if chunk.delta])


def guarded(switch: FaultSwitch, timeout: float = 0.5) -> GuardedLLM:
    return GuardedLLM(FaultyLLM(ScriptedLLM(language="en"), switch), first_chunk_timeout=timeout)


async def test_no_fault_passes_the_reply_through(tmp_path: Path) -> None:
    assert "hello there" in await reply(guarded(FaultSwitch(tmp_path / "absent.json")))


@pytest.mark.parametrize(
    ("fault", "error"), [("hang", APITimeoutError), ("empty", APIError), ("raise", APIError)], ids=str
)
async def test_a_fault_becomes_an_error_the_session_reports(tmp_path: Path, fault: str, error: type) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"llm": fault}))
    with pytest.raises(error):
        await reply(guarded(FaultSwitch(path)))
    path.write_text("")
    assert "hello there" in await reply(guarded(FaultSwitch(path)))


@pytest.mark.parametrize("text", ["{not json", '{"llm": "explode"}', '{"gpu": "raise"}', "[]"])
def test_a_bad_faults_file_means_no_fault(tmp_path: Path, text: str) -> None:
    path = tmp_path / "faults.json"
    path.write_text(text)
    assert FaultSwitch(path).read() == Faults()
