"""Choosing and building the voice pipeline (STT, LLM, TTS) for one session.

Choosing is separate from building so the choice can be tested without a
network: `plan_voice_pipeline` looks only at settings, metadata, which keys
exist and whether the local Whisper model loaded; `build_*` turn a plan into
provider objects, chained with the framework's fallback adapters in plan order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livekit.agents import NOT_GIVEN, llm, stt, tts, vad
from livekit.plugins import faster_whisper

from livekit.plugins.musetalk import AvatarPackError, load_pack

from .config import WorkerSettings
from .faults import FaultSwitch, FaultyLLM, FaultyTTS
from .metadata import DispatchMetadata
from .offline import EspeakTTS, ScriptedLLM
from .offline.espeak import language_notice
from .provider_guards import GuardedLLM
from .simulated_latency import CloudTiming, DelayedLLM, DelayedTTS
from .turn_taking import EARLY_TRANSCRIPTION_AFTER_S

GEMINI_KEY = "GOOGLE_API_KEY"
GOOGLE_CLOUD_CREDENTIALS = "GOOGLE_APPLICATION_CREDENTIALS"
ELEVENLABS_KEY = "ELEVEN_API_KEY"
SHORT_WINDOW_LANGUAGES = frozenset({"en"})
"""Languages Whisper transcribes on a short encoder window (faster_whisper.STT(encoder_window=...)). Measured on
eSpeak NG speech with Whisper base: English gave the same words as the 30 s window in a third of the time; Korean
lost its script (mixed Latin and Hangul) where the full window kept Hangul, so other languages keep the full window
until real speech says otherwise."""
NO_SPEECH_INPUT = "speech input is off for this session; type messages on lk.chat instead"


@dataclass
class VoicePlan:
    """Provider names in fallback order (an empty `stt`: text chat only), plus what the room should be told."""

    stt: list[str]
    llm: list[str]
    tts: list[str]
    notices: list[str] = field(default_factory=list)


def _available_in_order(preferred: Sequence[str], available: Mapping[str, bool]) -> list[str]:
    return [name for name in preferred if available[name]]


def _plan_stt(
    settings: WorkerSettings, whisper_problem: str | None, env: Mapping[str, str], notices: list[str]
) -> list[str]:
    available = {"faster-whisper": whisper_problem is None, "google": bool(env.get(GOOGLE_CLOUD_CREDENTIALS))}
    if not settings.uses_cloud():
        preferred: list[str] = ["faster-whisper"]
    else:
        preferred = [settings.stt_provider, *(p for p in ("faster-whisper", "google") if p != settings.stt_provider)]
    chain = _available_in_order(preferred, available)
    if available[preferred[0]]:
        return chain
    fallback = f"falling back to {chain[0]!r}" if chain else NO_SPEECH_INPUT
    reason = whisper_problem if preferred[0] == "faster-whisper" else f"STT 'google' needs {GOOGLE_CLOUD_CREDENTIALS}"
    notices.append(f"{reason} ({fallback})")
    return chain


def _plan_tts(metadata: DispatchMetadata, env: Mapping[str, str], notices: list[str]) -> list[str]:
    available = {
        "google": bool(env.get(GOOGLE_CLOUD_CREDENTIALS)),
        "elevenlabs": bool(env.get(ELEVENLABS_KEY)),
        "espeak": True,
    }
    preferred = [metadata.tts_provider] + [p for p in ("google", "elevenlabs") if p != metadata.tts_provider]
    chain = _available_in_order([*preferred, "espeak"], available)
    if not available[metadata.tts_provider]:
        key = ELEVENLABS_KEY if metadata.tts_provider == "elevenlabs" else GOOGLE_CLOUD_CREDENTIALS
        notices.append(f"TTS {metadata.tts_provider!r} needs {key}: falling back to {chain[0]!r}")
    return chain


def plan_voice_pipeline(
    settings: WorkerSettings,
    metadata: DispatchMetadata,
    *,
    whisper_problem: str | None = None,
    env: Mapping[str, str] = os.environ,
) -> VoicePlan:
    """`whisper_problem` is why the worker's faster-whisper model is unusable (None: it loaded)."""
    notices: list[str] = []
    stt_chain = _plan_stt(settings, whisper_problem, env, notices)
    if "faster-whisper" in stt_chain and whisper_language(metadata.language) is None:
        notices.append(f"Whisper does not know the language {metadata.language!r}: it detects what the user speaks")
    if not settings.uses_cloud():
        notices += filter(None, [language_notice(metadata.language)])
        return VoicePlan(stt=stt_chain, llm=["scripted"], tts=["espeak"], notices=notices)

    llm_chain = ["scripted"]
    if env.get(GEMINI_KEY):
        llm_chain.insert(0, "gemini")
    else:
        notices.append(f"{GEMINI_KEY} is not set: using the offline scripted LLM")
    tts_chain = _plan_tts(metadata, env, notices)
    if tts_chain[0] == "espeak":
        notices += filter(None, [language_notice(metadata.language)])
    return VoicePlan(stt=stt_chain, llm=llm_chain, tts=tts_chain, notices=notices)


