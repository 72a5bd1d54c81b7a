import { useCallback, useEffect, useRef, useState, type CSSProperties } from "react";
import {
  ConnectionError,
  ConnectionErrorReason,
  ConnectionState,
  DisconnectReason,
  RoomEvent,
  type Room,
} from "livekit-client";
import {
  RoomAudioRenderer,
  RoomContext,
  useAudioPlayback,
  useConnectionState,
  useLocalParticipant,
  useVoiceAssistant,
} from "@livekit/components-react";
import { endSession, resolveLivekitUrl, type Avatar, type SessionInfo } from "../api";
import { SpeakerIcon } from "../icons";
import { AgentStateBadge, ConnectionQuality } from "./Indicators";
import { ChatPanel } from "./ChatPanel";
import { Controls } from "./Controls";
import { AvatarStage } from "./AvatarStage";
import { StatusBanner, type BannerStatus } from "./StatusBanner";
import { useAgentAttributes, useChatEntries, useNotices } from "./hooks";
import { describeMicError } from "./micErrors";

/** Where the page is with the room (the agent's presence is read from the room itself). */
type Phase = "connecting" | "connected" | "unreachable" | "ended" | "ending";

/** The server closed the session for good: reconnecting makes no sense. */
const ENDED_REASONS = new Set<DisconnectReason>([
  DisconnectReason.ROOM_DELETED,
  DisconnectReason.ROOM_CLOSED,
  DisconnectReason.PARTICIPANT_REMOVED,
  DisconnectReason.DUPLICATE_IDENTITY,
]);

const AGENT_STATE_ATTRIBUTE = "lk.agent.state";

interface SessionViewProps {
  session: SessionInfo;
  avatar: Avatar;
  room: Room;
  /** Leave the session view; `note` is shown on the home view. */
  onExit: (note: string | null) => void;
}

export function SessionView(props: SessionViewProps) {
  return (
    <RoomContext.Provider value={props.room}>
      <SessionScreen {...props} />
      <RoomAudioRenderer />
    </RoomContext.Provider>
  );
}

function describeConnectError(error: unknown): string {
  if (error instanceof ConnectionError) {
    switch (error.reason) {
      case ConnectionErrorReason.NotAllowed:
        return "The media server refused this session (it may have expired). Start a new session.";
      case ConnectionErrorReason.Timeout:
        return "The media server did not answer in time.";
      case ConnectionErrorReason.Cancelled:
        return "Connecting was cancelled.";
      default:
        return "Can't reach the media server.";
    }
  }
  return "Can't connect to the media server.";
}

