"""A user in a process of its own, so a test can SIGKILL it: it joins the room in $LIVEKIT_URL with
the token in $LIVEKIT_TOKEN, publishes a silent microphone, prints "joined" and waits forever.

Run as `python -m support.client_process` with tests/ on PYTHONPATH (see `start_client_process`).
"""

from __future__ import annotations

import asyncio
import os

from livekit import rtc

from support.voice_client import Microphone


async def main() -> None:
    room = rtc.Room()
    await room.connect(os.environ["LIVEKIT_URL"], os.environ["LIVEKIT_TOKEN"])
    await Microphone(room).publish()
    print("joined", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
