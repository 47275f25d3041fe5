// Adding a recording to a session: drag-and-drop or file picker, or recording in the browser
// (MediaRecorder), both sent through the resumable ChunkedUploader.

import { bytes, clock } from "./api.js";
import { ChunkedUploader } from "./uploader.js";

const unsaved = new Set();

window.addEventListener("beforeunload", (event) => {
  if (unsaved.size) {
    event.preventDefault();
    event.returnValue = "";
  }
});

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function uploadRow(file, uploader, onDone) {
  const status = el("p", { class: "ws-upload-status", text: "Preparing…" });
  const progress = el("progress", { max: "100", value: "0", "aria-label": `Upload of ${file.name}` });
  const sizeText = el("span", { class: "ws-muted", text: `0 of ${bytes(file.size)}` });
  const cancel = el("button", { type: "button", class: "secondary", text: "Cancel upload" });
  const row = el("div", { class: "ws-upload card" },
    el("p", { class: "ws-upload-name" }, el("strong", { text: file.name }), " ", sizeText),
    progress, status, cancel);
  const token = {};
  unsaved.add(token);
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    await uploader.cancel();
  });
  uploader.addEventListener("progress", (event) => {
    const { sent, total } = event.detail;
    const percent = total ? Math.floor((sent / total) * 100) : 0;
    progress.value = percent;
    progress.textContent = `${percent}%`;
    sizeText.textContent = `${bytes(sent)} of ${bytes(total)} (${percent}%)`;
  });
  uploader.addEventListener("state", (event) => {
    const { state, message, resumed } = event.detail;
    row.dataset.state = state;
    status.classList.toggle("ws-error", state === "failed");
    status.setAttribute("role", state === "failed" ? "alert" : "status");
    if (state === "starting") status.textContent = "Starting the upload…";
    if (state === "uploading") status.textContent = resumed ? "Uploading — continuing where the last attempt stopped…" : "Uploading…";
    if (state === "waiting" || state === "retrying") status.textContent = message;
    if (state === "checking") {
      status.textContent = "Upload finished. Checking the file…";
      progress.value = 100;
      cancel.hidden = true;
    }
    if (state === "done") {
      unsaved.delete(token);
      status.textContent = "Saved. The analysis starts now…";
      cancel.hidden = true;
      onDone(event.detail.upload);
    }
    if (state === "failed") {
      unsaved.delete(token);
      status.textContent = `Not saved: ${message}`;
      cancel.hidden = true;
    }
    if (state === "cancelled") {
      unsaved.delete(token);
      status.textContent = "Upload cancelled.";
      cancel.hidden = true;
    }
  });
  return row;
}

export function setupCapture(root, { onSaved }) {
  const list = root.querySelector("#upload-list");
  const drop = root.querySelector("#drop-zone");
  const input = root.querySelector("#file-input");
  if (!list || !drop || !input) return;

  function send(file, { fromRecorder = false, capture = null } = {}) {
    const uploader = new ChunkedUploader({
      createUrl: root.dataset.uploadUrl,
      sessionId: root.dataset.session,
      file,
      chunkSize: Number(root.dataset.chunkSize) || undefined,
      capture,
    });
    const row = uploadRow(file, uploader, (upload) => onSaved(upload));
    list.prepend(row);
    return uploader.start().then((result) => ({ result, uploader, fromRecorder }));
  }

  input.addEventListener("change", () => {
    for (const file of input.files) send(file);
    input.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("is-over");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, () => drop.classList.remove("is-over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    const files = [...(event.dataTransfer?.files || [])];
    if (!files.length) return;
    for (const file of files) send(file);
  });

  setupRecorder(root, send);
}

// --- recording in the browser ----------------------------------------------------------------

// The recorder's bit rate per channel, stated rather than left to each browser (Chromium 156
// picks 128 kbit/s whatever the channels), so the robustness benchmark can reproduce it:
// 64 kbit/s Opus per channel keeps the voice detail the emotion model measures; with
// processing off many microphones deliver stereo, which gets twice that. The same as practice
// attempts. Why: docs/pipeline.md, "What the browser recorder sends".
const AUDIO_BITS_PER_SECOND = 64000;
// Raw audio: echo cancellation, noise suppression and automatic gain change the voices the
// analysis hears. Plain values are "ideal" constraints: a browser that cannot turn one off
// still records.
const RAW_AUDIO = { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false };
const REPORTED_SETTINGS = ["echoCancellation", "noiseSuppression", "autoGainControl", "channelCount", "sampleRate", "sampleSize"];

function bitsPerSecondFor(stream) {
  const channels = stream.getAudioTracks()[0]?.getSettings?.().channelCount || 1;
  return AUDIO_BITS_PER_SECOND * Math.min(2, Math.max(1, channels));
}

async function openMicrophone() {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: RAW_AUDIO });
  } catch (err) {
    // Only a browser that treats the constraints as required refuses them: any microphone
    // beats none, and the applied settings say what was used.
    if (err?.name !== "OverconstrainedError" && err?.name !== "ConstraintNotSatisfiedError") throw err;
    return navigator.mediaDevices.getUserMedia({ audio: true });
  }
}

// What the browser really applied, with the recorder's format. Device ids and labels are left
// out: they identify the machine and nobody needs them.
function appliedSettings(stream, recorder) {
  const settings = stream.getAudioTracks()[0]?.getSettings?.() || {};
  const applied = {};
  for (const key of REPORTED_SETTINGS) if (key in settings) applied[key] = settings[key];
  applied.mimeType = recorder.mimeType || "";
  applied.audioBitsPerSecond = recorder.audioBitsPerSecond || 0;
  return applied;
}

