from sessions.models.accounts import (
    Clinic,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    User,
)
from sessions.models.audit import AuditEvent
from sessions.models.therapy import Child, Recording, RecordingStatus, SessionKind, TherapySession
from sessions.models.tokens import ApiToken

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Child",
    "Clinic",
    "Invitation",
    "InvitationStatus",
    "Membership",
    "Recording",
    "RecordingStatus",
    "Role",
    "SessionKind",
    "TherapySession",
    "User",
]
