"""Generate a tiny random-weight faster-whisper model for offline tests.

The model has Whisper's real on-disk format (CTranslate2 ``model.bin``,
``config.json``, ``vocabulary.json`` and a Hugging Face ``tokenizer.json``;
faster-whisper's default features match its 80 mels without a
``preprocessor_config.json``),
so ``faster_whisper.WhisperModel(path)`` loads it without any network access.

Usable as a function, ``build_tiny_whisper(out_dir) -> model_dir``, or as a
script: ``python tests/support/tiny_whisper.py OUT_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from ctranslate2.specs import attention_spec, common_spec, transformer_spec, whisper_spec
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

D_MODEL = 64
FFN_DIM = 128
NUM_HEADS = 2
NUM_LAYERS = 2
NUM_MELS = 80
ENCODER_POSITIONS = 1500
DECODER_POSITIONS = 448
NUM_TIMESTAMPS = 1501
SEED = 1234

LANGUAGES = [
    "en",
    "zh",
    "de",
    "es",
    "ru",
    "ko",
    "fr",
    "ja",
    "pt",
    "tr",
    "pl",
    "ca",
    "nl",
    "ar",
    "sv",
    "it",
    "id",
    "hi",
    "fi",
    "vi",
    "he",
    "uk",
    "el",
    "ms",
    "cs",
    "ro",
    "da",
    "hu",
    "ta",
    "no",
    "th",
    "ur",
    "hr",
    "bg",
    "lt",
    "la",
    "mi",
    "ml",
    "cy",
    "sk",
    "te",
    "fa",
    "lv",
    "bn",
    "sr",
    "az",
    "sl",
    "kn",
    "et",
    "mk",
    "br",
    "eu",
    "is",
    "hy",
    "ne",
    "mn",
    "bs",
    "kk",
    "sq",
    "sw",
    "gl",
    "mr",
    "pa",
    "si",
    "km",
    "sn",
    "yo",
    "so",
    "af",
    "oc",
    "ka",
    "be",
    "tg",
    "sd",
    "gu",
    "am",
    "yi",
    "lo",
    "uz",
    "fo",
    "ht",
    "ps",
    "tk",
    "nn",
    "mt",
    "sa",
    "lb",
    "my",
    "bo",
    "tl",
    "mg",
    "as",
    "tt",
    "haw",
    "ln",
    "ha",
    "ba",
    "jw",
    "su",
    "yue",
]

# Whisper's special tokens in its own order; <|notimestamps|> must be the last
# tokenizer id because faster-whisper puts the first timestamp right after it.
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    *(f"<|{code}|>" for code in LANGUAGES),
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
]

# The logits of the random weights are tiny; these output biases dominate them so
# that decoding is deterministic and short: after the suppressed first position
# the model says "x" and then ends the text, instead of running to max length. ("x", not "a":
# the end-of-turn detector would hold an article as an unfinished phrase.)
_TEXT_TOKEN = "x"
_TEXT_BIAS = 12.0
_EOT_BIAS = 16.0


def _byte_symbols() -> list[str]:
    """GPT-2's byte-to-unicode table: the 256 base symbols of byte-level BPE."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    symbols: dict[int, str] = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in symbols:
            symbols[b] = chr(256 + extra)
            extra += 1
    return [symbols[b] for b in range(256)]


def _text_vocabulary() -> list[str]:
    # ctranslate2 >= 4.7 decides that a Whisper model is multilingual from the
    # presence of the empty token, which sits right before <|endoftext|> in
    # the real multilingual vocabulary.
    return [*_byte_symbols(), "", *SPECIAL_TOKENS]


def _tokenizer(vocabulary: list[str]) -> Tokenizer:
    bpe = models.BPE(vocab={token: i for i, token in enumerate(vocabulary)}, merges=[])
    tokenizer = Tokenizer(bpe)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    return tokenizer


