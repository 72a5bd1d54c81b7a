import { useEffect, useState } from "react";
import { Track, type LocalAudioTrack, type Room } from "livekit-client";
import { useTrackVolume } from "@livekit/components-react";
import { EndIcon, MicIcon, MicOffIcon, StopIcon } from "../icons";
import { describeMicError } from "./micErrors";

interface ControlsProps {
  room: Room;
  agentIdentity: string | undefined;
  agentState: string;
  connected: boolean;
  micEnabled: boolean;
  micTrack: Track | undefined;
  onMicError: (message: string | null) => void;
  onEnd: () => void;
  ending: boolean;
}

export function Controls(props: ControlsProps) {
  const { room, agentIdentity, connected, micEnabled } = props;
  const [micBusy, setMicBusy] = useState(false);
  const [interrupting, setInterrupting] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);

  useEffect(() => {
    if (!actionError) return;
    const id = window.setTimeout(() => setActionError(null), 5000);
    return () => window.clearTimeout(id);
  }, [actionError]);

  async function toggleMic() {
    setMicBusy(true);
    try {
      await room.localParticipant.setMicrophoneEnabled(!micEnabled);
      props.onMicError(null);
    } catch (error) {
      props.onMicError(describeMicError(error));
    } finally {
      setMicBusy(false);
    }
  }

  async function interrupt() {
    if (!agentIdentity) return;
    setInterrupting(true);
    try {
      await room.localParticipant.performRpc({
        destinationIdentity: agentIdentity,
        method: "interrupt",
        payload: "",
      });
    } catch (error) {
      setActionError(`Couldn't interrupt: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setInterrupting(false);
    }
  }

  const audioTrack =
    props.micTrack && props.micTrack.kind === Track.Kind.Audio ? (props.micTrack as LocalAudioTrack) : undefined;

  return (
    <div className="controls">
      <div className="mic-group">
        <button
          type="button"
          className={`btn btn-round mic-toggle${micEnabled ? " on" : ""}`}
          data-testid="mic-toggle"
          aria-pressed={micEnabled}
          aria-label={micEnabled ? "Mute microphone" : "Unmute microphone"}
          title={micEnabled ? "Mute microphone" : "Unmute microphone"}
          disabled={!connected || micBusy}
          onClick={() => void toggleMic()}
        >
          {micEnabled ? <MicIcon /> : <MicOffIcon />}
        </button>
        <MicLevel track={micEnabled ? audioTrack : undefined} />
      </div>

      <div className="control-actions">
        <button
          type="button"
          className={`btn${props.agentState === "speaking" ? " btn-attention" : ""}`}
          data-testid="interrupt-button"
          disabled={!connected || !agentIdentity || interrupting}
          onClick={() => void interrupt()}
          title="Stop the avatar's speech"
          aria-label="Interrupt"
        >
          <StopIcon size={16} /> <span className="interrupt-label">Interrupt</span>
        </button>
        <button
          type="button"
          className="btn btn-danger"
          data-testid="end-button"
          disabled={props.ending}
          onClick={props.onEnd}
        >
          <EndIcon size={16} /> End
        </button>
      </div>
      {actionError && (
        <p className="control-error" role="alert">
          {actionError}
        </p>
      )}
    </div>
  );
}

/** The local microphone's level, 0..1, from LiveKit's Web Audio analyser. */
function MicLevel({ track }: { track: LocalAudioTrack | undefined }) {
  const volume = useTrackVolume(track);
  // speech RMS sits low on a linear scale; a square root makes quiet talking visible
  const level = track ? Math.min(1, Math.round(Math.sqrt(Math.max(0, volume)) * 100) / 100) : 0;
  return (
    <meter
      className="mic-level"
      data-testid="mic-level"
      data-level={level.toFixed(2)}
      min={0}
      max={1}
      value={level}
      aria-label="Microphone level"
    />
  );
}
