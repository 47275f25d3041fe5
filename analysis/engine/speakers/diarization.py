"""Who is speaking: 1 to 4 voices, and which of them are voices we know.

1. Pieces. Speech segments longer than ``piece_max_s`` are cut into ~1.5 s pieces, because a
   VAD segment can hold a quick exchange with no pause between turns; each piece gets a voice.
2. Embeddings. Resemblyzer's d-vector per piece (its 1.6 s partials, batched, volume-normalised
   as in its training; the weights ship inside the wheel) and the piece's median F0 (Praat via
   parselmouth), both measured on the recording with its steady noise taken out
   (``analysis.engine.speech.denoise``, as for speech detection; enrollment prints are not,
   see ``enroll_embedding``). Pieces shorter than ``min_embed_s`` do not shape the clusters
   and are later given to the nearest voice with their confidence halved.
   ``speaker_evidence`` computes this once; ``assign_speakers`` accepts it so several namings
   can share it.
3. Clustering (``_cluster``, ``_cluster_with_prints``). Without prints: agglomerative (average
   linkage, cosine) on recording-centred d-vectors plus a little log-F0. With the session's
   speaker count, that many voices (a prior: voices with under ``min_cluster_s`` of speech are
   folded into their nearest neighbour); without it two voices by default, one only when the
   halves sound alike, a third or fourth only when it separates clearly better (silhouette).
   With prints, the prints seed the voices (see ``_cluster_with_prints``): on the benchmark,
   nearest-print labelling beat blind clustering told the right count for 3-4 speakers.
4. Re-segmentation (``_refine_changes``): a voice change between two pieces of one segment is
   moved to the 0.25 s candidate whose 0.75 s windows either side best match the two voices.
5. Naming, from voices we know, never from pitch (``_name_clusters``). Each voice's centroid
   is matched one to one with the known prints (``KnownVoice``: enrolled therapists,
   children's prints from home practice); a match (cosine >= ``voice_min_similarity``) names
   the lane "therapist"/"child" with the print's key. Every other voice is "unknown" (lane
   "Speaker A/B/..."), to be named once by the therapist. The only exception is a two-person
   session (``expected_speakers == 2``) with two voices, one matched: the other takes the
   remaining role by elimination, with lower confidence (``elimination_factor``).

Confidence per turn = confidence in the voice's role x how clearly its pieces belong to that
voice (softmax over centroid similarities), halved for pieces too short to embed.

Measured with ``python -m analysis.engine.benchmarks speakers`` (``make eval-segmentation``):
see docs/pipeline.md for the figures. Blind speaker counting is the weak part: on acted
emotional speech resemblyzer's silhouettes do not tell 2 from 3 or 4 voices, so the session's
participant count and the prints carry the group sessions. Overlapping speech is not
separated (an overlap goes to one voice).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.engine.labels import SPEAKER_ROLES
from analysis.engine.speech.denoise import NoiseSuppression, suppress_stationary_noise
from analysis.engine.speech.segmentation import SAMPLE_RATE, Segment, detect_speech, torch_threads

# Roles a turn may carry. The engine names a voice "therapist" or "child" only from a known
# voice print (or, for a two-person session, by elimination next to a matched print); any other
# voice is "unknown" and shown as "Speaker A/B/...". "other" is never produced here: it is what a
# therapist may call a voice by correction (a visiting parent, a second adult).
ROLES = SPEAKER_ROLES  # the one list (analysis.engine.labels), shared with the portal
UNKNOWN = "unknown"
CHILD_F0_HZ = 250.0
_PARTIAL_FRAMES = 160  # resemblyzer's 1.6 s partial utterance, in 10 ms mel frames
_HOP = 160  # samples per mel frame at 16 kHz


@dataclass(frozen=True)
class KnownVoice:
    """A voice the recording may contain: an enrolled therapist, or a child's print from home
    practice."""

    key: str  # stable id the Django side understands: "therapist:<user pk>" / "child:<child pk>"
    role: str  # "therapist" or "child"
    name: str  # display name
    embedding: np.ndarray  # L2-normalised voice print from enroll_embedding()


@dataclass(frozen=True)
class SpeakerParams:
    max_speakers: int = 4
    piece_s: float = 1.5
    piece_max_s: float = 2.25
    min_embed_s: float = 0.6
    min_silhouette: float = 0.1
    same_voice_similarity: float = 0.88
    third_voice_margin: float = 0.08
    f0_weight: float = 0.3
    min_cluster_s: float = 3.0
    child_f0_hz: float = CHILD_F0_HZ
    # A cluster is a known voice when its centroid's cosine to the print reaches this.
    voice_min_similarity: float = 0.6
    # Roles by elimination (two-person session, one voice matched) are this much less sure.
    elimination_factor: float = 0.8
    membership_temperature: float = 0.05
    # Voice changes inside a segment: window either side of a candidate, candidate spacing.
    change_window_s: float = 0.75
    change_step_s: float = 0.25
    # Voices are embedded from the recording with its steady noise taken out (the same
    # front end as speech detection): in the benchmark's noisy room this raised the pieces'
    # nearest-voice accuracy from 0.86 to 0.91.
    noise: NoiseSuppression = field(default_factory=NoiseSuppression)


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of one voice. ``cluster`` is -1 only when nothing could be embedded."""

    start_s: float
    end_s: float
    role: str
    confidence: float
    cluster: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class ClusterInfo:
    """One voice of the recording (a lane of the timeline).

    ``label`` is "A", "B", ... in order of first speech; ``role`` is "therapist"/"child" when
    matched to a known voice (``voice_key``) or named by elimination (``role_source``
    "elimination", ``voice_key`` the only child/therapist print of that role if there is one),
    else "unknown". ``role_confidence`` is how sure that role is (for "unknown": how sure the
    voice is none of the known prints; 1.0 when none were given). ``centroid`` is the
    L2-normalised mean d-vector of the voice's pieces, to update a print after a correction.
    """

    cluster: int
    label: str
    role: str
    role_confidence: float
    role_source: str  # "print", "elimination" or "none"
    voice_key: str | None
    voice_similarity: float | None  # cosine of the centroid to the matched print
    centroid: np.ndarray
    median_f0_hz: float | None
    speech_s: float


