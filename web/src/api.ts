// The session API served by `python -m agent web` on the page's own origin.

export interface AvatarLanguage {
  language: string;
  /** TTS provider → the pack's default voice for this language. */
  voices: Record<string, string>;
}

export interface Avatar {
  id: string;
  display_name: string;
  thumbnail_url: string;
  width: number;
  height: number;
  languages: AvatarLanguage[];
  licence?: string;
  attribution?: string;
  source_url?: string | null;
  /** Made from a photo uploaded to this server: it can be deleted. */
  uploaded?: boolean;
  preview_url?: string;
}

/** What POST /api/avatars takes on this server. */
export interface UploadLimits {
  enabled: boolean;
  max_bytes: number;
  media_types: string[];
  max_uploads: number;
}

export interface AvatarCatalogue {
  avatars: Avatar[];
  tts_providers: string[];
  uploads: UploadLimits | null;
}

export interface UploadedAvatar {
  avatar: Avatar;
  /** Server time from the photo received to the avatar ready. */
  ready_ms: number;
}

/** Where an upload is: sending the photo, checking it, then the server's preparation steps. */
export interface UploadStep {
  step: string;
  /** 0..1 over the whole upload. */
  progress: number;
}

export interface SessionConfig {
  language: string;
  tts_provider: string;
  voice: string | null;
  instructions: string | null;
}

export interface SessionInfo {
  id: string;
  avatar_id: string;
  livekit_url: string;
  livekit_token: string;
  expires_at: string;
}

/** An API failure with a message meant for people. */
export class ApiError extends Error {
  readonly status: number;
  /** True when the server could not be reached at all (network error, no response). */
  readonly unreachable: boolean;
  readonly needsApiKey: boolean;

  constructor(message: string, status = 0, opts: { unreachable?: boolean } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.unreachable = opts.unreachable ?? false;
    this.needsApiKey = status === 401;
  }
}

const API_KEY_STORAGE = "streaming-avatar.api-key";

export function storedApiKey(): string {
  try {
    return sessionStorage.getItem(API_KEY_STORAGE) ?? "";
  } catch {
    return "";
  }
}

export function storeApiKey(key: string): void {
  try {
    if (key) sessionStorage.setItem(API_KEY_STORAGE, key);
    else sessionStorage.removeItem(API_KEY_STORAGE);
  } catch {
    // storage disabled: the key lives as long as the form state
  }
}

interface ValidationItem {
  loc?: unknown[];
  msg?: string;
}

function describeDetail(detail: unknown): string | null {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    const parts = (detail as ValidationItem[])
      .map((item) => {
        if (!item || typeof item !== "object") return null;
        const loc = Array.isArray(item.loc)
          ? item.loc.filter((part) => part !== "body").join(".")
          : "";
        const msg = item.msg ?? "invalid value";
        return loc ? `${loc}: ${msg}` : msg;
      })
      .filter((part): part is string => !!part);
    return parts.length ? parts.join("; ") : null;
  }
  return null;
}

async function readDetail(response: Response): Promise<string | null> {
  try {
    const body: unknown = await response.json();
    if (body && typeof body === "object" && "detail" in body) {
      return describeDetail((body as { detail: unknown }).detail);
    }
  } catch {
    // not JSON
  }
  return null;
}

function capitalise(text: string): string {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

async function errorFrom(response: Response, what: string): Promise<ApiError> {
  const detail = await readDetail(response);
  const status = response.status;
  let message: string;
  switch (status) {
    case 401:
      message = "This server needs an API key to start a session. Enter it and try again.";
      break;
    case 403:
      message = detail ? capitalise(detail) : "Not allowed.";
      break;
    case 404:
      message = detail ? `Not found: ${detail}.` : `Not found (${what}).`;
      break;
    case 422:
      message = `The server rejected the settings: ${detail ?? "invalid request"}.`;
      break;
    case 429: {
      const retry = Number(response.headers.get("Retry-After"));
      const wait =
        Number.isFinite(retry) && retry > 0
          ? ` Try again in ${retry < 90 ? `${Math.ceil(retry)} s` : `${Math.ceil(retry / 60)} min`}.`
          : " Try again in a moment.";
      message = `Too many sessions are open right now.${wait}`;
      break;
    }
    case 502:
    case 503:
    case 504:
      message = detail
        ? `The server is not ready: ${detail}.`
        : "The server is temporarily unavailable. Try again shortly.";
      break;
    default:
      message = `The server failed while ${what} (HTTP ${status})${detail ? `: ${detail}` : ""}.`;
  }
  return new ApiError(message, status);
}

async function request(input: string, init: RequestInit, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(input, init);
  } catch {
    throw new ApiError(
      "Can't reach the server. Check your connection and that the service is running.",
      0,
      { unreachable: true },
    );
  }
  if (!response.ok) throw await errorFrom(response, what);
  return response;
}

export async function fetchCatalogue(signal?: AbortSignal): Promise<AvatarCatalogue> {
  const response = await request(
    "/api/avatars",
    { headers: { Accept: "application/json" }, signal },
    "loading the avatars",
  );
  let body: Partial<AvatarCatalogue>;
  try {
    body = (await response.json()) as Partial<AvatarCatalogue>;
  } catch {
    throw new ApiError("The server sent an unreadable avatar list.", response.status);
  }
  return {
    avatars: Array.isArray(body.avatars) ? body.avatars : [],
    tts_providers: Array.isArray(body.tts_providers) ? body.tts_providers : [],
    uploads: body.uploads && typeof body.uploads === "object" ? body.uploads : null,
  };
}

