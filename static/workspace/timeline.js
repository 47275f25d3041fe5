// The session timeline: waveform (wavesurfer.js) and emotion timeline (plotly.js) on one time
// axis, the segment list beside them, keyboard control and therapist corrections.
//
// One view range {start, end} is the truth: zooming or panning either chart sets it, and the
// other follows. One player (wavesurfer's media element, streaming the access-checked audio
// view with range requests) drives the playhead drawn over both.

import WaveSurfer from "../vendor/wavesurfer/wavesurfer.esm.js";
import { ApiError, clock, clockPrecise, parseClock, requestJson } from "./api.js";
import { ROLE, speakerCell } from "./speakers.js";

const SPEAKER = ROLE;
// Why an estimate is uncertain (analysis/engine/audio/quality.py REASONS; keep the two in step).
const UNCERTAIN_REASON = {
  too_short: "too short to judge",
  too_quiet: "too quiet",
  too_noisy: "too noisy",
  clipped: "distorted (the microphone was overloaded)",
  low_confidence: "the model could not tell",
  unfamiliar: "unlike the voices the model learnt from",
};
const uncertainReason = (seg) => UNCERTAIN_REASON[seg.uncertain_reason] || UNCERTAIN_REASON.low_confidence;
const MIN_SPAN_S = 2;
// Below this width (px) no emotion name fits on a lane's segment (plotly hides labels under 9 px
// type: uniformtext), so the labels are not laid out at all: measuring 700 of them that would
// all be hidden was a fifth of the first drawing of a 45-minute timeline (issue 14).
const LABEL_MIN_PX = 12;
// Lists longer than this are drawn as a window of rows (rows are ROW_PX high there).
const VIRTUAL_MIN_ROWS = 300;
const ROW_PX = 34;
const OVERSCAN_ROWS = 25;

function isTyping(target) {
  if (!target || !(target instanceof Element)) return false;
  return !!target.closest("input, textarea, select, button, a, [contenteditable=''], [contenteditable='true'], .modebar");
}

export class Timeline {
  constructor(root) {
    this.root = root;
    this.urls = {
      workspace: root.dataset.workspaceUrl,
      corrections: root.dataset.correctionsUrl,
      waveform: root.dataset.waveformUrl,
      audio: root.dataset.audioUrl,
    };
    this.canEdit = root.dataset.canEdit === "1";
    this.plotEl = root.querySelector("#timeline");
    this.plotWrap = root.querySelector("#plot-wrap");
    this.playhead = root.querySelector("#playhead");
    this.waveEl = root.querySelector("#waveform");
    this.waveNote = root.querySelector("#waveform-note");
    this.rowsEl = root.querySelector("#segment-rows");
    this.scrollEl = root.querySelector("#segment-scroll");
    this.countEl = root.querySelector("#segment-count");
    this.filterEl = root.querySelector("#speaker-filter");
    this.panel = root.querySelector("#segment-panel");
    this.message = root.querySelector("#panel-message");
    this.loading = root.querySelector("#timeline-loading");
    this.empty = root.querySelector("#timeline-empty");
    this.errorEl = root.querySelector("#timeline-error");
    this.timeDisplay = root.querySelector("#time-display");
    this.playButton = root.querySelector("#btn-play");
    this.regionEl = root.querySelector("#region");
    this.summaryEl = document.getElementById("summary");
    // The emotion keys 1-8 follow the order of the form's list (the canonical labels).
    this.emotions = [...root.querySelectorAll("#corr-emotion option")].map((o) => o.value);
    this.busy = false;
    this.segments = [];
    this.visible = [];
    this.selected = -1;
    this.duration = 0;
    this.view = { start: 0, end: 1 };
    this.ws = null;
    this.plotReady = false;
    this.currentTime = 0;
    this.fallbackAudio = null;
    this.bindControls();
  }

  // --- loading ---------------------------------------------------------------------------------

  async load() {
    this.loading.hidden = false;
    this.empty.hidden = true;
    this.errorEl.hidden = true;
    try {
      const { data } = await requestJson(this.urls.workspace);
      this.apply(data, { first: true });
    } catch (err) {
      this.errorEl.textContent = `The timeline could not be loaded: ${err.message}`;
      this.errorEl.hidden = false;
    } finally {
      this.loading.hidden = true;
    }
  }

