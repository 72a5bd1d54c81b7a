import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from "react";
import { SendIcon, WarningIcon } from "../icons";
import type { ChatEntry } from "./hooks";

interface ChatPanelProps {
  entries: ChatEntry[];
  notices: string[];
  avatarName: string;
  canSend: boolean;
  waiting: boolean;
  isSending: boolean;
  onSend: (text: string) => Promise<unknown>;
}

/** Pixels from the bottom within which the log keeps following new text. */
const STICKY_PX = 48;

export function ChatPanel({ entries, notices, avatarName, canSend, waiting, isSending, onSend }: ChatPanelProps) {
  const [draft, setDraft] = useState("");
  const [sendError, setSendError] = useState<string | null>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const stickRef = useRef(true);

  // follow the conversation unless the user scrolled up to read
  const lastText = entries.length ? entries[entries.length - 1].text : "";
  useLayoutEffect(() => {
    const log = logRef.current;
    if (log && stickRef.current) log.scrollTop = log.scrollHeight;
  }, [entries.length, lastText]);

  // keep following when the log changes size (keyboard, rotation, notices appearing)
  useEffect(() => {
    const log = logRef.current;
    if (!log || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (stickRef.current) log.scrollTop = log.scrollHeight;
    });
    observer.observe(log);
    return () => observer.disconnect();
  }, []);

  function onScroll() {
    const log = logRef.current;
    if (!log) return;
    stickRef.current = log.scrollHeight - log.scrollTop - log.clientHeight < STICKY_PX;
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const text = draft.trim();
    if (!text || !canSend) return;
    setSendError(null);
    setDraft("");
    stickRef.current = true;
    try {
      await onSend(text);
    } catch (error) {
      setDraft(text);
      setSendError(`Not sent: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  return (
    <aside className="chat-column" aria-label="Conversation">
      {notices.length > 0 && (
        <section className="notices" aria-label="Notices">
          <ul>
            {notices.map((notice, i) => (
              <li key={`${i}:${notice}`} className="notice" data-testid="notice">
                <WarningIcon size={16} />
                <span>{notice}</span>
              </li>
            ))}
          </ul>
        </section>
      )}

      <div
        className="chat-log"
        data-testid="chat-log"
        ref={logRef}
        onScroll={onScroll}
        role="log"
        aria-live="polite"
        aria-label="Conversation"
      >
        {entries.length === 0 && (
          <p className="chat-empty">
            {waiting ? "The conversation starts when the avatar arrives." : "Say hello, or type a message below."}
          </p>
        )}
        {entries.map((entry) => (
          <div key={entry.key} className={`chat-row from-${entry.from}`}>
            <span className="visually-hidden">{entry.from === "user" ? "You:" : `${avatarName}:`}</span>
            <div
              className="chat-message"
              data-testid="chat-message"
              data-from={entry.from}
              data-final={entry.final ? "true" : "false"}
            >
              {entry.text}
            </div>
          </div>
        ))}
      </div>

      <form className="chat-form" onSubmit={(e) => void submit(e)}>
        <input
          type="text"
          data-testid="chat-input"
          className="chat-input"
          placeholder={waiting ? "Waiting for the avatar…" : "Type a message"}
          aria-label="Message"
          autoComplete="off"
          enterKeyHint="send"
          maxLength={2000}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <button
          type="submit"
          className="btn btn-primary btn-send"
          data-testid="send-button"
          disabled={!canSend || !draft.trim() || isSending}
          aria-label="Send"
          title="Send"
        >
          <SendIcon size={18} />
          <span className="send-label">Send</span>
        </button>
      </form>
      {sendError && (
        <p className="chat-error" role="alert">
          {sendError}
        </p>
      )}
    </aside>
  );
}
