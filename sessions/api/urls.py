from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from sessions.api.auth import TokenView
from sessions.api.audit_log import AuditLogView
from sessions.api.views import ChildViewSet, TherapySessionViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("children", ChildViewSet, basename="api-child")
router.register("sessions", TherapySessionViewSet, basename="api-session")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("audit/", AuditLogView.as_view(), name="api-audit-log"),
    path("", include(router.urls)),
]
