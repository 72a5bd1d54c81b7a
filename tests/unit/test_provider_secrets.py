"""The cloud voice profile with (fake) provider keys: choosing and building the providers puts no key in
the room's notices or in a log record, whichever keys are missing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from livekit.plugins import silero

from agent import providers
from agent.config import WorkerSettings
from agent.metadata import DispatchMetadata
from support.secrets_scan import FAKE_PROVIDER_SECRETS, fake_provider_env, scan_texts

KEYS = [providers.GEMINI_KEY, providers.ELEVENLABS_KEY, providers.GOOGLE_CLOUD_CREDENTIALS]
VAD = silero.VAD.load()


@pytest.mark.parametrize("missing", [None, *KEYS])
@pytest.mark.parametrize("tts_provider", ["google", "elevenlabs"])
def test_cloud_plan_and_providers_show_no_key(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    missing: str | None,
    tts_provider: str,
) -> None:
    for name, value in fake_provider_env(tmp_path).items():
        if name == missing:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("STREAMING_AVATAR_VOICE_PROFILE", "cloud")
    monkeypatch.setenv("STREAMING_AVATAR_STT_PROVIDER", "google")
    caplog.set_level(logging.DEBUG)
    settings = WorkerSettings.from_env()
    metadata = DispatchMetadata(tts_provider=tts_provider)  # type: ignore[arg-type]

    plan = providers.plan_voice_pipeline(settings, metadata)
    built = [
        providers.build_stt(plan, settings, metadata, whisper_model_dir="/models/whisper-small", vad=VAD),
        providers.build_llm(plan, settings, metadata),
        providers.build_tts(plan, metadata, voices={}),
    ]

    assert plan.tts[0] == tts_provider or missing is not None
    texts = [("notice", notice) for notice in plan.notices]
    texts += [(f"log record {r.name}", r.getMessage()) for r in caplog.records]
    texts += [(f"repr of {type(b).__name__}", repr(b)) for b in built]
    assert scan_texts(texts, FAKE_PROVIDER_SECRETS) == []
