// The session dashboard: adding recordings, following the analysis live, and the timeline.

import { requestJson, setCsrf } from "./api.js";
import { setupCapture } from "./capture.js";
import { Timeline } from "./timeline.js";

const POLL_MS = 1500;
const STAGES = {
  queued: "Waiting for its turn",
  starting: "Starting",
  decoding: "Reading the audio",
  decode: "Reading the audio",
  vad: "Finding speech",
  speech: "Finding speech",
  segmenting: "Finding speech",
  speakers: "Telling speakers apart",
  diarization: "Telling speakers apart",
  emotions: "Estimating emotions",
  emotion: "Estimating emotions",
  inference: "Estimating emotions",
  summary: "Summarising",
  summarizing: "Summarising",
  saving: "Saving the results",
  done: "Done",
};

function stageText(status) {
  if (status.status === "awaiting_consent") return "Waiting for analysis consent";
  if (status.status === "failed") return "The analysis failed";
  if (status.status === "quarantined") return "The analysis was stopped";
  if (status.status === "queued") return STAGES.queued;
  const stage = (status.stage || "").toLowerCase();
  return STAGES[stage] || (stage ? stage.charAt(0).toUpperCase() + stage.slice(1) : "Analysing");
}

function followAnalysis(root) {
  const panel = root.querySelector("#analysis-status");
  if (!panel || !root.dataset.statusUrl) return;
  const stageEl = panel.querySelector("#status-stage");
  const percentEl = panel.querySelector("#status-percent");
  const progress = panel.querySelector("#status-progress");
  const errorEl = panel.querySelector("#status-error");
  const retry = panel.querySelector("#retry");
  const initialStatus = root.dataset.status;
  const hasResults = root.dataset.hasResults === "1";
  let timer = 0;

  function show(status) {
    const text = stageText(status);
    const running = status.status === "queued" || status.status === "processing";
    panel.hidden = status.status === "done";
    panel.dataset.status = status.status;
    stageEl.textContent = hasResults && running ? `Re-analysis: ${text}` : text;
    const percent = Math.max(0, Math.min(100, status.progress || 0));
    progress.value = percent;
    progress.textContent = `${percent}%`;
    progress.hidden = !running;
    percentEl.textContent = running ? `· ${percent}%` : "";
    errorEl.textContent = status.error || "";
    errorEl.hidden = !status.error;
    if (retry) retry.hidden = !(status.status === "failed" || status.status === "quarantined");
  }

  async function poll() {
    clearTimeout(timer);
    let status;
    try {
      ({ data: status } = await requestJson(root.dataset.statusUrl));
    } catch (err) {
      stageEl.textContent = "Checking the analysis status…";
      errorEl.textContent = err.message;
      errorEl.hidden = false;
      timer = setTimeout(poll, POLL_MS * 4);
      return;
    }
    show(status);
    if (status.status === "done" && initialStatus !== "done") {
      // The analysis finished while the page was open: show its timeline and summary.
      stageEl.textContent = "Done — loading the results…";
      window.location.reload();
      return;
    }
    if (status.status === "queued" || status.status === "processing") {
      timer = setTimeout(poll, POLL_MS);
    } else if (status.status === "awaiting_consent") {
      timer = setTimeout(poll, POLL_MS * 10);
    }
  }

  retry?.addEventListener("click", async () => {
    retry.disabled = true;
    try {
      await requestJson(root.dataset.retryUrl, { method: "POST" });
      errorEl.hidden = true;
      poll();
    } catch (err) {
      errorEl.textContent = err.message;
      errorEl.hidden = false;
    } finally {
      retry.disabled = false;
    }
  });
  if (initialStatus !== "done") poll();
}

function main() {
  const root = document.getElementById("workspace");
  if (!root) return;
  setCsrf(root.dataset.csrf);
  setupCapture(root, {
    onSaved(upload) {
      if (upload && upload.recording) {
        const url = new URL(window.location.href);
        url.searchParams.set("recording", upload.recording);
        url.hash = "timeline-heading";
        // Let the "saved" message be read before the page changes.
        setTimeout(() => window.location.assign(url.toString()), 600);
      }
    },
  });
  if (root.dataset.recording) {
    const timeline = root.dataset.hasResults === "1" ? new Timeline(root) : null;
    if (timeline) timeline.load();
    followAnalysis(root);
  }
}

main();
