"""Clinics stay apart: people join a clinic only by accepting its invitation, the console says
the same whether or not an address has an account, roles count only in their own clinic, and
audit entries belong to the clinic whose data was read."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from sessions.models import AuditEvent, Invitation, Membership, Role, User
from sessions.models.audit import AuditAction
from tests.conftest import Cast
from tests.factories import PASSWORD, ChildFactory, TherapySessionFactory

pytestmark = pytest.mark.django_db


def _invite(client: Client, email: str, name: str, role: str = Role.THERAPIST) -> Any:
    return client.post(
        reverse("console_members"), {"email": email, "full_name": name, "role": role}, follow=True
    )


def _link(message: Any) -> str:
    match = re.search(r"https?://[^/\s]+(/invitations/[^/\s]+/)", str(message.body))
    assert match, message.body
    return match.group(1)


def _admin_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- invitations -------------------------------------------------------------------------------


def test_another_clinics_admin_cannot_attach_an_existing_account(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    client = _admin_client(cast.other_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(client, cast.therapist.email, "Someone")
    assert response.status_code == 200
    # No membership: the account's holder has not said yes.
    assert not Membership.objects.filter(user=cast.therapist, clinic=cast.other_clinic).exists()
    assert Invitation.objects.filter(clinic=cast.other_clinic, status="pending").count() == 1
    page = client.get(reverse("console_members")).content.decode()
    assert cast.therapist.full_name not in page
    assert [m.to for m in mail.outbox] == [[cast.therapist.email]]


def test_the_console_answers_the_same_whether_or_not_the_address_has_an_account(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    client = _admin_client(cast.other_admin)
    existing, new = cast.therapist.email, "nobody-yet@example.test"
    with django_capture_on_commit_callbacks(execute=True):
        first = _invite(client, existing, "Pat Example")
    first_page = first.content.decode().replace(existing, "ADDRESS")
    # Withdraw it (as if it expired), so both pages list one invitation.
    Invitation.objects.filter(email=existing).update(status="revoked")
    with django_capture_on_commit_callbacks(execute=True):
        second = _invite(client, new, "Pat Example")
    second_page = second.content.decode().replace(new, "ADDRESS")

    def strip_tokens(html: str) -> str:
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
        return re.sub(r"\d{4}-\d{2}-\d{2}", "DATE", html)

    assert first.status_code == second.status_code == 200
    assert [r[1] for r in first.redirect_chain] == [r[1] for r in second.redirect_chain]
    assert strip_tokens(first_page) == strip_tokens(second_page)
    assert "Invitation sent to ADDRESS" in first_page
    assert len(mail.outbox) == 2
    assert mail.outbox[0].body.replace(_link(mail.outbox[0]), "") == mail.outbox[1].body.replace(
        _link(mail.outbox[1]), ""
    )


def test_the_invited_person_accepts_and_joins_with_the_role(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(_admin_client(cast.other_admin), cast.therapist.email, "", Role.THERAPIST)
    link = _link(mail.outbox[0])
    # Someone else with the link (a forwarded e-mail) sees nothing.
    nosy = Client()
    nosy.force_login(cast.guardian)
    assert nosy.get(link).status_code == 404
    assert Client().get(link).status_code == 302  # log in first

    invitee = Client()
    invitee.post(reverse("account_login"), {"login": cast.therapist.email, "password": PASSWORD})
    page = invitee.get(link)
    assert page.status_code == 200 and cast.other_clinic.name in page.content.decode()
    assert invitee.post(link, {"answer": "accept"}).status_code == 302
    membership = Membership.objects.get(user=cast.therapist, clinic=cast.other_clinic)
    assert membership.role == Role.THERAPIST
    # Answered: the link is closed now.
    assert invitee.get(link).status_code == 404
    event = AuditEvent.objects.get(object_type="invitation", action=AuditAction.UPDATE)
    assert event.clinic_id == cast.other_clinic.pk and event.detail["answer"] == "accepted"
    # Now that they said yes, the clinic sees their name.
    members = _admin_client(cast.other_admin).get(reverse("console_members")).content.decode()
    assert cast.therapist.full_name in members


def test_a_declined_invitation_makes_no_membership(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(_admin_client(cast.other_admin), cast.guardian.email, "", Role.GUARDIAN)
    invitee = Client()
    invitee.force_login(cast.guardian)
    assert invitee.post(_link(mail.outbox[0]), {"answer": "decline"}).status_code == 302
    assert not Membership.objects.filter(user=cast.guardian, clinic=cast.other_clinic).exists()
    assert Invitation.objects.get().status == "declined"


def test_a_new_address_gets_an_account_without_password_or_clinic(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(_admin_client(cast.admin), "new.parent@example.test", "New Parent", Role.GUARDIAN)
    user = User.objects.get(email="new.parent@example.test")
    assert not user.has_usable_password()
    assert not Membership.objects.filter(user=user).exists()


# --- roles count in their own clinic ------------------------------------------------------------


@pytest.fixture
def parent_here_therapist_there(cast: Cast) -> User:
    """The child's guardian, who also works as a therapist at the other clinic."""
    Membership.objects.create(user=cast.guardian, clinic=cast.other_clinic, role=Role.THERAPIST)
    other_child = ChildFactory.create(clinic=cast.other_clinic)
    other_child.therapists.add(cast.guardian)
    TherapySessionFactory.create(child=other_child, therapist=cast.guardian)
    return cast.guardian


