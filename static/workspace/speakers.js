import { ApiError, requestJson } from "./api.js";

// Who speaks in a segment of the list: the voice's name ("Speaker A" until a voice print
// matched it or a therapist named it; never "child" from a guess) and how sure the analysis is
// of that role. The lanes come with the workspace data (analysis/voices/selectors.py run_lanes).

// The role names come from the server (analysis/engine/labels.py SPEAKER_ROLE_LABELS, written
// into the page by templates/workspace/_speaker_names.html): one list of roles everywhere.
const labelsEl = document.getElementById("speaker-role-labels");
export const ROLE = labelsEl ? JSON.parse(labelsEl.textContent) : {};

function laneOf(seg, lanes) {
  return (lanes || []).find((lane) => lane.label && lane.label === seg.cluster) || null;
}

export function speakerName(seg, lanes) {
  const lane = laneOf(seg, lanes);
  if (lane && lane.role === seg.speaker && lane.person) return lane.person;
  if (seg.speaker === "unknown") return lane ? `Speaker ${lane.label}` : ROLE.unknown;
  return ROLE[seg.speaker] || seg.speaker;
}

// The confidence of the segment's role: a percentage from the analysis, or "named" when a
// therapist set it (a therapist's answer is not an estimate).
export function speakerBadge(seg) {
  const badge = document.createElement("span");
  badge.className = "ws-badge ws-badge-speaker";
  const value = seg.speaker_confidence;
  if (value === null || value === undefined) {
    badge.textContent = "named";
    badge.title = "Set by a therapist";
  } else {
    const percent = Math.round(Number(value) * 100);
    badge.textContent = `${percent}%`;
    badge.title = seg.speaker === "unknown"
      ? `Nobody has named this voice yet (${percent}% sure it is none of the known voices)`
      : `${percent}% sure of this speaker`;
    if (percent < 60) badge.classList.add("ws-badge-uncertain");
  }
  return badge;
}

export function speakerCell(seg, lanes) {
  const cell = document.createElement("td");
  cell.append(speakerName(seg, lanes), " ", speakerBadge(seg));
  if (seg.speaker_corrected) cell.title = `Model said: ${ROLE[seg.model_speaker] || seg.model_speaker}`;
  return cell;
}

// "This voice is ..." in the segment panel: names the selected segment's whole voice (every
// segment of it), then reloads so the timeline, the list and the voices panel agree.
function bindVoiceCorrection() {
  const box = document.getElementById("voice-correction");
  const button = document.getElementById("corr-voice-save");
  if (!box || !button) return;
  button.addEventListener("click", async () => {
    const message = document.getElementById("panel-message");
    const key = document.querySelector("#segment-rows tr.is-selected")?.dataset.key;
    if (!key) {
      message.textContent = "Select a segment first.";
      return;
    }
    button.disabled = true;
    message.classList.remove("ws-error");
    message.textContent = "Saving…";
    try {
      await requestJson(box.dataset.url, {
        method: "POST",
        body: { segment: key, person: document.getElementById("corr-voice").value },
      });
      message.textContent = "Saved: every segment of this voice follows.";
      window.location.hash = "timeline-heading";
      window.location.reload();
    } catch (err) {
      message.textContent = err instanceof ApiError ? err.message : "The voice could not be named.";
      message.classList.add("ws-error");
      button.disabled = false;
    }
  });
}

bindVoiceCorrection();
