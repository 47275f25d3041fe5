from __future__ import annotations

from django.urls import path

from sessions.validation import views

urlpatterns = [
    path("validation/review/", views.review_queue, name="validation_review"),
    path("validation/review/<uuid:item_id>/", views.review_item, name="validation_review_item"),
    path("validation/models/<uuid:version_id>/", views.model_validation, name="validation_model"),
    path(
        "validation/models/<uuid:version_id>/export.csv",
        views.model_validation_csv,
        name="validation_model_csv",
    ),
    path(
        "validation/models/<uuid:version_id>/predict/",
        views.model_predict,
        name="validation_model_predict",
    ),
    path("console/validation/", views.clinic_validation, name="validation_clinic"),
    path("console/validation/sample/", views.draw_sample, name="validation_draw_sample"),
    path("console/validation/adapt/", views.adapt_start, name="validation_adapt"),
    path("console/validation/jobs/<uuid:job_id>/", views.job_status, name="validation_job"),
]