def test_a_parent_who_is_staff_elsewhere_gets_the_family_view_of_their_child(
    cast: Cast, parent_here_therapist_there: User
) -> None:
    client = Client()
    client.force_login(parent_here_therapist_there)
    detail = client.get(reverse("child_detail", kwargs={"child_id": cast.child.pk}))
    assert detail.status_code == 302
    assert detail["Location"] == reverse("family_child", kwargs={"child_id": cast.child.pk})
    practice = client.get(reverse("child_exercises", kwargs={"child_id": cast.child.pk}))
    assert practice.status_code == 302
    assert practice["Location"] == reverse("family_exercises", kwargs={"child_id": cast.child.pk})


def test_an_admin_who_is_a_therapist_elsewhere_does_not_read_session_notes(cast: Cast) -> None:
    Membership.objects.create(user=cast.admin, clinic=cast.other_clinic, role=Role.THERAPIST)
    cast.session.notes = "Private notes of the therapist."
    cast.session.save()
    client = APIClient()
    client.force_login(cast.admin)
    one = client.get(f"/api/v1/sessions/{cast.session.pk}/").json()
    assert "notes" not in one
    listed = client.get("/api/v1/sessions/").json()["results"]
    assert all("notes" not in row for row in listed) and listed
    # The child's own therapist still reads them.
    client.force_login(cast.therapist)
    assert client.get(f"/api/v1/sessions/{cast.session.pk}/").json()["notes"]


def test_only_this_clinics_therapists_are_offered_for_assignment(
    cast: Cast, parent_here_therapist_there: User
) -> None:
    page = _admin_client(cast.admin).get(
        reverse("console_assignments", kwargs={"child_id": cast.child.pk})
    )
    form = page.context["form"]
    offered = set(form.fields["therapists"].queryset)
    assert parent_here_therapist_there not in offered
    assert {cast.therapist, cast.other_therapist} <= offered


# --- audit entries belong to the clinic of the data ---------------------------------------------


def test_a_list_across_two_clinics_is_audited_in_each(
    cast: Cast, parent_here_therapist_there: User
) -> None:
    # A therapist of Mia here who also treats a child at the other clinic.
    Membership.objects.filter(user=cast.therapist).delete()
    Membership.objects.create(user=cast.therapist, clinic=cast.clinic, role=Role.THERAPIST)
    Membership.objects.create(user=cast.therapist, clinic=cast.other_clinic, role=Role.THERAPIST)
    ChildFactory.create(clinic=cast.other_clinic).therapists.add(cast.therapist)
    client = APIClient()
    client.force_login(cast.therapist)
    assert client.get("/api/v1/children/").json()["count"] == 2
    rows = AuditEvent.objects.filter(action=AuditAction.LIST, object_type="child")
    assert {(r.clinic_id, r.detail["count"]) for r in rows} == {
        (cast.clinic.pk, 1),
        (cast.other_clinic.pk, 1),
    }
    web = Client()
    web.force_login(cast.therapist)
    assert web.get(reverse("children")).status_code == 200
    assert rows.all().count() == 4


def test_logins_of_a_person_in_two_clinics_reach_both_audit_logs(
    cast: Cast, parent_here_therapist_there: User
) -> None:
    Client().post(reverse("account_login"), {"login": cast.guardian.email, "password": PASSWORD})
    logins = AuditEvent.objects.filter(action=AuditAction.LOGIN, actor=cast.guardian)
    assert set(logins.values_list("clinic_id", flat=True)) == {cast.clinic.pk, cast.other_clinic.pk}
