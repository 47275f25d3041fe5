"""The weekly blind-review sample and the therapist's blind answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from analysis.models import EmotionModelVersion, Segment
from sessions.models import AuditEvent, Role
from sessions.validation import selectors, services
from sessions.validation.models import ReviewItem, ValidationSettings
from sessions.workspace.models import SegmentEdit
from tests.conftest import Cast
from tests.factories import ChildFactory, TherapySessionFactory, member
from tests.validation.helpers import SECRET_CONFIDENCE, analysed, label

pytestmark = pytest.mark.django_db


def _model(cast: Cast) -> EmotionModelVersion:
    return EmotionModelVersion.objects.create(
        clinic=cast.clinic, name="m", version="1", source="imported", kind="features_head",
        labels=["neutral"], label_map={"neutral": "neutral"}, location="x", checksum="0" * 64,
        status="active",
    )  # fmt: skip


def _segments(n: int, emotions: list[str]) -> list[tuple[float, float, str, float]]:
    return [
        (2.0 * i, 2.0 * i + 1.5, emotions[i % len(emotions)], 0.3 + 0.6 * ((i * 7) % n) / n)
        for i in range(n)
    ]


def test_weekly_sample_is_sized_stratified_and_drawn_once(cast: Cast) -> None:
    model = _model(cast)
    ValidationSettings.objects.create(
        clinic=cast.clinic, weekly_sample_size=8, uncertain_share=0.5, second_rater_share=0
    )
    second_child = ChildFactory.create(clinic=cast.clinic)
    second_child.therapists.add(cast.therapist)
    second_session = TherapySessionFactory.create(child=second_child, therapist=cast.therapist)
    analysed(cast.session, model, _segments(20, ["happy", "sad"]))
    analysed(second_session, model, _segments(20, ["angry", "neutral"]))

    created = services.weekly_sample_draw(clinic=cast.clinic)
    items = list(ReviewItem.objects.filter(rater=cast.therapist).select_related("segment"))
    assert created == 8 and len(items) == 8
    # Half the least confident, spread over both children and all four emotions.
    assert sum(i.reason == "uncertain" for i in items) == 4
    assert {i.child_id for i in items} == {cast.child.pk, second_child.pk}
    assert {i.segment.emotion for i in items} == {"happy", "sad", "angry", "neutral"}
    lowest = sorted(i.segment.confidence for i in items if i.reason == "uncertain")
    assert lowest[0] == min(Segment.objects.values_list("confidence", flat=True))
    # Twice in the same week: nothing new.
    assert services.weekly_sample_draw(clinic=cast.clinic) == 0


def test_second_rater_is_another_therapist_of_the_same_child(cast: Cast) -> None:
    model = _model(cast)
    colleague = member(cast.clinic, Role.THERAPIST, email="colleague@sunny.test")
    cast.child.therapists.add(colleague)
    ValidationSettings.objects.create(
        clinic=cast.clinic, weekly_sample_size=4, uncertain_share=0, second_rater_share=0.5
    )
    analysed(cast.session, model, _segments(10, ["happy", "sad"]))
    services.weekly_sample_draw(clinic=cast.clinic)
    seconds = list(ReviewItem.objects.filter(second_rater=True))
    firsts = list(ReviewItem.objects.filter(second_rater=False))
    assert len(firsts) == 4 and len(seconds) == 2
    assert {s.rater_id for s in seconds} == {colleague.pk}
    assert {s.segment_id for s in seconds} <= {f.segment_id for f in firsts}
    # other_therapist is not the child's therapist: never asked about this child.
    assert not ReviewItem.objects.filter(rater=cast.other_therapist).exists()


def _one_item(cast: Cast) -> ReviewItem:
    model = _model(cast)
    ValidationSettings.objects.create(clinic=cast.clinic, weekly_sample_size=1)
    analysed(cast.session, model, [(1.0, 3.0, "surprised", SECRET_CONFIDENCE)])
    services.weekly_sample_draw(clinic=cast.clinic)
    return ReviewItem.objects.get()


def _without_choices(html: str) -> str:
    """The page minus the answer choices (which list every emotion, of course)."""
    return re.sub(r"<fieldset.*?</fieldset>", "", html, flags=re.S)


def test_review_page_never_shows_the_models_answer(cast: Cast, client: Any) -> None:
    item = _one_item(cast)
    client.force_login(cast.therapist)
    response = client.get(reverse("validation_review_item", args=[item.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-start="1.000"' in html and 'data-end="3.000"' in html
    rest = _without_choices(html).lower()
    assert "surprised" not in rest
    assert "0.87" not in rest and "87%" not in rest and "87 %" not in rest
    queue = client.get(reverse("validation_review")).content.decode().lower()
    assert "surprised" not in _without_choices(queue)
    # Audited as a read of the child's data.
    assert AuditEvent.objects.filter(
        actor=cast.therapist, action="view", child_id=cast.child.pk, path__contains="review"
    ).exists()


def test_answer_is_stored_blind_final_and_apart_from_corrections(cast: Cast, client: Any) -> None:
    item = _one_item(cast)
    client.force_login(cast.therapist)
    url = reverse("validation_review_item", args=[item.pk])
    missing = client.post(url, {"emotion": "happy"})
    assert missing.status_code == 400
    assert "Choose who is speaking" in missing.content.decode()
    response = client.post(url, {"emotion": "happy", "speaker": "child"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.emotion, item.speaker) == ("happy", "child") and item.answered_at
    assert not SegmentEdit.objects.exists()
    # After answering, the model's answer is shown next to it.
    queue = client.get(reverse("validation_review")).content.decode()
    assert "surprised" in queue
    # Final: a second answer is refused and the first kept.
    with pytest.raises(services.ValidationError):
        label(item, "sad")
    item.refresh_from_db()
    assert item.emotion == "happy"


def test_nobody_else_may_open_or_answer_an_item(cast: Cast, client: Any) -> None:
    item = _one_item(cast)
    url = reverse("validation_review_item", args=[item.pk])
    for user in (cast.other_therapist, cast.admin, cast.guardian, cast.other_admin):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"emotion": "sad", "speaker": "child"}).status_code == 404
    item.refresh_from_db()
    assert item.answered_at is None
    # A therapist taken off the child loses the item.
    cast.child.therapists.remove(cast.therapist)
    client.force_login(cast.therapist)
    assert client.get(url).status_code == 404
    assert selectors.review_queue(rater=cast.therapist) == []
