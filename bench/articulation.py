"""Articulation measured from rendered pixels: do the lips close for p/b/m, round for "oo", open for "a"?

    python bench/articulation.py [--json OUT] [--sheet PNG] [--packs default,eileen]

The measurement is tests/support/articulation.py's (eSpeak NG phoneme events as
ground truth, the packs' face-landmark model reading every rendered frame). It
runs the CPU engine from the audio alone on the tuning utterances and on the
held-out ones (sentences and voice variants no training or tuning saw; see
tests/support/articulation_corpus.py), for each pack, and reports per set and
language. Render ms/frame (512², speaking frames, this process, one thread,
mouth driver included) and a portrait's upload → ready time (bench/avatar_upload.py, 5 uploads)
come with it. The top-level metric keys hold the first pack's numbers by set and language.
`--sheet` writes a contact sheet: the mouth at each phoneme of one sentence.
"""

# ruff: noqa: E402  (the thread limits must be set before numpy and OpenCV load)

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import asyncio
from pathlib import Path

import cv2
import numpy as np
from _common import json_arg_parser, machine, print_table, summary, write_json
from avatar_upload import measure_upload_to_ready
from PIL import Image, ImageDraw, ImageFont

from livekit.plugins.musetalk import load_pack
from livekit.plugins.musetalk.engines.cpu import CpuEngine, PreparedPortrait
from support.articulation import FPS, Scores, score, score_languages
from support.articulation_corpus import HELD_OUT, TUNING, Utterance
from support.paths import REPO

SETS = {"tuning": TUNING, "held_out": HELD_OUT}
SHEET_UTTERANCE = TUNING[0]
SHEET_COLUMNS = 8


def contact_sheet(engine: CpuEngine, prepared: PreparedPortrait, utterance: Utterance) -> Image.Image:
    """The mouth region at the middle of each phoneme, the phoneme and the measured aperture under it."""
    _, frames, mouths, phonemes = score(engine, prepared, utterance)
    x0, y0, x1, y1 = (int(v) for v in prepared.material.mouth_box)
    font = ImageFont.load_default(size=14)
    tiles = []
    for i, phoneme in enumerate(phonemes):
        end = phonemes[i + 1].start_s if i + 1 < len(phonemes) else phoneme.start_s + 0.08
        index = min(int((phoneme.start_s + end) / 2 * FPS), len(frames) - 1)
        crop = Image.fromarray(np.ascontiguousarray(frames[index][y0:y1, x0:x1])).resize((120, 120))
        tile = Image.new("RGB", (120, 150), "white")
        tile.paste(crop, (0, 0))
        mouth = mouths[index]
        label = f"{phoneme.name}  {mouth.aperture * 100:.0f}%" if mouth else phoneme.name
        ImageDraw.Draw(tile).text((6, 128), label, fill="black", font=font)
        tiles.append(tile)
    rows = (len(tiles) + SHEET_COLUMNS - 1) // SHEET_COLUMNS
    sheet = Image.new("RGB", (SHEET_COLUMNS * 122, rows * 152), "white")
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % SHEET_COLUMNS) * 122, (i // SHEET_COLUMNS) * 152))
    return sheet


def main() -> None:
    parser = json_arg_parser(__doc__)
    parser.add_argument("--sheet", type=Path, help="write a contact sheet PNG of the first tuning sentence")
    parser.add_argument("--packs", default="default,eileen", help="comma-separated shipped pack ids")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    engine = CpuEngine()
    results: dict[str, object] = {}
    rows = []
    render_ms: list[float] = []
    for pack_id in args.packs.split(","):
        prepared = engine.prepare(load_pack(pack_id, REPO / "avatars"))
        per_set: dict[str, object] = {}
        for set_name, utterances in SETS.items():
            languages: dict[str, Scores] = score_languages(engine, prepared, utterances)
            per_set[set_name] = {language: scores.summary() for language, scores in languages.items()}
            for language, scores in languages.items():
                render_ms += scores.render_ms
                rows.append(
                    (
                        pack_id,
                        set_name,
                        language,
                        f"{scores.bilabial_closure_rate} ({scores.bilabials})",
                        str(scores.round_vs_spread_auc),
                        str(scores.open_vs_closed_auc),
                    )
                )
        results[pack_id] = per_set
        if args.sheet and pack_id == args.packs.split(",")[0]:
            contact_sheet(engine, prepared, SHEET_UTTERANCE).save(args.sheet)
    header = ("pack", "set", "language", "bilabial closure (n)", "round vs spread AUC", "open vs closed AUC")
    print_table(rows, header)
    speed = summary(render_ms)
    print(f"render ms/frame 512² (mouth driver included) p50 / p95: {speed['p50']} / {speed['p95']}")
    upload = asyncio.run(measure_upload_to_ready(n=5))["upload_to_ready_ms"]
    print(f"portrait upload → ready ms p50 / p95: {upload['p50']} / {upload['p95']}")
    if args.json:
        default = results[args.packs.split(",")[0]]
        write_json(
            args.json,
            {
                "engine": "cpu, audio only",
                **{
                    metric: {
                        set_name: {language: r[metric] for language, r in per_language.items()}
                        for set_name, per_language in default.items()
                    }
                    for metric in ("bilabial_closure_rate", "round_vs_spread_auc", "open_vs_closed_auc")
                },
                "packs": results,
                "render_ms_512": speed,
                "upload_to_ready_ms": upload,
                "machine": machine(),
            },
        )


if __name__ == "__main__":
    main()
