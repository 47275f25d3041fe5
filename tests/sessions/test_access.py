"""The access predicates and fetch helpers of sessions.access, persona by persona."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from sessions import access
from sessions.models import Role
from tests.conftest import Cast
from tests.factories import ChildFactory, TherapySessionFactory, member, recording_for

pytestmark = pytest.mark.django_db


def test_roles_of_each_persona(cast: Cast) -> None:
    assert access.roles_of(cast.therapist) == {Role.THERAPIST}
    assert access.roles_of(cast.guardian) == {Role.GUARDIAN}
    assert access.roles_of(cast.admin) == {Role.CLINIC_ADMIN}
    assert access.roles_of(AnonymousUser()) == set()
    assert access.is_staff_member(cast.therapist)
    assert access.is_staff_member(cast.admin)
    assert not access.is_staff_member(cast.guardian)
    assert not access.is_staff_member(AnonymousUser())


def test_therapist_sees_only_assigned_children(cast: Cast) -> None:
    assert list(access.children_visible_to(cast.therapist)) == [cast.child]
    assert list(access.children_visible_to(cast.other_therapist)) == [cast.other_child]
    assert access.is_therapist_of(cast.therapist, cast.child)
    assert not access.is_therapist_of(cast.therapist, cast.other_child)


def test_guardian_sees_only_own_child(cast: Cast) -> None:
    assert list(access.children_visible_to(cast.guardian)) == [cast.child]
    assert access.is_guardian_of(cast.guardian, cast.child)
    assert not access.is_guardian_of(cast.other_guardian, cast.child)
    assert not access.is_guardian_of(cast.therapist, cast.child)


def test_clinic_admin_sees_every_child_of_their_clinic_only(cast: Cast) -> None:
    assert set(access.children_visible_to(cast.admin)) == {cast.child, cast.other_child}
    assert list(access.children_visible_to(cast.other_admin)) == []
    assert access.is_admin_of_clinic(cast.admin, cast.clinic.pk)
    assert not access.is_admin_of_clinic(cast.other_admin, cast.clinic.pk)


def test_anonymous_sees_nothing(cast: Cast) -> None:
    anonymous = AnonymousUser()
    assert not access.children_visible_to(anonymous).exists()
    assert not access.children_editable_by(anonymous).exists()
    assert not access.sessions_visible_to(anonymous).exists()
    with pytest.raises(Http404):
        access.get_child_for_user(anonymous, cast.child.pk)


def test_assignment_in_another_clinic_grants_nothing(cast: Cast) -> None:
    """A therapist attached to a child of a clinic they are not a member of sees nothing."""
    foreign_child = ChildFactory.create(clinic=cast.other_clinic)
    foreign_child.therapists.add(cast.therapist)
    foreign_child.guardians.add(cast.guardian)
    assert foreign_child not in access.children_visible_to(cast.therapist)
    assert foreign_child not in access.children_visible_to(cast.guardian)
    assert not access.is_therapist_of(cast.therapist, foreign_child)
    assert not access.is_guardian_of(cast.guardian, foreign_child)


def test_get_child_for_user_404_for_unknown_and_403_for_read_only(cast: Cast) -> None:
    assert access.get_child_for_user(cast.therapist, cast.child.pk) == cast.child
    assert access.get_child_for_user(cast.therapist, cast.child.pk, write=True) == cast.child
    with pytest.raises(Http404):
        access.get_child_for_user(cast.other_therapist, cast.child.pk)
    with pytest.raises(Http404):
        access.get_child_for_user(cast.other_admin, cast.child.pk)
    with pytest.raises(PermissionDenied):
        access.get_child_for_user(cast.admin, cast.child.pk, write=True)
    with pytest.raises(PermissionDenied):
        access.get_child_for_user(cast.guardian, cast.child.pk, write=True)


# A fixed unknown UUID: a random one would name the test differently in each pytest-xdist worker.
UNKNOWN_ID = "6ba59736-23e2-4008-b68e-00931322f3a4"


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "", "1; DROP TABLE", UNKNOWN_ID])
def test_malformed_or_unknown_ids_are_404(cast: Cast, bad_id: str) -> None:
    with pytest.raises(Http404):
        access.get_child_for_user(cast.admin, bad_id)
    with pytest.raises(Http404):
        access.get_session_for_user(cast.admin, bad_id)
    with pytest.raises(Http404):
        access.get_recording_for_user(cast.admin, bad_id)


def test_guardians_never_see_sessions_or_recordings(cast: Cast) -> None:
    assert not access.sessions_visible_to(cast.guardian).exists()
    assert not access.recordings_visible_to(cast.guardian).exists()
    with pytest.raises(Http404):
        access.get_session_for_user(cast.guardian, cast.session.pk)
    with pytest.raises(Http404):
        access.get_recording_for_user(cast.guardian, cast.recording.pk)


def test_sessions_follow_the_child(cast: Cast) -> None:
    other_session = TherapySessionFactory.create(
        child=cast.other_child, therapist=cast.other_therapist
    )
    assert list(access.sessions_visible_to(cast.therapist)) == [cast.session]
    assert set(access.sessions_visible_to(cast.admin)) == {cast.session, other_session}
    assert not access.sessions_visible_to(cast.other_admin).exists()
    with pytest.raises(Http404):
        access.get_session_for_user(cast.other_therapist, cast.session.pk)
    with pytest.raises(PermissionDenied):
        access.get_session_for_user(cast.admin, cast.session.pk, write=True)
    assert access.get_session_for_user(cast.therapist, cast.session.pk, write=True) == cast.session


def test_reassigned_therapist_loses_access_to_earlier_sessions(cast: Cast) -> None:
    """Access follows the current assignment, not who created the session."""
    cast.child.therapists.remove(cast.therapist)
    assert not access.sessions_visible_to(cast.therapist).exists()
    with pytest.raises(Http404):
        access.get_recording_for_user(cast.therapist, cast.recording.pk)


def test_recordings_read_and_write(cast: Cast) -> None:
    assert access.get_recording_for_user(cast.admin, cast.recording.pk) == cast.recording
    with pytest.raises(PermissionDenied):
        access.get_recording_for_user(cast.admin, cast.recording.pk, write=True)
    assert (
        access.get_recording_for_user(cast.therapist, cast.recording.pk, write=True)
        == cast.recording
    )
    other_recording = recording_for(
        TherapySessionFactory.create(child=cast.other_child, therapist=cast.other_therapist)
    )
    assert set(access.recordings_visible_to(cast.therapist)) == {cast.recording}
    assert other_recording in access.recordings_visible_to(cast.admin)


def test_users_manageable_by_admin_are_their_clinic_members(cast: Cast) -> None:
    stranger = member(cast.other_clinic, Role.THERAPIST, email="stranger@far.test")
    manageable = set(access.users_manageable_by(cast.admin))
    assert cast.therapist in manageable
    assert cast.guardian in manageable
    assert stranger not in manageable
    assert not access.users_manageable_by(cast.therapist).exists()


def test_every_predicate_answers_no_for_an_anonymous_visitor(cast: Cast) -> None:
    """Predicates take ``Actor`` (a user or the anonymous visitor): anonymous is a plain no,
    never a database error from filtering by an AnonymousUser."""
    anonymous = AnonymousUser()
    assert access.is_guardian_of(anonymous, cast.child) is False
    assert access.is_therapist_of(anonymous, cast.child) is False
    assert access.is_admin_of_clinic(anonymous, cast.clinic.pk) is False
    assert access.can_edit_exercises(anonymous, cast.clinic.pk) is False
    assert not access.exercises_visible_to(anonymous).exists()
    assert not access.reports_visible_to(anonymous).exists()


def test_require_clinic_admin(cast: Cast) -> None:
    assert access.require_clinic_admin(cast.admin) == cast.clinic
    assert access.require_clinic_admin(cast.other_admin) == cast.other_clinic
    for user in (cast.therapist, cast.guardian, AnonymousUser()):
        with pytest.raises(Http404):
            access.require_clinic_admin(user)
