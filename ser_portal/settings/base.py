"""Settings shared by every environment; every value a site may change comes from the environment.

The README lists each variable. Environment modules (demo, test, prod) only change defaults.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from kombu import Queue

from ser_portal import numba_cache

# Lets generic Django classes be subscripted at run time (ModelForm[Child]) for type checking.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("SER_VAR_DIR", BASE_DIR / "var"))
# Before anything imports numba (librosa): a cache folder it can write, or librosa cannot load.
numba_cache.configure(VAR_DIR)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-demo-key-change-me-in-production")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# How many reverse proxies append to X-Forwarded-For in front of the app (0: trust none). Client
# addresses in the audit log and the login rate limits come from the matching hop, so a client
# cannot forge them. docker/compose.yaml sets 1 (one TLS-terminating proxy).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "sessions.apps.TherapySessionsConfig",
    "analysis.apps.AnalysisConfig",
    "sessions.families.apps.FamiliesConfig",
    "sessions.workspace.apps.WorkspaceConfig",
    "sessions.exercises.apps.ExercisesConfig",
    "sessions.listening.apps.ListeningConfig",
    "sessions.validation.apps.ValidationConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After whitenoise, so static files keep their long caching.
    "sessions.middleware.SecurityHeadersMiddleware",
    # Gzip for JSON only (never the HTML, which holds CSRF tokens: BREACH; ser_portal.compression).
    "ser_portal.compression.JsonGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "sessions.middleware.StaffMFARequiredMiddleware",
]

# JSON responses that hold a secret (the API token) are never compressed (BREACH).
GZIP_EXCLUDED_PREFIXES = ("/api/v1/auth/",)

ROOT_URLCONF = "ser_portal.urls"
WSGI_APPLICATION = "ser_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sessions.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ser_portal.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server and workers write to one SQLite file. A deferred transaction that
    # reads and then writes fails at once with "database is locked" when another one wrote
    # meanwhile; IMMEDIATE takes the write lock at BEGIN, and the timeout makes the other
    # writers wait for it (seconds) instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "therapy_sessions.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth: e-mail login, no public sign-up (clinic admins create accounts).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "sessions.auth.ClinicAccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
# No "remember me": every session ends after the idle timeout below, whatever the browser does.
ACCOUNT_SESSION_REMEMBER = False
# A reset request for an unknown address sends nothing (and looks the same to the requester).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# Failed web logins: 5 per account per 5 minutes; per address looser (a clinic shares one NAT).
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "SER Portal"
# Clinic staff (admins, therapists) must enrol a TOTP device before using the portal.
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", False)
# Staff may not remove their last authenticator while it is required.
MFA_ADAPTER = "sessions.auth.ClinicMFAAdapter"

# Scripts only from our own static files (templates pass data with json_script). Inline
# styles stay allowed: Plotly and a few templates set them, and they cannot run code.
SER_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Flash messages live in the session, not in a cookie of their own ("Signed in as <name>").
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# API tokens end after this long unused, and this long after they were issued, whatever use.
API_TOKEN_IDLE_TIMEOUT_S = env_int("API_TOKEN_IDLE_TIMEOUT_S", 60 * 60)
API_TOKEN_MAX_AGE_S = env_int("API_TOKEN_MAX_AGE_S", 8 * 60 * 60)

# Idle sessions end after this many seconds; every request renews the cookie.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT_S", 15 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A form posted after the session expired gets our 403 page with a way back, not Django's.
CSRF_FAILURE_VIEW = "sessions.views.errors.csrf_failure"

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Media is private: there is no MEDIA_URL route. Audio is streamed by a view that checks access.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
DEFAULT_FILE_STORAGE_BACKEND = os.environ.get(
    "DEFAULT_FILE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
)
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": DEFAULT_FILE_STORAGE_BACKEND},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEFAULT_FILE_STORAGE_BACKEND == "storages.backends.s3.S3Storage":
    # S3-compatible object storage (AWS, MinIO, Ceph...): `pip install "django-storages[s3]"`.
    # Objects stay private; the portal reads them server-side and streams audio itself.
    STORAGES["default"]["OPTIONS"] = {
        "bucket_name": os.environ["S3_BUCKET_NAME"],
        "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("S3_REGION_NAME") or None,
        "access_key": os.environ.get("S3_ACCESS_KEY_ID") or None,
        "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY") or None,
        "default_acl": "private",
        "querystring_auth": True,
        "file_overwrite": False,
        "location": os.environ.get("S3_LOCATION", ""),
    }
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "SER Portal <no-reply@localhost>")

CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["CACHE_URL"],
        }
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "sessions.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Token requests per client address, on top of the failed-login lockout.
    "DEFAULT_THROTTLE_RATES": {"login": os.environ.get("API_LOGIN_RATE", "10/min")},
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "EXCEPTION_HANDLER": "sessions.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SER Portal API",
    "DESCRIPTION": "Speech-emotion analysis for social-skills therapy. Every endpoint applies "
    "the same object-level access rules as the web pages.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sessions.api.schema.document_errors",
    ],
}

# Celery: embedded defaults need no server (kombu's filesystem transport).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        # Exchange bindings; kombu's default is ./control, relative to the working directory.
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A broker outage of any length: workers and beat keep reconnecting (Celery's default gives up
# after 100 tries and the worker exits), also when the broker is down as they start.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Queue names; a prefix lets several deployments (or concurrent test runs) share one broker.
SER_QUEUE_PREFIX = os.environ.get("SER_QUEUE_PREFIX", "")
SER_QUEUE_DEFAULT = f"{SER_QUEUE_PREFIX}default"
SER_QUEUE_LONG = f"{SER_QUEUE_PREFIX}long"
SER_QUEUE_SHORT = f"{SER_QUEUE_PREFIX}short"
CELERY_TASK_DEFAULT_QUEUE = SER_QUEUE_DEFAULT
# Each queue has its own routing key: without one Celery binds every queue with the default key,
# and the direct exchange then copies each task into all three queues.
CELERY_TASK_QUEUES = tuple(
    Queue(name, routing_key=name) for name in (SER_QUEUE_DEFAULT, SER_QUEUE_LONG, SER_QUEUE_SHORT)
)
CELERY_TASK_DEFAULT_ROUTING_KEY = SER_QUEUE_DEFAULT
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 65 * 60)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD_KB", 6_000_000)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "retention-daily": {
        "task": "sessions.families.tasks.apply_retention",
        "schedule": timedelta(days=1),
    },
    # families: recordings of guardians who withdrew recording consent online, once the
    # 24-hour undo window has passed.
    "families-due-erasures": {
        "task": "sessions.families.tasks.run_due_erasures",
        "schedule": timedelta(minutes=15),
    },
    # workspace: expire abandoned resumable uploads and delete their bytes.
    "workspace-upload-cleanup": {
        "task": "sessions.workspace.tasks.cleanup_uploads",
        "schedule": timedelta(hours=1),
    },
    # validation: each therapist's weekly blind-review sample (a draw is once per week, so
    # running it daily only catches therapists whose segments arrived later in the week).
    "validation-weekly-samples": {
        "task": "sessions.validation.tasks.draw_weekly_samples",
        "schedule": timedelta(days=1),
    },
}
# Resumable uploads nobody has added to for this many hours are deleted.
WORKSPACE_UPLOAD_IDLE_HOURS = env_int("WORKSPACE_UPLOAD_IDLE_HOURS", 24)

# Upload and analysis limits (bytes, seconds), configurable per site.
SER_MAX_UPLOAD_BYTES = env_int("SER_MAX_UPLOAD_BYTES", 2 * 1024**3)
SER_MAX_DURATION_S = env_int("SER_MAX_DURATION_S", 3 * 60 * 60)
SER_MIN_DURATION_S = float(os.environ.get("SER_MIN_DURATION_S", "0.5"))
# Recordings up to this length go to the short queue (practice clips).
SER_SHORT_CLIP_MAX_S = env_int("SER_SHORT_CLIP_MAX_S", 60)
SER_MAX_ANALYSIS_ATTEMPTS = env_int("SER_MAX_ANALYSIS_ATTEMPTS", 3)
# Lost analysis tasks (analysis.tasks.recover_runs, docs/pipeline.md "Reliability"): every this
# many seconds beat sends again the runs the broker never got (it was down at upload), queued
# runs older than SER_RESEND_QUEUED_AFTER_S, and runs of dead workers after SER_STALE_RUN_S
# without progress.
SER_RECOVER_RUNS_EVERY_S = env_int("SER_RECOVER_RUNS_EVERY_S", 60)
SER_RESEND_QUEUED_AFTER_S = env_int("SER_RESEND_QUEUED_AFTER_S", 30 * 60)
SER_STALE_RUN_S = env_int("SER_STALE_RUN_S", 60)
CELERY_BEAT_SCHEDULE["analysis-recover-runs"] = {
    "task": "analysis.tasks.recover_runs",
    "schedule": timedelta(seconds=SER_RECOVER_RUNS_EVERY_S),
    # A sweep that waited long (workers busy or down) is not worth running late: the next comes.
    "options": {"expires": max(SER_RECOVER_RUNS_EVERY_S, 30)},
}
# Precision of Hugging Face checkpoints at inference: auto (chosen per worker from the CPU's
# flags and a timed probe among torch fp32/int8/bf16 and ONNX Runtime fp32/int8,
# analysis/engine/classifiers/precision.py), auto-torch (the same without ONNX Runtime), or one
# of int8, bf16, fp32, ort-int8, ort-fp32.
SER_HF_INFERENCE_DTYPE = os.environ.get("SER_HF_INFERENCE_DTYPE", "auto")
# Where the ONNX Runtime encoders exported from Hugging Face checkpoints are kept (one folder
# per model content, ONNX Runtime and torch version; analysis/engine/classifiers/ort_encoder.py).
SER_ONNX_CACHE_DIR = Path(os.environ.get("SER_ONNX_CACHE_DIR", VAR_DIR / "onnx-cache"))
SER_MODELS_DIR = Path(os.environ.get("SER_MODELS_DIR", MEDIA_ROOT / "models"))
# Labelled (RAVDESS-named) audio folders on this server that a clinic admin may evaluate a model
# on from the console (comma-separated paths; only those that exist are offered).
SER_EVALUATION_DATA_DIRS = env_list(
    "SER_EVALUATION_DATA_DIRS", [str(BASE_DIR.parent / "shared" / "data" / "ravdess")]
)
SER_DEMO_MODE = env_bool("SER_DEMO_MODE", False)
# Audio playback is audited once per person and recording (or practice attempt) per this many
# seconds: a player's many range requests of one listen make one entry, a later listen another.
SER_AUDIO_AUDIT_WINDOW_S = env_int("SER_AUDIO_AUDIT_WINDOW_S", 5 * 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # The filesystem broker of the demo has no host; kombu warns about it on every start.
        "kombu.connection": {"level": "ERROR"},
    },
}
