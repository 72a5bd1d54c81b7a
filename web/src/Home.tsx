import { useEffect, useMemo, useState, type FormEvent } from "react";
import { ApiError, deleteAvatar, type Avatar, type AvatarCatalogue, type SessionConfig } from "./api";
import { AddAvatarTile, UploadOutcome, type UploadState } from "./AvatarUpload";
import { TrashIcon } from "./icons";
import { languageLabel, loadPrefs, pickLanguage, providerLabel, savePrefs } from "./prefs";

export type CatalogueState =
  | { status: "loading" }
  | { status: "error"; message: string }
  | { status: "ready"; catalogue: AvatarCatalogue };

interface HomeProps {
  catalogue: CatalogueState;
  onReload: () => void;
  onStart: (avatar: Avatar, config: SessionConfig, apiKey: string) => void;
  starting: boolean;
  startError: string | null;
  needsApiKey: boolean;
  apiKey: string;
  onApiKeyChange: (key: string) => void;
  /** A message about how the last session ended, shown once on return. */
  lastSessionNote: string | null;
  onAvatarAdded: (avatar: Avatar) => void;
  onAvatarDeleted: (avatarId: string) => void;
  onNeedsApiKey: () => void;
}

export function Home(props: HomeProps) {
  const { catalogue, starting, startError } = props;
  const prefs = useMemo(loadPrefs, []);
  const avatars = catalogue.status === "ready" ? catalogue.catalogue.avatars : [];
  const providers = catalogue.status === "ready" ? catalogue.catalogue.tts_providers : [];

  const [avatarId, setAvatarId] = useState<string | undefined>(prefs.avatarId);
  const [language, setLanguage] = useState<string | undefined>(prefs.language);
  const [ttsProvider, setTtsProvider] = useState<string | undefined>(prefs.ttsProvider);
  const [instructions, setInstructions] = useState(prefs.instructions ?? "");
  const [upload, setUpload] = useState<UploadState>({ status: "idle" });
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const uploads = catalogue.status === "ready" ? catalogue.catalogue.uploads : null;
  const uploadedCount = avatars.filter((a) => a.uploaded).length;

  async function remove(target: Avatar) {
    setDeleteError(null);
    try {
      await deleteAvatar(target.id, props.apiKey.trim());
      props.onAvatarDeleted(target.id);
      if (upload.status === "ready" && upload.avatar.id === target.id) setUpload({ status: "idle" });
    } catch (error) {
      if (error instanceof ApiError && error.needsApiKey) {
        props.onNeedsApiKey();
        setDeleteError("This server needs an API key to delete avatars. Enter it below and try again.");
      } else {
        setDeleteError(error instanceof ApiError ? error.message : "Deleting the avatar failed. Try again.");
      }
    }
  }

  const avatar = avatars.find((a) => a.id === avatarId) ?? avatars[0];
  const languages = avatar?.languages ?? [];
  const effectiveLanguage = pickLanguage(avatar, language);
  const effectiveProvider =
    ttsProvider && providers.includes(ttsProvider) ? ttsProvider : (providers[0] ?? "google");
  const voice = languages.find((l) => l.language === effectiveLanguage)?.voices[effectiveProvider];

  useEffect(() => {
    if (catalogue.status !== "ready") return;
    savePrefs({
      avatarId: avatar?.id,
      language: effectiveLanguage,
      ttsProvider: effectiveProvider,
      instructions,
    });
  }, [catalogue.status, avatar?.id, effectiveLanguage, effectiveProvider, instructions]);

  const canStart = catalogue.status === "ready" && !!avatar && !starting;

  function start(event: FormEvent) {
    event.preventDefault();
    if (!avatar || !canStart) return;
    const trimmed = instructions.trim();
    props.onStart(
      avatar,
      {
        language: effectiveLanguage,
        tts_provider: effectiveProvider,
        voice: null,
        instructions: trimmed ? trimmed : null,
      },
      props.apiKey.trim(),
    );
  }

  return (
    <main className="home">
      <header className="home-header">
        <h1>Streaming Avatar</h1>
        <p className="lead">Pick an avatar, choose a language, and start talking.</p>
      </header>

      {props.lastSessionNote && (
        <p className="note" role="status">
          {props.lastSessionNote}
        </p>
      )}

      <form className="home-form" onSubmit={start}>
        <section className="panel" aria-labelledby="avatars-heading">
          <h2 id="avatars-heading">Avatar</h2>
          {catalogue.status === "loading" && (
            <div className="avatar-grid" aria-busy="true" aria-label="Loading avatars">
              {[0, 1, 2].map((i) => (
                <div key={i} className="avatar-card skeleton" />
              ))}
            </div>
          )}
          {catalogue.status === "error" && (
            <div className="error-box" role="alert">
              <p data-testid="home-error">{catalogue.message}</p>
              <button type="button" className="btn" onClick={props.onReload}>
                Retry
              </button>
            </div>
          )}
          {catalogue.status === "ready" && avatars.length === 0 && !uploads?.enabled && (
            <div className="error-box" role="alert">
              <p data-testid="home-error">This server has no avatars installed.</p>
              <button type="button" className="btn" onClick={props.onReload}>
                Reload
              </button>
            </div>
          )}
          {(avatars.length > 0 || uploads?.enabled) && (
            <div className="avatar-grid" role="group" aria-label="Avatars">
              {avatars.map((a) => (
                <AvatarCard
                  key={a.id}
                  avatar={a}
                  selected={a.id === avatar?.id}
                  onSelect={() => setAvatarId(a.id)}
                  onDelete={a.uploaded ? () => void remove(a) : undefined}
                />
              ))}
              {uploads?.enabled && (
                <AddAvatarTile
                  limits={uploads}
                  state={upload}
                  apiKey={props.apiKey.trim()}
                  name={uploadedCount ? `My avatar ${uploadedCount + 1}` : "My avatar"}
                  onState={setUpload}
                  onAdded={(added) => {
                    props.onAvatarAdded(added);
                    setAvatarId(added.id);
                  }}
                  onNeedsApiKey={props.onNeedsApiKey}
                />
              )}
            </div>
          )}
          {deleteError && (
            <p className="error-text upload-outcome" role="alert" data-testid="delete-error">
              {deleteError}
            </p>
          )}
          <UploadOutcome state={upload} onDismiss={() => setUpload({ status: "idle" })} />
          {avatar && <Credits avatar={avatar} />}
        </section>

        <section className="panel settings" aria-labelledby="settings-heading">
          <h2 id="settings-heading">Conversation</h2>
          <div className="field-row">
            <label className="field">
              <span className="field-label">Language</span>
              <select
                data-testid="language-select"
                value={effectiveLanguage}
                onChange={(e) => setLanguage(e.target.value)}
                disabled={!languages.length}
              >
                {languages.map((l) => (
                  <option key={l.language} value={l.language}>
                    {languageLabel(l.language)}
                  </option>
                ))}
                {!languages.length && <option value={effectiveLanguage}>{effectiveLanguage}</option>}
              </select>
            </label>
            <label className="field">
              <span className="field-label">Voice provider</span>
              <select
                data-testid="tts-select"
                value={effectiveProvider}
                onChange={(e) => setTtsProvider(e.target.value)}
                disabled={!providers.length}
              >
                {providers.map((p) => (
                  <option key={p} value={p}>
                    {providerLabel(p)}
                  </option>
                ))}
                {!providers.length && <option value={effectiveProvider}>{providerLabel(effectiveProvider)}</option>}
              </select>
              <span className="hint">
                {voice ? `Voice: ${voice}. ` : ""}Falls back to another voice if the server has no key for it.
              </span>
            </label>
          </div>
          <label className="field">
            <span className="field-label">
              Persona <span className="optional">(optional)</span>
            </span>
            <textarea
              data-testid="instructions-input"
              rows={2}
              maxLength={8000}
              placeholder="e.g. You are a friendly museum guide. Keep answers short."
              value={instructions}
              onChange={(e) => setInstructions(e.target.value)}
            />
          </label>

          {props.needsApiKey && (
            <label className="field">
              <span className="field-label">API key</span>
              <input
                type="password"
                autoComplete="off"
                data-testid="api-key-input"
                value={props.apiKey}
                onChange={(e) => props.onApiKeyChange(e.target.value)}
              />
            </label>
          )}

          {startError && (
            <p className="error-text" role="alert" data-testid="home-error">
              {startError}
            </p>
          )}

          <button
            type="submit"
            className="btn btn-primary btn-large"
            data-testid="start-button"
            disabled={!canStart}
          >
            {starting ? "Starting…" : "Start conversation"}
          </button>
          <p className="hint center">Your microphone is used once the session starts. You can also type.</p>
        </section>
      </form>
    </main>
  );
}

