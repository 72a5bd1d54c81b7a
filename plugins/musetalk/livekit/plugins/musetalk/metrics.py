"""Prometheus metrics of the avatar pipeline.

Job processes write them to PROMETHEUS_MULTIPROC_DIR when that is set (the
worker sets it), and the worker's /metrics endpoint sums all its processes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_FAST_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256)

SESSIONS_ACTIVE = Gauge("avatar_sessions_active", "Avatar sessions running in this worker", multiprocess_mode="livesum")
SESSIONS_STARTED = Counter("avatar_sessions_started", "Avatar sessions started", ["engine", "encoder"])
FRAMES = Counter("avatar_frames", "Frames published", ["kind"])
FRAMES_DROPPED = Counter(
    "avatar_frames_dropped",
    "Rendered frames never sent: their audio was dropped (audio_dropped), or sending fell behind (sender_behind)",
    ["reason"],
)
FRAMES_LATE = Counter("avatar_frames_late", "Frames published after their slot on the media clock")
AUDIO_DROPPED_SECONDS = Counter("avatar_audio_dropped_seconds", "Queued speech dropped by interruptions")
RENDER_SECONDS = Histogram("avatar_render_seconds", "Lip-sync engine time per frame", buckets=_FAST_BUCKETS)
ENCODE_SECONDS = Histogram("avatar_encode_seconds", "Video encode time per frame", buckets=_FAST_BUCKETS)
LIPSYNC_LATENCY_SECONDS = Histogram(
    "avatar_lipsync_latency_seconds",
    "First speech audio received → its first lip-synced frame published",
    buckets=_FAST_BUCKETS,
)
SPEECH_QUEUE_FRAMES = Gauge(
    "avatar_speech_queue_frames", "Speech frames waiting to be rendered", multiprocess_mode="livesum"
)
KEYFRAME_REQUESTS = Counter("avatar_keyframe_requests", "Keyframes forced on request of a subscriber")
RATE_UPDATES = Counter("avatar_encoder_rate_updates", "Bitrate/fps targets from the SDK applied to the encoder")