  apply(data, { first = false } = {}) {
    this.data = data;
    this.segments = data.segments || [];
    this.duration = Number(data.duration_s) || Math.max(1, ...this.segments.map((s) => s.end_s));
    if (!data.figure) {
      this.empty.hidden = false;
      return;
    }
    if (first) this.view = { start: 0, end: this.duration };
    this.renderPlot(data.figure, first);
    this.renderList();
    this.root.dataset.loaded = "1";
    const earlier = this.root.querySelector("#earlier-edits");
    if (earlier) {
      earlier.hidden = !data.earlier_run_edits;
      earlier.textContent = data.earlier_run_edits
        ? `${data.earlier_run_edits} correction(s) were made on an earlier analysis of this recording; they are kept and still count as labelled data, but are not shown on this newer analysis.`
        : "";
    }
    if (first) this.initAudio();
    if (this.selected >= 0) this.showPanel();
  }

  // --- the plot ----------------------------------------------------------------------------------

  renderPlot(figure, first) {
    const layout = { ...figure.layout, xaxis: { ...figure.layout.xaxis } };
    layout.xaxis.range = [this.view.start, this.view.end];
    Object.assign(layout.xaxis, this.ticks(this.view.start, this.view.end));
    this.labelMode = this.wantedLabelMode();
    for (const trace of figure.data) if (trace.type === "bar" && trace.text) trace.textposition = this.labelMode;
    const config = {
      responsive: true, displaylogo: false, scrollZoom: false,
      modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage", "zoomIn2d", "zoomOut2d"],
    };
    const Plotly = window.Plotly;
    const draw = first || !this.plotReady ? Plotly.newPlot : Plotly.react;
    return draw(this.plotEl, figure.data, layout, config).then(() => {
      if (!this.plotReady) {
        this.plotReady = true;
        this.plotEl.on("plotly_relayout", (event) => this.onPlotRelayout(event));
        this.plotEl.on("plotly_click", (event) => this.onPlotClick(event));
        this.bindPlotPointer();
        new ResizeObserver(() => { this.alignWaveform(); this.updatePlayhead(); this.updateRegion(); }).observe(this.plotEl);
      }
      this.margin = layout.margin;
      this.alignWaveform();
      this.updatePlayhead();
    });
  }

  wantedLabelMode() {
    // "inside" once the longest segment in the view is wide enough to hold a name, else "none".
    const longest = Math.max(0, ...this.segments.map((s) => s.end_s - s.start_s));
    const span = Math.max(this.view.end - this.view.start, 1e-3);
    return (longest * this.plotArea().width) / span >= LABEL_MIN_PX ? "inside" : "none";
  }

  updateLabels() {
    const mode = this.wantedLabelMode();
    if (!this.plotReady || mode === this.labelMode) return;
    this.labelMode = mode;
    const lanes = (this.plotEl.data || []).flatMap((t, i) => (t.type === "bar" && t.text ? [i] : []));
    if (lanes.length) window.Plotly.restyle(this.plotEl, { textposition: mode }, lanes);
  }

  alignWaveform() {
    // The waveform spans exactly the plot area's width, so both share one time axis.
    const area = this.plotArea();
    const wrap = this.waveEl.parentElement;
    wrap.style.marginLeft = `${area.left}px`;
    wrap.style.marginRight = `${Math.max(0, this.plotEl.clientWidth - area.left - area.width)}px`;
  }

  ticks(start, end) {
    const span = Math.max(end - start, 0.001);
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    const step = steps.find((s) => span / s <= 10) || 3600;
    const values = [];
    for (let v = Math.ceil(start / step) * step; v <= end; v += step) values.push(v);
    return { tickvals: values, ticktext: values.map((v) => clock(v)) };
  }

  onPlotRelayout(event) {
    let start = event["xaxis.range[0]"];
    let end = event["xaxis.range[1]"];
    if (Array.isArray(event["xaxis.range"])) [start, end] = event["xaxis.range"];
    if (event["xaxis.autorange"]) [start, end] = [0, this.duration];
    if (start === undefined || end === undefined) return;
    if (Math.abs(start - this.view.start) < 1e-3 && Math.abs(end - this.view.end) < 1e-3) return;
    this.setView(Number(start), Number(end), "plot");
  }

  plotArea() {
    // plotly's computed plot area (margins grow automatically to fit the legend).
    const size = this.plotEl._fullLayout && this.plotEl._fullLayout._size;
    if (size && size.w > 0) return { left: size.l, top: size.t, width: size.w, height: size.h };
    const m = this.margin || { l: 110, r: 24, t: 36, b: 44 };
    const width = this.plotEl.clientWidth - m.l - m.r;
    const height = this.plotEl.clientHeight - m.t - m.b;
    return { left: m.l, top: m.t, width, height };
  }

  timeAtX(x) {
    const area = this.plotArea();
    const ratio = (x - area.left) / area.width;
    if (ratio < 0 || ratio > 1) return null;
    return this.view.start + ratio * (this.view.end - this.view.start);
  }

