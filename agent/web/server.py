"""`python -m agent web`: serve the session API and the page with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from .app import create_app
from .settings import WebSettings


def run_web(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent web", description="serve the session API and the page")
    parser.add_argument("--host", default=os.environ.get("STREAMING_AVATAR_WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("STREAMING_AVATAR_WEB_PORT", "8000")))
    args = parser.parse_args(argv)
    try:
        settings = WebSettings.from_env()
    except ValueError as exc:
        raise SystemExit(f"python -m agent web: {exc}") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", proxy_headers=False)
    return 0
