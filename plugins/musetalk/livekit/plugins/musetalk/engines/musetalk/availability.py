"""Whether MuseTalk can run here: it needs its extras, its weights and (to be useful) a CUDA GPU.

Decided without importing torch when the extras are absent: a CPU worker's processes stay ~0.5 GB smaller.
"""

from __future__ import annotations

import importlib.util

from ..registry import Availability, EngineConfig
from .config import MODELS_DIR_ENV, default_models_dir, missing_files

GPU_EXTRAS = ("torch", "diffusers", "transformers")
INSTALL_HINT = "pip install 'livekit-plugins-musetalk[gpu]'"


def musetalk_availability(config: EngineConfig) -> Availability:
    models_dir = config.models_dir or default_models_dir()
    absent = missing_extras()
    if absent:
        return Availability(problem=f"{', '.join(absent)} not installed ({INSTALL_HINT})")
    missing = missing_files(models_dir)
    if missing:
        return Availability(
            problem=f"weights missing in {models_dir} ({', '.join(missing)}); "
            f"run your agent's download-files command or set {MODELS_DIR_ENV}"
        )
    if not cuda_available():
        return Availability(
            auto=False, reason="no CUDA device is visible, so MuseTalk would run in fp32 on the CPU (slow)"
        )
    return Availability(reason=f"a CUDA device and MuseTalk weights in {models_dir} are present")


def missing_extras() -> list[str]:
    return [name for name in GPU_EXTRAS if importlib.util.find_spec(name) is None]


def cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())
