from __future__ import annotations

from django.urls import path

from sessions.exercises import api, views

urlpatterns = [
    # Families (and a read-only preview for the child's staff).
    path(
        "family/children/<uuid:child_id>/exercises/",
        views.family_exercises,
        name="family_exercises",
    ),
    path(
        "family/children/<uuid:child_id>/exercises/progress/",
        views.family_progress,
        name="family_progress",
    ),
    path(
        "family/practice/<uuid:assignment_id>/", views.exercise_practice, name="exercise_practice"
    ),
    path(
        "family/practice/<uuid:assignment_id>/attempts/",
        views.attempt_upload,
        name="attempt_upload",
    ),
    path("family/attempts/<uuid:attempt_id>/", views.attempt_result, name="attempt_result"),
    path("exercises/attempts/<uuid:attempt_id>/audio/", views.attempt_audio, name="attempt_audio"),
    path("exercises/<uuid:exercise_id>/audio/", views.exercise_audio, name="exercise_audio"),
    # Therapists.
    path("exercises/", views.exercise_list, name="exercise_list"),
    path("exercises/new/", views.exercise_create, name="exercise_create"),
    path("exercises/<uuid:exercise_id>/edit/", views.exercise_edit, name="exercise_edit"),
    path("children/<uuid:child_id>/exercises/", views.child_exercises, name="child_exercises"),
    path(
        "children/<uuid:child_id>/exercises/assign/", views.exercise_assign, name="exercise_assign"
    ),
    path(
        "exercises/assignments/<uuid:assignment_id>/end/",
        views.assignment_end,
        name="assignment_end",
    ),
    path("exercises/attempts/<uuid:attempt_id>/", views.attempt_review, name="attempt_review"),
    # API.
    path(
        "api/v1/exercises/assignments/",
        api.AssignmentListView.as_view(),
        name="api-exercise-assignments",
    ),
    path(
        "api/v1/exercises/assignments/<uuid:assignment_id>/attempts/",
        api.AttemptCreateView.as_view(),
        name="api-exercise-attempts",
    ),
    path(
        "api/v1/exercises/attempts/<uuid:attempt_id>/",
        api.AttemptDetailView.as_view(),
        name="api-exercise-attempt-detail",
    ),
]
