"""Developer helpers: explicit dispatch, join tokens, the metadata JSON Schema.

Credentials come from LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET and are
never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys

from livekit import api

from .grants import user_grants
from .metadata import SCHEMA_PATH, write_schema

DEVTOOL_COMMANDS = ("dispatch", "token", "schema")
DEFAULT_AGENT_NAME = "streaming-avatar"
TOKEN_TTL = dt.timedelta(hours=1)
"""How long a `token` is valid for joining; LiveKit keeps a participant that joined in time connected."""


def _credentials() -> tuple[str, str, str]:
    missing = [n for n in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET") if not os.environ.get(n)]
    if missing:
        raise SystemExit(f"set {', '.join(missing)} (see README: 'Environment')")
    return os.environ["LIVEKIT_URL"], os.environ["LIVEKIT_API_KEY"], os.environ["LIVEKIT_API_SECRET"]


def _agent_name(cli_value: str | None) -> str:
    return cli_value or os.environ.get("STREAMING_AVATAR_AGENT_NAME") or DEFAULT_AGENT_NAME


def _check_metadata(metadata: str | None) -> str:
    if metadata is None:
        return ""
    try:
        json.loads(metadata)
    except json.JSONDecodeError as e:
        raise SystemExit(f"--metadata is not valid JSON: {e.msg}") from None
    return metadata


async def create_dispatch(room: str, agent_name: str, metadata: str) -> api.AgentDispatch:
    url, key, secret = _credentials()
    async with api.LiveKitAPI(url, key, secret) as lkapi:
        return await lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name=agent_name, room=room, metadata=metadata)
        )


def join_token(room: str, identity: str, *, dispatch_agent: str | None, metadata: str) -> str:
    _, key, secret = _credentials()
    token = api.AccessToken(key, secret).with_identity(identity).with_ttl(TOKEN_TTL).with_grants(user_grants(room))
    if dispatch_agent:
        token = token.with_room_config(
            api.RoomConfiguration(agents=[api.RoomAgentDispatch(agent_name=dispatch_agent, metadata=metadata)])
        )
    return token.to_jwt()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agent")
    sub = parser.add_subparsers(dest="command", required=True)
    dispatch = sub.add_parser("dispatch", help="dispatch the agent into a room through the server API")
    dispatch.add_argument("--room", required=True)
    dispatch.add_argument("--metadata", help="dispatch metadata JSON (see agent/dispatch_metadata.schema.json)")
    dispatch.add_argument("--agent-name")
    token = sub.add_parser("token", help="print a join token for a room")
    token.add_argument("--room", required=True)
    token.add_argument("--identity", required=True)
    token.add_argument("--dispatch", action="store_true", help="embed an agent dispatch in the token")
    token.add_argument("--metadata", help="dispatch metadata JSON for --dispatch")
    token.add_argument("--agent-name")
    sub.add_parser("schema", help=f"regenerate {SCHEMA_PATH.name} from the metadata model")
    return parser


def run_devtool(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "dispatch":
        dispatch = asyncio.run(create_dispatch(args.room, _agent_name(args.agent_name), _check_metadata(args.metadata)))
        print(json.dumps({"dispatch_id": dispatch.id, "room": dispatch.room, "agent_name": dispatch.agent_name}))
    elif args.command == "token":
        agent = _agent_name(args.agent_name) if args.dispatch else None
        try:
            print(join_token(args.room, args.identity, dispatch_agent=agent, metadata=_check_metadata(args.metadata)))
        except ValueError as e:
            raise SystemExit(str(e)) from None
    else:
        write_schema()
        print(f"wrote {SCHEMA_PATH}", file=sys.stderr)
    return 0
