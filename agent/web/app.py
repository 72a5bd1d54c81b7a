"""The session API and the page: `create_app(settings)` builds the FastAPI app."""

import asyncio
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import aiohttp
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from livekit import api
from pydantic import ValidationError

from livekit.plugins.musetalk import AvatarPack, AvatarPackError

from ..metadata import DispatchMetadata
from .catalogue import avatar_info, find_pack, list_avatars, thumbnail_png
from .models import (
    AvatarList,
    AvatarUploaded,
    CreateSessionRequest,
    SessionCreated,
    TokenDispatchMetadata,
    TokenRequest,
    TokenResponse,
    UploadLimits,
    UploadProgress,
)
from .sessions import NotSessionOwnerError, SessionLimitError, SessionRooms, UnknownSessionError
from .settings import WebSettings
from .uploads import ACCEPTED_MEDIA_TYPES, UploadError, UploadSlots, UploadStore, check_portrait, read_upload

logger = logging.getLogger("streaming-avatar.web")

NDJSON = "application/x-ndjson"
CHECKED_SHARE = 0.3
"""Of an upload's progress bar, the share done once the photo passed its checks (preparing is the rest)."""
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The photo itself as the body (not a form): JPEG, PNG or WebP, judged by its content.",
        "content": {media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in ACCEPTED_MEDIA_TYPES},
    }
}

PAGE_NOT_BUILT = """<!doctype html><title>Streaming Avatar</title>
<p>The page is not built. Run <code>scripts/setup.sh</code> (it runs <code>npm ci && npm run build</code>
in <code>web/</code>). The API is up: <a href="/docs">/docs</a>.</p>"""


