"""`python -m livekit.plugins.musetalk prepare <pack>` and `... list`: manage avatar packs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .engines.cpu import CpuEngine
from .errors import AvatarPackError, EngineUnavailableError
from .packs import default_avatars_dir, list_packs, load_pack

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
    if args.engine == "musetalk":
        from .engines.musetalk.engine import MuseTalkEngine  # imports torch: only for this engine

        engine: CpuEngine | MuseTalkEngine = MuseTalkEngine(args.models_dir)
    else:
        engine = CpuEngine()
    prepared = engine.prepare(pack, progress=print_progress)
    state = "reused the existing cache" if prepared.from_cache else "prepared"
    print(
        f"{pack.id}: {state} ({prepared.spec.width}x{prepared.spec.height} @ {prepared.spec.fps} fps)", file=sys.stderr
    )
    print(f"preview: {prepared.preview_path}", file=sys.stderr)
    print(prepared.cache_dir)
    return 0


def list_command(args: argparse.Namespace) -> int:
    engine = CpuEngine()
    avatars_dir = args.avatars_dir or default_avatars_dir()
    packs = list_packs(avatars_dir)
    if not packs:
        print(f"no avatar packs in {avatars_dir}", file=sys.stderr)
        return 0
    for pack in packs:
        state = "prepared" if engine.cache_dir(pack).is_dir() else "not prepared"
        print(f"{pack.id:<20} {pack.manifest.display_name:<40} {state}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m livekit.plugins.musetalk", description=__doc__)
    parser.add_argument(
        "--avatars-dir",
        type=Path,
        default=None,
        help="where packs live (default: $STREAMING_AVATAR_AVATARS_DIR or ./avatars)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser("prepare", help="derive an engine's cache and a preview for a pack")
    prepare.add_argument("pack", help="pack id (e.g. default) or pack directory (e.g. avatars/default)")
    prepare.add_argument("--engine", choices=["cpu", "musetalk"], default="cpu")
    prepare.add_argument(
        "--models-dir", type=Path, default=None, help="MuseTalk weights (default: $STREAMING_AVATAR_MUSETALK_DIR)"
    )
    prepare.set_defaults(run=prepare_command)
    listing = commands.add_parser("list", help="list packs and whether they are prepared")
    listing.set_defaults(run=list_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (AvatarPackError, EngineUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
