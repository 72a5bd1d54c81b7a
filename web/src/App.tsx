import { useCallback, useEffect, useState } from "react";
import { Room, type RoomOptions } from "livekit-client";
import {
  ApiError,
  createSession,
  fetchCatalogue,
  storeApiKey,
  storedApiKey,
  type Avatar,
  type SessionConfig,
  type SessionInfo,
} from "./api";
import { Home, type CatalogueState } from "./Home";
import { SessionView } from "./session/SessionView";

const ROOM_OPTIONS: RoomOptions = {
  // one avatar video at a fixed size: no simulcast layer switching needed
  adaptiveStream: false,
  dynacast: false,
  audioCaptureDefaults: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
};

type View = { kind: "home" } | { kind: "session"; session: SessionInfo; avatar: Avatar; room: Room };

function message(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return "Something went wrong. Try again.";
}

export function App() {
  const [catalogue, setCatalogue] = useState<CatalogueState>({ status: "loading" });
  const [reloads, setReloads] = useState(0);
  const [view, setView] = useState<View>({ kind: "home" });
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);
  const [needsApiKey, setNeedsApiKey] = useState(() => storedApiKey() !== "");
  const [apiKey, setApiKey] = useState(storedApiKey);
  const [lastSessionNote, setLastSessionNote] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    setCatalogue({ status: "loading" });
    fetchCatalogue(controller.signal)
      .then((c) => setCatalogue({ status: "ready", catalogue: c }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        setCatalogue({ status: "error", message: message(error) });
      });
    return () => controller.abort();
  }, [reloads]);

  const start = useCallback(
    async (avatar: Avatar, config: SessionConfig, key: string) => {
      setStarting(true);
      setStartError(null);
      setLastSessionNote(null);
      // Inside the click: lets the browser play the avatar's audio later (autoplay policy).
      const room = new Room(ROOM_OPTIONS);
      room.startAudio().catch(() => undefined);
      try {
        const session = await createSession(avatar.id, config, key);
        storeApiKey(key);
        setView({ kind: "session", session, avatar, room });
      } catch (error) {
        void room.disconnect();
        if (error instanceof ApiError && error.needsApiKey) setNeedsApiKey(true);
        setStartError(message(error));
      } finally {
        setStarting(false);
      }
    },
    [],
  );

  const changeAvatars = useCallback((change: (avatars: Avatar[]) => Avatar[]) => {
    setCatalogue((current) =>
      current.status === "ready"
        ? { status: "ready", catalogue: { ...current.catalogue, avatars: change(current.catalogue.avatars) } }
        : current,
    );
  }, []);

  const exit = useCallback((note: string | null) => {
    setLastSessionNote(note);
    setView({ kind: "home" });
  }, []);

  if (view.kind === "session") {
    return (
      <SessionView
        key={view.session.id}
        session={view.session}
        avatar={view.avatar}
        room={view.room}
        onExit={exit}
      />
    );
  }
  return (
    <Home
      catalogue={catalogue}
      onReload={() => setReloads((n) => n + 1)}
      onStart={(avatar, config, key) => void start(avatar, config, key)}
      starting={starting}
      startError={startError}
      needsApiKey={needsApiKey}
      apiKey={apiKey}
      onApiKeyChange={setApiKey}
      lastSessionNote={lastSessionNote}
      onAvatarAdded={(avatar) => changeAvatars((avatars) => [...avatars.filter((a) => a.id !== avatar.id), avatar])}
      onAvatarDeleted={(id) => changeAvatars((avatars) => avatars.filter((a) => a.id !== id))}
      onNeedsApiKey={() => setNeedsApiKey(true)}
    />
  );
}
