"""A small numpy MLP: context-stacked speech features of one hop → viseme probabilities.

Trained on eSpeak NG speech in many voices and languages by
`scripts/train_viseme_model.py` (which says what it holds out); the weights
ship in the package as `viseme_model.npz` (plain arrays, no pickle).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...caches import CorruptCacheError
from .visemes import Viseme

MODEL_FILE = Path(__file__).with_name("viseme_model.npz")
_ARRAYS = ("input_mean", "input_scale", "hidden_weight", "hidden_bias", "output_weight", "output_bias", "voice_shape")


@dataclass(frozen=True)
class VisemeModel:
    input_mean: np.ndarray  # (features,)
    input_scale: np.ndarray  # (features,)
    hidden_weight: np.ndarray  # (features, hidden)
    hidden_bias: np.ndarray
    output_weight: np.ndarray  # (hidden, len(Viseme))
    output_bias: np.ndarray
    voice_shape: np.ndarray  # (MEL_BANDS,) the average voice's spectral shape: where calibration starts

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> VisemeModel:
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name].astype(np.float32) for name in _ARRAYS}
        except (OSError, KeyError, ValueError) as exc:
            raise CorruptCacheError(f"the viseme model {path} cannot be read: {exc}") from exc
        model = cls(**arrays)
        if model.output_weight.shape[1] != len(Viseme) or model.hidden_weight.shape[0] != model.input_mean.shape[0]:
            raise CorruptCacheError(f"the viseme model {path} does not fit this code's features or visemes")
        return model

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **{name: getattr(self, name) for name in _ARRAYS})

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """(n, features) → (n, len(Viseme)), each row summing to 1."""
        hidden = np.maximum((rows - self.input_mean) * self.input_scale @ self.hidden_weight + self.hidden_bias, 0.0)
        logits = hidden @ self.output_weight + self.output_bias
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        result: np.ndarray = odds / odds.sum(axis=1, keepdims=True)
        return result
