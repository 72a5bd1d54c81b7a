"""Which lip-sync engine a worker uses: MuseTalk needs its extras, its weights and (to be useful) a CUDA GPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from ...errors import EngineUnavailableError
from ...log import logger
from .config import MODELS_DIR_ENV, default_models_dir, missing_files

RequestedEngine = Literal["auto", "cpu", "musetalk"]
EngineName = Literal["cpu", "musetalk"]

GPU_EXTRAS = ("torch", "diffusers", "transformers")


def select_engine(
    requested: RequestedEngine, *, models_dir: Path | None = None, cuda: bool | None = None
) -> tuple[EngineName, str]:
    """The engine to use and why (also logged).

    "auto" picks MuseTalk when its Python extras are installed, a CUDA device
    is visible and the weights are in `models_dir`, else the CPU engine.
    "musetalk" insists: it raises EngineUnavailableError without the extras or
    weights and runs on CPU (fp32, seconds per frame) without a GPU. `cuda`
    overrides the CUDA probe (for tests).
    """
    if requested == "cpu":
        return _chosen("cpu", "the CPU engine was requested")
    if requested not in ("auto", "musetalk"):
        raise ValueError(f"unknown engine {requested!r}; use 'auto', 'cpu' or 'musetalk'")
    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    problem = _musetalk_problem(models_dir)
    if requested == "auto" and problem:
        # Decided without importing torch: a CPU worker's processes stay ~0.5 GB smaller.
        return _chosen("cpu", f"MuseTalk unavailable: {problem}")
    has_cuda = _cuda_available() if cuda is None else cuda
    if requested == "musetalk":
        if problem:
            raise EngineUnavailableError(problem)
        if not has_cuda:
            return _chosen("musetalk", "MuseTalk was requested; no CUDA device, so it runs in fp32 on the CPU (slow)")
        return _chosen("musetalk", "MuseTalk was requested")
    if not has_cuda:
        return _chosen("cpu", "MuseTalk weights are present but no CUDA device is visible")
    return _chosen("musetalk", f"a CUDA device and MuseTalk weights in {models_dir} are present")


def _musetalk_problem(models_dir: Path) -> str | None:
    absent = [name for name in GPU_EXTRAS if importlib.util.find_spec(name) is None]
    if absent:
        return f"{', '.join(absent)} not installed (pip install 'livekit-plugins-musetalk[gpu]')"
    missing = missing_files(models_dir)
    if missing:
        return f"weights missing in {models_dir} ({', '.join(missing)}); run download-files or set {MODELS_DIR_ENV}"
    return None


def _cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def _chosen(engine: EngineName, reason: str) -> tuple[EngineName, str]:
    logger.info("lip-sync engine %s: %s", engine, reason)
    return engine, reason
