"""The offline voice profile: providers that need no cloud key and no network."""

from .espeak_tts import EspeakTTS
from .scripted_llm import ScriptedLLM

__all__ = ["EspeakTTS", "ScriptedLLM"]
