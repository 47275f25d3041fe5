from __future__ import annotations

from tests.authz.matrix import LOGIN, Endpoint, each
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
    Endpoint("children", each(200, guardian=302, other_guardian=302, anonymous=LOGIN)),
    Endpoint(
        "child_detail",
        each(404, therapist=200, admin=200, guardian=302, anonymous=LOGIN),
        kwargs=lambda c: {"child_id": c.child.pk},
    ),
    Endpoint(
        "session_create",
        each(404, therapist=200, admin=403, guardian=403, anonymous=LOGIN),
        kwargs=lambda c: {"child_id": c.child.pk},
    ),
    Endpoint(
        "session_create",
        each(404, therapist=302, admin=403, guardian=403, anonymous=LOGIN),
        method="post",
        kwargs=lambda c: {"child_id": c.child.pk},
        data=lambda c: {"date": "2026-11-01", "kind": "individual", "title": "t"},
        label="post",
    ),
    Endpoint(
        "session_detail",
        each(404, therapist=200, admin=200, anonymous=LOGIN),
        kwargs=lambda c: {"session_id": c.session.pk},
    ),
    Endpoint(
        "session_edit",
        each(404, therapist=200, admin=403, anonymous=LOGIN),
        kwargs=lambda c: {"session_id": c.session.pk},
    ),
    Endpoint(
        "recording_audio",
        each(404, therapist=200, admin=200, anonymous=LOGIN),
        kwargs=lambda c: {"recording_id": c.recording.pk},
    ),
    Endpoint("family_home", each(200, guardian=302, other_guardian=302, anonymous=LOGIN)),
    Endpoint(
        "family_child",
        each(404, therapist=200, admin=200, guardian=200, anonymous=LOGIN),
        kwargs=lambda c: {"child_id": c.child.pk},
    ),
    Endpoint("console", each(404, admin=200, other_admin=200, anonymous=LOGIN)),
    Endpoint("console_members", each(404, admin=200, other_admin=200, anonymous=LOGIN)),
    Endpoint("console_children", each(404, admin=200, other_admin=200, anonymous=LOGIN)),
    Endpoint(
        "console_assignments",
        each(404, admin=200, anonymous=LOGIN),
        kwargs=lambda c: {"child_id": c.child.pk},
    ),
    Endpoint("console_audit", each(404, admin=200, other_admin=200, anonymous=LOGIN)),
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
    Endpoint(
        "api-child-detail",
        each(404, therapist=200, admin=200, guardian=200, anonymous=401),
        kwargs=lambda c: {"pk": c.child.pk},
    ),
    Endpoint("api-session-list", each(200, anonymous=401)),
    Endpoint(
        "api-session-list",
        each(404, therapist=201, admin=403, guardian=403, anonymous=401),
        method="post",
        fmt="json",
        data=lambda c: {"child": str(c.child.pk), "date": "2026-11-02", "kind": "individual"},
        label="create",
    ),
    Endpoint(
        "api-session-detail",
        each(404, therapist=200, admin=200, anonymous=401),
        kwargs=lambda c: {"pk": c.session.pk},
    ),
]
