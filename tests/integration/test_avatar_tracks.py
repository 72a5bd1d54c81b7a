"""The avatar's two tracks, published at once, reach every subscriber, already there or joining later.

`AvatarPublisher` publishes `avatar_audio` and `avatar_video` concurrently (one signalling round trip
fewer before the page's first frame). An earlier attempt at that was reverted after a subscriber got no
video, so this runs the publisher many times against real subscribers and asks for both tracks' media
each time: a subscriber connected before the tracks appear, and one that joins after.
"""

from __future__ import annotations

from livekit import rtc

from livekit.plugins.musetalk import AvatarOptions
from livekit.plugins.musetalk.publisher import AvatarPublisher
from support.rooms import record_agent, wait_for

ROUNDS = 8


async def test_tracks_published_at_once_reach_every_subscriber(livekit_server, connect, room_name: str) -> None:
    for round_ in range(ROUNDS):
        room = f"{room_name}-{round_}"
        early = await connect(room, "early")
        early_media = record_agent(early, images=False)
        avatar = rtc.Room()  # an agent participant, as a worker's job is
        await avatar.connect(livekit_server.url, livekit_server.token(room, f"avatar-{round_}", kind="agent"))
        publisher = AvatarPublisher(AvatarOptions(video_encoder="x264"))
        try:
            await publisher.start(avatar)
            published = {pub.name: pub for pub in avatar.local_participant.track_publications.values()}
            assert set(published) == {"avatar_audio", "avatar_video"}
            late = await connect(room, "late")
            late_media = record_agent(late, images=False)
            for who, media in (("early", early_media), ("late", late_media)):
                await wait_for(lambda m=media: len(m.video) >= 3, timeout=15, what=f"round {round_}: {who} video")
                await wait_for(lambda m=media: len(m.audio) >= 3, timeout=15, what=f"round {round_}: {who} audio")
            early_media.stop()
            late_media.stop()
        finally:
            await publisher.aclose()
            await avatar.disconnect()