interface AvatarCardProps {
  avatar: Avatar;
  selected: boolean;
  onSelect: () => void;
  /** Uploaded avatars only. */
  onDelete?: () => void;
}

function AvatarCard({ avatar, selected, onSelect, onDelete }: AvatarCardProps) {
  const [broken, setBroken] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const initials = avatar.display_name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]?.toUpperCase())
    .join("");
  return (
    <div className="avatar-tile">
      <button
        type="button"
        className="avatar-card"
        data-testid="avatar-card"
        data-avatar-id={avatar.id}
        data-selected={selected ? "true" : "false"}
        aria-pressed={selected}
        onClick={onSelect}
      >
        <span className="thumb">
          <img
            data-testid="avatar-thumbnail"
            src={avatar.thumbnail_url}
            alt=""
            width={256}
            height={256}
            decoding="async"
            hidden={broken}
            onError={() => setBroken(true)}
          />
          {broken && (
            <span className="thumb-fallback" aria-hidden="true">
              {initials || "?"}
            </span>
          )}
        </span>
        <span className="card-name">{avatar.display_name}</span>
        <span className="card-langs">{avatar.languages.map((l) => l.language).join(" · ")}</span>
        {avatar.uploaded ? (
          <span className="card-licence">Uploaded photo</span>
        ) : (
          avatar.licence && (
            <span className="card-licence" title={avatar.licence}>
              {avatar.licence}
            </span>
          )
        )}
      </button>
      {onDelete &&
        (confirming ? (
          <span className="delete-confirm">
            <button type="button" className="btn btn-small btn-danger" data-testid="avatar-delete-confirm" onClick={onDelete}>
              Delete
            </button>
            <button type="button" className="btn btn-small" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button
            type="button"
            className="delete-button"
            data-testid="avatar-delete"
            aria-label={`Delete ${avatar.display_name}`}
            title="Delete this avatar"
            onClick={() => setConfirming(true)}
          >
            <TrashIcon size={16} />
          </button>
        ))}
    </div>
  );
}

function Credits({ avatar }: { avatar: Avatar }) {
  if (avatar.uploaded || (!avatar.attribution && !avatar.source_url)) return null;
  return (
    <p className="credits">
      {avatar.attribution && <span>{avatar.attribution}. </span>}
      {avatar.source_url && (
        <a href={avatar.source_url} target="_blank" rel="noreferrer noopener">
          Source
        </a>
      )}
    </p>
  );
}
