"""MuseTalk v1.5 lip-sync engine: batched GPU inference (fp16), or fp32 on CPU for tests and GPU-less workers.

Importing this package does not import torch: the engine module is loaded when the engine is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...log import logger
from ..registry import EngineConfig, EngineEntry
from .availability import INSTALL_HINT, missing_extras, musetalk_availability

if TYPE_CHECKING:
    from .engine import MuseTalkEngine

ENGINE_NAME = "musetalk"


def _load(config: EngineConfig) -> MuseTalkEngine:
    from .engine import MuseTalkEngine

    return MuseTalkEngine(config.models_dir)


def _download(config: EngineConfig) -> None:
    if missing_extras():
        logger.info("MuseTalk's GPU extras are not installed (%s): not downloading its weights", INSTALL_HINT)
        return
    from .download import download_models

    download_models(config.models_dir)


ENGINE = EngineEntry(name=ENGINE_NAME, load=_load, availability=musetalk_availability, download=_download, auto_rank=10)
