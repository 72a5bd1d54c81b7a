import { useEffect, useState, type ReactNode } from "react";
import { VideoTrack, type TrackReference } from "@livekit/components-react";
import type { Avatar } from "../api";

interface AvatarStageProps {
  avatar: Avatar;
  videoTrack: TrackReference | undefined;
  agentState: string;
  children?: ReactNode;
}

/**
 * The avatar's video in a box of the pack's aspect ratio, sized before any frame arrives so
 * nothing moves when the video starts. Until then the portrait thumbnail stands in.
 */
export function AvatarStage({ avatar, videoTrack, agentState, children }: AvatarStageProps) {
  const [playing, setPlaying] = useState(false);
  const trackSid = videoTrack?.publication.trackSid;
  useEffect(() => setPlaying(false), [trackSid]);

  return (
    <div className="stage">
      <div className="video-box" data-speaking={agentState === "speaking" ? "true" : "false"}>
        <img className="video-poster" src={avatar.thumbnail_url} alt="" aria-hidden="true" data-hidden={playing} />
        {videoTrack && (
          <VideoTrack
            trackRef={videoTrack}
            className="avatar-video"
            data-testid="avatar-video"
            data-playing={playing ? "true" : "false"}
            aria-label={`${avatar.display_name}, live video`}
            onPlaying={() => setPlaying(true)}
          />
        )}
        {children}
      </div>
    </div>
  );
}
