// The home form's last choices, kept in localStorage so a returning user starts where they left off.

import type { Avatar } from "./api";

export interface Prefs {
  avatarId?: string;
  language?: string;
  ttsProvider?: string;
  instructions?: string;
}

const KEY = "streaming-avatar.prefs";

export function loadPrefs(): Prefs {
  try {
    const raw = localStorage.getItem(KEY);
    const value: unknown = raw ? JSON.parse(raw) : null;
    return value && typeof value === "object" ? (value as Prefs) : {};
  } catch {
    return {};
  }
}

export function savePrefs(prefs: Prefs): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(prefs));
  } catch {
    // storage full or disabled
  }
}

/** The language to preselect for an avatar: the wanted one, else the browser's, else the first. */
export function pickLanguage(avatar: Avatar | undefined, wanted?: string): string {
  const languages = avatar?.languages.map((l) => l.language) ?? [];
  if (!languages.length) return wanted ?? "en";
  if (wanted && languages.includes(wanted)) return wanted;
  const browser = typeof navigator !== "undefined" ? navigator.languages ?? [navigator.language] : [];
  for (const tag of browser) {
    if (languages.includes(tag)) return tag;
    const base = tag.split("-")[0].toLowerCase();
    const match = languages.find((l) => l.split("-")[0].toLowerCase() === base);
    if (match) return match;
  }
  return languages[0];
}

let displayNames: Intl.DisplayNames | null | undefined;

/** "English (en)" where the browser knows the name, else the tag itself. */
export function languageLabel(tag: string): string {
  if (displayNames === undefined) {
    try {
      displayNames = new Intl.DisplayNames(["en"], { type: "language" });
    } catch {
      displayNames = null;
    }
  }
  try {
    const name = displayNames?.of(tag);
    if (name && name.toLowerCase() !== tag.toLowerCase()) return `${name} (${tag})`;
  } catch {
    // not a tag Intl accepts
  }
  return tag;
}

const PROVIDER_LABELS: Record<string, string> = {
  google: "Google Cloud TTS",
  elevenlabs: "ElevenLabs",
};

export function providerLabel(id: string): string {
  return PROVIDER_LABELS[id] ?? id;
}
