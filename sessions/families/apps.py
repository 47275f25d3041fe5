from django.apps import AppConfig


class FamiliesConfig(AppConfig):
    name = "sessions.families"
    label = "families"
    verbose_name = "Families, consent and reports"
    default_auto_field = "django.db.models.BigAutoField"
