from django.apps import AppConfig


class ExercisesConfig(AppConfig):
    name = "sessions.exercises"
    label = "exercises"
    verbose_name = "Practice exercises"
    default_auto_field = "django.db.models.BigAutoField"
