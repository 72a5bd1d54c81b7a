"""Train the CPU engine's viseme model on eSpeak NG speech; writes the package's viseme_model.npz.

    python scripts/train_viseme_model.py [--out PATH] [--seed N]

Each training sentence (tests/support/articulation_corpus.py) is spoken in a few
voice variants drawn from TRAINING_VARIANTS at random rate, pitch, gain and
sample rate; eSpeak's phoneme events label every 10 ms hop with the viseme of
the phoneme sounding then. The features are computed by the same streaming
code the engine runs (whole utterance queued, as when TTS runs ahead). The
tuning and held-out sentences and the held-out voice variants are never used.
Deterministic for a given seed; takes about a minute on one core.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from agent.offline.espeak import SAMPLE_RATE, Phoneme, synthesize_with_phonemes
from livekit.plugins.musetalk.engines.cpu.speech_features import (
    MEL_BANDS,
    SpeechFeatures,
)
from livekit.plugins.musetalk.engines.cpu.viseme_model import MODEL_FILE, VisemeModel
from livekit.plugins.musetalk.engines.cpu.visemes import Viseme, espeak_viseme
from support.articulation_corpus import TRAINING_SENTENCES, TRAINING_VARIANTS

FPS = 25
SAMPLE_RATES = (16000, SAMPLE_RATE, 24000, 48000)
DRAWS_PER_SENTENCE = 8
HIDDEN = 96
ENSEMBLE = 3  # networks from different initialisations; averaging their logits is one network 3x as wide
EPOCHS = 40
BATCH = 512
LEARNING_RATE = 2e-3
WEIGHT_DECAY = 1e-4


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling by zero-padding or truncating the spectrum."""
    if source_rate == target_rate:
        return samples.astype(np.float32)
    count = round(len(samples) * target_rate / source_rate)
    spectrum = np.fft.rfft(samples.astype(np.float64))
    resized = np.zeros(count // 2 + 1, np.complex128)
    keep = min(len(spectrum), len(resized))
    resized[:keep] = spectrum[:keep]
    return (np.fft.irfft(resized, n=count) * count / len(samples)).astype(np.float32)


def hop_labels(phonemes: list[Phoneme], centres_s: np.ndarray, duration_s: float) -> np.ndarray:
    starts = np.array([p.start_s for p in phonemes] + [duration_s])
    visemes = np.array([espeak_viseme(p.name) for p in phonemes] + [Viseme.SILENCE])
    index = np.searchsorted(starts, centres_s, side="right") - 1
    labels = np.where(index < 0, Viseme.SILENCE, visemes[np.clip(index, 0, len(visemes) - 1)])
    return labels.astype(np.int64)


def utterance_rows(
    audio: np.ndarray, phonemes: list[Phoneme], sample_rate: int, initial_shape: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    per_frame = sample_rate // FPS
    features = SpeechFeatures(sample_rate, initial_shape)
    pcm = np.clip(audio, -32768, 32767).astype(np.int16)
    pcm = np.concatenate([pcm, np.zeros((-len(pcm)) % per_frame, np.int16)])
    rows = []
    for start in range(0, len(pcm), per_frame):
        rows.append(features.frame(pcm[start : start + per_frame], pcm[start + per_frame :][: 2 * per_frame]).own)
    stacked = np.concatenate(rows)
    centres = (features.hop // 2 + np.arange(len(stacked)) * features.hop) / sample_rate
    return stacked, hop_labels(phonemes, centres, len(pcm) / sample_rate)


def build_dataset(rng: np.random.Generator, initial_shape: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, labels, and a sentence id per row (for a validation split by sentence)."""
    all_rows, all_labels, groups = [], [], []
    sentence = 0
    for voice, sentences in TRAINING_SENTENCES.items():
        for text in sentences:
            sentence += 1
            for _ in range(DRAWS_PER_SENTENCE):
                variant = TRAINING_VARIANTS[rng.integers(len(TRAINING_VARIANTS))]
                audio, phonemes = synthesize_with_phonemes(
                    text, voice + variant, rate_wpm=int(rng.integers(125, 260)), pitch=int(rng.integers(25, 76))
                )
                rate = int(SAMPLE_RATES[rng.integers(len(SAMPLE_RATES))])
                gain = 10 ** (rng.uniform(-15.0, 3.0) / 20)
                signal = resample(audio, SAMPLE_RATE, rate) * gain
                if rng.random() < 0.5:
                    signal += rng.normal(0.0, 32768 * 10 ** (rng.uniform(-75, -55) / 20), len(signal))
                rows, labels = utterance_rows(signal, phonemes, rate, initial_shape)
                all_rows.append(rows)
                all_labels.append(labels)
                groups.append(np.full(len(labels), sentence))
    return np.concatenate(all_rows), np.concatenate(all_labels), np.concatenate(groups)


def average_voice_shape() -> np.ndarray:
    """Where each voice's calibration starts: the calibrated shapes of the first sentence per language, averaged."""
    shapes = []
    for voice, sentences in TRAINING_SENTENCES.items():
        audio = synthesize_with_phonemes(" ".join(sentences[:3]), voice)[0]
        per_frame = SAMPLE_RATE // FPS
        features = SpeechFeatures(SAMPLE_RATE, np.zeros(MEL_BANDS, np.float32))
        for start in range(0, len(audio) - per_frame, per_frame):
            features.frame(audio[start : start + per_frame])
        shapes.append(features.voice_shape)
    return np.mean(shapes, axis=0).astype(np.float32)


def train(rows: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> VisemeModel:
    mean = rows.mean(axis=0)
    scale = 1.0 / (rows.std(axis=0) + 1e-3)
    x = ((rows - mean) * scale).astype(np.float32)
    counts = np.bincount(labels, minlength=len(Viseme)).astype(np.float64)
    class_weight = (counts.sum() / (len(Viseme) * np.maximum(counts, 1))) ** 0.5
    params = {
        "w1": rng.normal(0, np.sqrt(2 / x.shape[1]), (x.shape[1], HIDDEN)),
        "b1": np.zeros(HIDDEN),
        "w2": rng.normal(0, np.sqrt(1 / HIDDEN), (HIDDEN, len(Viseme))),
        "b2": np.zeros(len(Viseme)),
    }
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    step = 0
    for epoch in range(EPOCHS):
        order = rng.permutation(len(x))
        total = 0.0
        for begin in range(0, len(x), BATCH):
            batch = order[begin : begin + BATCH]
            xb, yb = x[batch], labels[batch]
            hidden_in = xb @ params["w1"] + params["b1"]
            hidden = np.maximum(hidden_in, 0)
            logits = hidden @ params["w2"] + params["b2"]
            logits -= logits.max(axis=1, keepdims=True)
            probs = np.exp(logits)
            probs /= probs.sum(axis=1, keepdims=True)
            weights = class_weight[yb]
            total += float(-(weights * np.log(probs[np.arange(len(yb)), yb] + 1e-9)).sum())
            grad_logits = probs
            grad_logits[np.arange(len(yb)), yb] -= 1
            grad_logits *= weights[:, None] / weights.sum()
            grads = {"w2": hidden.T @ grad_logits, "b2": grad_logits.sum(axis=0)}
            grad_hidden = (grad_logits @ params["w2"].T) * (hidden_in > 0)
            grads |= {"w1": xb.T @ grad_hidden, "b1": grad_hidden.sum(axis=0)}
            step += 1
            rate = LEARNING_RATE * (0.5 * (1 + np.cos(np.pi * epoch / EPOCHS)))
            for key, grad in grads.items():
                first, second = moments[key]
                first[:] = 0.9 * first + 0.1 * grad
                second[:] = 0.999 * second + 0.001 * grad * grad
                update = (first / (1 - 0.9**step)) / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
                params[key] -= rate * (update + WEIGHT_DECAY * params[key])
        print(f"epoch {epoch + 1}: loss {total / len(x):.4f}")
    return VisemeModel(
        input_mean=mean.astype(np.float32),
        input_scale=scale.astype(np.float32),
        hidden_weight=params["w1"].astype(np.float32),
        hidden_bias=params["b1"].astype(np.float32),
        output_weight=params["w2"].astype(np.float32),
        output_bias=params["b2"].astype(np.float32),
        voice_shape=np.zeros(MEL_BANDS, np.float32),
    )


def ensemble(models: list[VisemeModel]) -> VisemeModel:
    """One network whose logits are the mean of `models`' (same inputs, hidden layers side by side)."""
    return VisemeModel(
        input_mean=models[0].input_mean,
        input_scale=models[0].input_scale,
        hidden_weight=np.concatenate([m.hidden_weight for m in models], axis=1),
        hidden_bias=np.concatenate([m.hidden_bias for m in models]),
        output_weight=np.concatenate([m.output_weight for m in models], axis=0) / len(models),
        output_bias=np.mean([m.output_bias for m in models], axis=0).astype(np.float32),
        voice_shape=models[0].voice_shape,
    )


def report(model: VisemeModel, rows: np.ndarray, labels: np.ndarray, title: str) -> None:
    predicted = model.probabilities(rows).argmax(axis=1)
    print(f"{title}: accuracy {np.mean(predicted == labels):.3f}")
    for viseme in Viseme:
        chosen = labels == viseme
        if chosen.any():
            print(f"  {viseme.name:<12} recall {np.mean(predicted[chosen] == viseme):.3f}  ({chosen.sum()} hops)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    voice_shape = average_voice_shape()
    rows, labels, groups = build_dataset(rng, voice_shape)
    print(f"{len(rows)} hops from {groups.max()} sentences")
    validation = groups % 8 == 0
    members = [train(rows[~validation], labels[~validation], rng) for _ in range(ENSEMBLE)]
    for index, member in enumerate(members):
        report(member, rows[validation], labels[validation], f"network {index + 1}, validation")
    model = VisemeModel(**{**ensemble(members).__dict__, "voice_shape": voice_shape})
    report(model, rows[validation], labels[validation], "validation (sentences not trained on)")
    model.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