def create_app(settings: WebSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with api.LiveKitAPI(
            settings.livekit_url, settings.api_key, settings.api_secret.get_secret_value()
        ) as lkapi:
            app.state.rooms = SessionRooms(settings, lkapi)
            yield

    app = FastAPI(
        title="Streaming Avatar session API",
        summary="Avatars, sessions (LiveKit rooms with the avatar agent) and LiveKit's standard token endpoint.",
        lifespan=lifespan,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )

    @app.exception_handler(SessionLimitError)
    async def _too_many(_: Request, exc: SessionLimitError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(aiohttp.ClientError)
    async def _livekit_unreachable(_: Request, exc: aiohttp.ClientError) -> JSONResponse:
        logger.error("LiveKit server unreachable at %s: %s", settings.livekit_url, exc)
        return JSONResponse({"detail": "the LiveKit server is unreachable; try again shortly"}, status_code=503)

    @app.exception_handler(api.TwirpError)
    async def _livekit_error(_: Request, exc: api.TwirpError) -> JSONResponse:
        logger.error("LiveKit server error: %s %s", exc.code, exc.message)
        return JSONResponse({"detail": "the LiveKit server refused the request; try again shortly"}, status_code=503)

    @app.exception_handler(UploadError)
    async def _upload_rejected(_: Request, exc: UploadError) -> JSONResponse:
        headers = {"Retry-After": "5"} if exc.status == 429 else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)

    store = UploadStore(settings.uploads_dir, settings.avatars_dir, settings.cache_dir, settings.max_uploads)
    slots = UploadSlots()
    background: set[asyncio.Task[AvatarPack]] = set()

    def rooms(request: Request) -> SessionRooms:
        session_rooms: SessionRooms = request.app.state.rooms
        return session_rooms

    def client_address(request: Request) -> str:
        forwarded = request.headers.get("x-forwarded-for", "")
        if settings.trust_forwarded_for and forwarded:
            return forwarded.split(",")[0].strip()
        return request.client.host if request.client else "unknown"

    def require_access_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
        if settings.access_key is None:
            return
        expected = settings.access_key.get_secret_value().encode()
        if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), expected):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this server needs an API key in the X-API-Key header")

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/avatars", tags=["avatars"])
    async def get_avatars() -> AvatarList:
        return AvatarList(
            avatars=list_avatars(settings.avatars_dir, settings.uploads_dir),
            uploads=UploadLimits(
                enabled=settings.max_uploads > 0,
                max_bytes=settings.max_upload_bytes,
                media_types=list(ACCEPTED_MEDIA_TYPES),
                max_uploads=settings.max_uploads,
            ),
        )

    @app.post(
        "/api/avatars",
        tags=["avatars"],
        status_code=status.HTTP_201_CREATED,
        dependencies=[Depends(require_access_key)],
        openapi_extra=UPLOAD_BODY,
        response_model=AvatarUploaded,
        responses={
            201: {"content": {NDJSON: {"schema": UploadProgress.model_json_schema()}}},
            401: {"description": "the server needs an API key"},
            403: {"description": "uploads are off on this server"},
            413: {"description": "the file, or its decoded size, is too large"},
            415: {"description": "not a JPEG, PNG or WebP image"},
            422: {"description": "damaged image, too small, no face or several faces"},
            429: {"description": "busy with other uploads, or the server holds its limit of uploads"},
        },
    )
    async def upload_avatar(
        request: Request,
        name: Annotated[str, Query(min_length=1, max_length=40, pattern=r"\S")] = "My avatar",
    ) -> Response:
        """Make an avatar from one photo of one person: checked, framed around the face, prepared.

        The answer comes once the avatar is ready (well under a second of work): 201 with the new
        avatar, or a 4xx whose `detail` says what to change. With `Accept: application/x-ndjson` the
        checks still answer as a 4xx, and a 201 then streams one JSON object per line while the
        avatar is prepared (`progress` events, then `ready` with the avatar, or `error`).
        """
        store.check_room()
        data = await read_upload(request.stream(), request.headers.get("content-length"), settings.max_upload_bytes)
        received = time.perf_counter()
        display_name = " ".join(name.split())
        await slots.acquire()
        try:
            checked = await asyncio.to_thread(check_portrait, data)
        except BaseException:
            slots.release()
            raise
        if NDJSON not in request.headers.get("accept", ""):
            try:
                pack = await asyncio.to_thread(store.create, checked, display_name)
            finally:
                slots.release()
            return JSONResponse(
                AvatarUploaded(avatar=avatar_info(pack, uploaded=True), ready_ms=_ms_since(received)).model_dump(),
                status_code=status.HTTP_201_CREATED,
            )

        loop = asyncio.get_running_loop()
        events: asyncio.Queue[UploadProgress | None] = asyncio.Queue()

        def progress(step: str, fraction: float) -> None:
            share = CHECKED_SHARE + (1 - CHECKED_SHARE) * fraction
            loop.call_soon_threadsafe(events.put_nowait, UploadProgress(event="progress", step=step, progress=share))

        task = asyncio.create_task(asyncio.to_thread(store.create, checked, display_name, progress))
        background.add(task)  # it finishes even if the client goes away: the avatar is then listed

        def finished(done: asyncio.Task[AvatarPack]) -> None:
            background.discard(done)
            slots.release()
            events.put_nowait(None)

        task.add_done_callback(finished)

        async def lines() -> AsyncIterator[str]:
            yield _line(UploadProgress(event="progress", step="found one face", progress=CHECKED_SHARE))
            while (event := await events.get()) is not None:
                yield _line(event)
            try:
                pack = task.result()
            except UploadError as exc:
                yield _line(UploadProgress(event="error", status=exc.status, detail=exc.detail))
                return
            except Exception:
                logger.exception("preparing an uploaded avatar failed")
                yield _line(UploadProgress(event="error", status=500, detail="the server failed to prepare the avatar"))
                return
            logger.info("avatar %s uploaded (%s)", pack.id, display_name)
            info = avatar_info(pack, uploaded=True)
            yield _line(UploadProgress(event="ready", progress=1.0, avatar=info, ready_ms=_ms_since(received)))

        return StreamingResponse(lines(), status_code=status.HTTP_201_CREATED, media_type=NDJSON)

    @app.delete(
        "/api/avatars/{avatar_id}",
        tags=["avatars"],
        status_code=status.HTTP_204_NO_CONTENT,
        dependencies=[Depends(require_access_key)],
        responses={
            401: {"description": "the server needs an API key"},
            403: {"description": "a shipped avatar"},
            404: {"description": "no such uploaded avatar"},
        },
    )
    async def delete_avatar(avatar_id: Annotated[str, Path(max_length=64)]) -> Response:
        """Delete an uploaded avatar and its prepared caches; shipped avatars stay."""
        await asyncio.to_thread(store.delete, avatar_id)
        logger.info("uploaded avatar %s deleted", avatar_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @app.get(
        "/api/avatars/{avatar_id}/preview",
        tags=["avatars"],
        response_class=FileResponse,
        responses={200: {"content": {"image/png": {}}}, 404: {"description": "unknown avatar"}},
    )
    async def get_preview(avatar_id: Annotated[str, Path(max_length=64)]) -> FileResponse:
        """What the CPU engine made of the portrait: the face it found, mouth shapes and a blink."""
        pack = find_pack(settings.avatar_dirs, avatar_id)
        if pack is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown avatar {avatar_id!r}")
        await slots.acquire()
        try:
            path = await asyncio.to_thread(store.preview_path, pack)
        except AvatarPackError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no preview: {exc.reason}") from None
        finally:
            slots.release()
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    @app.get(
        "/api/avatars/{avatar_id}/thumbnail",
        tags=["avatars"],
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, 404: {"description": "unknown avatar"}},
    )
    async def get_thumbnail(avatar_id: Annotated[str, Path(max_length=64)]) -> Response:
        pack = find_pack(settings.avatar_dirs, avatar_id)
        if pack is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown avatar {avatar_id!r}")
        return Response(thumbnail_png(pack), media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    @app.post(
        "/api/sessions",
        tags=["sessions"],
        status_code=status.HTTP_201_CREATED,
        dependencies=[Depends(require_access_key)],
        responses={404: {"description": "unknown avatar"}, 429: {"description": "too many open sessions"}},
    )
    async def create_session(
        body: CreateSessionRequest, request: Request, session_rooms: Annotated[SessionRooms, Depends(rooms)]
    ) -> SessionCreated:
        if find_pack(settings.avatar_dirs, body.avatar_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown avatar {body.avatar_id!r}")
        metadata = DispatchMetadata(avatar=body.avatar_id, **body.config.model_dump())
        grant = await session_rooms.open(
            client_address=client_address(request), dispatch_metadata=metadata.model_dump_json(exclude_none=True)
        )
        logger.info("session %s opened (avatar %s)", grant.room, body.avatar_id)
        return SessionCreated(
            id=grant.room,
            avatar_id=body.avatar_id,
            livekit_url=settings.public_livekit_url,
            livekit_token=grant.token,
            expires_at=grant.expires_at,
        )

    @app.delete(
        "/api/sessions/{session_id}",
        tags=["sessions"],
        status_code=status.HTTP_204_NO_CONTENT,
        responses={
            401: {"description": "no bearer token"},
            403: {"description": "the token is not this session's"},
            404: {"description": "no such open session"},
        },
    )
    async def end_session(
        session_id: Annotated[str, Path(max_length=64)],
        session_rooms: Annotated[SessionRooms, Depends(rooms)],
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "send the session's livekit_token as 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            await session_rooms.end(session_id, token.strip())
        except NotSessionOwnerError as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
        except UnknownSessionError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        logger.info("session %s ended by its owner", session_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @app.post(
        "/api/token",
        tags=["sessions"],
        dependencies=[Depends(require_access_key)],
        responses={429: {"description": "too many open sessions"}},
    )
    async def token_endpoint(
        body: TokenRequest, request: Request, session_rooms: Annotated[SessionRooms, Depends(rooms)]
    ) -> TokenResponse:
        """LiveKit's standard token endpoint: LiveKit's starter apps work against it unchanged.

        Every token dispatches this server's avatar agent; `room_config.agents[0].metadata` may choose
        the avatar and the session config (as in POST /api/sessions).
        """
        dispatch = body.room_config.agents[0] if body.room_config and body.room_config.agents else None
        if dispatch and dispatch.agent_name not in ("", settings.agent_name):
            raise RequestValidationError(
                [_error(("body", "room_config", "agents", 0, "agent_name"), f"only {settings.agent_name!r} runs here")]
            )
        metadata = _token_metadata(dispatch.metadata if dispatch else "")
        if find_pack(settings.avatar_dirs, metadata.avatar) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown avatar {metadata.avatar!r}")
        grant = await session_rooms.open(
            client_address=client_address(request),
            dispatch_metadata=metadata.model_dump_json(exclude_none=True),
            participant_name=body.participant_name,
            participant_metadata=body.participant_metadata,
            participant_attributes=body.participant_attributes,
        )
        return TokenResponse(server_url=settings.public_livekit_url, participant_token=grant.token)

    if (settings.web_dist / "index.html").is_file():
        app.mount("/", StaticFiles(directory=settings.web_dist, html=True), name="page")
    else:

        @app.get("/", include_in_schema=False)
        async def page_not_built() -> HTMLResponse:
            return HTMLResponse(PAGE_NOT_BUILT, status_code=503)

    return app


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _line(event: UploadProgress) -> str:
    return event.model_dump_json(exclude_none=True) + "\n"


def _error(loc: tuple[str | int, ...], msg: str) -> dict[str, object]:
    return {"type": "value_error", "loc": loc, "msg": msg, "input": None}


def _token_metadata(raw: str) -> TokenDispatchMetadata:
    """Strict: a wrong field is a 422 naming it (the worker would only fall back and warn)."""
    loc = ("body", "room_config", "agents", 0, "metadata")
    if not raw.strip():
        return TokenDispatchMetadata()
    try:
        return TokenDispatchMetadata.model_validate(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise RequestValidationError([_error(loc, f"not JSON: {exc.msg}")]) from None
    except ValidationError as exc:
        raise RequestValidationError(
            [_error(loc + tuple(e["loc"]), e["msg"]) for e in exc.errors()] or [_error(loc, "must be a JSON object")]
        ) from None
