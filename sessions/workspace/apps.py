from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "sessions.workspace"
    label = "workspace"
    verbose_name = "Therapist workspace"
    default_auto_field = "django.db.models.BigAutoField"
