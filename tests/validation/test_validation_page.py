"""The validation page per model, its CSV, and what the evidence gates: activation, practice
thresholds, greyed-out emotions."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.urls import reverse

from analysis.registry import services as registry_services
from analysis.registry.services import RegistryError
from sessions.models import AuditEvent, Role
from sessions.validation import selectors, services
from sessions.validation.models import ReviewItem, SegmentPrediction, ValidationSettings
from sessions.workspace import charts
from tests.conftest import Cast
from tests.factories import member
from tests.validation.helpers import analysed, features_model, label

pytestmark = pytest.mark.django_db

EMOTIONS = ["happy", "sad"]


def _labelled(cast: Cast, *, n: int = 20, wrong: int = 5, second: bool = True) -> Any:
    """``n`` blind-labelled segments of the cast's child: the therapist agrees with the model
    except on ``wrong`` of them; a colleague labels half of them exactly like the therapist."""
    model = features_model(cast.clinic)
    colleague = member(cast.clinic, Role.THERAPIST, email="colleague@sunny.test")
    cast.child.therapists.add(colleague)
    ValidationSettings.objects.create(
        clinic=cast.clinic,
        weekly_sample_size=n,
        uncertain_share=0,
        second_rater_share=0.5 if second else 0,
    )
    analysed(
        cast.session,
        model,
        [(2.0 * i, 2.0 * i + 1.5, EMOTIONS[i % 2], 0.9) for i in range(n)],
    )
    services.weekly_sample_draw(clinic=cast.clinic)
    firsts = list(ReviewItem.objects.filter(second_rater=False).select_related("segment"))
    answers = {}
    for i, item in enumerate(firsts):
        model_said = item.segment.emotion
        flipped = "sad" if model_said == "happy" else "happy"
        answers[item.segment_id] = model_said if i >= wrong else flipped
        label(item, answers[item.segment_id])
    for item in ReviewItem.objects.filter(second_rater=True):
        label(item, answers[item.segment_id])
    return model


def test_report_counts_and_agreement_on_constructed_labels(cast: Cast) -> None:
    model = _labelled(cast)
    report = selectors.version_report(model)
    assert report["n"] == 20
    assert report["agreement"] == pytest.approx(0.75)
    # 2x2 over happy/sad, 10 each said by the model, 5 flipped by the therapist.
    truth_happy = sum(row for row in report["confusion"][2])  # "happy" row
    assert truth_happy + sum(report["confusion"][3]) == 20
    assert report["double"]["n"] == 10
    assert report["double"]["human_kappa"] == pytest.approx(1.0)
    assert [row["n"] for row in report["by_child"]] == [20]
    assert report["by_role"][0]["group"] == "child"


def test_page_and_csv_for_admin_and_a_therapist_of_other_children(cast: Cast, client: Any) -> None:
    model = _labelled(cast)
    url = reverse("validation_model", args=[model.pk])
    client.force_login(cast.admin)
    page = client.get(url).content.decode()
    assert "Model vs therapist, 20 items" in page and cast.child.code in page
    assert 'id="vfig-confusion"' in page and 'id="vfig-reliability"' in page
    rows = list(csv.reader(io.StringIO(client.get(url + "export.csv").content.decode())))
    assert len(rows) == 21 and rows[0][0] == "segment_id"
    assert AuditEvent.objects.filter(action="export", object_type="model_validation").exists()
    # A therapist of the clinic sees the figures, but not another child's code or rows.
    client.force_login(cast.other_therapist)
    page = client.get(url).content.decode()
    assert "Model vs therapist, 20 items" in page
    assert cast.child.code not in page and "other children" in page
    rows = list(csv.reader(io.StringIO(client.get(url + "export.csv").content.decode())))
    assert len(rows) == 1
    client.force_login(cast.other_admin)
    assert client.get(url).status_code == 404
    client.force_login(cast.guardian)
    assert client.get(url).status_code == 404


def test_activating_a_worse_model_needs_a_typed_reason(cast: Cast, client: Any) -> None:
    active = _labelled(cast, wrong=2)
    candidate = features_model(cast.clinic, status="staged", name="candidate")
    # The candidate answers every blind item wrongly.
    for item in ReviewItem.objects.filter(second_rater=False):
        SegmentPrediction.objects.create(
            version=candidate, segment=item.segment, emotion="angry", confidence=0.9
        )
    evidence = selectors.activation_evidence(candidate, active)
    assert evidence["n"] == 20 and evidence["worse"]
    assert evidence["active"]["agreement"] == pytest.approx(0.9)
    assert evidence["candidate"]["agreement"] == 0.0
    client.force_login(cast.admin)
    confirm = client.get(reverse("console_model_activate", args=[candidate.pk])).content.decode()
    assert "agrees <strong>less</strong>" in confirm and 'name="reason"' in confirm
    refused = client.post(reverse("console_model_activate", args=[candidate.pk]))
    assert refused.status_code == 302
    candidate.refresh_from_db()
    assert candidate.status == "staged"
    with pytest.raises(RegistryError) as caught:
        registry_services.model_activate(version=candidate, actor=cast.admin)
    assert caught.value.code == "needs_reason"
    client.post(
        reverse("console_model_activate", args=[candidate.pk]),
        {"reason": "Trial week agreed with the clinical lead"},
    )
    candidate.refresh_from_db()
    assert candidate.status == "active"
    entry = AuditEvent.objects.get(action="activate", object_id=str(candidate.pk))
    assert entry.detail["reason"] == "Trial week agreed with the clinical lead"
    assert entry.detail["evidence_items"] == 20 and entry.detail["worse"] is True


def test_a_better_model_activates_without_a_reason(cast: Cast) -> None:
    active = _labelled(cast, wrong=8)
    candidate = features_model(cast.clinic, status="staged", name="candidate")
    for item in ReviewItem.objects.filter(second_rater=False):
        SegmentPrediction.objects.create(
            version=candidate, segment=item.segment, emotion=item.emotion, confidence=0.9
        )
    assert not selectors.activation_evidence(candidate, active)["worse"]
    registry_services.model_activate(version=candidate, actor=cast.admin)
    candidate.refresh_from_db()
    assert candidate.status == "active"


def test_practice_thresholds_learnt_from_blind_labels_default_elsewhere(cast: Cast) -> None:
    model = _labelled(cast, wrong=0, second=False)
    thresholds = selectors.practice_thresholds(model)
    # 10 agreed "happy" at 0.9 and 10 agreed "sad": learnt from the clinic's evidence.
    assert thresholds["happy"] == pytest.approx(0.9) and thresholds["sad"] == pytest.approx(0.9)
    # No evidence on the others: the manifest's benchmark floor.
    assert thresholds["angry"] == pytest.approx(0.33)


def report_model(cast: Cast) -> Any:
    return selectors.EmotionModelVersion.objects.get(clinic=cast.clinic, status="active")


def test_poor_emotions_are_greyed_out_in_the_timeline(cast: Cast) -> None:
    _labelled(cast, wrong=14, second=False)
    # 14 of 20 answers flipped: both emotions fall below one half on 10 or more items.
    poor = selectors.poor_emotions(cast.clinic)
    report = selectors.version_report(selectors.EmotionModelVersion.objects.get(status="active"))
    assert poor and poor == report["poor"]
    rates = {row["label"]: row for row in report["rates"]}
    for emotion in poor:
        assert min(rates[emotion]["recall"] or 1, rates[emotion]["precision"] or 1) < 0.5
    assert sorted(poor) == ["happy", "sad"]
    # Practice gives no stars for them at any confidence: the evidence says never.
    thresholds = selectors.practice_thresholds(report_model(cast))
    assert thresholds["happy"] > 1 and thresholds["sad"] > 1
    lanes, _ = charts.segment_traces(
        [
            {
                "emotion": "happy",
                "speaker": "child",
                "start_s": 0.0,
                "end_s": 1.0,
                "uncertain": False,
                "corrected": False,
                "key": "a",
            },
            {
                "emotion": "sad",
                "speaker": "child",
                "start_s": 1.0,
                "end_s": 2.0,
                "uncertain": False,
                "corrected": False,
                "key": "b",
            },
        ],
        ["child"],
        2.0,
        ["sad"],
    )
    by_name = {lane["legendgroup"]: lane for lane in lanes}
    assert by_name["sad"]["marker"]["color"] == charts.POOR_AGREEMENT_COLOUR
    assert "poor agreement" in by_name["sad"]["name"]
    assert by_name["happy"]["marker"]["color"] == charts.emotion_colour("happy")


def test_validation_figures_are_valid_plotly_with_their_item_counts(cast: Cast) -> None:
    import plotly.graph_objects as go

    from sessions.validation.charts import validation_figures

    report = selectors.version_report(_labelled(cast))
    figures = validation_figures(report)
    assert [f["element_id"] for f in figures] == [
        "vfig-confusion",
        "vfig-rates",
        "vfig-reliability",
        "vfig-weeks",
    ]
    for entry in figures:
        go.Figure(entry["figure"])  # raises ValueError on anything plotly.js does not know
    assert "20 items" in figures[0]["figure"]["layout"]["title"]["text"]
    assert figures[0]["figure"]["data"][0]["z"] == [
        [c / sum(row) if sum(row) else 0.0 for c in row] for row in report["confusion"]
    ]
