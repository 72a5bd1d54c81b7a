// Room data for the session view, built on LiveKit's hooks.

import { useEffect, useMemo, useRef, useState } from "react";
import { ParticipantEvent, ParticipantKind, type Participant, type Room } from "livekit-client";
import { useChat, useTextStream, useTranscriptions } from "@livekit/components-react";

export const NOTICE_TOPIC = "streaming-avatar.notice";
export const NOTICES_ATTRIBUTE = "streaming_avatar.notices";
const SEGMENT_ID = "lk.segment_id";
const TRANSCRIPTION_FINAL = "lk.transcription_final";

export interface ChatEntry {
  key: string;
  from: "user" | "agent";
  final: boolean;
  text: string;
}

/**
 * The agent's attributes, kept current. `useVoiceAssistant().agentAttributes` starts from the
 * attributes the agent had when it appeared and misses changes made before its listener is
 * attached (seen here: the page stuck on "initializing" while the server said "listening"), so
 * this reads them again once subscribed.
 */
export function useAgentAttributes(agent: Participant | undefined): Record<string, string> {
  const [attributes, setAttributes] = useState<Record<string, string>>({});
  useEffect(() => {
    if (!agent) {
      setAttributes({});
      return;
    }
    const update = () => setAttributes({ ...agent.attributes });
    agent.on(ParticipantEvent.AttributesChanged, update);
    update();
    return () => {
      agent.off(ParticipantEvent.AttributesChanged, update);
    };
  }, [agent]);
  return attributes;
}

/** Re-renders every `ms` while `active`. */
function useTick(active: boolean, ms: number): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!active) return;
    const id = window.setInterval(() => setTick((t) => t + 1), ms);
    return () => window.clearInterval(id);
  }, [active, ms]);
  return tick;
}

/** Keeps the last value seen while connected during `hold` (LiveKit's hooks empty their lists on disconnect). */
function useHeld<T>(value: T, hold: boolean): T {
  const last = useRef(value);
  if (!hold) last.current = value;
  return hold ? last.current : value;
}

/**
 * The conversation: `lk.transcription` segments of both sides (partials update in place) and
 * the messages typed here on `lk.chat`, in the order they first appeared.
 */
export function useChatEntries(room: Room, disconnected: boolean) {
  const transcriptions = useTranscriptions();
  const { chatMessages, send, isSending } = useChat();
  const firstSeen = useRef(new Map<string, number>());
  const counter = useRef(0);

  // An agent segment is streamed into one text stream whose closing trailer carries
  // lk.transcription_final="true". LiveKit updates the stream's attributes in place when
  // the trailer arrives without emitting a new value, so poll while a segment is open.
  const [hasOpenSegment, setHasOpenSegment] = useState(false);
  const tick = useTick(hasOpenSegment && !disconnected, 400);

  const entries = useMemo(() => {
    const local = room.localParticipant.identity;
    const list: ChatEntry[] = [];
    for (const t of transcriptions) {
      const attributes = t.streamInfo.attributes ?? {};
      const segment = attributes[SEGMENT_ID] ?? t.streamInfo.id;
      const from = t.participantInfo.identity === local ? "user" : "agent";
      list.push({
        key: `tr:${from}:${segment}`,
        from,
        final: attributes[TRANSCRIPTION_FINAL] === "true",
        text: t.text.trim(),
      });
    }
    for (const m of chatMessages) {
      const sender = m.from;
      const isAgent = !!sender && !sender.isLocal && sender.kind === ParticipantKind.AGENT;
      list.push({
        key: `chat:${sender?.identity ?? "?"}:${m.id}`,
        from: isAgent ? "agent" : "user",
        final: true,
        text: m.message.trim(),
      });
    }
    for (const entry of list) {
      if (!firstSeen.current.has(entry.key)) firstSeen.current.set(entry.key, counter.current++);
    }
    return list
      .filter((entry) => entry.text.length > 0)
      .sort((a, b) => (firstSeen.current.get(a.key) ?? 0) - (firstSeen.current.get(b.key) ?? 0));
    // `tick` is a dependency on purpose: it re-reads attributes LiveKit mutated in place
  }, [transcriptions, chatMessages, room, tick]);

  const open = entries.some((e) => e.from === "agent" && !e.final);
  useEffect(() => setHasOpenSegment(open), [open]);

  return { entries: useHeld(entries, disconnected), send, isSending };
}

function parseNoticeList(raw: string | undefined): string[] | null {
  if (!raw) return null;
  try {
    const value: unknown = JSON.parse(raw);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : null;
  } catch {
    return null;
  }
}

/**
 * The agent's notices: the `streaming_avatar.notices` attribute (all so far, for late
 * joiners) merged with the `streaming-avatar.notice` text stream (one message each).
 */
export function useNotices(agentAttributes: Record<string, string> | undefined, disconnected: boolean) {
  const { textStreams } = useTextStream(NOTICE_TOPIC);
  const [fromAttribute, setFromAttribute] = useState<string[]>([]);
  const raw = agentAttributes?.[NOTICES_ATTRIBUTE];
  useEffect(() => {
    const list = parseNoticeList(raw);
    if (list) setFromAttribute(list);
  }, [raw]);

  const merged = useMemo(() => {
    const unmatched = new Map<string, number>();
    for (const n of fromAttribute) unmatched.set(n, (unmatched.get(n) ?? 0) + 1);
    const list = [...fromAttribute];
    for (const s of textStreams) {
      const text = s.text.trim();
      if (!text) continue;
      const count = unmatched.get(text) ?? 0;
      if (count > 0) unmatched.set(text, count - 1);
      else list.push(text);
    }
    return list;
  }, [fromAttribute, textStreams]);

  return useHeld(merged, disconnected);
}