function SessionScreen({ session, avatar, room, onExit }: SessionViewProps) {
  const [phase, setPhase] = useState<Phase>("connecting");
  const [connectError, setConnectError] = useState<string | null>(null);
  const [micError, setMicError] = useState<string | null>(null);
  const deletedRef = useRef(false);
  const leavingRef = useRef(false);
  const phaseRef = useRef<Phase>(phase);
  phaseRef.current = phase;

  /** DELETE the session once (the End button, leaving the page, or leaving a dead session). */
  const deleteSession = useCallback(
    (keepalive = false) => {
      if (deletedRef.current) return Promise.resolve();
      deletedRef.current = true;
      return endSession(session, { keepalive });
    },
    [session],
  );

  const enableMicrophone = useCallback(async () => {
    try {
      await room.localParticipant.setMicrophoneEnabled(true);
      setMicError(null);
    } catch (error) {
      setMicError(describeMicError(error));
    }
  }, [room]);

  const connect = useCallback(async () => {
    setPhase("connecting");
    setConnectError(null);
    try {
      await room.connect(resolveLivekitUrl(session.livekit_url), session.livekit_token);
    } catch (error) {
      if (leavingRef.current) return;
      setConnectError(describeConnectError(error));
      setPhase("unreachable");
      return;
    }
    if (leavingRef.current) return;
    phaseRef.current = "connected";
    setPhase("connected");
    room.startAudio().catch(() => undefined);
    await enableMicrophone();
  }, [room, session, enableMicrophone]);

  useEffect(() => {
    const onDisconnected = (reason?: DisconnectReason) => {
      // a failed connect() reports itself; this is for a room that was up
      if (leavingRef.current || reason === DisconnectReason.CLIENT_INITIATED) return;
      if (phaseRef.current !== "connected") return;
      if (reason !== undefined && ENDED_REASONS.has(reason)) {
        setPhase("ended");
      } else {
        setConnectError("Lost the connection to the media server.");
        setPhase("unreachable");
      }
    };
    const onMediaDevicesError = (error: Error) => setMicError(describeMicError(error));
    const onPageHide = () => {
      leavingRef.current = true;
      void deleteSession(true);
      void room.disconnect();
      setPhase("ended");
    };
    room.on(RoomEvent.Disconnected, onDisconnected);
    room.on(RoomEvent.MediaDevicesError, onMediaDevicesError);
    window.addEventListener("pagehide", onPageHide);
    void connect();
    return () => {
      room.off(RoomEvent.Disconnected, onDisconnected);
      room.off(RoomEvent.MediaDevicesError, onMediaDevicesError);
      window.removeEventListener("pagehide", onPageHide);
      void room.disconnect();
    };
    // connect once per mounted session; Retry calls connect() again
  }, [room]);

  const leave = useCallback(
    async (note: string | null) => {
      if (leavingRef.current && phase === "ending") return;
      leavingRef.current = true;
      setPhase("ending");
      await deleteSession();
      await room.disconnect();
      onExit(note);
    },
    [deleteSession, room, onExit, phase],
  );

  const assistant = useVoiceAssistant();
  const connectionState = useConnectionState(room);
  const { localParticipant, isMicrophoneEnabled, microphoneTrack } = useLocalParticipant({ room });
  const { canPlayAudio, startAudio } = useAudioPlayback(room);

  const agent = assistant.agent;
  const agentAttributes = useAgentAttributes(agent);
  const [agentJoined, setAgentJoined] = useState(false);
  useEffect(() => {
    if (agent) setAgentJoined(true);
  }, [agent]);

  const roomDown = phase !== "connected" || connectionState === ConnectionState.Disconnected;
  const agentLeft = agentJoined && !agent && !roomDown;

  let agentState: string;
  if (phase === "connecting" || (phase === "connected" && connectionState === ConnectionState.Connecting)) {
    agentState = "connecting";
  } else if (roomDown || agentLeft) {
    agentState = "disconnected";
  } else if (!agent) {
    agentState = "waiting";
  } else {
    agentState = agentAttributes[AGENT_STATE_ATTRIBUTE] || "initializing";
  }

  const { entries, send, isSending } = useChatEntries(room, roomDown);
  const notices = useNotices(agentAttributes, roomDown);

  let status: BannerStatus;
  if (phase === "unreachable") status = "unreachable";
  else if (phase === "ended" || phase === "ending") status = "ended";
  else if (agentLeft) status = "agent-left";
  else if (
    phase === "connecting" ||
    connectionState === ConnectionState.Connecting ||
    connectionState === ConnectionState.Reconnecting ||
    connectionState === ConnectionState.SignalReconnecting
  )
    status = "connecting";
  // a denied microphone outranks waiting: it needs the user's action, waiting does not
  else if (micError) status = "mic-denied";
  else if (!agent) status = "waiting-agent";
  else status = "ok";

  const canTalk = !roomDown && !!agent;
  const stageStyle = {
    "--ar-w": String(Math.max(1, avatar.width || 1)),
    "--ar-h": String(Math.max(1, avatar.height || 1)),
  } as CSSProperties;

  return (
    <div className="session" data-testid="session-view" style={stageStyle}>
      <header className="session-header">
        <div className="session-title">
          <img className="header-thumb" src={avatar.thumbnail_url} alt="" width={32} height={32} />
          <span className="session-name">{avatar.display_name}</span>
        </div>
        <div className="session-indicators">
          <AgentStateBadge state={agentState} />
          <ConnectionQuality participant={localParticipant} lost={phase === "unreachable" || phase === "ended"} />
        </div>
      </header>

      <div className="session-body">
        <section className="stage-column" aria-label="Avatar">
          <AvatarStage
            avatar={avatar}
            videoTrack={canTalk || agentLeft ? assistant.videoTrack : undefined}
            agentState={agentState}
          >
            <StatusBanner
              status={status}
              phase={phase}
              connectError={connectError}
              micError={micError}
              onRetry={() => void connect()}
              onRetryMic={() => void enableMicrophone()}
              onLeave={(note) => void leave(note)}
            />
            {status === "mic-denied" && !agent && (
              <div className="banner banner-center banner-passive" aria-hidden="true">
                <span className="spinner" />
                <p className="banner-title">Waiting for the avatar…</p>
              </div>
            )}
            {!canPlayAudio && !roomDown && (
              <button type="button" className="btn btn-primary audio-unlock" onClick={() => void startAudio()}>
                <SpeakerIcon size={18} /> Turn on sound
              </button>
            )}
          </AvatarStage>
          <Controls
            room={room}
            agentIdentity={agent?.identity}
            agentState={agentState}
            connected={!roomDown}
            micEnabled={isMicrophoneEnabled}
            micTrack={microphoneTrack?.track}
            onMicError={setMicError}
            onEnd={() => void leave("Session ended.")}
            ending={phase === "ending"}
          />
        </section>

        <ChatPanel
          entries={entries}
          notices={notices}
          avatarName={avatar.display_name}
          canSend={canTalk}
          waiting={!roomDown && !agent && !agentLeft}
          isSending={isSending}
          onSend={send}
        />
      </div>
    </div>
  );
}
