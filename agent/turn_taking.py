"""How the avatar takes turns and gets interrupted (AgentSession `turn_handling`).

- Turn detection is "vad": the user's turn ends when silero reports the end of
  speech (`min_silence_duration`, 0.55 s) and `min_delay` has passed since the
  last speech; both delays run from the same moment, so the larger wins.
  LiveKit Agents 1.8's default, a semantic TurnDetector model, waits up to
  `max_delay` (3 s) whenever it judges the user's words unfinished; measured
  here that made every reply 3.4 s late, so it is off until it is tuned.
- Interruptions are VAD-driven ("vad" mode): the adaptive detector needs LiveKit
  Cloud inference, which a self-hosted worker does not have. Half a second of
  speech over the avatar (`min_duration`) stops it; shorter noises do not.
- A stop without words following it within `false_interruption_timeout` (a
  cough, a door) resumes the reply where it paused. The timeout leaves room for
  Whisper, which only transcribes once the VAD reports the end of speech.
"""

from __future__ import annotations

from livekit.agents.voice.turn import TurnHandlingOptions

VAD_MIN_SILENCE_S = 0.55
ENDPOINTING_MIN_DELAY_S = 0.5

TURN_HANDLING: TurnHandlingOptions = {
    "turn_detection": "vad",
    "endpointing": {"mode": "fixed", "min_delay": ENDPOINTING_MIN_DELAY_S, "max_delay": 3.0},
    "interruption": {
        "enabled": True,
        "mode": "vad",
        "min_duration": 0.5,
        "min_words": 0,
        "resume_false_interruption": True,
        "false_interruption_timeout": 2.0,
    },
}
