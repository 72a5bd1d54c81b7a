import { useEffect, useState } from "react";
import { MicOffIcon, WarningIcon } from "../icons";

export type BannerStatus = "connecting" | "waiting-agent" | "mic-denied" | "agent-left" | "unreachable" | "ended" | "ok";

interface StatusBannerProps {
  status: BannerStatus;
  phase: string;
  connectError: string | null;
  micError: string | null;
  onRetry: () => void;
  onRetryMic: () => void;
  onLeave: (note: string | null) => void;
}

/** Seconds spent in `status`, counted while `active`. */
function useSecondsIn(status: string, active: boolean): number {
  const [seconds, setSeconds] = useState(0);
  useEffect(() => {
    setSeconds(0);
    if (!active) return;
    const started = Date.now();
    const id = window.setInterval(() => setSeconds(Math.floor((Date.now() - started) / 1000)), 1000);
    return () => window.clearInterval(id);
  }, [status, active]);
  return seconds;
}

const SLOW_AGENT_S = 45;

/** The session's one status message; nothing when all is fine. */
export function StatusBanner(props: StatusBannerProps) {
  const { status } = props;
  const waited = useSecondsIn(status, status === "waiting-agent");
  if (status === "ok") return null;

  const common = { "data-testid": "status-banner", "data-status": status } as const;

  switch (status) {
    case "connecting":
      return (
        <div {...common} className="banner banner-center" role="status" aria-live="polite">
          <span className="spinner" aria-hidden="true" />
          <p className="banner-title">{props.phase === "connected" ? "Reconnecting…" : "Connecting…"}</p>
        </div>
      );
    case "waiting-agent":
      return (
        <div {...common} className="banner banner-center" role="status" aria-live="polite">
          <span className="spinner" aria-hidden="true" />
          <p className="banner-title">Waiting for the avatar…</p>
          {waited >= SLOW_AGENT_S && (
            <>
              <p className="banner-text">This is taking longer than usual; the server may be busy or starting up.</p>
              <div className="banner-actions">
                <button type="button" className="btn" onClick={() => props.onLeave(null)}>
                  Leave
                </button>
              </div>
            </>
          )}
        </div>
      );
    case "mic-denied":
      return (
        <div {...common} className="banner banner-toast" role="alert">
          <MicOffIcon size={18} />
          <p className="banner-text">{props.micError ?? "The microphone is unavailable. You can still type."}</p>
          <button type="button" className="btn btn-small" onClick={props.onRetryMic}>
            Try again
          </button>
        </div>
      );
    case "agent-left":
      return (
        <div {...common} className="banner banner-center banner-card" role="alert">
          <p className="banner-title">The avatar has left the session.</p>
          <div className="banner-actions">
            <NewSessionButton className="btn btn-primary" label="New session" onLeave={props.onLeave} />
          </div>
        </div>
      );
    case "unreachable":
      return (
        <div {...common} className="banner banner-center banner-card" role="alert">
          <WarningIcon size={28} />
          <p className="banner-title">Can't reach the server</p>
          <p className="banner-text">{props.connectError ?? "The connection to the media server failed."}</p>
          <div className="banner-actions">
            <button type="button" className="btn btn-primary" data-testid="retry-button" onClick={props.onRetry}>
              Retry
            </button>
            <NewSessionButton className="btn" label="Back" onLeave={props.onLeave} />
          </div>
        </div>
      );
    case "ended":
      return (
        <div {...common} className="banner banner-center banner-card" role="status">
          {props.phase === "ending" ? (
            <>
              <span className="spinner" aria-hidden="true" />
              <p className="banner-title">Ending the session…</p>
            </>
          ) : (
            <>
              <p className="banner-title">This session has ended.</p>
              <div className="banner-actions">
                <NewSessionButton className="btn btn-primary" label="New session" onLeave={props.onLeave} />
              </div>
            </>
          )}
        </div>
      );
  }
}

function NewSessionButton(props: { className: string; label: string; onLeave: (note: string | null) => void }) {
  return (
    <button type="button" className={props.className} data-testid="new-session-button" onClick={() => props.onLeave(null)}>
      {props.label}
    </button>
  );
}
