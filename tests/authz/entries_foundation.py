from __future__ import annotations

from tests.authz.matrix import (
    ANY_ADMIN,
    API_CHILD_READERS,
    API_STAFF_READ,
    CHILD_READERS,
    LOGIN,
    OWN_ADMIN,
    STAFF_MEMBERS,
    STAFF_PAGE,
    STAFF_READ,
    THERAPIST_FORM,
    THERAPIST_WRITES,
    Endpoint,
    each,
)
from tests.conftest import Cast


def _invitation_key(cast: Cast) -> str:
    from sessions import services
    from sessions.models import Role

    _, key = services.member_invite(
        clinic=cast.other_clinic,
        email=cast.guardian.email,
        full_name="",
        role=Role.GUARDIAN,
        actor=cast.other_admin,
    )
    return key


ENTRIES = [
    Endpoint("home", each(302, anonymous=LOGIN)),
    # The browser's icon probe: a redirect to the static icon, for everyone.
    Endpoint("favicon", each(302)),
    Endpoint("children", STAFF_MEMBERS),
    Endpoint("child_detail", STAFF_PAGE, kwargs=lambda c: {"child_id": c.child.pk}),
    Endpoint("session_create", THERAPIST_FORM, kwargs=lambda c: {"child_id": c.child.pk}),
    Endpoint(
        "session_create",
        THERAPIST_WRITES,
        method="post",
        kwargs=lambda c: {"child_id": c.child.pk},
        data=lambda c: {"date": "2026-11-01", "kind": "individual", "title": "t"},
        label="post",
    ),
    Endpoint("session_detail", STAFF_READ, kwargs=lambda c: {"session_id": c.session.pk}),
    Endpoint(
        "session_edit",
        each(404, therapist=200, admin=403, anonymous=LOGIN),
        kwargs=lambda c: {"session_id": c.session.pk},
    ),
    Endpoint("recording_audio", STAFF_READ, kwargs=lambda c: {"recording_id": c.recording.pk}),
    Endpoint("family_home", STAFF_MEMBERS),
    Endpoint("family_child", CHILD_READERS, kwargs=lambda c: {"child_id": c.child.pk}),
    Endpoint("console", ANY_ADMIN),
    Endpoint("console_members", ANY_ADMIN),
    Endpoint("console_children", ANY_ADMIN),
    Endpoint("console_assignments", OWN_ADMIN, kwargs=lambda c: {"child_id": c.child.pk}),
    Endpoint("console_audit", ANY_ADMIN),
    # Another clinic invites the child's guardian: only the guardian can open the invitation.
    Endpoint(
        "invitation",
        each(404, guardian=200, anonymous=LOGIN),
        kwargs=lambda c: {"key": _invitation_key(c)},
    ),
    Endpoint("api-schema", each(200, anonymous=401)),
    Endpoint(
        "api-token",
        each(400),
        method="post",
        fmt="json",
        data=lambda c: {"email": "nobody@example.test", "password": "wrong-password"},
    ),
    # Ending a token needs the token itself; a browser session ends nothing.
    Endpoint("api-token", each(401), method="delete", label="revoke"),
    Endpoint("api-child-list", each(200, anonymous=401)),
    Endpoint("api-child-detail", API_CHILD_READERS, kwargs=lambda c: {"pk": c.child.pk}),
    Endpoint("api-session-list", each(200, anonymous=401)),
    Endpoint(
        "api-session-list",
        each(404, therapist=201, admin=403, guardian=403, anonymous=401),
        method="post",
        fmt="json",
        data=lambda c: {"child": str(c.child.pk), "date": "2026-11-02", "kind": "individual"},
        label="create",
    ),
    Endpoint("api-session-detail", API_STAFF_READ, kwargs=lambda c: {"pk": c.session.pk}),
]
