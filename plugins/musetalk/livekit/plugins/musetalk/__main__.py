"""`python -m livekit.plugins.musetalk prepare <pack>` and `... list`: manage avatar packs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .caches import CACHE_DIR_ENV, cache_path
from .engines import EngineConfig, engine_names, load_engine
from .engines.musetalk.config import MODELS_DIR_ENV
from .errors import AvatarPackError, EngineUnavailableError
from .packs import AVATARS_DIR_ENV, default_avatars_dir, list_packs, load_pack

PROGRESS_WIDTH = 30


def print_progress(step: str, fraction: float) -> None:
    filled = round(fraction * PROGRESS_WIDTH)
    bar = "#" * filled + "-" * (PROGRESS_WIDTH - filled)
    sys.stderr.write(f"\r[{bar}] {fraction:4.0%} {step:<24}")
    if fraction >= 1.0:
        sys.stderr.write("\n")
    sys.stderr.flush()


def resolve_pack_argument(argument: str, avatars_dir: Path | None) -> tuple[str, Path]:
    """Accept a pack id or a path to a pack directory (e.g. `avatars/default`)."""
    path = Path(argument)
    if avatars_dir is None and (len(path.parts) > 1 or path.is_dir()):
        return path.name, path.parent
    return argument, avatars_dir or default_avatars_dir()


def prepare_command(args: argparse.Namespace) -> int:
    pack_id, avatars_dir = resolve_pack_argument(args.pack, args.avatars_dir)
    pack = load_pack(pack_id, avatars_dir)
    engine = load_engine(args.engine, EngineConfig(models_dir=args.models_dir))
    prepared = engine.prepare(pack, cache_root=args.cache_dir, progress=print_progress)
    state = "reused the existing cache" if prepared.from_cache else "prepared"
    print(
        f"{pack.id}: {state} ({prepared.spec.width}x{prepared.spec.height} @ {prepared.spec.fps} fps)", file=sys.stderr
    )
    print(f"preview: {prepared.preview_path}", file=sys.stderr)
    print(prepared.cache_dir)
    return 0


def list_command(args: argparse.Namespace) -> int:
    engine = load_engine("cpu", EngineConfig())
    avatars_dir = args.avatars_dir or default_avatars_dir()
    packs = list_packs(avatars_dir)
    if not packs:
        print(f"no avatar packs in {avatars_dir}", file=sys.stderr)
        return 0
    for pack in packs:
        cache = cache_path(pack, engine.name, engine.cache_version, pack.video_spec, args.cache_dir)
        state = "prepared" if cache.is_dir() else "not prepared"
        print(f"{pack.id:<20} {pack.manifest.display_name:<40} {state}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m livekit.plugins.musetalk", description=__doc__)
    parser.add_argument(
        "--avatars-dir",
        type=Path,
        default=None,
        help=f"where packs live (default: ${AVATARS_DIR_ENV} or ./avatars)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"where prepared caches go (default: ${CACHE_DIR_ENV} or ~/.cache/streaming-avatar)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser("prepare", help="derive an engine's cache and a preview for a pack")
    prepare.add_argument("pack", help="pack id (e.g. default) or pack directory (e.g. avatars/default)")
    prepare.add_argument("--engine", choices=engine_names(), default="cpu")
    prepare.add_argument(
        "--models-dir", type=Path, default=None, help=f"engine weights (MuseTalk's default: ${MODELS_DIR_ENV})"
    )
    prepare.set_defaults(run=prepare_command)
    listing = commands.add_parser("list", help="list packs and whether they are prepared")
    listing.set_defaults(run=list_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run  # the subcommand's set_defaults(run=...)
    try:
        return run(args)
    except (AvatarPackError, EngineUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
