import { MediaDeviceFailure } from "livekit-client";

/** A readable reason why the microphone could not start. */
export function describeMicError(error: unknown): string {
  if (typeof navigator !== "undefined" && !navigator.mediaDevices) {
    return "The microphone needs a secure page (HTTPS or localhost). You can still type.";
  }
  switch (MediaDeviceFailure.getFailure(error)) {
    case MediaDeviceFailure.PermissionDenied:
      return "Microphone access was denied. Allow it in the browser to talk, or type below.";
    case MediaDeviceFailure.NotFound:
      return "No microphone was found. You can still type.";
    case MediaDeviceFailure.DeviceInUse:
      return "The microphone is in use by another application. You can still type.";
    default:
      return "The microphone could not be started. You can still type.";
  }
}
