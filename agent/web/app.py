"""The session API and the page: `create_app(settings)` builds the FastAPI app."""

import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import aiohttp
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from livekit import api
from pydantic import ValidationError

from ..metadata import DispatchMetadata
from .catalogue import find_pack, list_avatars, thumbnail_png
from .models import (
    AvatarList,
    CreateSessionRequest,
    SessionCreated,
    TokenDispatchMetadata,
    TokenRequest,
    TokenResponse,
)
from .sessions import NotSessionOwnerError, SessionLimitError, SessionRooms, UnknownSessionError
from .settings import WebSettings

logger = logging.getLogger("streaming-avatar.web")

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
        return AvatarList(avatars=list_avatars(settings.avatars_dir))

    @app.get(
        "/api/avatars/{avatar_id}/thumbnail",
        tags=["avatars"],
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, 404: {"description": "unknown avatar"}},
    )
    async def get_thumbnail(avatar_id: Annotated[str, Path(max_length=64)]) -> Response:
        pack = find_pack(settings.avatars_dir, avatar_id)
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
        if find_pack(settings.avatars_dir, body.avatar_id) is None:
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
        if find_pack(settings.avatars_dir, metadata.avatar) is None:
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