def build_stt(
    plan: VoicePlan,
    settings: WorkerSettings,
    metadata: DispatchMetadata,
    *,
    whisper_model_dir: str | None,
    vad: vad.VAD,
    env: Mapping[str, str] = os.environ,
) -> stt.STT[Any] | None:
    """None when the plan has no STT. Whisper streams with `vad`, transcribing during the end-of-speech silence."""
    instances: list[stt.STT[Any]] = []
    for name in plan.stt:
        if name == "google":
            from livekit.plugins import google

            instances.append(google.STT(languages=metadata.language, credentials_file=env[GOOGLE_CLOUD_CREDENTIALS]))
        else:
            if whisper_model_dir is None:
                raise ValueError("the plan uses faster-whisper but no model directory was loaded")
            instances.append(
                faster_whisper.STT(
                    model=whisper_model_dir,
                    language=whisper_language(metadata.language),
                    compute_type=settings.whisper_compute_type,
                    beam_size=settings.whisper_beam_size,
                    vad=vad,
                    early_transcription_after=EARLY_TRANSCRIPTION_AFTER_S,
                    encoder_window=(
                        settings.whisper_window or None
                        if metadata.language.split("-")[0].lower() in SHORT_WINDOW_LANGUAGES
                        else None
                    ),
                )
            )
    if not instances:
        return None
    return instances[0] if len(instances) == 1 else stt.FallbackAdapter(instances, vad=vad)


def whisper_language(language: str) -> str | None:
    """`language` if Whisper knows it, else None (Whisper then detects the language of each utterance)."""
    try:
        faster_whisper.whisper_language(language)
    except ValueError:
        return None
    return language


def build_llm(plan: VoicePlan, settings: WorkerSettings, metadata: DispatchMetadata) -> llm.LLM[Any]:
    instances: list[llm.LLM[Any]] = []
    for name in plan.llm:
        if name == "gemini":
            from livekit.plugins import google

            instances.append(google.LLM(model=metadata.llm_model or settings.gemini_model))
        else:
            instances.append(ScriptedLLM(language=metadata.language, extra_sentences=settings.scripted_extra_sentences))
    if settings.fault_switch is not None:
        instances[0] = FaultyLLM(instances[0], settings.fault_switch)
    if settings.simulate_cloud is not None and plan.llm == ["scripted"]:
        instances[0] = DelayedLLM(instances[0], settings.simulate_cloud.llm)
    chain = instances[0] if len(instances) == 1 else llm.FallbackAdapter(instances)
    return GuardedLLM(chain, first_chunk_timeout=settings.llm_timeout)


def build_tts(
    plan: VoicePlan,
    metadata: DispatchMetadata,
    voices: Mapping[str, str],
    faults: FaultSwitch | None = None,
    simulate_cloud: CloudTiming | None = None,
) -> tts.TTS[Any]:
    """`voices` maps provider → voice name (the metadata's voice wins for its provider); `simulate_cloud` delays an
    offline-only chain's first audio."""
    instances: list[tts.TTS[Any]] = []
    for name in plan.tts:
        voice = metadata.voice if name == metadata.tts_provider and metadata.voice else voices.get(name)
        if name == "google":
            from livekit.plugins import google

            instances.append(google.TTS(language=metadata.language, voice_name=voice or NOT_GIVEN))
        elif name == "elevenlabs":
            from livekit.plugins import elevenlabs

            language = metadata.language.split("-")[0]
            instances.append(
                elevenlabs.TTS(language=language, voice_id=voice) if voice else elevenlabs.TTS(language=language)
            )
        else:
            instances.append(EspeakTTS(language=metadata.language))
    if faults is not None:
        instances[0] = FaultyTTS(instances[0], faults)
    if simulate_cloud is not None and plan.tts == ["espeak"]:
        instances[0] = DelayedTTS(instances[0], simulate_cloud.tts)
    return instances[0] if len(instances) == 1 else tts.FallbackAdapter(instances)


def voices_for_language(default_voice: Mapping[str, Mapping[str, str]], language: str) -> dict[str, str]:
    """provider → voice for `language` ("ko-KR"), from a manifest's language → provider → voice table.

    The exact tag wins, then its base language ("ko").
    """
    for tag in (language, language.split("-")[0]):
        for manifest_language, voices in default_voice.items():
            if manifest_language.lower() == tag.lower():
                return dict(voices)
    return {}


def pack_voices(avatar: str, language: str, avatars_dir: Path | Sequence[Path]) -> dict[str, str]:
    """The avatar pack's default voices for `language`; none for a broken pack (the avatar reports it)."""
    try:
        pack = load_pack(avatar, avatars_dir)
    except AvatarPackError:
        return {}
    return voices_for_language(pack.manifest.default_voice, language)
