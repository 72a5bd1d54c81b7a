"""Custom avatar from one photo: upload → ready, through the real HTTP API.

    python bench/avatar_upload.py [-n 10] [--portrait avatars/default/portrait.png] [--photo 4000x3000] [--json OUT]

The session API (`agent.web.create_app`) runs in this process under uvicorn on a loopback port,
with its own temporary uploads and cache directories; an httpx client POSTs the photo to
/api/avatars and the clock stops at the 201, which comes once the avatar is checked, framed,
prepared by the CPU engine (preview drawn) and in place: usable in a session from then on.
Each upload is a different photo (a 16 px patch at its centre changed), so each one is prepared from scratch,
never served from the cache of the one before; one warm-up upload (it loads the face models)
is not counted. `measure_upload_to_ready()` is what another benchmark can import.
"""

from __future__ import annotations

import asyncio
import io
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from _common import json_arg_parser, machine, print_table, summary, write_json
from PIL import Image

from agent.web import WebSettings, create_app
from support.paths import AVATARS

DEFAULT_PORTRAIT = AVATARS / "default" / "portrait.png"


def _variant(image: Image.Image, i: int, fmt: str) -> bytes:
    """The photo with a small patch at its centre changed: a new portrait as far as the caches go, the same face.

    (The centre, where the face is, because a corner may fall outside the square the upload is cropped
    to; a patch, because JPEG would round a single pixel's change away.)
    """
    copy = image.copy()
    cx, cy = copy.width // 2, copy.height // 2
    copy.paste((min(255, 40 + 8 * i), 60, 60), (cx - 8, cy - 8, cx + 8, cy + 8))
    out = io.BytesIO()
    copy.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def phone_photo(portrait: Image.Image, size: tuple[int, int]) -> tuple[Image.Image, str]:
    """`portrait` as a phone photo would hold it: scaled to half the height, on a plain background, as JPEG."""
    width, height = size
    photo = Image.new("RGB", size, (96, 104, 112))
    side = height // 2
    photo.paste(portrait.resize((side, side), Image.Resampling.LANCZOS), ((width - side) // 2, (height - side) // 2))
    return photo, "JPEG"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def measure_upload_to_ready(
    portrait: Path = DEFAULT_PORTRAIT, n: int = 10, photo_size: tuple[int, int] | None = None
) -> dict[str, Any]:
    """Upload `portrait` n times (+1 warm-up) to an in-process session API over HTTP; times in ms.

    With `photo_size` (e.g. (4000, 3000)) the upload is that large a JPEG with the portrait in it.

    Returns {"n", "upload_to_ready_ms": {p50, p95}, "server_ready_ms": {p50, p95}, "bytes", "runs"}:
    upload_to_ready is the client's (request sent → 201 received), server_ready the API's own
    `ready_ms` (whole body received → avatar in place).
    """
    with Image.open(portrait) as image:
        rgb = image.convert("RGB")
    fmt = "PNG"
    if photo_size is not None:
        rgb, fmt = phone_photo(rgb, photo_size)
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        settings = WebSettings(
            LIVEKIT_URL="ws://127.0.0.1:9",  # no session is opened: the avatars endpoints never call it
            LIVEKIT_API_KEY="bench",
            LIVEKIT_API_SECRET="bench-secret-not-used-for-anything-else",
            STREAMING_AVATAR_UPLOADS_DIR=str(Path(tmp) / "uploads"),
            STREAMING_AVATAR_CACHE_DIR=str(Path(tmp) / "cache"),
            STREAMING_AVATAR_WEB_MAX_UPLOADS=str(n + 1),
        )
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        runs: list[dict[str, float]] = []
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                for i in range(n + 1):
                    body = _variant(rgb, i, fmt)
                    start = time.perf_counter()
                    response = await http.post("/api/avatars", content=body, headers={"Content-Type": f"image/{fmt}"})
                    elapsed = (time.perf_counter() - start) * 1000
                    if response.status_code != 201:
                        raise RuntimeError(f"upload {i} failed: {response.status_code} {response.text}")
                    if i > 0:
                        runs.append({"upload_to_ready_ms": elapsed, "server_ready_ms": response.json()["ready_ms"]})
        finally:
            server.should_exit = True
            await serving
        prepared = [d for d in (Path(tmp) / "cache").iterdir() if d.is_dir()]
        if len(prepared) != n + 1:
            raise RuntimeError(f"{n + 1} uploads made {len(prepared)} caches: some were not prepared from scratch")
    return {
        "n": len(runs),
        "portrait": str(portrait),
        "photo": f"{rgb.width}x{rgb.height} {fmt}",
        "bytes": len(_variant(rgb, 0, fmt)),
        "upload_to_ready_ms": summary([r["upload_to_ready_ms"] for r in runs]),
        "server_ready_ms": summary([r["server_ready_ms"] for r in runs]),
        "runs": runs,
    }


async def main() -> None:
    parser = json_arg_parser(__doc__ or "")
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--portrait", type=Path, default=DEFAULT_PORTRAIT)
    parser.add_argument("--photo", help="upload a WxH JPEG holding the portrait instead (e.g. 4000x3000)")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.photo.lower().split("x")) if args.photo else None
    result = {"machine": machine(), **(await measure_upload_to_ready(args.portrait, args.n, size))}  # type: ignore[arg-type]
    print(
        f"custom avatar from one photo ({result['photo']}, {result['bytes'] / 1000:.0f} kB), {result['n']} uploads, "
        f"uvicorn in-process over loopback HTTP — {result['machine']}"
    )
    rows = [
        (key, f"{result[key]['p50']:.0f}", f"{result[key]['p95']:.0f}", target)
        for key, target in (("upload_to_ready_ms", "seconds, not hours"), ("server_ready_ms", ""))
    ]
    print_table(rows, ("metric", "p50 ms", "p95 ms", "target"))
    write_json(args.json, result)


if __name__ == "__main__":
    asyncio.run(main())