function pickMimeType() {
  const options = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];
  return options.find((type) => window.MediaRecorder && MediaRecorder.isTypeSupported(type)) || "";
}

function setupRecorder(root, send) {
  const start = root.querySelector("#rec-start");
  const pause = root.querySelector("#rec-pause");
  const stop = root.querySelector("#rec-stop");
  const state = root.querySelector("#rec-state");
  const time = root.querySelector("#rec-time");
  const meter = root.querySelector("#rec-level");
  const review = root.querySelector("#rec-review");
  const preview = root.querySelector("#rec-preview");
  const save = root.querySelector("#rec-save");
  const discard = root.querySelector("#rec-discard");
  const error = root.querySelector("#rec-error");
  if (!start) return;
  if (!window.MediaRecorder || !navigator.mediaDevices?.getUserMedia) {
    start.disabled = true;
    state.textContent = "This browser cannot record audio. Upload a file instead.";
    return;
  }

  let recorder = null;
  let stream = null;
  let chunks = [];
  let blob = null;
  let audioContext = null;
  let raf = 0;
  let elapsedMs = 0;
  let resumedAt = 0;
  let ticker = 0;
  let capture = null; // what the browser applied to the current recording
  const token = {};

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  function elapsed() {
    return elapsedMs + (resumedAt ? performance.now() - resumedAt : 0);
  }

  function tick() {
    time.textContent = clock(elapsed() / 1000);
  }

  function startMeter() {
    audioContext = new AudioContext();
    const source = audioContext.createMediaStreamSource(stream);
    const analyser = audioContext.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const data = new Float32Array(analyser.fftSize);
    const loop = () => {
      analyser.getFloatTimeDomainData(data);
      let sum = 0;
      for (const v of data) sum += v * v;
      const rms = Math.sqrt(sum / data.length);
      // Perceptual-ish scale: speech at a normal distance lands mid-way.
      const level = Math.min(1, Math.sqrt(rms) * 1.6);
      meter.value = recorder?.state === "paused" ? 0 : level;
      meter.textContent = `${Math.round(level * 100)}%`;
      raf = requestAnimationFrame(loop);
    };
    loop();
  }

  function stopMedia() {
    cancelAnimationFrame(raf);
    clearInterval(ticker);
    meter.value = 0;
    if (audioContext) audioContext.close();
    audioContext = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
  }

  function resetUi() {
    start.hidden = false;
    pause.hidden = true;
    stop.hidden = true;
    pause.textContent = "Pause";
  }

  start.addEventListener("click", async () => {
    showError("");
    if (blob && !window.confirm("Discard the recording that has not been saved yet?")) return;
    blob = null;
    review.hidden = true;
    state.textContent = "Asking for microphone permission…";
    try {
      stream = await openMicrophone();
    } catch (err) {
      state.textContent = "Not recording";
      showError(err && err.name === "NotAllowedError"
        ? "Microphone access was blocked. Allow the microphone for this site in the browser’s address bar, then try again."
        : "No microphone could be opened. Check that one is connected and not used by another program.");
      return;
    }
    const mimeType = pickMimeType();
    recorder = new MediaRecorder(stream, {
      audioBitsPerSecond: bitsPerSecondFor(stream), ...(mimeType ? { mimeType } : {}),
    });
    capture = appliedSettings(stream, recorder);
    // Also on the page, for whoever checks the capture path (the browser tests read it back).
    root.dataset.capture = JSON.stringify(capture);
    chunks = [];
    recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
    recorder.onstop = () => {
      blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      stopMedia();
      resetUi();
      preview.src = URL.createObjectURL(blob);
      review.hidden = false;
      state.textContent = `Recorded ${clock(elapsed() / 1000)} — listen, then save or discard.`;
      save.focus();
    };
    recorder.start(1000);
    unsaved.add(token);
    elapsedMs = 0;
    resumedAt = performance.now();
    ticker = setInterval(tick, 250);
    startMeter();
    start.hidden = true;
    pause.hidden = false;
    stop.hidden = false;
    state.textContent = "Recording";
    stop.focus();
  });

  pause.addEventListener("click", () => {
    if (!recorder) return;
    if (recorder.state === "recording") {
      recorder.pause();
      elapsedMs += performance.now() - resumedAt;
      resumedAt = 0;
      pause.textContent = "Resume";
      state.textContent = "Paused";
    } else if (recorder.state === "paused") {
      recorder.resume();
      resumedAt = performance.now();
      pause.textContent = "Pause";
      state.textContent = "Recording";
    }
  });

  stop.addEventListener("click", () => {
    if (!recorder || recorder.state === "inactive") return;
    elapsedMs = elapsed();
    resumedAt = 0;
    recorder.stop();
  });

  discard.addEventListener("click", () => {
    if (!window.confirm("Discard this recording? It has not been saved.")) return;
    blob = null;
    review.hidden = true;
    unsaved.delete(token);
    state.textContent = "Recording discarded.";
    time.textContent = "0:00";
  });

  save.addEventListener("click", async () => {
    if (!blob) return;
    const ext = blob.type.includes("ogg") ? "ogg" : blob.type.includes("mp4") ? "m4a" : "webm";
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
    const file = new File([blob], `browser-recording-${stamp}.${ext}`, {
      type: blob.type, lastModified: Date.now(),
    });
    save.disabled = true;
    discard.disabled = true;
    state.textContent = "Saving the recording…";
    const { result } = await send(file, { fromRecorder: true, capture });
    save.disabled = false;
    discard.disabled = false;
    if (result) {
      blob = null;
      review.hidden = true;
      unsaved.delete(token);
      state.textContent = "Recording saved.";
    } else {
      state.textContent = "The recording is still here: save it again or discard it.";
    }
  });
}
