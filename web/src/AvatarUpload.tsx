import { useRef, type ChangeEvent } from "react";
import { ApiError, uploadAvatar, type Avatar, type UploadLimits, type UploadStep } from "./api";
import { PlusIcon } from "./icons";

export type UploadState =
  | { status: "idle" }
  | { status: "busy"; step: UploadStep }
  | { status: "error"; message: string }
  | { status: "ready"; avatar: Avatar; readyMs: number };

interface AddAvatarTileProps {
  limits: UploadLimits;
  state: UploadState;
  apiKey: string;
  /** The display name the new avatar gets. */
  name: string;
  onState: (state: UploadState) => void;
  onAdded: (avatar: Avatar) => void;
  onNeedsApiKey: () => void;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e6 ? 2 : 1).replace(/\.0$/, "")} MB`;
}

const STEP_LABELS: Record<string, string> = {
  "found one face": "Found one face",
  "reading the portrait": "Reading the portrait",
  "finding the face": "Tracing the face",
  "building the rig": "Building the rig",
  "writing the cache": "Saving",
  "drawing the preview": "Drawing the preview",
  ready: "Ready",
};

/** The "add your avatar" tile of the avatar grid: choose a photo, watch it being prepared. */
export function AddAvatarTile(props: AddAvatarTileProps) {
  const { limits, state } = props;
  const input = useRef<HTMLInputElement>(null);
  const busy = state.status === "busy";

  async function upload(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = "";
    if (!file) return;
    if (file.size > limits.max_bytes) {
      props.onState({
        status: "error",
        message: `This photo is ${megabytes(file.size)}; the limit is ${megabytes(limits.max_bytes)}. Choose a smaller one.`,
      });
      return;
    }
    props.onState({ status: "busy", step: { step: "Sending the photo", progress: 0 } });
    try {
      const uploaded = await uploadAvatar(file, props.name, props.apiKey, (step) =>
        props.onState({ status: "busy", step }),
      );
      props.onAdded(uploaded.avatar);
      props.onState({ status: "ready", avatar: uploaded.avatar, readyMs: uploaded.ready_ms });
    } catch (error) {
      if (error instanceof ApiError && error.needsApiKey) props.onNeedsApiKey();
      const message = error instanceof ApiError ? error.message : "The upload failed. Try again.";
      props.onState({ status: "error", message });
    }
  }

  const percent = busy ? Math.round(state.step.progress * 100) : 0;
  return (
    <div className="avatar-tile">
      <button
        type="button"
        className="avatar-card add-card"
        data-testid="add-avatar"
        aria-busy={busy}
        disabled={busy}
        onClick={() => input.current?.click()}
      >
        <span className="thumb add-thumb">
          {busy ? (
            <span className="upload-progress" data-testid="upload-progress" data-progress={state.step.progress}>
              <span className="upload-percent">{percent}%</span>
              <span className="progress-track" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
                <span className="progress-fill" style={{ width: `${percent}%` }} />
              </span>
              <span className="upload-step" data-testid="upload-step">
                {STEP_LABELS[state.step.step] ?? state.step.step}…
              </span>
            </span>
          ) : (
            <span className="add-icon">
              <PlusIcon size={34} />
            </span>
          )}
        </span>
        <span className="card-name">{busy ? "Preparing your avatar" : "Add your avatar"}</span>
        <span className="card-licence add-hint">One photo, one face · JPEG, PNG, WebP · up to {megabytes(limits.max_bytes)}</span>
      </button>
      <input
        ref={input}
        type="file"
        hidden
        accept={limits.media_types.join(",")}
        data-testid="avatar-upload-input"
        onChange={(e) => void upload(e)}
      />
    </div>
  );
}

/** Below the grid: what became of the last upload (its preview, or why it was refused). */
export function UploadOutcome({ state, onDismiss }: { state: UploadState; onDismiss: () => void }) {
  if (state.status === "error") {
    return (
      <div className="error-box upload-outcome" role="alert">
        <p data-testid="upload-error">{state.message}</p>
        <button type="button" className="btn btn-small" onClick={onDismiss}>
          OK
        </button>
      </div>
    );
  }
  if (state.status !== "ready") return null;
  return (
    <figure className="upload-ready" data-testid="upload-ready">
      <figcaption>
        <span>
          <strong>{state.avatar.display_name}</strong> is ready ({(state.readyMs / 1000).toFixed(1)} s) and selected.
          Below: the face as found, and the mouth shapes and blink it will make.
        </span>
        <button type="button" className="btn btn-small" onClick={onDismiss}>
          Close
        </button>
      </figcaption>
      {state.avatar.preview_url && (
        <img data-testid="upload-preview" src={state.avatar.preview_url} alt={`Preview of ${state.avatar.display_name}`} />
      )}
    </figure>
  );
}
