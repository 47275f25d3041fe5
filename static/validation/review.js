// Blind review: plays only the item's stretch of the recording (from data-start to data-end)
// through the audited audio endpoint. The page holds no model answer to reveal.
(function () {
  "use strict";
  var box = document.getElementById("blind-player");
  if (!box) return;
  var button = document.getElementById("blind-play");
  var status = document.getElementById("blind-status");
  var start = parseFloat(box.getAttribute("data-start"));
  var end = parseFloat(box.getAttribute("data-end"));
  var audio = new Audio();
  audio.preload = "none";
  audio.src = box.getAttribute("data-audio");
  var stopAt = null;
  audio.addEventListener("timeupdate", function () {
    if (stopAt !== null && audio.currentTime >= stopAt) {
      audio.pause();
      stopAt = null;
      button.textContent = "Play again";
      status.textContent = "";
    }
  });
  audio.addEventListener("error", function () {
    status.textContent = "The audio could not be played.";
  });
  button.addEventListener("click", function () {
    status.textContent = "Playing…";
    var go = function () {
      audio.currentTime = start;
      stopAt = end;
      audio.play().catch(function () { status.textContent = "The audio could not be played."; });
    };
    if (audio.readyState >= 1) { go(); } else {
      audio.addEventListener("loadedmetadata", go, { once: true });
      audio.load();
    }
  });
})();