class _Weights:
    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def normal(self, *shape: int, scale: float = 0.02) -> np.ndarray:
        return (self._rng.standard_normal(shape) * scale).astype(np.float32)

    def linear(self, spec: common_spec.LinearSpec, out_dim: int, in_dim: int) -> None:
        spec.weight = self.normal(out_dim, in_dim)
        spec.bias = np.zeros(out_dim, dtype=np.float32)

    @staticmethod
    def layer_norm(spec: common_spec.LayerNormSpec) -> None:
        spec.gamma = np.ones(D_MODEL, dtype=np.float32)
        spec.beta = np.zeros(D_MODEL, dtype=np.float32)

    def self_attention(self, spec: attention_spec.MultiHeadAttentionSpec) -> None:
        self.layer_norm(spec.layer_norm)
        self.linear(spec.linear[0], 3 * D_MODEL, D_MODEL)
        self.linear(spec.linear[1], D_MODEL, D_MODEL)

    def cross_attention(self, spec: attention_spec.MultiHeadAttentionSpec) -> None:
        self.layer_norm(spec.layer_norm)
        self.linear(spec.linear[0], D_MODEL, D_MODEL)
        self.linear(spec.linear[1], 2 * D_MODEL, D_MODEL)
        self.linear(spec.linear[2], D_MODEL, D_MODEL)

    def ffn(self, spec: transformer_spec.FeedForwardSpec) -> None:
        self.layer_norm(spec.layer_norm)
        self.linear(spec.linear_0, FFN_DIM, D_MODEL)
        self.linear(spec.linear_1, D_MODEL, FFN_DIM)


def _spec(vocabulary: list[str]) -> whisper_spec.WhisperSpec:
    weights = _Weights(SEED)
    spec = whisper_spec.WhisperSpec(NUM_LAYERS, NUM_HEADS, NUM_LAYERS, NUM_HEADS)

    encoder = spec.encoder
    encoder.conv1.weight = weights.normal(D_MODEL, NUM_MELS, 3)
    encoder.conv1.bias = np.zeros(D_MODEL, dtype=np.float32)
    encoder.conv2.weight = weights.normal(D_MODEL, D_MODEL, 3)
    encoder.conv2.bias = np.zeros(D_MODEL, dtype=np.float32)
    encoder.position_encodings.encodings = weights.normal(ENCODER_POSITIONS, D_MODEL)
    weights.layer_norm(encoder.layer_norm)
    for layer in encoder.layer:
        weights.self_attention(layer.self_attention)
        weights.ffn(layer.ffn)

    vocab_size = len(vocabulary)
    decoder = spec.decoder
    decoder.embeddings.weight = weights.normal(vocab_size, D_MODEL)
    decoder.position_encodings.encodings = weights.normal(DECODER_POSITIONS, D_MODEL)
    weights.layer_norm(decoder.layer_norm)
    for layer in decoder.layer:
        weights.self_attention(layer.self_attention)
        weights.cross_attention(layer.attention)
        weights.ffn(layer.ffn)
    weights.linear(decoder.projection, vocab_size, D_MODEL)
    decoder.projection.bias[vocabulary.index(_TEXT_TOKEN)] = _TEXT_BIAS
    decoder.projection.bias[vocabulary.index("<|endoftext|>")] = _EOT_BIAS

    spec.register_vocabulary(vocabulary)
    config = spec.config
    config.suppress_ids = []
    config.suppress_ids_begin = [vocabulary.index("<|endoftext|>")]
    config.lang_ids = [vocabulary.index(f"<|{code}|>") for code in LANGUAGES]
    config.alignment_heads = [(NUM_LAYERS - 1, head) for head in range(NUM_HEADS)]
    return spec


def build_tiny_whisper(out_dir: Path) -> Path:
    """Write the tiny model into ``out_dir`` (created if missing) and return it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text_vocabulary = _text_vocabulary()
    timestamps = [f"<|{i * 0.02:.2f}|>" for i in range(NUM_TIMESTAMPS)]

    spec = _spec([*text_vocabulary, *timestamps])
    spec.validate()
    spec.optimize()
    spec.save(str(out_dir))

    _tokenizer(text_vocabulary).save(str(out_dir / "tokenizer.json"))
    return out_dir


def listening_worker_env(model_dir: Path, extra_sentences: int) -> dict[str, str]:
    """Worker env for voice tests: a tiny Whisper built into `model_dir` (hears speech, transcribes
    garbage) and scripted replies of `extra_sentences` more sentences, long enough to interrupt."""
    return {
        "STREAMING_AVATAR_WHISPER_MODEL": str(build_tiny_whisper(model_dir)),
        "STREAMING_AVATAR_SCRIPTED_EXTRA_SENTENCES": str(extra_sentences),
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    print(build_tiny_whisper(Path(sys.argv[1])))