  bindPlotPointer() {
    // Click anywhere on the timeline to play from there; a drag is plotly's zoom box.
    let down = null;
    this.plotWrap.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || event.target.closest(".modebar, .legend")) return;
      down = { x: event.clientX, y: event.clientY };
    }, true);
    window.addEventListener("pointerup", (event) => {
      if (!down) return;
      const moved = Math.hypot(event.clientX - down.x, event.clientY - down.y);
      down = null;
      if (moved > 4) return;
      const box = this.plotEl.getBoundingClientRect();
      const area = this.plotArea();
      const y = event.clientY - box.top;
      if (y < area.top || y > area.top + area.height) return;
      const t = this.timeAtX(event.clientX - box.left);
      if (t === null) return;
      this.seek(t, { play: true });
      const index = this.segmentIndexAt(t);
      if (index >= 0) this.select(index, { seek: false });
    }, true);
  }

  onPlotClick(event) {
    const point = event.points && event.points[0];
    const key = point && point.customdata;
    if (typeof key !== "string") return;
    const index = this.segments.findIndex((s) => s.key === key);
    if (index >= 0) this.select(index, { seek: false });
  }

  // --- view sync -------------------------------------------------------------------------------

  setView(start, end, source) {
    let span = Math.max(MIN_SPAN_S, Math.min(end - start, this.duration));
    start = Math.max(0, Math.min(start, this.duration - span));
    end = start + span;
    this.view = { start, end };
    if (source !== "plot" && this.plotReady) {
      window.Plotly.relayout(this.plotEl, { "xaxis.range": [start, end], ...this.prefixed(this.ticks(start, end)) });
    } else if (this.plotReady) {
      window.Plotly.relayout(this.plotEl, this.prefixed(this.ticks(start, end)));
    }
    this.updateLabels();
    if (source !== "wave" && this.ws && this.wsReady) {
      this.syncingWave = true;
      const width = this.ws.getWidth() || this.waveEl.clientWidth;
      try {
        this.ws.zoom(width / span);
        this.ws.setScrollTime(start);
      } catch (err) { /* audio not loaded yet: the "decode" handler syncs again */ }
      setTimeout(() => { this.syncingWave = false; }, 50);
    }
    this.updatePlayhead();
    this.updateRegion();
  }

  prefixed(ticks) {
    return { "xaxis.tickvals": ticks.tickvals, "xaxis.ticktext": ticks.ticktext };
  }

  zoom(factor) {
    const span = (this.view.end - this.view.start) * factor;
    const centre = this.isInView(this.currentTime) ? this.currentTime : (this.view.start + this.view.end) / 2;
    this.setView(centre - span / 2, centre + span / 2, "button");
  }

  isInView(t) {
    return t >= this.view.start && t <= this.view.end;
  }

  // --- audio -----------------------------------------------------------------------------------

  async initAudio() {
    if (!this.data.recording || !this.data.recording.audio_available) {
      this.waveNote.hidden = false;
      this.waveNote.textContent = "The audio of this recording is no longer kept; the timeline remains.";
      this.waveEl.hidden = true;
      return;
    }
    let peaks = null;
    try {
      const { status, data } = await requestJson(this.urls.waveform);
      if (status === 200 && data.peaks && data.peaks.length) peaks = data.peaks;
      else if (status === 202) this.retryWaveform(0);
      else if (status === 200) {
        this.waveNote.hidden = false;
        this.waveNote.textContent = "No waveform can be drawn for this file; playback still works.";
      }
    } catch (err) { /* the timeline and playback do not need the waveform */ }
    this.ws = WaveSurfer.create({
      container: this.waveEl,
      height: 128,
      waveColor: "#7d98c9",
      progressColor: "#2857a4",
      cursorColor: "#b00020",
      cursorWidth: 2,
      // The server scales the peaks so a quiet room is visible (charts.display_peaks);
      // wavesurfer's own normalisation would let one loud knock flatten the rest again.
      normalize: false,
      url: this.urls.audio,
      peaks: [peaks || [0, 0]],
      duration: this.duration,
      fillParent: true,
      autoScroll: true,
      autoCenter: false,
      dragToSeek: true,
      hideScrollbar: false,
    });
    const ready = () => {
      if (this.wsReady) return;
      this.wsReady = true;
      this.setView(this.view.start, this.view.end, "init");
    };
    this.ws.on("decode", ready);
    this.ws.on("ready", ready);
    this.ws.on("timeupdate", (t) => this.onTime(t));
    this.ws.on("play", () => this.onPlayState(true));
    this.ws.on("pause", () => this.onPlayState(false));
    this.ws.on("finish", () => this.onPlayState(false));
    this.ws.on("interaction", (t) => {
      const index = this.segmentIndexAt(t);
      if (index >= 0) this.select(index, { seek: false });
      this.ws.play().catch(() => {});
    });
    this.ws.on("scroll", (visibleStart, visibleEnd) => {
      if (this.syncingWave || !this.wsReady) return;
      const span = this.view.end - this.view.start;
      if (Math.abs(visibleStart - this.view.start) < span * 0.01) return;
      this.setView(visibleStart, visibleStart + span, "wave");
    });
    this.ws.on("error", () => {
      this.waveNote.hidden = false;
      this.waveNote.textContent = "This browser cannot play this file’s audio. The timeline and corrections still work; the exports contain everything.";
    });
  }

  retryWaveform(attempt) {
    if (attempt > 20) return;
    setTimeout(async () => {
      try {
        const { status, data } = await requestJson(this.urls.waveform);
        if (status === 202) return this.retryWaveform(attempt + 1);
        if (data.peaks && data.peaks.length && this.ws && !this.ws.isPlaying()) {
          const t = this.ws.getCurrentTime();
          await this.ws.load(this.urls.audio, [data.peaks], this.duration);
          this.ws.setTime(t);
          this.setView(this.view.start, this.view.end, "init");
        }
      } catch (err) { /* keep the flat waveform */ }
      return null;
    }, 3000);
  }

  seek(t, { play = false } = {}) {
    t = Math.max(0, Math.min(t, this.duration));
    this.currentTime = t;
    if (this.ws) {
      this.ws.setTime(t);
      if (play) this.ws.play().catch(() => {});
    }
    this.onTime(t);
  }

  togglePlay() {
    if (!this.ws) return;
    this.ws.playPause().catch(() => {});
  }

  onPlayState(playing) {
    this.playButton.textContent = playing ? "Pause" : "Play";
    this.playButton.setAttribute("aria-pressed", playing ? "true" : "false");
  }

  onTime(t) {
    this.currentTime = t;
    this.timeDisplay.textContent = `${clock(t)} / ${clock(this.duration)}`;
    if (this.ws && this.ws.isPlaying() && !this.isInView(t)) {
      const span = this.view.end - this.view.start;
      this.setView(t - span * 0.1, t + span * 0.9, "follow");
    }
    this.updatePlayhead();
    const index = this.segmentIndexAt(t);
    if (index !== this.playingIndex) {
      this.rowsEl.querySelector(".is-playing")?.classList.remove("is-playing");
      this.playingIndex = index;
      if (index >= 0) this.rowsEl.querySelector(`tr[data-index="${index}"]`)?.classList.add("is-playing");
    }
  }

  updatePlayhead() {
    if (!this.plotReady) return;
    const area = this.plotArea();
    const t = this.currentTime;
    if (!this.isInView(t)) {
      this.playhead.hidden = true;
      return;
    }
    const x = area.left + ((t - this.view.start) / (this.view.end - this.view.start)) * area.width;
    this.playhead.hidden = false;
    this.playhead.style.transform = `translateX(${x}px)`;
    this.playhead.style.top = `${area.top}px`;
    this.playhead.style.height = `${area.height}px`;
  }

  // --- segments --------------------------------------------------------------------------------

  segmentIndexAt(t) {
    // Segments are sorted by start; find the last one starting at or before t that covers it.
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.segments[mid].start_s <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (found >= 0 && t <= this.segments[found].end_s) return found;
    return -1;
  }

  renderList() {
    const filter = this.filterEl.value;
    this.visible = this.segments.map((s, i) => i).filter((i) => !filter || this.segments[i].speaker === filter);
    // A long session is drawn in a window of rows around what is in view (fixed row height,
    // spacers for the rest), so the list holds the whole session and still scrolls smoothly.
    this.virtual = this.visible.length > VIRTUAL_MIN_ROWS;
    this.scrollEl.classList.toggle("is-virtual", this.virtual);
    this.rowsEl.closest("table")?.setAttribute("aria-rowcount", String(this.visible.length + 1));
    if (this.virtual) {
      this.renderWindow(true);
    } else {
      const fragment = document.createDocumentFragment();
      this.visible.forEach((index, position) => fragment.append(this.buildRow(index, position)));
      this.rowsEl.replaceChildren(fragment);
    }
    if (!this.visible.length) {
      const row = document.createElement("tr");
      const cell = document.createElement("td");
      cell.colSpan = 4;
      cell.className = "ws-muted";
      cell.textContent = this.segments.length ? "No segments of this speaker." : (this.data?.no_speech ? "No speech was found in this recording." : "No segments.");
      row.append(cell);
      this.rowsEl.append(row);
    }
    const first = this.rowsEl.querySelector(".is-selected") || this.rowsEl.querySelector("tr[data-index]");
    if (first) first.tabIndex = 0;
    this.countEl.textContent = `(${this.visible.length}${filter ? ` of ${this.segments.length}` : ""})`;
  }

  buildRow(index, position) {
    const seg = this.segments[index];
    const row = document.createElement("tr");
    row.dataset.index = String(index);
    row.dataset.key = seg.key;
    row.tabIndex = -1;
    row.className = "ws-segrow";
    if (index === this.selected) {
      row.classList.add("is-selected");
      row.setAttribute("aria-selected", "true");
    }
    const time = document.createElement("td");
    const play = document.createElement("button");
    play.type = "button";
    play.className = "link ws-seg-play";
    play.textContent = `${clock(seg.start_s)}–${clock(seg.end_s)}`;
    play.setAttribute("aria-label", `Play ${SPEAKER[seg.speaker] || seg.speaker}, ${seg.emotion}, from ${clock(seg.start_s)} to ${clock(seg.end_s)}`);
    play.tabIndex = -1;
    time.append(play);
    const speaker = speakerCell(seg, this.data?.lanes);
    const emotion = document.createElement("td");
    const swatch = document.createElement("span");
    swatch.className = `ws-swatch pat-${seg.emotion}`;
    swatch.setAttribute("aria-hidden", "true");
    emotion.append(swatch, document.createTextNode(seg.emotion));
    if (seg.uncertain) emotion.append(" ", badge(`uncertain: ${uncertainReason(seg)}`, "ws-badge-uncertain", "Not a reliable estimate"));
    if (seg.corrected) emotion.append(" ", badge("✎ corrected", "ws-badge-corrected", `Model said: ${seg.model_speaker}, ${seg.model_emotion}`));
    if (seg.note) emotion.append(" ", badge("note", "ws-badge-note", seg.note));
    const confidence = document.createElement("td");
    if (seg.confidence === null || seg.confidence === undefined) {
      // A therapist's label has no confidence; the model's, for its own label, stays visible.
      confidence.textContent = "—";
      confidence.title = "Set by a therapist";
      if (percent(seg.model_confidence)) {
        const model = document.createElement("span");
        model.className = "ws-muted ws-model-conf";
        model.textContent = ` model ${percent(seg.model_confidence)}`;
        model.title = `The model said ${seg.model_emotion} with ${percent(seg.model_confidence)} confidence`;
        confidence.append(model);
      }
    } else {
      confidence.textContent = percent(seg.confidence);
    }
    row.append(time, speaker, emotion, confidence);
    row.setAttribute("aria-rowindex", String(position + 2));
    return row;
  }

  renderWindow(force = false) {
    const height = this.scrollEl.clientHeight || 600;
    const top = this.scrollEl.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_PX) - OVERSCAN_ROWS);
    const last = Math.min(this.visible.length, Math.ceil((top + height) / ROW_PX) + OVERSCAN_ROWS);
    if (!force && this.window && this.window.first === first && this.window.last === last) return;
    this.window = { first, last };
    const spacer = (rows) => {
      const tr = document.createElement("tr");
      tr.className = "ws-spacer";
      tr.setAttribute("aria-hidden", "true");
      const td = document.createElement("td");
      td.colSpan = 4;
      td.style.height = `${rows * ROW_PX}px`;
      tr.append(td);
      return tr;
    };
    const fragment = document.createDocumentFragment();
    if (first > 0) fragment.append(spacer(first));
    for (let position = first; position < last; position += 1) {
      fragment.append(this.buildRow(this.visible[position], position));
    }
    if (last < this.visible.length) fragment.append(spacer(this.visible.length - last));
    this.rowsEl.replaceChildren(fragment);
    const selected = this.rowsEl.querySelector(".is-selected") || this.rowsEl.querySelector("tr[data-index]");
    if (selected) selected.tabIndex = 0;
  }

  scrollToRow(index) {
    // In a windowed list the row may not be drawn yet: scroll to where it is, then draw.
    if (!this.virtual) return;
    const position = this.visible.indexOf(index);
    if (position < 0) return;
    const height = this.scrollEl.clientHeight || 600;
    const top = position * ROW_PX;
    if (top < this.scrollEl.scrollTop || top + ROW_PX > this.scrollEl.scrollTop + height) {
      this.scrollEl.scrollTop = Math.max(0, top - height / 3);
    }
    this.renderWindow();
  }

  select(index, { seek = true, play = false, focus = false } = {}) {
    if (index < 0 || index >= this.segments.length) return;
    this.selected = index;
    const seg = this.segments[index];
    this.scrollToRow(index);
    for (const row of this.rowsEl.querySelectorAll("tr[data-index]")) {
      const on = Number(row.dataset.index) === index;
      row.classList.toggle("is-selected", on);
      row.tabIndex = on ? 0 : -1;
      if (on) row.setAttribute("aria-selected", "true"); else row.removeAttribute("aria-selected");
    }
    const row = this.rowsEl.querySelector(`tr[data-index="${index}"]`);
    if (row) {
      row.scrollIntoView({ block: "nearest" });
      if (focus) row.focus({ preventScroll: true });
    }
    if (!this.isInView(seg.start_s) || !this.isInView(Math.min(seg.end_s, seg.start_s + 1))) {
      const span = this.view.end - this.view.start;
      this.setView(seg.start_s - span * 0.2, seg.start_s + span * 0.8, "select");
    }
    if (seek) this.seek(seg.start_s, { play });
    this.showPanel();
    this.updateRegion();
  }

  step(direction) {
    if (!this.visible.length) return;
    const position = this.visible.indexOf(this.selected);
    let next;
    if (position === -1) {
      // Nothing selected yet: start from the play position.
      next = direction > 0
        ? this.visible.find((i) => this.segments[i].start_s >= this.currentTime - 0.01)
        : [...this.visible].reverse().find((i) => this.segments[i].start_s < this.currentTime);
      if (next === undefined) next = direction > 0 ? this.visible[0] : this.visible[this.visible.length - 1];
    } else {
      next = this.visible[Math.max(0, Math.min(this.visible.length - 1, position + direction))];
    }
    const playing = this.ws && this.ws.isPlaying();
    this.select(next, { seek: true, play: playing, focus: true });
  }

  showPanel() {
    const seg = this.segments[this.selected];
    if (!seg) { this.panel.hidden = true; return; }
    this.panel.hidden = false;
    this.panel.querySelector("#panel-heading").textContent =
      `Segment ${clockPrecise(seg.start_s)}–${clockPrecise(seg.end_s)} · ${SPEAKER[seg.speaker] || seg.speaker} · ${seg.emotion}`;
    const model = this.panel.querySelector("#panel-model");
    const parts = [];
    parts.push(seg.corrected
      ? `Corrected${seg.edited_by ? ` by ${seg.edited_by}` : ""}${seg.edited_at ? ` on ${seg.edited_at.slice(0, 10)}` : ""}. The model said: ${SPEAKER[seg.model_speaker] || seg.model_speaker || "—"}, ${seg.model_emotion || "—"}${percent(seg.model_confidence) ? ` (confidence ${percent(seg.model_confidence)})` : ""}.${seg.va_source === "label_mapping" ? " Valence and arousal here follow the therapist’s label (its fixed point), not a measurement." : ""}`
      : `Model output${seg.confidence !== null && seg.confidence !== undefined ? ` (confidence ${Math.round(seg.confidence * 100)}%)` : ""}${seg.uncertain ? `, uncertain: ${uncertainReason(seg)}` : ""}.`);
    model.textContent = parts.join(" ");
    const form = this.panel.querySelector("#correction-form");
    if (form) {
      form.speaker.value = seg.speaker;
      form.emotion.value = seg.emotion;
      form.note.value = seg.note || "";
      const split = this.panel.querySelector("#split-at");
      const inside = this.currentTime > seg.start_s + 0.2 && this.currentTime < seg.end_s - 0.2;
      split.value = clockPrecise(inside ? this.currentTime : (seg.start_s + seg.end_s) / 2);
      this.panel.querySelector("#corr-merge").disabled = this.selected >= this.segments.length - 1;
    }
  }

  async correct(body, successText, { keepStart } = {}) {
    if (this.busy) return;
    this.busy = true;
    this.root.dataset.saving = "1";
    this.message.textContent = "Saving…";
    this.message.classList.remove("ws-error");
    const seg = this.segments[this.selected];
    const keep = keepStart ?? seg?.start_s ?? 0;
    const keepSpeaker = seg?.speaker;
    try {
      const { data } = await requestJson(this.urls.corrections, { method: "POST", body });
      this.apply(data);
      let index = this.segments.findIndex((s) => Math.abs(s.start_s - keep) < 1e-3 && (body.speaker || s.speaker === keepSpeaker));
      if (index < 0) index = this.segments.findIndex((s) => Math.abs(s.start_s - keep) < 1e-3);
      if (index < 0) index = this.segmentIndexAt(keep);
      if (index >= 0) this.select(index, { seek: false });
      this.message.textContent = successText;
      await this.refreshSummary();
    } catch (err) {
      this.message.textContent = err instanceof ApiError ? err.message : "The correction could not be saved.";
      this.message.classList.add("ws-error");
    } finally {
      this.busy = false;
      delete this.root.dataset.saving;
    }
  }

  async refreshSummary() {
    // The session summary follows each correction without a reload (the server renders it).
    const url = this.summaryEl?.dataset.summaryUrl;
    if (!url) return;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) throw new Error(String(response.status));
      this.summaryEl.innerHTML = await response.text();
      this.summaryEl.dataset.refreshed = String(Number(this.summaryEl.dataset.refreshed || 0) + 1);
    } catch (err) {
      const note = document.createElement("p");
      note.className = "ws-error";
      note.setAttribute("role", "alert");
      note.textContent = "The correction is saved, but the summary could not be updated: reload the page to see it.";
      this.summaryEl.append(note);
    }
  }

  // --- the selected segment's region on the waveform: drag its edges to move them --------------

  waveTime(clientX) {
    const box = this.waveEl.getBoundingClientRect();
    const ratio = Math.max(0, Math.min(1, (clientX - box.left) / Math.max(1, box.width)));
    return this.view.start + ratio * (this.view.end - this.view.start);
  }

  updateRegion(preview) {
    if (!this.regionEl) return;
    const seg = this.segments[this.selected];
    if (!seg || this.waveEl.hidden) { this.regionEl.hidden = true; return; }
    const start = preview ? preview.start : seg.start_s;
    const end = preview ? preview.end : seg.end_s;
    const span = this.view.end - this.view.start;
    const width = this.waveEl.clientWidth;
    if (end < this.view.start || start > this.view.end || !width) { this.regionEl.hidden = true; return; }
    const left = ((Math.max(start, this.view.start) - this.view.start) / span) * width;
    const right = ((Math.min(end, this.view.end) - this.view.start) / span) * width;
    this.regionEl.hidden = false;
    this.regionEl.classList.toggle("can-edit", this.canEdit);
    this.regionEl.style.left = `${left}px`;
    this.regionEl.style.width = `${Math.max(2, right - left)}px`;
  }

  bindRegion() {
    if (!this.regionEl || !this.canEdit) return;
    let drag = null;
    this.regionEl.addEventListener("pointerdown", (event) => {
      const handle = event.target.closest(".ws-handle");
      const seg = this.segments[this.selected];
      if (!handle || !seg || this.busy) return;
      event.preventDefault();
      event.stopPropagation();
      handle.setPointerCapture(event.pointerId);
      drag = { edge: handle.dataset.edge, seg, start: seg.start_s, end: seg.end_s, handle };
    });
    this.regionEl.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const t = this.waveTime(event.clientX);
      if (drag.edge === "start") drag.start = Math.min(t, drag.end - 0.2);
      else drag.end = Math.max(t, drag.start + 0.2);
      this.updateRegion({ start: drag.start, end: drag.end });
    });
    const finish = (event) => {
      if (!drag) return;
      const { edge, seg, start, end } = drag;
      drag = null;
      event.stopPropagation();
      const moved = edge === "start" ? Math.abs(start - seg.start_s) : Math.abs(end - seg.end_s);
      if (moved < 0.05) { this.updateRegion(); return; }
      const body = { action: "move", segment: seg.key };
      if (edge === "start") body.start_s = Math.round(start * 1000) / 1000;
      else body.end_s = Math.round(end * 1000) / 1000;
      this.correct(body, `The ${edge} moved to ${clockPrecise(edge === "start" ? start : end)}.`, {
        keepStart: edge === "start" ? body.start_s : seg.start_s,
      }).then(() => this.updateRegion());
    };
    this.regionEl.addEventListener("pointerup", finish);
    this.regionEl.addEventListener("pointercancel", () => { drag = null; this.updateRegion(); });
  }

  // --- correction keys (as in annotation tools: one key per label) ------------------------------

  correctionKey(event) {
    const seg = this.segments[this.selected];
    if (!seg) return false;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const digit = /^[1-9]$/.test(key) ? Number(key) : 0;
    if (digit && digit <= this.emotions.length) {
      const emotion = this.emotions[digit - 1];
      this.correct({ action: "label", segment: seg.key, emotion }, `Emotion set to ${emotion}.`);
      return true;
    }
    const speaker = { c: "child", t: "therapist", o: "other" }[key];
    if (speaker) {
      // The emotion shown is kept as it is; only the speaker is the therapist's.
      this.correct({ action: "label", segment: seg.key, speaker }, `Speaker set to ${SPEAKER[speaker].toLowerCase()}.`);
      return true;
    }
    const t = this.currentTime;
    if (key === "s") {
      if (t <= seg.start_s + 0.2 || t >= seg.end_s - 0.2) {
        this.message.textContent = `Move the play position inside the segment (${clockPrecise(seg.start_s)}–${clockPrecise(seg.end_s)}) to split it there.`;
        this.message.classList.add("ws-error");
        return true;
      }
      this.correct({ action: "split", segment: seg.key, at_s: Math.round(t * 1000) / 1000 }, `Split at ${clockPrecise(t)}.`);
      return true;
    }
    if (key === "[" || key === "]") {
      const body = { action: "move", segment: seg.key };
      if (key === "[") body.start_s = Math.round(t * 1000) / 1000;
      else body.end_s = Math.round(t * 1000) / 1000;
      this.correct(body, `${key === "[" ? "Start" : "End"} moved to ${clockPrecise(t)}.`, {
        keepStart: key === "[" ? body.start_s : seg.start_s,
      });
      return true;
    }
    if (key === "m") {
      this.correct({ action: "merge", segment: seg.key }, "Merged with the next segment.");
      return true;
    }
    if (key === "u") {
      this.correct({ action: "undo" }, "The last correction was undone.");
      return true;
    }
    return false;
  }

  // --- controls and keyboard -------------------------------------------------------------------

  bindControls() {
    const on = (id, fn) => this.root.querySelector(id)?.addEventListener("click", fn);
    on("#btn-play", () => this.togglePlay());
    on("#btn-back", () => this.seek(this.currentTime - 5));
    on("#btn-fwd", () => this.seek(this.currentTime + 5));
    on("#btn-zoom-in", () => this.zoom(0.5));
    on("#btn-zoom-out", () => this.zoom(2));
    on("#btn-zoom-fit", () => this.setView(0, this.duration, "button"));
    this.root.querySelector("#speed")?.addEventListener("change", (event) => {
      this.ws?.setPlaybackRate(Number(event.target.value), true);
    });
    this.filterEl.addEventListener("change", () => this.renderList());
    this.scrollEl.addEventListener("scroll", () => {
      if (!this.virtual || this.scrollFrame) return;
      this.scrollFrame = requestAnimationFrame(() => { this.scrollFrame = 0; this.renderWindow(); });
    }, { passive: true });
    this.rowsEl.addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-index]");
      if (!row) return;
      this.select(Number(row.dataset.index), { seek: true, play: true, focus: !event.target.closest("button") });
    });
    this.rowsEl.addEventListener("keydown", (event) => {
      const row = event.target.closest("tr[data-index]");
      if (!row || event.target !== row) return;
      if (event.key === "Enter") {
        event.preventDefault();
        this.select(Number(row.dataset.index), { seek: true, play: true, focus: true });
      }
    });
    document.addEventListener("keydown", (event) => this.onKey(event));
    this.bindRegion();

    const form = this.root.querySelector("#correction-form");
    if (form) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const seg = this.segments[this.selected];
        if (!seg) return;
        const body = { action: "label", segment: seg.key, note: form.note.value };
        if (form.speaker.value !== seg.speaker || seg.speaker_corrected) body.speaker = form.speaker.value;
        // Saving the form means the therapist vouches for the emotion shown: it is labelled data.
        body.emotion = form.emotion.value;
        this.correct(body, "Saved. The correction is shown instead of the model’s label.");
      });
      on("#corr-split", () => {
        const seg = this.segments[this.selected];
        if (!seg) return;
        const at = parseClock(this.root.querySelector("#split-at").value);
        if (!Number.isFinite(at)) {
          this.message.textContent = "Type the split time as minutes:seconds, e.g. 1:02.5.";
          this.message.classList.add("ws-error");
          return;
        }
        this.correct({ action: "split", segment: seg.key, at_s: at }, "Split into two segments.");
      });
      on("#corr-merge", () => {
        const seg = this.segments[this.selected];
        if (seg) this.correct({ action: "merge", segment: seg.key }, "Merged with the next segment.");
      });
      on("#corr-undo", () => this.correct({ action: "undo" }, "The last correction was undone."));
    }
  }

  onKey(event) {
    if (!this.plotReady || event.altKey || event.ctrlKey || event.metaKey) return;
    // Inside a segment row (the row or its play button) the keys work on that segment.
    const onRow = event.target instanceof Element && !!event.target.closest("tr[data-index]");
    if (!onRow && isTyping(event.target)) return;
    if (event.key === " " || event.code === "Space") {
      event.preventDefault();
      this.togglePlay();
    } else if (event.key === "ArrowDown" || event.key === "ArrowRight") {
      event.preventDefault();
      this.step(1);
    } else if (event.key === "ArrowUp" || event.key === "ArrowLeft") {
      event.preventDefault();
      this.step(-1);
    } else if ((event.key === "e" || event.key === "E") && this.canEdit && this.selected >= 0) {
      event.preventDefault();
      this.root.querySelector("#corr-emotion")?.focus();
    } else if (this.canEdit && !event.shiftKey && this.correctionKey(event)) {
      event.preventDefault();
    }
  }
}

function percent(value) {
  return value === null || value === undefined || !Number.isFinite(Number(value)) ? "" : `${Math.round(Number(value) * 100)}%`;
}

function badge(text, cls, title) {
  const span = document.createElement("span");
  span.className = `ws-badge ${cls}`;
  span.textContent = text;
  if (title) span.title = title;
  return span;
}
