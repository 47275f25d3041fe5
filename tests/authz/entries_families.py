"""Authorization matrix entries of the families app: family portal, reports, consent, export.

Two reports are used: a released one (the family may read it) and a draft (only the child's
therapist and the clinic admin know it exists). ``family_home`` and ``family_child`` keep their
entries in entries_foundation.py.
"""

from __future__ import annotations

from typing import Any

from tests.authz.matrix import (
    ANY_ADMIN,
    ANY_ADMIN_WRITES,
    CHILD_READERS,
    LOGIN,
    STAFF_PAGE,
    STAFF_READ,
    THERAPIST_FORM,
    THERAPIST_WRITES,
    Endpoint,
    each,
)
from tests.conftest import Cast


def _report(cast: Cast, released: bool) -> Any:
    from sessions.families import services
    from tests.families.helpers import consent

    key = "report_released" if released else "report_draft"
    if key not in cast.extra:
        consent(cast.child, "sharing")
        report = services.report_create(
            child=cast.child,
            actor=cast.therapist,
            period_start=cast.session.date,
            period_end=cast.session.date,
            sessions=[cast.session],
        )
        if released:
            report = services.report_release(report=report, actor=cast.therapist)
        cast.extra[key] = report
    return cast.extra[key]


def _released(cast: Cast) -> dict[str, Any]:
    return {"report_id": _report(cast, True).pk}


def _draft(cast: Cast) -> dict[str, Any]:
    return {"report_id": _report(cast, False).pk}


def _child(cast: Cast) -> dict[str, Any]:
    return {"child_id": cast.child.pk}


def _texts(cast: Cast) -> dict[str, Any]:
    from tests.families.helpers import publish_texts

    publish_texts(cast.clinic)
    return {"child_id": cast.child.pk, "purpose": "analysis"}


def _live_training(cast: Cast) -> dict[str, Any]:
    from tests.families.helpers import consent

    consent(cast.child, "training")
    return {"child_id": cast.child.pk, "purpose": "training"}


def _pending_erasure(cast: Cast) -> dict[str, Any]:
    from sessions.families import services
    from tests.families.helpers import consent

    consent(cast.child, "recording")
    result = services.consent_withdraw_online(
        child=cast.child, purpose="recording", guardian=cast.guardian, signature="Carol Example"
    )
    assert result.erasure is not None
    return {"erasure_id": result.erasure.pk}


# Consent online: only the child's guardian signs; the child's staff may know the child.
GUARDIAN_SIGNS = each(404, therapist=403, admin=403, guardian=200, anonymous=LOGIN)
GUARDIAN_POSTS = each(404, therapist=403, admin=403, guardian=302, anonymous=LOGIN)

ENTRIES = [
    # Family portal
    Endpoint("family_report", CHILD_READERS, kwargs=_released, label="released"),
    Endpoint("family_report", STAFF_READ, kwargs=_draft, label="draft"),
    # Reports
    Endpoint("report_list", STAFF_PAGE, kwargs=_child),
    Endpoint("report_create", THERAPIST_FORM, kwargs=_child),
    Endpoint(
        "report_create",
        THERAPIST_WRITES,
        method="post",
        kwargs=_child,
        label="post",
        data=lambda c: {
            "title": "R",
            "period_start": str(c.session.date),
            "period_end": str(c.session.date),
        },
    ),
    Endpoint("report_detail", STAFF_PAGE, kwargs=_released, label="released"),
    Endpoint("report_detail", STAFF_READ, kwargs=_draft, label="draft"),
    Endpoint(
        "report_edit",
        each(404, therapist=200, admin=403, anonymous=LOGIN),
        kwargs=_draft,
        label="draft",
    ),
    Endpoint("report_edit", THERAPIST_WRITES, kwargs=_released, label="released"),
    Endpoint(
        "report_release",
        each(404, therapist=302, admin=403, anonymous=LOGIN),
        method="post",
        kwargs=_draft,
    ),
    Endpoint("report_revise", THERAPIST_WRITES, method="post", kwargs=_released),
    Endpoint(
        "report_discard",
        each(404, therapist=302, admin=403, anonymous=LOGIN),
        method="post",
        kwargs=_draft,
    ),
    Endpoint("report_pdf", CHILD_READERS, kwargs=_released, label="released"),
    Endpoint("report_pdf", STAFF_READ, kwargs=_draft, label="draft"),
    # Consent
    Endpoint("child_consent", STAFF_PAGE, kwargs=_child),
    Endpoint(
        "child_consent_grant",
        each(404, therapist=403, admin=200, guardian=403, anonymous=LOGIN),
        kwargs=_texts,
    ),
    Endpoint(
        "child_consent_grant",
        each(404, therapist=403, admin=302, guardian=403, anonymous=LOGIN),
        method="post",
        kwargs=_texts,
        label="post",
        data=lambda c: {"given_by": "Carol", "text_shown": "on"},
    ),
    Endpoint(
        "child_consent_revoke",
        each(404, therapist=403, admin=200, guardian=403, anonymous=LOGIN),
        kwargs=_live_training,
    ),
    Endpoint(
        "child_consent_revoke",
        each(404, therapist=403, admin=302, guardian=403, anonymous=LOGIN),
        method="post",
        kwargs=_live_training,
        label="post",
        data=lambda c: {"understood": "on"},
    ),
    Endpoint(
        "child_export",
        each(404, therapist=403, admin=200, guardian=200, anonymous=LOGIN),
        kwargs=_child,
    ),
    # Consent online (guardians)
    Endpoint(
        "family_consent",
        each(404, therapist=302, admin=302, guardian=200, anonymous=LOGIN),
        kwargs=_child,
    ),
    Endpoint("family_consent_give", GUARDIAN_SIGNS, kwargs=_texts),
    Endpoint(
        "family_consent_give",
        GUARDIAN_POSTS,
        method="post",
        kwargs=_texts,
        label="post",
        data=lambda c: {"signature": "Carol Example", "agree": "on", "text_version": "1"},
    ),
    Endpoint("family_consent_withdraw", GUARDIAN_SIGNS, kwargs=_live_training),
    Endpoint(
        "family_consent_withdraw",
        GUARDIAN_POSTS,
        method="post",
        kwargs=_live_training,
        label="post",
        data=lambda c: {"signature": "Carol Example", "agree": "on"},
    ),
    Endpoint("family_erasure_undo", GUARDIAN_POSTS, method="post", kwargs=_pending_erasure),
    Endpoint("console_consent", ANY_ADMIN),
    Endpoint(
        "console_consent",
        ANY_ADMIN_WRITES,
        method="post",
        data=lambda c: {"audio_retention_days": "365"},
        label="post",
    ),
    Endpoint(
        "console_consent",
        ANY_ADMIN_WRITES,
        method="post",
        data=lambda c: {"online_purposes": "1", "purposes": ["sharing"]},
        label="online",
    ),
    Endpoint("console_consent_text", ANY_ADMIN, kwargs=lambda c: {"purpose": "recording"}),
    Endpoint(
        "console_consent_text",
        ANY_ADMIN_WRITES,
        method="post",
        kwargs=lambda c: {"purpose": "recording"},
        data=lambda c: {"body": "I agree."},
        label="post",
    ),
]
