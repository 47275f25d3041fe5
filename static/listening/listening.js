/* Listening page: play a clip, pick the feeling (click, tap, or keys 1-4), kind feedback at
 * once, replay, next clip.
 *
 * No answer is lost: each answer gets a client id and goes into a queue in localStorage first;
 * the queue is sent to the API, and an answer leaves it only when the server has answered for
 * it (stored, already stored, or refused with a reason). A dropped connection leaves it queued;
 * it is sent again when the browser is back online, every few seconds, and on the next visit.
 * The server stores an answer once per client id, so sending twice is harmless.
 */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("listening-config").textContent);
  var sections = Array.prototype.slice.call(document.querySelectorAll(".li-item"));
  var queueNote = document.getElementById("li-queue");
  var current = 0;
  var right = 0;
  var answered = 0;
  var firstPlay = {};

  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 0x3) | 0x8).toString(16);
    });
  }
  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // --- the queue ------------------------------------------------------------------------------
  function readQueue() {
    try { return JSON.parse(window.localStorage.getItem(config.queueKey) || "[]"); } catch (e) { return []; }
  }
  function writeQueue(queue) {
    try { window.localStorage.setItem(config.queueKey, JSON.stringify(queue)); } catch (e) { /* private mode: memory only */ }
  }
  var memoryQueue = null;
  function queue() { return memoryQueue || readQueue(); }
  function saveQueue(items) { memoryQueue = null; writeQueue(items); if (readQueue().length !== items.length) memoryQueue = items; }

  function showQueue() {
    var waiting = queue().length;
    queueNote.hidden = waiting === 0;
    queueNote.textContent = waiting === 1
      ? "1 answer is saved on this device and will be sent when the connection is back."
      : waiting + " answers are saved on this device and will be sent when the connection is back.";
  }

  var sending = false;
  async function flush() {
    if (sending) return;
    sending = true;
    try {
      var items = queue();
      while (items.length) {
        var entry = items[0];
        var response;
        try {
          response = await fetch(entry.url, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "application/json" },
            body: JSON.stringify(entry.body),
          });
        } catch (e) {
          break; // offline: keep it
        }
        var body = response.ok ? {} : await response.json().catch(function () { return {}; });
        // Only the server's own verdict on the answer ends its wait: stored (201), stored before
        // (200), refused for a reason (400), gone (404), no consent. A signed-out session (401),
        // a CSRF refusal (403), a proxy's error page or a server error keep it queued.
        var settled = response.status === 200 || response.status === 201 || response.status === 400 ||
          response.status === 404 || (response.status === 403 && body.code === "consent_missing");
        if (!settled) break;
        if (!response.ok && body.detail) say(sections[Math.min(current, sections.length - 1)], body.detail, false);
        items = queue().filter(function (q) { return q.body.client_id !== entry.body.client_id; });
        saveQueue(items);
      }
    } finally {
      sending = false;
      showQueue();
    }
  }

  // --- the clips ------------------------------------------------------------------------------
  function say(section, text, good) {
    var box = section.querySelector(".li-feedback");
    box.textContent = text;
    box.className = "li-feedback " + (good ? "li-good" : "li-kind");
  }

  function show(index) {
    sections.forEach(function (s, i) { s.hidden = i !== index; });
    document.getElementById("li-number").textContent = String(index + 1);
    var audio = sections[index].querySelector("audio");
    audio.addEventListener("play", function () {
      if (!firstPlay[index]) firstPlay[index] = Date.now();
    });
    var first = sections[index].querySelector(".li-choice");
    if (first) first.focus({ preventScroll: true });
  }

  function pick(section, index, button) {
    if (section.dataset.answered) return;
    section.dataset.answered = "1";
    var item = config.items[index];
    var chosen = button.value;
    var started = firstPlay[index];
    var body = {
      client_id: newId(),
      clip: item.clip,
      chosen: chosen,
      response_ms: started ? Date.now() - started : null,
      answered_at: new Date().toISOString(),
    };
    var items = queue();
    items.push({ url: config.answerUrl, body: body });
    saveQueue(items);
    answered += 1;
    section.querySelectorAll(".li-choice").forEach(function (b) {
      b.disabled = true;
      if (b.value === item.emotion) b.classList.add("li-is-right");
    });
    if (chosen === item.emotion) {
      right += 1;
      say(section, "Yes! That voice sounded " + item.word + ". Well listened!", true);
    } else {
      button.classList.add("li-is-picked");
      say(section, "Good try! That voice sounded " + item.word + ". Play it again to hear it.", false);
    }
    var replay = section.querySelector(".li-replay");
    replay.hidden = false;
    var next = document.createElement("button");
    next.type = "button";
    next.className = "ex-button li-next";
    next.textContent = index + 1 < sections.length ? "Next clip" : "Finish";
    next.addEventListener("click", function () { advance(); });
    section.querySelector(".li-feedback").after(next);
    next.focus({ preventScroll: true });
    flush().then(showQueue);
  }

  function advance() {
    current += 1;
    if (current < sections.length) { show(current); return; }
    sections.forEach(function (s) { s.hidden = true; });
    document.getElementById("li-progress").hidden = true;
    var done = document.getElementById("li-done");
    done.hidden = false;
    document.getElementById("li-score").textContent = right + " of " + answered + " right.";
    done.querySelector("a").focus({ preventScroll: true });
  }

  sections.forEach(function (section, index) {
    var form = section.querySelector("form");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = event.submitter || document.activeElement;
      if (button && button.classList.contains("li-choice")) pick(section, index, button);
    });
    section.querySelector(".li-replay").addEventListener("click", function () {
      var audio = section.querySelector("audio");
      audio.currentTime = 0;
      audio.play().catch(function () {});
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var tag = (event.target && event.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var n = parseInt(event.key, 10);
    var section = sections[current];
    if (!section || isNaN(n)) return;
    var buttons = section.querySelectorAll(".li-choice");
    if (n >= 1 && n <= buttons.length && !buttons[n - 1].disabled) {
      event.preventDefault();
      pick(section, current, buttons[n - 1]);
    }
  });

  document.getElementById("li-again").addEventListener("click", function () { window.location.reload(); });
  window.addEventListener("online", function () { flush(); });
  window.setInterval(function () { if (queue().length) flush(); }, 5000);
  window.listeningQueue = { flush: flush, size: function () { return queue().length; } };
  show(0);
  flush();
})();
