"""Fixed-length feature vectors for emotion heads.

Two feature sets:

* ``acoustic``: utterance statistics of classic prosodic and spectral descriptors (MFCC and
  deltas, pitch, energy, spectral shape, voice quality, a speaking-rate proxy).
* encoder: mean (and std) pooled hidden states of a frozen speech encoder loaded with
  ``transformers.AutoModel`` (the wav2vec2-features-plus-classifier recipe).

Both work on mono float arrays at 16 kHz and accept any length, including clips shorter than
one analysis frame (they are zero-padded; the features then mostly describe silence).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16000
ACOUSTIC_VERSION = 1  # bump when acoustic_features changes, so caches are not reused
ROBUST_VERSION = 2  # the feature set "acoustic2" (robust_acoustic_features)

_N_FFT = 512  # 32 ms
_HOP = 160  # 10 ms
_N_MFCC = 20
_PERCENTILES = (10, 50, 90)
# Below this many samples the spectral and pitch analyses are meaningless; pad up to it.
_MIN_SAMPLES = 4000  # 0.25 s


def _stats(values: np.ndarray, percentiles: bool = True) -> list[float]:
    """mean, std (and 10/50/90th percentiles) of a 1-D array; zeros when empty."""
    n = 5 if percentiles else 2
    if values.size == 0:
        return [0.0] * n
    out = [float(values.mean()), float(values.std())]
    if percentiles:
        out += [float(v) for v in np.percentile(values, _PERCENTILES)]
    return out


def _matrix_stats(matrix: np.ndarray, percentiles: bool) -> list[float]:
    out: list[float] = []
    for row in matrix:
        out += _stats(row, percentiles)
    return out


def _active_frames(rms_db: np.ndarray) -> np.ndarray:
    """Frames within 35 dB of the loudest: speech, not the silence around it."""
    active = rms_db > rms_db.max() - 35.0
    if active.sum() < 3:
        active = np.ones_like(rms_db, dtype=bool)
    return active


# Level of the loud part of speech after normalisation (dBFS of the 95th-percentile frame).
_TARGET_PEAK_DB = -20.0


def _speech_frames(rms_db: np.ndarray) -> np.ndarray:
    """Frames that stand out of the recording's own noise floor, for the robust feature set.

    The loud reference is the 95th-percentile frame (one click or pop does not move it), the
    floor the 10th percentile. A frame counts as speech when it is within 30 dB of the loud
    reference *and* at least 6 dB above the floor, so in a quiet studio the rule is the old
    "near the loudest", and in a noisy room frames that are mostly noise drop out.
    """
    if rms_db.size == 0:
        return np.zeros(0, dtype=bool)
    loud = float(np.percentile(rms_db, 95))
    floor = float(np.percentile(rms_db, 10))
    active = rms_db > max(loud - 30.0, floor + 6.0)
    if active.sum() < 5:
        active = rms_db >= float(np.percentile(rms_db, 50))
    if active.sum() < 3:
        active = np.ones_like(rms_db, dtype=bool)
    return active


def normalise_level(audio: np.ndarray) -> np.ndarray:
    """Remove DC and scale so the loud part of speech sits at -20 dBFS.

    The reference is the 95th-percentile 10 ms frame, so neither the amount of silence around
    the speech nor the recorder's gain moves it.
    """
    audio = np.asarray(audio, dtype=np.float32)
    audio = audio - np.float32(audio.mean()) if audio.size else audio
    n = audio.size // _HOP
    if n < 1:
        return audio
    frames = audio[: n * _HOP].reshape(n, _HOP).astype(np.float64)
    rms = np.sqrt((frames**2).mean(axis=1) + 1e-12)
    loud = float(np.percentile(rms, 95))
    if loud < 1e-7:  # digital silence: nothing to scale
        return audio
    return (audio * np.float32(10 ** (_TARGET_PEAK_DB / 20) / loud)).astype(np.float32)


def _pitch_and_voice(audio: np.ndarray) -> tuple[list[float], list[float]]:
    """Pitch statistics (semitones re 100 Hz) and voice quality via Praat (parselmouth)."""
    import parselmouth
    from parselmouth.praat import call

    sound = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=SAMPLE_RATE)
    pitch = sound.to_pitch_ac(time_step=0.01, pitch_floor=75.0, pitch_ceiling=600.0)
    f0 = pitch.selected_array["frequency"]
    voiced = f0 > 0
    semitones = 12.0 * np.log2(f0[voiced] / 100.0) if voiced.any() else np.zeros(0)
    slope = 0.0
    if semitones.size >= 3:
        slope = float(np.polyfit(np.flatnonzero(voiced) * 0.01, semitones, 1)[0])
    delta = np.abs(np.diff(semitones)) if semitones.size >= 2 else np.zeros(0)
    pitch_feats = [
        *_stats(semitones),
        float(np.ptp(semitones)) if semitones.size else 0.0,
        slope,
        *_stats(delta, percentiles=False),
        float(voiced.mean()) if voiced.size else 0.0,
    ]
    jitter = shimmer = hnr = 0.0
    if voiced.sum() >= 5:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                points = call(sound, "To PointProcess (periodic, cc)", 75.0, 600.0)
                jitter = call(points, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3)
                shimmer = call([sound, points], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6)
                # Coarse steps: HNR is averaged anyway and the fine default costs ~0.1 s per clip.
                harmonicity = sound.to_harmonicity_cc(
                    time_step=0.03, minimum_pitch=75.0, periods_per_window=1.0
                )
                values = harmonicity.values[harmonicity.values > -200]
                hnr = float(values.mean()) if values.size else 0.0
            except parselmouth.PraatError:
                pass
    voice = [float(np.nan_to_num(v)) for v in (jitter, shimmer, hnr)]
    return pitch_feats, voice


def _speaking_rate(rms_db: np.ndarray, active: np.ndarray) -> list[float]:
    """Energy peaks (syllable-nucleus proxy) per active second, and pauses per second."""
    from scipy.signal import find_peaks

    smooth = np.convolve(rms_db, np.ones(5) / 5, mode="same")
    peaks, _ = find_peaks(smooth, prominence=4.0, distance=10)
    peaks = peaks[active[peaks]] if peaks.size else peaks
    active_seconds = max(active.sum() * _HOP / SAMPLE_RATE, 0.05)
    onsets = np.count_nonzero(np.diff(active.astype(np.int8)) == 1)
    return [peaks.size / active_seconds, onsets / active_seconds, float(active.mean())]


def acoustic_features(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One fixed-length float32 vector of utterance-level acoustic statistics (set "acoustic")."""
    return _acoustic(audio, sample_rate, robust=False)