@dataclass
class SpeakerResult:
    turns: list[SpeakerTurn]
    clusters: list[ClusterInfo]


_encoder_lock = threading.Lock()
_encoder: Any = None


def get_voice_encoder() -> Any:
    """Resemblyzer's encoder, loaded once per process (weights ship inside the wheel)."""
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            from resemblyzer import VoiceEncoder

            _encoder = VoiceEncoder("cpu", verbose=False)
            _encoder.eval()
        return _encoder


def warm_up() -> float:
    """Load the voice encoder and embed 2 s of a tone once; returns the seconds it took.

    The first run on an install compiles librosa's numba functions (about 15 s on 2 cores,
    then read from numba's cache: ``ser_portal.numba_cache``); later runs take the encoder
    load only. The throughput benchmark calls it before timing, as a worker has run once.
    """
    started = time.perf_counter()
    tone = 0.1 * np.sin(2 * np.pi * 180.0 * np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE)
    tone = tone.astype(np.float32)
    embed_pieces(tone, [(0, tone.size)])
    piece_f0(tone, [(0, tone.size)])
    return time.perf_counter() - started


def _normalize_volume(wav: np.ndarray, target_dbfs: float = -30.0) -> np.ndarray:
    """Resemblyzer's training-time volume normalisation (increase only)."""
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2))) if wav.size else 0.0
    if rms <= 1e-8:
        return wav
    gain_db = target_dbfs - 20 * np.log10(rms)
    if gain_db <= 0:
        return wav
    return (wav * 10 ** (gain_db / 20)).astype(np.float32)


