import { ConnectionQuality as Quality, type Participant } from "livekit-client";
import { useConnectionQualityIndicator } from "@livekit/components-react";

const STATE_LABELS: Record<string, string> = {
  connecting: "Connecting…",
  waiting: "Waiting for the avatar…",
  initializing: "Getting ready…",
  listening: "Listening",
  thinking: "Thinking…",
  speaking: "Speaking",
  idle: "Idle",
  disconnected: "Disconnected",
};

export function agentStateLabel(state: string): string {
  return STATE_LABELS[state] ?? state;
}

export function AgentStateBadge({ state }: { state: string }) {
  return (
    <span className="state-badge" data-testid="agent-state" data-state={state} role="status" aria-live="polite">
      <span className="state-dot" aria-hidden="true" />
      <span className="state-label">{agentStateLabel(state)}</span>
    </span>
  );
}

const QUALITY_LABELS: Record<string, string> = {
  [Quality.Excellent]: "Excellent connection",
  [Quality.Good]: "Good connection",
  [Quality.Poor]: "Poor connection",
  [Quality.Lost]: "Connection lost",
  [Quality.Unknown]: "Connection quality unknown",
};

const QUALITY_BARS: Record<string, number> = {
  [Quality.Excellent]: 3,
  [Quality.Good]: 2,
  [Quality.Poor]: 1,
  [Quality.Lost]: 0,
  [Quality.Unknown]: 0,
};

/** `lost`: the room is down (measured quality is stale then). */
export function ConnectionQuality({ participant, lost }: { participant: Participant; lost: boolean }) {
  const { quality: measured } = useConnectionQualityIndicator({ participant });
  const quality: string = lost ? Quality.Lost : measured;
  const bars = QUALITY_BARS[quality] ?? 0;
  const label = QUALITY_LABELS[quality] ?? quality;
  return (
    <span className="quality" data-testid="connection-quality" data-quality={quality} title={label} role="img" aria-label={label}>
      {[1, 2, 3].map((i) => (
        <span key={i} className={`quality-bar${i <= bars ? " on" : ""}`} style={{ height: `${4 + i * 4}px` }} />
      ))}
    </span>
  );
}
