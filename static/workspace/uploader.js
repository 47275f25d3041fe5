// Resumable chunked upload of one file (see sessions/workspace/api.py for the protocol).
//
// The upload id is remembered in localStorage under the file's name, size and modification
// time, so choosing the same file again after a reload or a crash continues from the server's
// offset. Network errors and server hiccups are retried with backoff; the server's offset is
// always the truth, so no byte is sent twice.

import { ApiError, csrf, requestJson } from "./api.js";

const RETRY_DELAYS_S = [1, 2, 4, 8, 15, 30, 30, 60];

function storageKey(sessionId, file) {
  return `ser-upload:${sessionId}:${file.name}:${file.size}:${file.lastModified || 0}`;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

function putChunk(url, blob, offset, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("Upload-Offset", String(offset));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRFToken", csrf());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText || "{}"); } catch (err) { data = {}; }
      resolve({ status: xhr.status, data });
    };
    xhr.onerror = () => reject(new ApiError("network", 0, {}));
    xhr.ontimeout = () => reject(new ApiError("network", 0, {}));
    xhr.onabort = () => reject(new ApiError("aborted", -1, {}));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(blob);
  });
}

export class ChunkedUploader extends EventTarget {
  constructor({ createUrl, sessionId, file, chunkSize, capture }) {
    super();
    this.createUrl = createUrl;
    this.capture = capture || null; // what the browser applied, for recordings made in the page
    this.sessionId = sessionId;
    this.file = file;
    this.chunkSize = chunkSize || 8 * 1024 * 1024;
    this.offset = 0;
    this.upload = null;
    this.state = "idle";
    this.controller = new AbortController();
    this.resumed = false;
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setState(state, detail = {}) {
    this.state = state;
    this.emit("state", { state, ...detail });
  }

  progress(sent) {
    this.emit("progress", { sent: Math.min(sent, this.file.size), total: this.file.size });
  }

  async start() {
    const key = storageKey(this.sessionId, this.file);
    try {
      this.setState("starting");
      const known = localStorage.getItem(key);
      if (known) {
        try {
          const { data } = await requestJson(known);
          if (data.status === "uploading" || data.status === "finalizing") {
            this.upload = data;
            this.offset = data.offset;
            this.resumed = this.offset > 0;
          }
        } catch (err) {
          localStorage.removeItem(key);
        }
      }
      if (!this.upload) {
        const { data } = await requestJson(this.createUrl, {
          method: "POST",
          body: {
            filename: this.file.name, size: this.file.size, content_type: this.file.type || "",
            ...(this.capture ? { capture: this.capture } : {}),
          },
        });
        this.upload = data;
        this.offset = 0;
        localStorage.setItem(key, data.urls.self);
      }
      this.chunkSize = this.upload.chunk_size || this.chunkSize;
      this.progress(this.offset);
      if (this.upload.status === "uploading") {
        this.setState("uploading", { resumed: this.resumed });
        await this.sendChunks();
      }
      const result = await this.complete();
      localStorage.removeItem(key);
      this.setState("done", { upload: result });
      return result;
    } catch (err) {
      if (this.controller.signal.aborted) {
        this.setState("cancelled");
        return null;
      }
      const final = err instanceof ApiError && err.status >= 400 && err.status < 500;
      if (final && err.status !== 409) localStorage.removeItem(key);
      this.setState("failed", { message: err.message || "The upload failed." });
      return null;
    }
  }

  async sendChunks() {
    let failures = 0;
    while (this.offset < this.file.size) {
      if (this.controller.signal.aborted) throw new ApiError("aborted", -1);
      if (!navigator.onLine) {
        this.setState("waiting", { message: "Connection lost: the upload continues when you are back online." });
        await new Promise((resolve) => window.addEventListener("online", resolve, { once: true }));
        this.setState("uploading", { resumed: true });
      }
      const end = Math.min(this.offset + this.chunkSize, this.file.size);
      const blob = this.file.slice(this.offset, end);
      const base = this.offset;
      let result;
      try {
        result = await putChunk(this.upload.urls.chunk, blob, base,
          (loaded) => this.progress(base + loaded), this.controller.signal);
      } catch (err) {
        if (err.status === -1) throw err;
        result = { status: 0, data: {} };
      }
      if (result.status === 200) {
        this.offset = result.data.offset;
        failures = 0;
        this.progress(this.offset);
        continue;
      }
      if (result.status === 409 && Number.isFinite(result.data.offset)) {
        // Out of step (a chunk whose answer was lost): continue from the server's offset.
        if (result.data.offset === this.offset) throw new ApiError(result.data.detail || "The upload cannot continue.", 409, result.data);
        this.offset = result.data.offset;
        this.progress(this.offset);
        continue;
      }
      if (result.status >= 400 && result.status < 500 && result.status !== 408 && result.status !== 429) {
        throw new ApiError(result.data.detail || "The server refused the file.", result.status, result.data);
      }
      // Network error or server trouble: wait, ask the server where we stand, try again.
      if (failures >= RETRY_DELAYS_S.length) {
        throw new ApiError("The upload keeps failing. Check the connection, then choose the same file again to continue where it stopped.", 0);
      }
      const delay = RETRY_DELAYS_S[failures] * (0.8 + Math.random() * 0.4);
      failures += 1;
      this.setState("retrying", { message: `Connection problem: trying again in ${Math.round(delay)} s…` });
      await sleep(delay * 1000, this.controller.signal);
      try {
        const { data } = await requestJson(this.upload.urls.self);
        if (data.status !== "uploading") break;
        this.offset = data.offset;
        this.progress(this.offset);
        this.setState("uploading", { resumed: true });
      } catch (err) {
        if (err.status >= 400 && err.status < 500) throw err;
      }
    }
  }

  async complete() {
    this.setState("checking");
    let response;
    for (let attempt = 0; ; attempt += 1) {
      try {
        response = await requestJson(this.upload.urls.complete, { method: "POST" });
        break;
      } catch (err) {
        if (err.status >= 400 && err.status < 500) throw err;
        if (attempt >= RETRY_DELAYS_S.length - 1) throw err;
        await sleep(RETRY_DELAYS_S[attempt] * 1000, this.controller.signal);
      }
    }
    let data = response.data;
    // Large files are checked by a background task: follow the upload until it is decided.
    while (data.status === "finalizing") {
      await sleep(1500, this.controller.signal);
      if (this.controller.signal.aborted) throw new ApiError("aborted", -1);
      ({ data } = await requestJson(this.upload.urls.self));
    }
    if (data.status !== "complete") {
      throw new ApiError(data.error || data.detail || "The file was not accepted.", 400, data);
    }
    return data;
  }

  async cancel() {
    this.controller.abort();
    if (this.upload && this.upload.status !== "complete") {
      try {
        await requestJson(this.upload.urls.self, { method: "DELETE" });
      } catch (err) { /* the server expires abandoned uploads anyway */ }
    }
    localStorage.removeItem(storageKey(this.sessionId, this.file));
  }
}
