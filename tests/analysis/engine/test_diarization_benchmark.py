"""The speaker benchmark's scoring: DER/JER inputs, role accuracy and child recall."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.engine.benchmarks.diarization import (
    COLLAR_S,
    Conversation,
    Speaker,
    Utterance,
    _annotations,
    _child_recall,
    _expected_role_accuracy,
    _uem,
)
from analysis.engine.speakers.diarization import ClusterInfo, KnownVoice, SpeakerResult, SpeakerTurn


def _conversation() -> Conversation:
    speakers = [
        Speaker(3, "therapist", "therapist:0", 0.0, 0.0, 0.0),
        Speaker(8, "child", "child:1", 290.0, 1.25, -3.0),
    ]
    utterances = [Utterance(0.5, 2.5, 0), Utterance(3.0, 5.0, 1), Utterance(5.5, 7.5, 0)]
    prints = [np.eye(256, dtype=np.float32)[0], np.eye(256, dtype=np.float32)[1]]
    return Conversation(np.zeros(8 * 16000, dtype=np.float32), utterances, speakers, prints)


def _result(roles: list[tuple[str, str | None, str]]) -> SpeakerResult:
    clusters = [
        ClusterInfo(c, "AB"[c], role, 0.9, source, key, None, np.zeros(256), None, 4.0)
        for c, (role, key, source) in enumerate(roles)
    ]
    turns = [
        SpeakerTurn(0.5, 2.5, roles[0][0], 0.9, 0),
        SpeakerTurn(3.0, 5.0, roles[1][0], 0.9, 1),
        SpeakerTurn(5.5, 7.5, roles[0][0], 0.9, 0),
    ]
    return SpeakerResult(turns, clusters)


def test_a_perfect_hypothesis_has_no_diarization_error() -> None:
    from pyannote.metrics.diarization import DiarizationErrorRate

    conv = _conversation()
    result = _result([("unknown", None, "none"), ("unknown", None, "none")])
    reference, hypothesis = _annotations(conv, result)
    der = DiarizationErrorRate(collar=COLLAR_S, skip_overlap=False)
    assert der(reference, hypothesis, uem=_uem(conv)) == pytest.approx(0.0)
    swapped = SpeakerResult([SpeakerTurn(0.5, 7.5, "unknown", 0.9, 0)], result.clusters[:1])
    assert der(*_annotations(conv, swapped), uem=_uem(conv)) > 0.3  # the child merged away


def test_roles_are_right_only_with_the_right_print_or_unknown_without_one() -> None:
    conv = _conversation()
    voices = conv.voices()
    named = _result([("therapist", "therapist:0", "print"), ("child", "child:1", "print")])
    assert _expected_role_accuracy(conv, named, voices) == pytest.approx(1.0)
    assert _child_recall(conv, named, voices) == pytest.approx(1.0)
    # Without prints the right answer is "unknown" for both voices.
    blind = _result([("unknown", None, "none"), ("unknown", None, "none")])
    assert _expected_role_accuracy(conv, blind, []) == pytest.approx(1.0)
    assert _child_recall(conv, blind, []) == 0.0
    # A voice called child without a print is wrong (2 s of 6 s of speech).
    guessed = _result([("unknown", None, "none"), ("child", None, "none")])
    assert _expected_role_accuracy(conv, guessed, []) == pytest.approx(4 / 6, abs=0.01)


def test_the_therapist_print_alone_names_the_child_by_elimination() -> None:
    conv = _conversation()
    therapist = conv.voices(therapist_only=True)
    assert [v.key for v in therapist] == ["therapist:0"]
    assert all(isinstance(v, KnownVoice) for v in therapist)
    result = _result([("therapist", "therapist:0", "print"), ("child", None, "elimination")])
    assert _expected_role_accuracy(conv, result, therapist) == pytest.approx(1.0)
    assert _child_recall(conv, result, therapist) == pytest.approx(1.0)