def embed_pieces(audio: np.ndarray, pieces: Sequence[tuple[int, int]]) -> np.ndarray:
    """L2-normalised d-vectors (n, 256) for sample ranges of ``audio``, batched.

    Same maths as ``VoiceEncoder.embed_utterance`` (1.6 s partials at 1.3/s, mean, renormalise)
    but all partials of all pieces go through the LSTM together.
    """
    encoder = get_voice_encoder()
    partials: list[np.ndarray] = []
    owner: list[int] = []
    for i, (start, end) in enumerate(pieces):
        wav = _normalize_volume(np.asarray(audio[start:end], dtype=np.float32))
        slices = encoder.compute_partial_slices(wav.size, rate=1.3, min_coverage=0.75)[1]
        needed = slices[-1].stop * _HOP
        if needed > wav.size:
            wav = np.pad(wav, (0, needed - wav.size))
        mel = _mel_frames(wav)
        for s in slices:
            partials.append(mel[s])
            owner.append(i)
    if not partials:
        return np.zeros((0, 256), dtype=np.float32)
    import torch

    out = []
    with torch_threads(1), torch.inference_mode():
        for b in range(0, len(partials), 256):
            batch = torch.from_numpy(np.stack(partials[b : b + 256]))
            out.append(encoder(batch).numpy())
    partial_embeds = np.concatenate(out)
    owners = np.asarray(owner)
    embeds = np.zeros((len(pieces), partial_embeds.shape[1]), dtype=np.float32)
    for i in range(len(pieces)):
        embeds[i] = partial_embeds[owners == i].mean(axis=0)
    return _l2(embeds)


def _encode_mels(mels: np.ndarray) -> np.ndarray:
    """L2-normalised d-vectors of equal-length mel windows (n, frames, 40), batched."""
    import torch

    encoder = get_voice_encoder()
    out = []
    with torch_threads(1), torch.inference_mode():
        for b in range(0, len(mels), 256):
            out.append(encoder(torch.from_numpy(np.ascontiguousarray(mels[b : b + 256]))).numpy())
    return _l2(np.concatenate(out)) if out else np.zeros((0, 256), dtype=np.float32)


_MEL_BASIS: np.ndarray | None = None


def _mel_frames(wav: np.ndarray) -> np.ndarray:
    """Resemblyzer's (power, not log) mel spectrogram, (frames, 40).

    Same numbers as ``resemblyzer.audio.wav_to_mel_spectrogram`` (25 ms Hann window, 10 ms
    hop, 40 Slaney mel bands), but the filterbank is applied with a plain matrix product:
    librosa's einsum path made this the slowest step of speaker analysis (~10 s per hour).
    """
    import librosa

    global _MEL_BASIS
    if _MEL_BASIS is None:
        _MEL_BASIS = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=400, n_mels=40)
    spectrum = np.abs(librosa.stft(wav, n_fft=400, hop_length=_HOP, pad_mode="constant")) ** 2
    return (_MEL_BASIS @ spectrum).T.astype(np.float32)


