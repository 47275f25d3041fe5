/* Practice page: play the example, record an attempt (MediaRecorder, WebM/Opus where the
 * browser offers it), show a level meter, send it, wait for the stars.
 *
 * Nothing is lost: the recording stays in memory until the server has it, so a dropped
 * connection only means pressing "Send again" (the same client token makes that safe).
 * Without JavaScript or MediaRecorder the plain upload form below the recorder is used.
 */
(function () {
  "use strict";

  // The recorder's bit rate per channel, stated rather than left to each browser (Chromium 156
  // picks 128 kbit/s whatever the channels), so the robustness benchmark can reproduce it:
  // 64 kbit/s Opus per channel keeps the voice detail the emotion model measures; with
  // processing off many microphones deliver stereo, which gets twice that. Why:
  // docs/pipeline.md, "What the browser recorder sends".
  var AUDIO_BITS_PER_SECOND = 64000;
  // Raw audio: echo cancellation, noise suppression and automatic gain change the voice the
  // model hears (they turned a clip the model calls "disgust" into "angry" in our browser test).
  // Plain values are "ideal" constraints, so a browser that cannot turn one off still records.
  var RAW_AUDIO = { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false };
  var REPORTED_SETTINGS = ["echoCancellation", "noiseSuppression", "autoGainControl", "channelCount", "sampleRate", "sampleSize"];

  function bitsPerSecondFor(mediaStream) {
    var track = mediaStream.getAudioTracks()[0];
    var channels = (track && track.getSettings && track.getSettings().channelCount) || 1;
    return AUDIO_BITS_PER_SECOND * Math.min(2, Math.max(1, channels));
  }

  var configEl = document.getElementById("practice-config");
  var config = configEl ? JSON.parse(configEl.textContent) : {};

  // --- the example recording ------------------------------------------------------------------
  var playButton = document.getElementById("play-example");
  var example = document.getElementById("example-audio");
  if (playButton && example) {
    var playLabel = playButton.querySelector(".label");
    playButton.addEventListener("click", function () {
      if (example.paused) {
        example.currentTime = 0;
        example.play().catch(function () {
          playLabel.textContent = "Sorry, the example can't play right now";
        });
      } else {
        example.pause();
      }
    });
    example.addEventListener("play", function () { playLabel.textContent = "Playing… (press to stop)"; });
    ["pause", "ended"].forEach(function (name) {
      example.addEventListener(name, function () { playLabel.textContent = "Listen to the example"; });
    });
  }

  // --- recorder ---------------------------------------------------------------------------------
  var recorderSection = document.getElementById("recorder");
  var fallback = document.getElementById("fallback");
  if (!recorderSection) return;

  var button = document.getElementById("rec-button");
  var buttonLabel = button.querySelector(".label");
  var statusEl = document.getElementById("rec-status");
  var meter = document.getElementById("meter");
  var meterBar = document.getElementById("meter-bar");
  var timerEl = document.getElementById("timer");
  var feedback = document.getElementById("feedback");
  var retryActions = document.getElementById("retry-actions");
  var resendButton = document.getElementById("resend-button");
  var discardButton = document.getElementById("discard-button");
  var maxSeconds = config.maxSeconds || 30;

  var supported = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia &&
                     window.MediaRecorder && window.fetch);
  if (!supported) {
    var reason = document.getElementById("fallback-reason");
    if (reason) {
      reason.textContent = window.isSecureContext === false
        ? "Recording in the page needs a secure (https) connection. You can use your device's recorder instead."
        : "This browser can't record in the page. You can use your device's recorder instead.";
    }
    return; // the fallback form stays visible
  }
  recorderSection.hidden = false;
  if (fallback) fallback.hidden = true;

  var state = "idle"; // idle | starting | recording | sending | waiting
  var stream = null, recorder = null, chunks = [], audioContext = null, rafId = 0;
  var startedAt = 0, timerId = 0, heardVoice = false;
  var pending = null; // {blob, type, token, capture}
  var capture = null; // what the browser applied to this recording (sent with the attempt)
  var phraseEl = document.querySelector(".ex-phrase-big");
  var recordingPrompt = "Recording… say: " + (phraseEl ? phraseEl.textContent.trim() : "the sentence") + " Then press Stop.";

  function say(text, problem) {
    statusEl.textContent = text;
    statusEl.classList.toggle("is-problem", !!problem);
  }

  function setButton(mode) {
    button.classList.toggle("is-recording", mode === "stop");
    button.disabled = mode === "busy";
    buttonLabel.textContent = mode === "stop" ? "Stop" : (mode === "busy" ? "Please wait…" : "Start recording");
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function newToken() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = Math.random() * 16 | 0;
      return (c === "x" ? r : (r & 0x3 | 0x8)).toString(16);
    });
  }

  function pickType() {
    var types = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];
    for (var i = 0; i < types.length; i++) {
      if (window.MediaRecorder.isTypeSupported && window.MediaRecorder.isTypeSupported(types[i])) return types[i];
    }
    return "";
  }

  async function openMicrophone() {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: RAW_AUDIO });
    } catch (error) {
      // Only a browser that treats the constraints as required refuses them; any microphone
      // beats none, and the applied settings sent with the attempt say what was used.
      if (!error || (error.name !== "OverconstrainedError" && error.name !== "ConstraintNotSatisfiedError")) throw error;
      return await navigator.mediaDevices.getUserMedia({ audio: true });
    }
  }

  // The processing the browser really applied, with the recorder's format: ids and labels
  // of the device are left out (they identify the machine, and the server has no use for them).
  function appliedSettings(mediaStream, mediaRecorder) {
    var track = mediaStream.getAudioTracks()[0];
    var settings = track && track.getSettings ? track.getSettings() : {};
    var applied = {};
    REPORTED_SETTINGS.forEach(function (key) { if (key in settings) applied[key] = settings[key]; });
    applied.mimeType = mediaRecorder.mimeType || "";
    applied.audioBitsPerSecond = mediaRecorder.audioBitsPerSecond || 0;
    return applied;
  }

  function micProblem(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
      return "The microphone is blocked. Ask a grown-up to allow the microphone for this page (look for the microphone or lock icon next to the web address), then press the button again.";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
      return "No microphone found. Plug in a headset or use a phone, tablet or laptop with a microphone, then try again.";
    }
    if (name === "NotReadableError" || name === "AbortError" || name === "TrackStartError") {
      return "The microphone is busy in another app. Close the other app (for example a video call) and try again.";
    }
    return "The microphone couldn't start. Please try again.";
  }

  function stopMeter() {
    cancelAnimationFrame(rafId);
    if (audioContext) { audioContext.close().catch(function () {}); audioContext = null; }
    meterBar.style.width = "0%";
    meter.setAttribute("aria-valuenow", "0");
    meter.classList.remove("is-hearing");
  }

  function startMeter(mediaStream) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    audioContext = new Ctx();
    var source = audioContext.createMediaStreamSource(mediaStream);
    var analyser = audioContext.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    var data = new Float32Array(analyser.fftSize);
    var lastAria = 0, peak = 0;
    (function tick() {
      analyser.getFloatTimeDomainData(data);
      var sum = 0;
      for (var i = 0; i < data.length; i++) sum += data[i] * data[i];
      var rms = Math.sqrt(sum / data.length);
      var db = 20 * Math.log10(rms + 1e-8);
      var level = Math.max(0, Math.min(100, Math.round((db + 60) * 100 / 50)));
      if (level > peak) { peak = level; meter.setAttribute("data-peak", String(peak)); }
      meterBar.style.width = level + "%";
      var hearing = level > 30;
      meter.classList.toggle("is-hearing", hearing);
      if (hearing) heardVoice = true;
      var now = performance.now();
      if (now - lastAria > 500) { meter.setAttribute("aria-valuenow", String(level)); lastAria = now; }
      rafId = requestAnimationFrame(tick);
    })();
  }

  function releaseMic() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
  }

  function updateTimer() {
    var seconds = Math.floor((performance.now() - startedAt) / 1000);
    timerEl.textContent = "0:" + (seconds < 10 ? "0" : "") + seconds;
    if (seconds >= 3 && !heardVoice) say("We can't hear anything yet. Is the microphone on? Speak up!", true);
    else if (heardVoice && statusEl.classList.contains("is-problem")) say(recordingPrompt);
    if (seconds >= maxSeconds) {
      say("That's the longest a try can be. Let's see how it sounded!");
      stopRecording();
    }
  }

  async function startRecording() {
    state = "starting";
    setButton("busy");
    feedback.hidden = true;
    retryActions.hidden = true;
    say("Asking for the microphone…");
    try {
      if (navigator.mediaDevices.enumerateDevices) {
        var devices = await navigator.mediaDevices.enumerateDevices();
        if (devices.length && !devices.some(function (d) { return d.kind === "audioinput"; })) {
          throw { name: "NotFoundError" };
        }
      }
      stream = await openMicrophone();
    } catch (error) {
      releaseMic();
      state = "idle";
      setButton("start");
      say(micProblem(error), true);
      return;
    }
    var type = pickType();
    try {
      var options = { audioBitsPerSecond: bitsPerSecondFor(stream) };
      if (type) options.mimeType = type;
      recorder = new MediaRecorder(stream, options);
    } catch (error) {
      releaseMic();
      state = "idle";
      setButton("start");
      say("This browser can't record here. Use “Send a recording” below instead.", true);
      if (fallback) fallback.hidden = false;
      return;
    }
    capture = appliedSettings(stream, recorder);
    recorderSection.setAttribute("data-capture", JSON.stringify(capture));
    chunks = [];
    heardVoice = false;
    recorder.ondataavailable = function (event) { if (event.data && event.data.size) chunks.push(event.data); };
    recorder.onstop = onRecorded;
    recorder.start();
    startMeter(stream);
    startedAt = performance.now();
    timerEl.textContent = "0:00";
    timerId = setInterval(updateTimer, 250);
    state = "recording";
    setButton("stop");
    say(recordingPrompt);
  }

  function stopRecording() {
    if (state !== "recording") return;
    clearInterval(timerId);
    state = "sending";
    setButton("busy");
    if (recorder && recorder.state !== "inactive") recorder.stop();
  }

  function onRecorded() {
    stopMeter();
    releaseMic();
    var seconds = (performance.now() - startedAt) / 1000;
    var type = (recorder && recorder.mimeType) || (chunks[0] && chunks[0].type) || "audio/webm";
    var blob = new Blob(chunks, { type: type });
    chunks = [];
    if (seconds < 0.7 || blob.size < 200) {
      state = "idle";
      setButton("start");
      say("That was very short! Press the button, say the whole sentence, then press Stop.", true);
      return;
    }
    pending = { blob: blob, type: type, token: newToken(), capture: capture };
    send();
  }

  function extensionFor(type) {
    if (type.indexOf("ogg") >= 0) return "ogg";
    if (type.indexOf("mp4") >= 0 || type.indexOf("aac") >= 0) return "m4a";
    if (type.indexOf("wav") >= 0) return "wav";
    return "webm";
  }

  async function send() {
    if (!pending) return;
    state = "sending";
    setButton("busy");
    retryActions.hidden = true;
    say("Sending your recording…");
    showWaiting();
    var form = new FormData();
    form.append("file", pending.blob, "attempt." + extensionFor(pending.type));
    form.append("client_token", pending.token);
    if (pending.capture) form.append("capture", JSON.stringify(pending.capture));
    var response, body;
    try {
      response = await fetch(config.uploadUrl, {
        method: "POST", body: form, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      });
      body = await response.json().catch(function () { return {}; });
    } catch (error) {
      offerResend("We couldn't send your recording. Check the internet connection and press “Send again”. Your recording is kept.");
      return;
    }
    if (response.status === 401) {
      offerResend("You've been logged out. Log in again in another tab, then press “Send again”.");
      return;
    }
    if (response.status >= 500 || (response.status === 403 && /CSRF/.test(body.detail || ""))) {
      offerResend("Something went wrong on our side. Your recording is kept: press “Send again” in a moment.");
      return;
    }
    if (!response.ok) {
      // The server looked at the recording and can't use it (too short, too long, no consent):
      // say why in its own words; a new recording is needed.
      pending = null;
      feedback.hidden = true;
      state = "idle";
      setButton("start");
      say(body.detail || "Something went wrong. Please record it again.", true);
      return;
    }
    var uploadedAt = performance.now();
    pending = null;
    state = "waiting";
    say("Listening to your voice…");
    poll(body.status_url, body.result_url, body.audio_url, uploadedAt, 0);
  }

  function offerResend(message) {
    state = "idle";
    setButton("start");
    feedback.hidden = true;
    retryActions.hidden = false;
    say(message, true);
  }

  function showWaiting() {
    feedback.hidden = false;
    feedback.innerHTML = '<div class="ex-result"><div class="ex-waiting"><span class="ex-spinner" aria-hidden="true"></span>' +
      '<h2 class="ex-result-title">Listening to your voice…</h2></div><p class="ex-muted">Your stars will appear in a few seconds.</p></div>';
  }

  async function poll(statusUrl, resultUrl, audioUrl, uploadedAt, elapsed) {
    var data = null;
    try {
      var response = await fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } });
      if (response.ok) data = await response.json();
    } catch (error) { /* a blip: keep polling */ }
    if (data && data.final) {
      await showResult(resultUrl, audioUrl, uploadedAt);
      return;
    }
    if (elapsed > 90000) {
      state = "idle";
      setButton("start");
      say("This is taking longer than usual. Your recording is saved: you'll find the stars under “My tries” a bit later.");
      return;
    }
    var wait = elapsed < 10000 ? 400 : 1500;
    setTimeout(function () { poll(statusUrl, resultUrl, audioUrl, uploadedAt, elapsed + wait); }, wait);
  }

  async function showResult(resultUrl, audioUrl, uploadedAt) {
    var html = "";
    try {
      var response = await fetch(resultUrl + "?fragment=1", { credentials: "same-origin" });
      html = await response.text();
    } catch (error) {
      window.location.href = resultUrl;
      return;
    }
    feedback.innerHTML = html;
    var actions = document.createElement("p");
    actions.className = "ex-actions";
    var again = document.createElement("button");
    again.type = "button";
    again.className = "ex-button";
    again.textContent = "Try again";
    again.addEventListener("click", function () { feedback.hidden = true; say("Press the big button when you're ready."); button.focus(); });
    actions.appendChild(again);
    if (audioUrl) {
      var mine = new Audio(audioUrl);
      var listen = document.createElement("button");
      listen.type = "button";
      listen.className = "ex-button ex-secondary";
      listen.textContent = "Listen to my try";
      listen.addEventListener("click", function () { mine.currentTime = 0; mine.play().catch(function () {}); });
      actions.appendChild(listen);
    }
    feedback.appendChild(actions);
    feedback.hidden = false;
    addToHistory(resultUrl); // at once; the server's list and chart replace it when they arrive
    refreshHistory(resultUrl);
    var latency = Math.round(performance.now() - uploadedAt);
    feedback.setAttribute("data-latency-ms", String(latency));
    state = "idle";
    setButton("start");
    var result = feedback.querySelector(".ex-result");
    say(result && result.getAttribute("data-status") === "done" ? "Your stars are here!" : "Done.");
    feedback.focus();
  }

  // --- "My tries": the list and the chart show the new try without a reload ---------------------
  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function drawCharts(root) {
    if (!root.querySelector("[data-figure]") || !window.exerciseCharts) return;
    if (window.Plotly) { window.exerciseCharts.draw(root); return; }
    // The first try of an exercise brings the first chart: Plotly is loaded only then.
    var src = root.getAttribute("data-plotly-src");
    if (src) loadScript(src).then(function () { window.exerciseCharts.draw(root); }).catch(function () {});
  }

  async function refreshHistory(resultUrl) {
    var history = document.getElementById("history");
    var fresh = null;
    if (history && config.historyUrl) {
      try {
        var response = await fetch(config.historyUrl, { credentials: "same-origin" });
        if (response.ok) {
          var holder = document.createElement("div");
          holder.innerHTML = await response.text();
          fresh = holder.querySelector("#history");
        }
      } catch (error) { /* offline for a moment: the list already has the new try */ }
    }
    if (!fresh) return;
    history.replaceWith(fresh);
    var newest = fresh.querySelector(".ex-tries a");
    var path = new URL(resultUrl, window.location.href).pathname;
    if (newest && new URL(newest.href).pathname === path) {
      var when = newest.querySelector(".ex-try-date");
      if (when) when.textContent = "Just now";
    }
    drawCharts(fresh);
    fresh.setAttribute("data-updated", String(Date.now()));
  }

  function addToHistory(resultUrl) {
    var history = document.querySelector(".ex-history");
    if (!history) return;
    var list = history.querySelector(".ex-tries");
    if (!list) {
      list = document.createElement("ol");
      list.className = "ex-tries";
      list.reversed = true;
      var empty = history.querySelector(".ex-empty");
      if (empty) empty.replaceWith(list); else history.appendChild(list);
    }
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.href = resultUrl;
    var when = document.createElement("span");
    when.className = "ex-try-date";
    when.textContent = "Just now";
    link.appendChild(when);
    var stars = feedback.querySelector(".ex-result .stars");
    if (stars) {
      var copy = stars.cloneNode(true);
      copy.className = "stars stars-small";
      link.appendChild(copy);
    } else {
      var label = document.createElement("span");
      label.className = "ex-muted";
      label.textContent = "No stars this time";
      link.appendChild(label);
    }
    item.appendChild(link);
    list.insertBefore(item, list.firstChild);
  }

  button.addEventListener("click", function () {
    if (state === "idle") startRecording();
    else if (state === "recording") stopRecording();
  });
  resendButton.addEventListener("click", send);
  discardButton.addEventListener("click", function () {
    pending = null;
    retryActions.hidden = true;
    say("Press the big button when you're ready.");
    button.focus();
  });
})();
