"""Choosing and building the voice pipeline (STT, LLM, TTS) for one session.

Choosing is separate from building so the choice can be tested without a
network: `plan_voice_pipeline` looks only at settings, metadata and which keys
exist; `build_*` turn a plan into provider objects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from livekit.agents import llm, tts

from .config import WorkerSettings
from .metadata import DispatchMetadata
from .offline import EspeakTTS, ScriptedLLM

GEMINI_KEY = "GOOGLE_API_KEY"
GOOGLE_CLOUD_CREDENTIALS = "GOOGLE_APPLICATION_CREDENTIALS"
ELEVENLABS_KEY = "ELEVEN_API_KEY"


@dataclass
class VoicePlan:
    """Provider names in fallback order, plus what the room should be told."""

    llm: list[str]
    tts: list[str]
    notices: list[str] = field(default_factory=list)


def plan_voice_pipeline(
    settings: WorkerSettings, metadata: DispatchMetadata, env: Mapping[str, str] = os.environ
) -> VoicePlan:
    if not settings.uses_cloud():
        return VoicePlan(llm=["scripted"], tts=["espeak"])

    notices: list[str] = []
    llm_chain = ["scripted"]
    if env.get(GEMINI_KEY):
        llm_chain.insert(0, "gemini")
    else:
        notices.append(f"{GEMINI_KEY} is not set: using the offline scripted LLM")

    available = {
        "google": bool(env.get(GOOGLE_CLOUD_CREDENTIALS)),
        "elevenlabs": bool(env.get(ELEVENLABS_KEY)),
    }
    preferred = [metadata.tts_provider] + [p for p in ("google", "elevenlabs") if p != metadata.tts_provider]
    tts_chain = [p for p in preferred if available[p]] + ["espeak"]
    if not available[metadata.tts_provider]:
        key = ELEVENLABS_KEY if metadata.tts_provider == "elevenlabs" else GOOGLE_CLOUD_CREDENTIALS
        notices.append(f"TTS {metadata.tts_provider!r} needs {key}: falling back to {tts_chain[0]!r}")
    return VoicePlan(llm=llm_chain, tts=tts_chain, notices=notices)


def build_llm(plan: VoicePlan, settings: WorkerSettings, metadata: DispatchMetadata) -> llm.LLM:
    instances: list[llm.LLM] = []
    for name in plan.llm:
        if name == "gemini":
            from livekit.plugins import google

            instances.append(google.LLM(model=metadata.llm_model or settings.gemini_model))
        else:
            instances.append(ScriptedLLM(language=metadata.language))
    return instances[0] if len(instances) == 1 else llm.FallbackAdapter(instances)


def build_tts(plan: VoicePlan, metadata: DispatchMetadata, voices: Mapping[str, str]) -> tts.TTS:
    """`voices` maps provider → voice name (the metadata's voice wins for its provider)."""
    instances: list[tts.TTS] = []
    for name in plan.tts:
        voice = metadata.voice if name == metadata.tts_provider and metadata.voice else voices.get(name)
        if name == "google":
            from livekit.plugins import google

            instances.append(google.TTS(language=metadata.language, **({"voice_name": voice} if voice else {})))
        elif name == "elevenlabs":
            from livekit.plugins import elevenlabs

            instances.append(
                elevenlabs.TTS(language=metadata.language.split("-")[0], **({"voice_id": voice} if voice else {}))
            )
        else:
            instances.append(EspeakTTS(language=metadata.language))
    return instances[0] if len(instances) == 1 else tts.FallbackAdapter(instances)
