"""Web pages of the analysis app. The model registry lives in the clinic console."""

from __future__ import annotations

from django.urls import URLPattern, path

from analysis.enrollment import views as enrollment_views
from analysis.registry import evaluation_views
from analysis.registry import views as registry_views

urlpatterns: list[URLPattern] = [
    path("account/voice/", enrollment_views.voice_enrollment, name="voice_enrollment"),
    # --- emotion-model registry (clinic console) ---
    path("console/models/", registry_views.model_list, name="console_models"),
    path("console/models/import/", registry_views.model_import, name="console_model_import"),
    path(
        "console/models/import/<uuid:token>/",
        registry_views.model_import_confirm,
        name="console_model_import_confirm",
    ),
    path(
        "console/models/install-default/",
        registry_views.model_install_default,
        name="console_model_install_default",
    ),
    path(
        "console/models/<uuid:version_id>/",
        registry_views.model_detail,
        name="console_model_detail",
    ),
    path(
        "console/models/<uuid:version_id>/activate/",
        registry_views.model_activate,
        name="console_model_activate",
    ),
    path(
        "console/models/<uuid:version_id>/retire/",
        registry_views.model_retire,
        name="console_model_retire",
    ),
    path(
        "console/models/<uuid:version_id>/restage/",
        registry_views.model_restage,
        name="console_model_restage",
    ),
    path(
        "console/models/<uuid:version_id>/try/", registry_views.model_try, name="console_model_try"
    ),
    path(
        "console/models/<uuid:version_id>/evaluate/",
        evaluation_views.model_evaluate,
        name="console_model_evaluate",
    ),
]
