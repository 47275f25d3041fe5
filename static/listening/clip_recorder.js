/* New listening clip: record in the browser (MediaRecorder, as the practice recorder) and put
 * the recording into the form's file field, so saving sends it like a chosen file. Without
 * MediaRecorder the file field alone is used. */
(function () {
  "use strict";
  var box = document.getElementById("clip-recorder");
  var form = document.getElementById("clip-form");
  var fileInput = form && form.querySelector("input[type=file]");
  var recordedInput = form && form.querySelector("input[name=recorded]");
  if (!box || !fileInput || !window.MediaRecorder || !navigator.mediaDevices || !window.DataTransfer) return;
  box.hidden = false;
  var button = document.getElementById("clip-record");
  var status = document.getElementById("clip-record-status");
  var preview = document.getElementById("clip-preview");
  var recorder = null;
  var chunks = [];
  var stream = null;

  function pickType() {
    var types = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];
    for (var i = 0; i < types.length; i++) if (MediaRecorder.isTypeSupported(types[i])) return types[i];
    return "";
  }

  button.addEventListener("click", async function () {
    if (recorder && recorder.state === "recording") { recorder.stop(); return; }
    try {
      // Raw audio, as the practice recorder: processing changes how the feeling sounds.
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    } catch (e) {
      status.textContent = "The microphone could not be opened. You can choose a file instead.";
      return;
    }
    var type = pickType();
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    chunks = [];
    recorder.ondataavailable = function (event) { if (event.data && event.data.size) chunks.push(event.data); };
    recorder.onstop = function () {
      stream.getTracks().forEach(function (t) { t.stop(); });
      var mime = (recorder.mimeType || type || "audio/webm").split(";")[0];
      var ext = mime.indexOf("ogg") >= 0 ? ".ogg" : mime.indexOf("mp4") >= 0 ? ".m4a" : ".webm";
      var file = new File(chunks, "clip" + ext, { type: mime });
      var transfer = new DataTransfer();
      transfer.items.add(file);
      fileInput.files = transfer.files;
      if (recordedInput) recordedInput.value = "True";
      preview.src = URL.createObjectURL(file);
      preview.hidden = false;
      button.textContent = "● Record again";
      status.textContent = "Recorded. Listen to it, choose its feeling, then save.";
    };
    recorder.start();
    button.textContent = "■ Stop";
    status.textContent = "Recording…";
  });
  fileInput.addEventListener("change", function () {
    if (recordedInput && fileInput.files.length && fileInput.files[0].name.indexOf("clip.") !== 0) recordedInput.value = "";
  });
})();
