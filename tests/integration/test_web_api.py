"""The session API (`python -m agent web`) against the real livekit-server and worker."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from livekit import api, rtc
from PIL import Image

from agent.room_notices import NOTICES_ATTRIBUTE
from support.paths import AVATARS
from support.rooms import agent_participant, record_agent, wait_for
from support.stack import LiveKitServer, WebServer, Worker

NOBODY = "no-such-agent"  # rooms of tests that do not need the avatar dispatch an agent no worker serves


@pytest.fixture
async def http(web_server: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=web_server.url, timeout=20) as client:
        yield client


def claims_of(livekit_server: LiveKitServer, token: str) -> api.Claims:
    return api.TokenVerifier(livekit_server.api_key, livekit_server.api_secret).verify(token)


async def room_names(livekit_server: LiveKitServer) -> set[str]:
    async with livekit_server.api() as lkapi:
        return {r.name for r in (await lkapi.room.list_rooms(api.ListRoomsRequest())).rooms}


async def test_avatars_are_listed_with_their_thumbnails(http: httpx.AsyncClient) -> None:
    body = (await http.get("/api/avatars")).json()
    assert {"default", "eileen"} <= {a["id"] for a in body["avatars"]}  # the shipped packs
    avatar = next(a for a in body["avatars"] if a["id"] == "default")
    assert avatar["display_name"] and avatar["licence"] and avatar["attribution"]
    assert (avatar["width"], avatar["height"]) == (512, 512)
    assert {"en", "ko"} <= {lang["language"] for lang in avatar["languages"]}
    assert set(body["tts_providers"]) == {"google", "elevenlabs"}

    thumbnail = await http.get(avatar["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (256, 256)


@pytest.mark.parametrize("avatar_id", ["nobody", "Default", "%2e%2e%2fdefault", "..%2f..%2fagent"])
async def test_unknown_or_malformed_avatar_has_no_thumbnail(http: httpx.AsyncClient, avatar_id: str) -> None:
    response = await http.get(f"/api/avatars/{avatar_id}/thumbnail")
    assert response.status_code == 404


async def test_an_uploaded_portrait_is_the_avatar_of_a_real_session(http: httpx.AsyncClient, uploads_dir: Path) -> None:
    """Upload (grey, so its frames can be told from the shipped colour portrait), start a session with it, see it."""
    with Image.open(AVATARS / "default" / "portrait.png") as image:
        shipped = np.asarray(image.convert("RGB"), np.int16)
        grey = io.BytesIO()
        image.convert("L").convert("RGB").save(grey, format="JPEG", quality=95)
    created = await http.post("/api/avatars?name=Grey", content=grey.getvalue())
    assert created.status_code == 201, created.text
    avatar = created.json()["avatar"]
    assert (uploads_dir / avatar["id"] / "manifest.json").is_file(), "stored where the worker looks"
    listed = (await http.get("/api/avatars")).json()["avatars"]
    assert next(a for a in listed if a["id"] == avatar["id"])["uploaded"] is True

    session = await http.post("/api/sessions", json={"avatar_id": avatar["id"], "config": {"language": "en"}})
    assert session.status_code == 201, session.text
    room = rtc.Room()
    media = record_agent(room)
    await room.connect(session.json()["livekit_url"], session.json()["livekit_token"])
    try:
        agent = await wait_for(lambda: agent_participant(room), timeout=20, what="the avatar agent to join")
        await wait_for(lambda: len(media.video) >= 10, timeout=20, what="the avatar's video")
        assert "avatar" not in agent.attributes.get(NOTICES_ATTRIBUTE, ""), "no fallback to another avatar"
        frame = media.video[-1][2].astype(np.int16)
        colour = lambda rgb: float(np.abs(rgb[..., 0] - rgb[..., 2]).mean())  # noqa: E731
        assert colour(frame) < colour(shipped) / 3, f"not the grey upload: {colour(frame):.1f} vs {colour(shipped):.1f}"
    finally:
        media.stop()
        await room.disconnect()
        assert (await http.delete(f"/api/avatars/{avatar['id']}")).status_code == 204
    assert not (uploads_dir / avatar["id"]).exists()


async def test_bad_uploads_are_4xx_and_leave_the_uploads_directory_as_it_was(
    http: httpx.AsyncClient, uploads_dir: Path
) -> None:
    before = sorted(uploads_dir.rglob("*"))
    with Image.open(AVATARS / "default" / "portrait.png") as image:
        pair = Image.new("RGB", (image.width * 2, image.height))
        pair.paste(image, (0, 0))
        pair.paste(image, (image.width, 0))
        two_faces = io.BytesIO()
        pair.save(two_faces, format="PNG")
    for body, status in ((b"not an image", 415), (two_faces.getvalue(), 422), (bytes(10_000_001), 413)):
        response = await http.post("/api/avatars", content=body)
        assert response.status_code == status and response.json()["detail"], response.text
    assert (await http.delete("/api/avatars/default")).status_code == 403
    for escaping in ("..%2f..%2fetc", "%2e%2e", "u-..%2f..%2favatars"):
        assert (await http.delete(f"/api/avatars/{escaping}")).status_code in (404, 405)  # 405: the path left /api
    assert sorted(uploads_dir.rglob("*")) == before


async def test_unknown_avatar_is_404(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/sessions", json={"avatar_id": "nobody", "config": {"language": "en"}})
    assert response.status_code == 404
    assert "nobody" in response.json()["detail"]


async def test_invalid_config_is_422_naming_each_field(http: httpx.AsyncClient) -> None:
    config = {"language": "not a tag", "tts_provider": "espeak", "voice": "v" * 200, "colour": "blue"}
    response = await http.post("/api/sessions", json={"avatar_id": "../etc", "config": config})
    assert response.status_code == 422
    named = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert named == {
        ("body", "avatar_id"),
        ("body", "config", "language"),
        ("body", "config", "tts_provider"),
        ("body", "config", "voice"),
        ("body", "config", "colour"),
    }


async def test_session_token_has_the_least_grants_and_dispatches_the_avatar(
    http: httpx.AsyncClient, livekit_server: LiveKitServer, worker: Worker
) -> None:
    config = {"language": "en", "tts_provider": "elevenlabs", "instructions": "Be brief."}
    response = await http.post("/api/sessions", json={"avatar_id": "default", "config": config})
    assert response.status_code == 201
    session = response.json()
    assert session["livekit_url"] == livekit_server.url and session["avatar_id"] == "default"

    claims = claims_of(livekit_server, session["livekit_token"])
    grants = claims.video
    assert grants.room == session["id"] and grants.room_join
    assert grants.can_publish_sources == ["microphone"]
    assert grants.can_subscribe and grants.can_publish_data and not grants.can_update_own_metadata
    assert not (grants.room_admin or grants.room_create or grants.room_list or grants.room_record or grants.agent)
    assert claims.identity.startswith("user-")
    (dispatch,) = claims.room_config.agents
    assert dispatch.agent_name == worker.agent_name
    assert json.loads(dispatch.metadata) == {"avatar": "default", **config}


async def test_the_agent_joins_when_the_user_joins_and_only_the_owner_ends_the_session(
    http: httpx.AsyncClient, livekit_server: LiveKitServer
) -> None:
    mine = (await http.post("/api/sessions", json={"avatar_id": "default", "config": {"language": "en"}})).json()
    other = (await http.post("/api/sessions", json={"avatar_id": "default", "config": {}})).json()
    assert mine["id"] not in await room_names(livekit_server), "the room must not exist before the user joins"

    room = rtc.Room()
    await room.connect(mine["livekit_url"], mine["livekit_token"])
    try:
        await wait_for(lambda: agent_participant(room), timeout=15, what="the avatar agent to join")
        end = f"/api/sessions/{mine['id']}"
        assert (await http.delete(end)).status_code == 401
        assert (
            await http.delete(end, headers={"Authorization": f"Bearer {other['livekit_token']}"})
        ).status_code == 403
        forged = (
            api.AccessToken("devkey", "not-the-secret")
            .with_identity("me")
            .with_grants(api.VideoGrants(room_join=True, room=mine["id"]))
        )
        assert (await http.delete(end, headers={"Authorization": f"Bearer {forged.to_jwt()}"})).status_code == 403
        assert mine["id"] in await room_names(livekit_server)

        ended = await http.delete(end, headers={"Authorization": f"Bearer {mine['livekit_token']}"})
        assert ended.status_code == 204
        assert mine["id"] not in await room_names(livekit_server)
        await wait_for(lambda: room.connection_state == rtc.ConnectionState.CONN_DISCONNECTED, what="the user dropped")
        again = await http.delete(end, headers={"Authorization": f"Bearer {mine['livekit_token']}"})
        assert again.status_code == 404
    finally:
        await room.disconnect()


async def test_livekit_token_endpoint_speaks_livekits_format(
    http: httpx.AsyncClient, livekit_server: LiveKitServer, worker: Worker
) -> None:
    # The body livekit-client's TokenSource.endpoint(url) sends (protobuf JSON with proto field names).
    request = {
        "room_name": "chosen-by-client",
        "participant_name": "Ada",
        "participant_attributes": {"team": "qa"},
        "room_config": {"agents": [{"agent_name": worker.agent_name, "metadata": '{"language": "ko"}'}]},
    }
    response = await http.post("/api/token", json=request)
    assert response.status_code == 200
    body = response.json()
    assert body["server_url"] == livekit_server.url
    claims = claims_of(livekit_server, body["participant_token"])
    assert claims.name == "Ada" and claims.attributes == {"team": "qa"}
    assert claims.video.room.startswith("sa-"), "room names are chosen by the server"
    assert claims.video.can_publish_sources == ["microphone"]
    assert json.loads(claims.room_config.agents[0].metadata) == {
        "avatar": "default",
        "language": "ko",
        "tts_provider": "google",
    }

    bare = await http.post("/api/token", json={})
    assert bare.status_code == 200, "a starter app that names no agent still gets the avatar"
    assert (
        claims_of(livekit_server, bare.json()["participant_token"]).room_config.agents[0].agent_name
        == worker.agent_name
    )


@pytest.mark.parametrize(
    ("agent", "field"),
    [
        ({"agent_name": "someone-else"}, "agent_name"),
        ({"metadata": "{not json"}, "metadata"),
        ({"metadata": '{"language": "??"}'}, "language"),
        ({"metadata": '{"llm_model": "big"}'}, "llm_model"),
    ],
)
async def test_livekit_token_endpoint_is_strict(http: httpx.AsyncClient, agent: dict[str, str], field: str) -> None:
    response = await http.post("/api/token", json={"room_config": {"agents": [agent]}})
    assert response.status_code == 422
    assert any(field in error["loc"] for error in response.json()["detail"]), response.json()


async def test_session_limits_per_client_and_in_total(launch_web_server, livekit_server: LiveKitServer) -> None:
    web = launch_web_server(
        "web-limits",
        f"{NOBODY}-{secrets.token_hex(3)}",  # its own service: other tests' rooms do not count
        {
            "STREAMING_AVATAR_WEB_MAX_SESSIONS": "2",
            "STREAMING_AVATAR_WEB_MAX_SESSIONS_PER_CLIENT": "1",
            "STREAMING_AVATAR_WEB_TRUST_FORWARDED_FOR": "1",
        },
    )
    clients = [f"198.51.100.{i}" for i in (1, 2, 3)]
    rooms: list[rtc.Room] = []
    async with httpx.AsyncClient(base_url=web.url, timeout=20) as http:

        async def open_session(client: str) -> httpx.Response:
            body = {"avatar_id": "default", "config": {}}
            return await http.post("/api/sessions", json=body, headers={"X-Forwarded-For": client})

        try:
            for client in clients[:2]:
                session = (await open_session(client)).json()
                room = rtc.Room()
                await room.connect(session["livekit_url"], session["livekit_token"])
                rooms.append(room)
                again = await open_session(client)
                if client == clients[0]:
                    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
                    assert "end one first" in again.json()["detail"]
            full = await open_session(clients[2])
            assert full.status_code == 429 and "full" in full.json()["detail"]
        finally:
            for room in rooms:
                await room.disconnect()


async def test_api_key_guards_the_session_endpoints(launch_web_server) -> None:
    key = secrets.token_urlsafe(16)
    web = launch_web_server("web-key", NOBODY, {"STREAMING_AVATAR_WEB_API_KEY": key})
    body = {"avatar_id": "default", "config": {}}
    async with httpx.AsyncClient(base_url=web.url, timeout=20) as http:
        assert (await http.post("/api/sessions", json=body)).status_code == 401
        assert (await http.post("/api/sessions", json=body, headers={"X-API-Key": "wrong"})).status_code == 401
        assert (await http.post("/api/token", json={})).status_code == 401
        assert (await http.post("/api/sessions", json=body, headers={"X-API-Key": key})).status_code == 201
        assert (await http.get("/api/avatars")).status_code == 200
    assert key not in web.log_path.read_text(), "the key must never be logged"


async def test_cors_allows_only_the_listed_origins(launch_web_server) -> None:
    web = launch_web_server("web-cors", NOBODY, {"STREAMING_AVATAR_WEB_CORS_ORIGINS": "https://app.example"})
    async with httpx.AsyncClient(base_url=web.url, timeout=20) as http:

        async def preflight(origin: str) -> httpx.Response:
            headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
            return await http.options("/api/sessions", headers=headers)

        assert (await preflight("https://app.example")).headers.get(
            "access-control-allow-origin"
        ) == "https://app.example"
        assert "access-control-allow-origin" not in (await preflight("https://evil.example")).headers


async def test_health_and_openapi(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert {
        "/api/avatars",
        "/api/avatars/{avatar_id}",
        "/api/avatars/{avatar_id}/preview",
        "/api/sessions",
        "/api/sessions/{session_id}",
        "/api/token",
    } <= set(paths)
    assert set(paths["/api/avatars"]["post"]["requestBody"]["content"]) == {"image/jpeg", "image/png", "image/webp"}
    assert (await http.get("/docs")).status_code == 200
