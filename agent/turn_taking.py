"""How the avatar takes turns and gets interrupted (AgentSession `turn_handling`).

- The user's turn ends on meaning, not on a fixed silence: silero reports the end of
  speech after `VAD_MIN_SILENCE_S` (0.5 s: at 0.3 s a comma's pause through Chromium's
  microphone processing ended the turn); Whisper started on the utterance
  `EARLY_TRANSCRIPTION_AFTER_S` into that silence; once the transcript is there,
  `UnfinishedPhraseDetector` (agent/end_of_turn.py) reads it. A finished sentence
  ends the turn `min_delay` after the last speech (already past by then); an unfinished
  phrase ("...a table for") waits `max_delay` for the user to go on.
- Preemptive generation: the early transcript reaches the session as a preflight
  transcript, so the LLM and the TTS start before the turn is committed. A reply to a
  transcript that the user then extends is discarded before any of it is played
  (the session schedules it only when the committed transcript matches).
- Interruptions are VAD-driven ("vad" mode): the adaptive detector needs LiveKit
  Cloud inference, which a self-hosted worker does not have. Half a second of
  speech over the avatar (`min_duration`) stops it; shorter noises do not.
- A stop without words following it within `false_interruption_timeout` (a
  cough, a door) resumes the reply where it paused.

The numbers were tuned with the real Whisper base on eSpeak NG speech
(`bench/pipeline_latency.py`: user wait and false cut-ins on utterances that pause
0.4-0.8 s after an unfinished phrase).
"""

from __future__ import annotations

from livekit.agents.voice.turn import TurnHandlingOptions

from .end_of_turn import UnfinishedPhraseDetector

VAD_MIN_SILENCE_S = 0.5
EARLY_TRANSCRIPTION_AFTER_S = 0.15
ENDPOINTING_MIN_DELAY_S = 0.3
UNFINISHED_PHRASE_WAIT_S = 2.0


def turn_handling(language: str, *, preemptive: bool = True) -> TurnHandlingOptions:
    """The session's turn handling for a conversation in `language` (BCP-47)."""
    return {
        "turn_detection": UnfinishedPhraseDetector(language),
        "endpointing": {"mode": "fixed", "min_delay": ENDPOINTING_MIN_DELAY_S, "max_delay": UNFINISHED_PHRASE_WAIT_S},
        "preemptive_generation": {"enabled": preemptive, "preemptive_tts": True},
        "interruption": {
            "enabled": True,
            "mode": "vad",
            "min_duration": 0.5,
            "min_words": 0,
            "resume_false_interruption": True,
            "false_interruption_timeout": 2.0,
        },
    }
