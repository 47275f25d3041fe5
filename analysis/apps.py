from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    label = "analysis"
    verbose_name = "Analysis and emotion models"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Celery's autodiscovery imports analysis.tasks only; the registry's tasks live apart.
        from analysis.registry import tasks  # noqa: F401