def robust_acoustic_features(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The same descriptors, made independent of recording level and of the silence around
    the speech (feature set "acoustic2", used by ser-default-v2):

    * the clip is level-normalised first (``normalise_level``), so gain changes nothing;
    * statistics are taken over frames that stand out of the clip's own noise floor
      (``_speech_frames``) rather than "within 35 dB of the loudest", which in noise admits
      every frame;
    * the two values that measure silence rather than voice (absolute mean level, share of
      active frames) are left out.
    """
    return _acoustic(audio, sample_rate, robust=True)


def _acoustic(audio: np.ndarray, sample_rate: int, *, robust: bool) -> np.ndarray:
    import librosa

    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if sample_rate != SAMPLE_RATE:
        import soxr

        audio = soxr.resample(audio, sample_rate, SAMPLE_RATE).astype(np.float32)
    audio = np.nan_to_num(audio)
    if robust:
        audio = normalise_level(audio)
    if audio.size < _MIN_SAMPLES:
        audio = np.pad(audio, (0, _MIN_SAMPLES - audio.size))
    # A tiny dither keeps logs, Praat and flatness finite on digital silence.
    audio = audio + np.random.default_rng(0).normal(0, 1e-5, audio.size).astype(np.float32)

    spec = np.abs(librosa.stft(audio, n_fft=_N_FFT, hop_length=_HOP)) ** 2
    mel = librosa.feature.melspectrogram(S=spec, sr=SAMPLE_RATE, n_mels=40)
    log_mel = librosa.power_to_db(mel, top_db=80.0)
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=_N_MFCC)
    rms = librosa.feature.rms(S=np.sqrt(spec), frame_length=_N_FFT, hop_length=_HOP)[0]
    rms_db = 20.0 * np.log10(rms + 1e-6)
    active = _speech_frames(rms_db) if robust else _active_frames(rms_db)

    width = min(9, mfcc.shape[1] - (1 - mfcc.shape[1] % 2))
    if width >= 3:
        d1 = librosa.feature.delta(mfcc, width=width)
        d2 = librosa.feature.delta(mfcc, width=width, order=2)
    else:
        d1 = d2 = np.zeros_like(mfcc)
    centroid = librosa.feature.spectral_centroid(S=np.sqrt(spec), sr=SAMPLE_RATE)[0]
    bandwidth = librosa.feature.spectral_bandwidth(S=np.sqrt(spec), sr=SAMPLE_RATE)[0]
    rolloff = librosa.feature.spectral_rolloff(S=np.sqrt(spec), sr=SAMPLE_RATE)[0]
    flatness = librosa.feature.spectral_flatness(S=np.sqrt(spec))[0]
    contrast = librosa.feature.spectral_contrast(S=np.sqrt(spec), sr=SAMPLE_RATE, n_bands=5)
    zcr = librosa.feature.zero_crossing_rate(audio, frame_length=_N_FFT, hop_length=_HOP)[0]
    n = min(mfcc.shape[1], zcr.shape[0], active.shape[0])
    act = active[:n]

    feats: list[float] = []
    feats += _matrix_stats(mfcc[:, :n][:, act], percentiles=True)
    feats += _matrix_stats(d1[:, :n][:, act], percentiles=False)
    feats += _matrix_stats(d2[:, :n][:, act], percentiles=False)
    feats += _matrix_stats(log_mel[:, :n][:, act], percentiles=False)
    feats += _matrix_stats(contrast[:, :n][:, act], percentiles=False)
    if robust:
        rel_db = rms_db - float(np.percentile(rms_db[:n][act], 95))
        feats += _stats(rel_db[:n][act])
    else:
        rel_db = rms_db - rms_db.max()
        feats += [*_stats(rel_db[:n][act]), float(np.log10(rms.mean() + 1e-8))]
    feats += _stats(np.diff(rms_db[:n][act]) if act.sum() > 1 else np.zeros(0), False)
    for track in (centroid / 1000.0, bandwidth / 1000.0, rolloff / 1000.0, zcr):
        feats += _stats(track[:n][act])
    feats += _stats(np.log10(flatness[:n][act] + 1e-8))
    pitch_feats, voice = _pitch_and_voice(audio)
    feats += pitch_feats + voice
    rate = _speaking_rate(rms_db, active)
    feats += rate[:2] if robust else rate
    return np.nan_to_num(np.asarray(feats, dtype=np.float32), posinf=0.0, neginf=0.0)


def acoustic_dimension() -> int:
    return int(acoustic_features(np.zeros(SAMPLE_RATE // 2, dtype=np.float32)).shape[0])


# --- frozen encoder features -------------------------------------------------------------


class FrozenEncoder:
    """A ``transformers.AutoModel`` speech encoder used only to produce pooled hidden states.

    ``layers`` picks hidden-state indices (0 = after the feature projection, -1 = last); their
    mean is pooled over time. ``pooling`` is "mean" or "mean+std".

    ``keep_layers`` N runs only the first N transformer layers and drops the rest, which then
    cost nothing: emotion information peaks in the middle layers of base-size models, so a
    head on them needs neither the time nor the later layers. ``layers`` then indexes the
    kept stack (-1 and "last" are layer N, "all" averages states 0..N). For post-norm
    encoders (wav2vec2-base, HuBERT-base, WavLM-base) the states of the kept layers are
    exactly the full model's; pre-norm ones (``do_stable_layer_norm``, the large models)
    apply their final layer norm to layer N instead of the last layer. N is stored with the
    head's features in the model manifest (``describe``).
    """

    MIN_SAMPLES = 400  # the wav2vec2 convolution stack needs one 25 ms receptive field

    def __init__(
        self,
        model_dir: Path | str,
        *,
        layers: Sequence[int] | str = "all",
        pooling: str = "mean",
        max_seconds: float = 20.0,
        device: str = "cpu",
        keep_layers: int | None = None,
    ) -> None:
        import torch
        from transformers import AutoModel

        if pooling not in ("mean", "mean+std"):
            raise ValueError(f"Unknown pooling {pooling!r}.")
        self.model_dir = Path(model_dir)
        self.model = AutoModel.from_pretrained(str(self.model_dir)).eval().to(device)
        self.keep_layers = keep_layers
        if keep_layers is not None:
            _keep_first_layers(self.model, keep_layers)
        self.device = device
        self.layers = layers
        self.pooling = pooling
        self.max_samples = int(max_seconds * SAMPLE_RATE)
        self.normalize = True
        preprocessor = self.model_dir / "preprocessor_config.json"
        if preprocessor.exists():
            self.normalize = bool(json.loads(preprocessor.read_text()).get("do_normalize", True))
        self._torch = torch

    def _layer_indices(self, n_states: int) -> list[int]:
        if self.layers == "all":
            return list(range(n_states))
        if self.layers == "last":
            return [n_states - 1]
        assert not isinstance(self.layers, str)
        return [i % n_states for i in self.layers]

    def frame_states(self, audio: np.ndarray) -> np.ndarray:
        """(frames, hidden) layer-averaged hidden states of one clip."""
        torch = self._torch
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)[: self.max_samples]
        if audio.size < self.MIN_SAMPLES:
            audio = np.pad(audio, (0, self.MIN_SAMPLES - audio.size))
        if self.normalize:
            audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        with torch.inference_mode():
            inputs = torch.from_numpy(audio)[None].to(self.device)
            out = self.model(inputs, output_hidden_states=True)
            states = out.hidden_states
            chosen = [states[i] for i in self._layer_indices(len(states))]
            frames = torch.stack(chosen).mean(dim=0)[0]
        return frames.float().cpu().numpy()

    def pool(self, frames: np.ndarray) -> np.ndarray:
        parts = [frames.mean(axis=0)]
        if self.pooling == "mean+std":
            parts.append(frames.std(axis=0))
        return np.concatenate(parts).astype(np.float32)

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        return self.pool(self.frame_states(audio))

    def describe(self) -> dict[str, Any]:
        layers = self.layers if isinstance(self.layers, str) else list(self.layers)
        described: dict[str, Any] = {"layers": layers, "pooling": self.pooling}
        if self.keep_layers is not None:
            described["keep_layers"] = self.keep_layers
        return described


def _keep_first_layers(model: Any, n: int) -> None:
    """Cut a speech encoder's transformer to its first ``n`` layers, in place."""
    stack = getattr(getattr(model, "encoder", None), "layers", None)
    if stack is None:
        raise ValueError(
            f"{type(model).__name__} has no encoder.layers to keep the first layers of."
        )
    if not 1 <= n <= len(stack):
        raise ValueError(f"keep_layers must be between 1 and {len(stack)}, not {n}.")
    model.encoder.layers = stack[:n]
    model.config.num_hidden_layers = n


def pooled_encoder_features(
    model_dir: Path | str,
    clips: Sequence[np.ndarray],
    *,
    layers: Sequence[int] | str = "all",
    pooling: str = "mean",
) -> np.ndarray:
    """(n, hidden or 2*hidden) pooled hidden states of a frozen encoder for 16 kHz clips."""
    encoder = FrozenEncoder(model_dir, layers=layers, pooling=pooling)
    return np.stack([encoder(clip) for clip in clips]) if clips else np.zeros((0, 0))


# --- on-disk cache -----------------------------------------------------------------------


class FeatureCache:
    """Feature vectors stored as .npy files under ``root`` (keep it outside the repository).

    The key combines a feature-set tag with a clip key, so changing the extractor (bump its
    version in the tag) never returns stale vectors.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, tag: str, key: str) -> Path:
        digest = hashlib.sha1(f"{tag}\0{key}".encode(), usedforsecurity=False).hexdigest()
        return self.root / f"{digest}.npy"

    def get_or_compute(self, tag: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        if not key:
            return compute()
        path = self._path(tag, key)
        if path.exists():
            return np.load(path, allow_pickle=False)
        value = compute()
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, value, allow_pickle=False)
        tmp.replace(path)
        return value
