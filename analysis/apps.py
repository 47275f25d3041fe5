from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    label = "analysis"
    verbose_name = "Analysis and emotion models"
    default_auto_field = "django.db.models.BigAutoField"
