from django.apps import AppConfig


class TherapySessionsConfig(AppConfig):
    # The label avoids a clash with django.contrib.sessions.
    name = "sessions"
    label = "therapy_sessions"
    verbose_name = "Therapy sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the login/logout/failed-login audit receivers (web and API alike).
        from sessions import auth  # noqa: F401