def _l2(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def enroll_embedding(
    audio: np.ndarray, sr: int = SAMPLE_RATE, min_speech_s: float = 3.0
) -> np.ndarray:
    """A therapist's voice print from a clean sample of them speaking (10-30 s is plenty).

    Only detected speech is used. Raises ValueError when there is too little speech.
    """
    if sr != SAMPLE_RATE:
        raise ValueError(f"enroll_embedding expects {SAMPLE_RATE} Hz audio, got {sr}")
    # Embedded as recorded, without the steady-noise suppression that recordings get: prints
    # enrolled through it named voices worse on the speakers benchmark (roles with every print
    # 0.849 / 0.707, quiet / noisy room, against 0.862 / 0.760 enrolled as recorded:
    # docs/pipeline.md, issue 11). Why is not established: on the benchmark's enrollment
    # samples the suppression keeps the speech's energy (within 0.01 dB) but moves the print
    # (cosine 0.91-0.96 to the one made without it).
    params = SpeakerParams()
    segments = detect_speech(audio)
    pieces = _split_pieces(segments, params)
    speech_s = sum((e - s) for s, e, _ in pieces) / SAMPLE_RATE
    if speech_s < min_speech_s:
        raise ValueError(
            f"The enrollment sample has only {speech_s:.1f} s of speech; "
            f"at least {min_speech_s:g} s is needed."
        )
    embeds = embed_pieces(audio, [(s, e) for s, e, _ in pieces])
    weights = np.array([e - s for s, e, _ in pieces], dtype=np.float64)
    return _l2((embeds * weights[:, None]).sum(axis=0).astype(np.float32))


def _split_pieces(segments: Sequence[Segment], params: SpeakerParams) -> list[tuple[int, int, int]]:
    """(start, end, segment index) sample ranges: segments cut into ~piece_s pieces."""
    pieces: list[tuple[int, int, int]] = []
    for k, seg in enumerate(segments):
        start = round(seg.start_s * SAMPLE_RATE)
        end = round(seg.end_s * SAMPLE_RATE)
        if end <= start:
            continue
        duration = (end - start) / SAMPLE_RATE
        n = 1 if duration <= params.piece_max_s else round(duration / params.piece_s)
        edges = np.linspace(start, end, n + 1).round().astype(int)
        pieces.extend((int(a), int(b), k) for a, b in itertools.pairwise(edges))
    return pieces


def piece_f0(audio: np.ndarray, pieces: Sequence[tuple[int, int]]) -> np.ndarray:
    """Median F0 (Hz) of each piece; NaN where a piece has (almost) no voiced frames."""
    return np.array([_voiced_f0(audio, [piece]) for piece in pieces], dtype=np.float64)


def _voiced_f0(audio: np.ndarray, pieces: Sequence[tuple[int, int]]) -> float:
    value = median_f0(audio, pieces)
    return np.nan if value is None else value


def median_f0(
    audio: np.ndarray, pieces: Sequence[tuple[int, int]], max_s: float = 120.0
) -> float | None:
    """Median F0 (Hz) over voiced frames of the given pieces, or None if nothing is voiced.

    At most ``max_s`` of audio is measured (evenly sampled pieces): a median settles long
    before that, and it bounds the cost for long recordings.
    """
    import parselmouth

    total = sum(e - s for s, e in pieces) / SAMPLE_RATE
    step = max(1, int(np.ceil(total / max_s)))
    f0s: list[np.ndarray] = []
    for start, end in list(pieces)[::step]:
        wav = np.asarray(audio[start:end], dtype=np.float64)
        if wav.size < int(0.1 * SAMPLE_RATE):
            continue
        # 75-600 Hz covers adult men to a young child's shouting.
        pitch = parselmouth.Sound(wav, SAMPLE_RATE).to_pitch(
            time_step=0.01, pitch_floor=75.0, pitch_ceiling=600.0
        )
        values = pitch.selected_array["frequency"]
        f0s.append(values[values > 0])
    voiced = np.concatenate(f0s) if f0s else np.zeros(0)
    return float(np.median(voiced)) if voiced.size >= 5 else None


def _features(embeds: np.ndarray, piece_f0: np.ndarray, params: SpeakerParams) -> np.ndarray:
    """Clustering space: recording-centred d-vectors plus a little standardised log-F0.

    Resemblyzer vectors are all non-negative, so every pair is similar (cosine ~0.6-0.9) and
    average linkage on raw vectors mostly splits by loudness or emotion. Subtracting the
    recording's mean vector leaves what distinguishes the voices in *this* room (on RAVDESS
    pairs: 67% -> 87% frame accuracy); the pitch term adds the child/adult cue that the
    d-vector, trained on adults, under-weights (-> 89%).
    """
    centred = _l2(embeds - embeds.mean(axis=0))
    voiced = np.isfinite(piece_f0)
    if voiced.sum() < 2 or params.f0_weight <= 0:
        return centred
    log_f0 = np.log(np.where(voiced, piece_f0, np.nanmedian(piece_f0)))
    z = (log_f0 - log_f0.mean()) / (log_f0.std() + 1e-9)
    return np.hstack([centred, params.f0_weight * z[:, None]])


def _agglomerate(features: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(
        features
    )


def _cluster(
    embeds: np.ndarray,
    piece_f0: np.ndarray,
    params: SpeakerParams,
    expected_speakers: int | None = None,
) -> np.ndarray:
    """Cluster labels 0..k-1, choosing k in 1..max_speakers.

    With the session's speaker count, k starts from it (a prior: clusters with too little
    speech are folded away afterwards, and one voice is still chosen when the two halves
    sound alike). Without it, two voices is the default, because on emotional speech
    silhouette cannot tell one voice from two (one actor's angry and calm takes split as
    cleanly as two actors do): one voice only when the two halves sound alike (raw centroid
    cosine >= ``same_voice_similarity``) or do not separate at all, each further voice only
    when it separates clearly better (silhouette + ``third_voice_margin``).
    """
    from sklearn.metrics import silhouette_score

    n = embeds.shape[0]
    single = np.zeros(n, dtype=int)
    if n < 4 or params.max_speakers < 2 or expected_speakers == 1:
        return single
    features = _features(embeds, piece_f0, params)
    labels = _agglomerate(features, 2)
    if len(set(labels.tolist())) < 2:
        return single
    score = float(silhouette_score(features, labels, metric="cosine"))
    centroids = _l2(np.stack([embeds[labels == c].mean(axis=0) for c in range(2)]))
    if score < params.min_silhouette or float(centroids[0] @ centroids[1]) >= (
        params.same_voice_similarity
    ):
        return single
    top = min(params.max_speakers, n // 3)
    if expected_speakers is not None:
        k = min(max(expected_speakers, 2), top)
        if k > 2:
            labels = _agglomerate(features, k)
        return labels
    for k in range(3, top + 1):
        more = _agglomerate(features, k)
        if len(set(more.tolist())) < k:
            break
        more_score = float(silhouette_score(features, more, metric="cosine"))
        if more_score < score + params.third_voice_margin:
            break
        labels, score = more, more_score
    return labels


def _cluster_with_prints(
    embeds: np.ndarray,
    piece_f0: np.ndarray,
    prints: np.ndarray,
    params: SpeakerParams,
    expected_speakers: int | None,
) -> np.ndarray:
    """Labels when voice prints are known: the prints seed the clusters.

    On the benchmark's 3-4 speaker conversations, labelling 1.5 s pieces by their nearest
    print was right for 0.85-0.91 of them in a quiet room, against 0.66-0.78 for blind
    clustering told the right count, so prints are used as seeds, not only to name clusters
    found blind. Voices without a print still get lanes: as many as the session's count
    says beyond the prints, or, without a count, as many as blind clustering finds beyond
    them. Their seeds come from the pieces that match the prints worst (clustered among
    themselves); then a few k-means rounds, each print's centroid staying half its print so
    that a room's colouring cannot walk it onto another voice. Labels ``len(prints) + j`` are
    the unknown voices.
    """
    n = embeds.shape[0]
    if n == 0:
        return np.zeros(0, dtype=int)
    if expected_speakers is not None:
        extra = max(0, expected_speakers - prints.shape[0])
    else:
        extra = max(0, len(set(_cluster(embeds, piece_f0, params).tolist())) - prints.shape[0])
    extra = min(extra, max(0, params.max_speakers - prints.shape[0]), n // 3)
    anchors = prints
    if extra:
        fit = (embeds @ prints.T).max(axis=1)
        share = extra / (prints.shape[0] + extra)
        worst = np.argsort(fit)[: max(2 * extra, round(share * n))]
        if extra == 1:
            groups = np.zeros(worst.size, dtype=int)
        else:
            groups = _agglomerate(_features(embeds[worst], piece_f0[worst], params), extra)
        seeds = [_l2(embeds[worst][groups == c].mean(axis=0)) for c in range(extra)]
        anchors = np.vstack([prints, np.stack(seeds)])
    labels = (embeds @ anchors.T).argmax(axis=1)
    for _ in range(5):
        centroids = []
        for c in range(anchors.shape[0]):
            mine = embeds[labels == c]
            mean = _l2(mine.mean(axis=0)) if mine.size else anchors[c]
            centroids.append(_l2(0.5 * prints[c] + 0.5 * mean) if c < len(prints) else mean)
        updated = (embeds @ np.stack(centroids).T).argmax(axis=1)
        if np.array_equal(updated, labels):
            break
        labels = updated
    return labels


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


@dataclass(frozen=True)
class _Naming:
    role: str
    confidence: float
    source: str
    voice_key: str | None = None
    similarity: float | None = None


def _name_clusters(
    centroids: np.ndarray,
    voices: Sequence[KnownVoice],
    expected_speakers: int | None,
    params: SpeakerParams,
) -> list[_Naming]:
    """Name each cluster from the known voice prints, never from pitch.

    Clusters and prints are matched one to one (Hungarian, on cosine similarity); a match
    counts when the similarity reaches ``voice_min_similarity``. Its confidence is a sigmoid
    of the margin over the closest competitor (the same print's next cluster, the same
    cluster's next print, or the threshold). Unmatched clusters are "unknown", except in a
    two-person session (``expected_speakers == 2``) with exactly two clusters of which one
    matched: the other then takes the remaining role by elimination, with the match's
    confidence times ``elimination_factor``.
    """
    k = centroids.shape[0]
    names = [_Naming(UNKNOWN, 1.0, "none") for _ in range(k)]
    if k == 0 or not voices:
        return names
    prints = _l2(np.stack([np.asarray(v.embedding, dtype=np.float32).reshape(-1) for v in voices]))
    sims = centroids @ prints.T  # (clusters, voices)
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-sims)
    threshold = params.voice_min_similarity
    for c, v in zip(rows.tolist(), cols.tolist(), strict=True):
        sim = float(sims[c, v])
        if sim < threshold:
            continue
        rivals = [threshold]
        rivals += [float(sims[o, v]) for o in range(k) if o != c]
        rivals += [float(sims[c, o]) for o in range(len(voices)) if o != v]
        confidence = max(_sigmoid((sim - max(rivals)) / 0.05), 0.5)
        names[c] = _Naming(voices[v].role, confidence, "print", voices[v].key, sim)
    for c in range(k):
        if names[c].source == "none":
            # How sure this voice is none of the prints.
            names[c] = _Naming(UNKNOWN, _sigmoid((threshold - float(sims[c].max())) / 0.05), "none")

    matched = [n for n in names if n.source == "print"]
    if expected_speakers == 2 and k == 2 and len(matched) == 1:
        other_role = {"therapist": "child", "child": "therapist"}.get(matched[0].role)
        if other_role is not None:
            c = next(i for i, n in enumerate(names) if n.source == "none")
            candidates = [v for v in voices if v.role == other_role]
            names[c] = _Naming(
                other_role,
                matched[0].confidence * params.elimination_factor,
                "elimination",
                candidates[0].key if len(candidates) == 1 else None,
                float(sims[c, voices.index(candidates[0])]) if len(candidates) == 1 else None,
            )
    return names


@dataclass(frozen=True)
class SpeakerEvidence:
    """What clustering and naming work from: pieces of speech, their d-vectors and F0s.

    Computed once per recording; ``assign_speakers`` accepts it so that several namings (the
    benchmark's with and without prints) share the expensive part."""

    pieces: list[tuple[int, int, int]]  # (start, end, segment index) in samples
    embeds: np.ndarray  # (pieces, 256), L2-normalised
    f0: np.ndarray  # median F0 per piece, NaN where unvoiced
    # The signal they were measured on (the recording less its steady noise); re-segmentation
    # embeds from it too. None: the recording as given.
    signal: np.ndarray | None = None


def speaker_evidence(
    audio: np.ndarray, segments: Sequence[Segment], params: SpeakerParams | None = None
) -> SpeakerEvidence:
    """Pieces, d-vectors and F0s of the speech ``segments`` of ``audio`` (16 kHz mono),
    measured on the recording with its steady noise taken out (``params.noise``)."""
    params = params or SpeakerParams()
    pieces = _split_pieces(segments, params)
    ranges = [(s, e) for s, e, _ in pieces]
    if not pieces:
        return SpeakerEvidence([], np.zeros((0, 256), dtype=np.float32), np.zeros(0))
    signal = suppress_stationary_noise(audio, SAMPLE_RATE, params.noise)
    return SpeakerEvidence(
        pieces, embed_pieces(signal, ranges), piece_f0(signal, ranges), signal=signal
    )


def assign_speakers(
    audio: np.ndarray,
    segments: Sequence[Segment],
    *,
    voices: Sequence[KnownVoice] = (),
    expected_speakers: int | None = None,
    params: SpeakerParams | None = None,
    therapist_embedding: np.ndarray | None = None,
    evidence: SpeakerEvidence | None = None,
) -> SpeakerResult:
    """Split speech into single-voice turns and give each a role, confidence and cluster id.

    ``voices`` are the prints the recording may contain (the session's therapists and
    participating children); ``expected_speakers`` is how many people the session says took
    part, a prior for the speaker count, not a given. ``therapist_embedding`` is deprecated:
    it is treated as ``KnownVoice("therapist", "therapist", "Therapist", embedding)``.
    """
    params = params or SpeakerParams()
    voices = list(voices)
    if therapist_embedding is not None:
        voices.append(KnownVoice("therapist", "therapist", "Therapist", therapist_embedding))
    evidence = evidence or speaker_evidence(audio, segments, params)
    pieces = evidence.pieces
    if not pieces:
        return SpeakerResult(turns=[], clusters=[])
    ranges = [(s, e) for s, e, _ in pieces]
    embeds = evidence.embeds
    durations = np.array([(e - s) / SAMPLE_RATE for s, e in ranges])
    reliable = durations >= params.min_embed_s
    if not reliable.any():
        reliable[:] = True  # nothing long enough: cluster what there is

    f0_per_piece = evidence.f0
    labels = np.full(len(pieces), -1, dtype=int)
    if voices:
        prints = _l2(
            np.stack([np.asarray(v.embedding, dtype=np.float32).reshape(-1) for v in voices])
        )
        labels[reliable] = _cluster_with_prints(
            embeds[reliable], f0_per_piece[reliable], prints, params, expected_speakers
        )
    else:
        labels[reliable] = _cluster(
            embeds[reliable], f0_per_piece[reliable], params, expected_speakers
        )
    labels = _fold_small_clusters(embeds, labels, durations, params)
    # Renumber to 0..k-1 in order of first speech (reliable pieces only), so "Speaker A" is
    # the first voice heard.
    first: dict[int, int] = {}
    for i, c in enumerate(labels.tolist()):
        if c >= 0:
            first.setdefault(c, i)
    ids = sorted(first, key=first.__getitem__)
    remap = {c: i for i, c in enumerate(ids)}
    labels = np.array([remap.get(c, -1) for c in labels.tolist()], dtype=int)
    centroids = _l2(np.stack([embeds[labels == c].mean(axis=0) for c in range(len(ids))]))

    sims = embeds @ centroids.T  # (pieces, k)
    nearest = sims.argmax(axis=1)
    labels = np.where(labels >= 0, labels, nearest)
    logits = sims / params.membership_temperature
    membership = np.exp(logits - logits.max(axis=1, keepdims=True))
    membership /= membership.sum(axis=1, keepdims=True)
    member_conf = membership[np.arange(len(labels)), labels]
    member_conf = np.where(reliable, member_conf, 0.5 * member_conf)

    k = centroids.shape[0]
    speech_s = {c: float(durations[labels == c].sum()) for c in range(k)}
    f0 = {c: _cluster_f0(f0_per_piece[labels == c], durations[labels == c]) for c in range(k)}
    names = _name_clusters(centroids, voices, expected_speakers, params)
    roles = {c: (names[c].role, names[c].confidence) for c in range(k)}
    clusters = [
        ClusterInfo(
            cluster=c,
            label=cluster_label(c),
            role=names[c].role,
            role_confidence=names[c].confidence,
            role_source=names[c].source,
            voice_key=names[c].voice_key,
            voice_similarity=names[c].similarity,
            centroid=centroids[c],
            median_f0_hz=f0[c],
            speech_s=speech_s[c],
        )
        for c in range(k)
    ]
    signal = evidence.signal if evidence.signal is not None else audio
    ranges = _refine_changes(signal, pieces, labels, centroids, params)
    turns: list[SpeakerTurn] = []
    run: list[int] = []
    for i in range(len(pieces)):
        if run and (pieces[i][2] != pieces[run[-1]][2] or labels[i] != labels[run[-1]]):
            turns.append(_turn(run, ranges, labels, member_conf, roles))
            run = []
        run.append(i)
    turns.append(_turn(run, ranges, labels, member_conf, roles))
    return SpeakerResult(turns=turns, clusters=clusters)


def _refine_changes(
    audio: np.ndarray,
    pieces: Sequence[tuple[int, int, int]],
    labels: np.ndarray,
    centroids: np.ndarray,
    params: SpeakerParams,
) -> list[tuple[int, int]]:
    """Piece ranges with each voice change inside a speech segment moved to where it happens.

    Pieces are ~1.5 s, so a change found between two of them can be off by ~0.75 s. For each
    change (a to b) the candidates are ``change_step_s`` apart across both pieces; a candidate
    t scores how much the ``change_window_s`` before t sounds like a (not b) plus how much
    the window after sounds like b (not a); the best candidate becomes the boundary. All
    windows of all changes are embedded in one batch.
    """
    ranges = [(s, e) for s, e, _ in pieces]
    step = int(params.change_step_s * SAMPLE_RATE)
    m = max(1, round(params.change_window_s / params.change_step_s)) if step > 0 else 0
    window = m * step
    changes = [
        i
        for i in range(len(pieces) - 1)
        if pieces[i][2] == pieces[i + 1][2] and labels[i] != labels[i + 1]
    ]
    if not changes or window <= 0:
        return ranges
    # Window j ends at lo + j * step; candidate j's left window is window j and its right
    # window is window j + m, so each change needs (candidates + m) embeddings, not 2x. The
    # windows are slices of one mel spectrogram of the change's span, fed to the LSTM at
    # their own length (not padded to a 1.6 s partial: trailing silence would colour the
    # LSTM's last state, and it would cost twice the compute).
    spans: list[tuple[int, int, int]] = []  # (first window index, lo, candidates)
    windows: list[np.ndarray] = []
    frames, hop = window // _HOP, step // _HOP
    for i in changes:
        lo, hi = ranges[i][0] + window, ranges[i + 1][1] - window
        count = (hi - lo) // step + 1 if hi >= lo else 0
        spans.append((len(windows), lo, count))
        if count:
            start = lo - window
            wav = _normalize_volume(np.asarray(audio[start : hi + window], dtype=np.float32))
            mel = _mel_frames(wav)
            windows += [mel[j * hop : j * hop + frames] for j in range(count + m)]
    if not windows or any(w.shape[0] < frames for w in windows):
        return ranges
    sims = _encode_mels(np.stack(windows)) @ centroids.T
    for i, (first, lo, count) in zip(changes, spans, strict=True):
        if not count:
            continue
        a, b = int(labels[i]), int(labels[i + 1])
        left = sims[first : first + count]
        right = sims[first + m : first + m + count]
        score = (left[:, a] - left[:, b]) + (right[:, b] - right[:, a])
        t = lo + int(np.argmax(score)) * step
        ranges[i] = (ranges[i][0], t)
        ranges[i + 1] = (t, ranges[i + 1][1])
    return ranges


def cluster_label(cluster: int) -> str:
    """ "A", "B", ..., "Z", "AA", ...: the lane name of a voice without a known print."""
    label = ""
    n = cluster + 1
    while n:
        n, rest = divmod(n - 1, 26)
        label = chr(ord("A") + rest) + label
    return label


def _cluster_f0(f0s: np.ndarray, durations: np.ndarray) -> float | None:
    """Duration-weighted median of the pieces' median F0s."""
    voiced = np.isfinite(f0s)
    if not voiced.any():
        return None
    order = np.argsort(f0s[voiced])
    values, weights = f0s[voiced][order], durations[voiced][order]
    cumulative = np.cumsum(weights)
    return float(values[np.searchsorted(cumulative, cumulative[-1] / 2)])


def _fold_small_clusters(
    embeds: np.ndarray, labels: np.ndarray, durations: np.ndarray, params: SpeakerParams
) -> np.ndarray:
    labels = labels.copy()
    while True:
        ids = sorted(set(labels[labels >= 0].tolist()))
        if len(ids) < 2:
            return labels
        totals = {c: durations[labels == c].sum() for c in ids}
        smallest = min(ids, key=lambda c: totals[c])
        if totals[smallest] >= params.min_cluster_s:
            return labels
        centroid = _l2(embeds[labels == smallest].mean(axis=0))
        others = [c for c in ids if c != smallest]
        target = max(others, key=lambda c: float(_l2(embeds[labels == c].mean(axis=0)) @ centroid))
        labels[labels == smallest] = target


def _turn(
    run: list[int],
    ranges: Sequence[tuple[int, int]],
    labels: np.ndarray,
    member_conf: np.ndarray,
    roles: dict[int, tuple[str, float]],
) -> SpeakerTurn:
    cluster = int(labels[run[0]])
    weights = np.array([ranges[i][1] - ranges[i][0] for i in run], dtype=np.float64)
    membership = float(np.average(member_conf[run], weights=weights))
    role, role_conf = roles[cluster]
    return SpeakerTurn(
        start_s=ranges[run[0]][0] / SAMPLE_RATE,
        end_s=ranges[run[-1]][1] / SAMPLE_RATE,
        role=role,
        confidence=float(np.clip(role_conf * membership, 0.0, 1.0)),
        cluster=cluster,
    )
