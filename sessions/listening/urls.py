from __future__ import annotations

from django.urls import path

from sessions.listening import api, views

urlpatterns = [
    # Families (and a read-only preview for the child's staff).
    path(
        "family/children/<uuid:child_id>/listening/",
        views.family_listening,
        name="family_listening",
    ),
    path("family/listening/<uuid:assignment_id>/", views.listening_play, name="listening_play"),
    path("listening/clips/<uuid:clip_id>/audio/", views.clip_audio, name="listening_clip_audio"),
    # Therapists.
    path("listening/", views.library, name="listening_library"),
    path("listening/clips/new/", views.clip_create, name="listening_clip_create"),
    path("listening/clips/<uuid:clip_id>/tag/", views.clip_tag, name="listening_clip_tag"),
    path("listening/clips/<uuid:clip_id>/noisy/", views.clip_noisy, name="listening_clip_noisy"),
    path("listening/sets/new/", views.set_create, name="listening_set_create"),
    path("children/<uuid:child_id>/listening/", views.child_listening, name="child_listening"),
    path(
        "children/<uuid:child_id>/listening/assign/",
        views.listening_assign,
        name="listening_assign",
    ),
    path(
        "listening/assignments/<uuid:assignment_id>/end/",
        views.assignment_end,
        name="listening_assignment_end",
    ),
    # API.
    path(
        "api/v1/listening/assignments/",
        api.AssignmentListView.as_view(),
        name="api-listening-assignments",
    ),
    path(
        "api/v1/listening/assignments/<uuid:assignment_id>/answers/",
        api.AnswerCreateView.as_view(),
        name="api-listening-answers",
    ),
    path(
        "api/v1/children/<uuid:child_id>/listening/",
        api.ChildResultsView.as_view(),
        name="api-listening-results",
    ),
]