/** Share of the progress bar taken by sending the photo (the server's own steps start at 0.3). */
const SENDING_SHARE = 0.25;

function uploadError(status: number, detail: string | null): ApiError {
  let message: string;
  if (status === 401) message = "This server needs an API key to add avatars. Enter it below and try again.";
  else if (status >= 400 && status < 500 && detail) message = `${capitalise(detail)}.`;
  else if (status === 0) message = "Can't reach the server. Check your connection and try again.";
  else message = `The server failed while preparing the avatar (HTTP ${status})${detail ? `: ${detail}` : ""}.`;
  return new ApiError(message, status, { unreachable: status === 0 });
}

function detailOf(text: string): string | null {
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === "object" && "detail" in body) {
      return describeDetail((body as { detail: unknown }).detail);
    }
  } catch {
    // not JSON
  }
  return null;
}

/**
 * Makes an avatar from one photo (POST /api/avatars): XHR, for the upload's own progress, and the
 * server's NDJSON progress lines while it prepares the avatar.
 */
export function uploadAvatar(
  file: Blob,
  name: string,
  apiKey: string,
  onStep: (step: UploadStep) => void,
): Promise<UploadedAvatar> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let read = 0;
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    const readLines = () => {
      if (xhr.status !== 201) return;
      const text = xhr.responseText;
      let end: number;
      while ((end = text.indexOf("\n", read)) >= 0) {
        const line = text.slice(read, end).trim();
        read = end + 1;
        if (!line) continue;
        let event: {
          event?: string;
          step?: string;
          progress?: number;
          avatar?: Avatar;
          ready_ms?: number;
          status?: number;
          detail?: string;
        };
        try {
          event = JSON.parse(line);
        } catch {
          continue;
        }
        if (event.event === "progress") {
          onStep({ step: event.step ?? "Preparing", progress: event.progress ?? 0 });
        } else if (event.event === "ready" && event.avatar) {
          const uploaded = { avatar: event.avatar, ready_ms: event.ready_ms ?? 0 };
          finish(() => resolve(uploaded));
        } else if (event.event === "error") {
          const error = uploadError(event.status ?? 500, event.detail ?? null);
          finish(() => reject(error));
        }
      }
    };
    xhr.open("POST", `/api/avatars?name=${encodeURIComponent(name)}`);
    xhr.setRequestHeader("Accept", "application/x-ndjson");
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    if (apiKey) xhr.setRequestHeader("X-API-Key", apiKey);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) {
        onStep({ step: "Sending the photo", progress: (SENDING_SHARE * e.loaded) / e.total });
      }
    };
    xhr.upload.onload = () => onStep({ step: "Checking the photo", progress: SENDING_SHARE });
    xhr.onprogress = readLines;
    xhr.onload = () => {
      if (xhr.status === 201) {
        readLines();
        finish(() => reject(new ApiError("The server's answer ended before the avatar was ready.", 201)));
      } else {
        const error = uploadError(xhr.status, detailOf(xhr.responseText));
        finish(() => reject(error));
      }
    };
    xhr.onerror = () => finish(() => reject(uploadError(0, null)));
    xhr.send(file);
  });
}

/** Deletes an uploaded avatar (DELETE /api/avatars/{id}). */
export async function deleteAvatar(avatarId: string, apiKey: string): Promise<void> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (apiKey) headers["X-API-Key"] = apiKey;
  await request(`/api/avatars/${encodeURIComponent(avatarId)}`, { method: "DELETE", headers }, "deleting the avatar");
}

export async function createSession(
  avatarId: string,
  config: SessionConfig,
  apiKey: string,
): Promise<SessionInfo> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "application/json",
  };
  if (apiKey) headers["X-API-Key"] = apiKey;
  const response = await request(
    "/api/sessions",
    {
      method: "POST",
      headers,
      body: JSON.stringify({ avatar_id: avatarId, config }),
    },
    "starting the session",
  );
  const body = (await response.json()) as SessionInfo;
  if (!body || !body.livekit_token || !body.id) {
    throw new ApiError("The server's answer has no session in it.", response.status);
  }
  return body;
}

/** Ends a session; resolves even when it fails (the room then times out on its own). */
export async function endSession(
  session: SessionInfo,
  opts: { keepalive?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const controller = new AbortController();
  const timer = window.setTimeout(() => controller.abort(), opts.timeoutMs ?? 4000);
  try {
    await fetch(`/api/sessions/${encodeURIComponent(session.id)}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${session.livekit_token}` },
      keepalive: opts.keepalive ?? false,
      signal: opts.keepalive ? undefined : controller.signal,
    });
  } catch {
    // best effort
  } finally {
    window.clearTimeout(timer);
  }
}

/** The LiveKit signalling URL; a path-only or empty one means "same host as the page". */
export function resolveLivekitUrl(url: string): string {
  if (/^wss?:\/\//i.test(url)) return url;
  if (/^https?:\/\//i.test(url)) return url.replace(/^http/i, "ws");
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const path = url.startsWith("/") ? url : `/${url}`;
  return `${scheme}//${window.location.host}${url ? path : ""}`;
}
