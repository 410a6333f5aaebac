"""Settings, all read from the environment (12-factor); defaults suit `make run` on one machine."""

import os
from pathlib import Path

import dj_database_url
from kombu import Queue

from ml import model_card

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    return int(os.environ.get(name, default))


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "storages",
    "accounts",
    "uploads",
    "recognition",
    "worker",
    "learning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "uploads.middleware.UploadSizeLimit",  # before anything reads the body (the CSRF check reads a form)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default (make run); DATABASE_URL=postgres://... for PostgreSQL.
DATABASES = {"default": dj_database_url.config(default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}", conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker write concurrently: WAL plus IMMEDIATE transactions avoid "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

# Uploads go through Django's storage API: local disk by default, S3-compatible with STORAGE_BACKEND=s3.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"
STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
if STORAGE_BACKEND == "s3":
    default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", "digit-ocr"),
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID"),
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Upload limits (see README, "Limits and guarantees").
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
OCR_MAX_UPLOAD_BYTES = env_int("OCR_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
OCR_MAX_ZIP_MEMBERS = env_int("OCR_MAX_ZIP_MEMBERS", 100_000)
OCR_MAX_MEMBER_BYTES = env_int("OCR_MAX_MEMBER_BYTES", 10 * 1024 * 1024)
OCR_MAX_ZIP_TOTAL_BYTES = env_int("OCR_MAX_ZIP_TOTAL_BYTES", 2 * 1024 * 1024 * 1024)
OCR_MAX_IMAGE_PIXELS = env_int("OCR_MAX_IMAGE_PIXELS", 25_000_000)
# Callbacks: signed with this secret; private and loopback addresses refused unless allowed.
OCR_CALLBACK_SECRET = os.environ.get("OCR_CALLBACK_SECRET", SECRET_KEY)
OCR_CALLBACK_ALLOW_PRIVATE = env_bool("OCR_CALLBACK_ALLOW_PRIVATE", False)
OCR_CALLBACK_MAX_RETRIES = env_int("OCR_CALLBACK_MAX_RETRIES", 5)
OCR_CHUNK_SIZE = env_int("OCR_CHUNK_SIZE", 256)
OCR_INFERENCE_THREADS = env_int("OCR_INFERENCE_THREADS", 1)
OCR_MODEL_PATH = os.environ.get("OCR_MODEL_PATH", str(BASE_DIR / "ml" / "artifacts" / "digits.tflite"))
OCR_LINE_MODEL_PATH = os.environ.get("OCR_LINE_MODEL_PATH", str(BASE_DIR / "ml" / "artifacts" / "lines.tflite"))
# Results below this confidence are flagged for review (a job can set its own on upload). Default: the
# threshold the model's card fitted on validation (ml/artifacts/MODEL_CARD.md), so the default flag
# catches the share of errors the card states.
OCR_REVIEW_THRESHOLD = float(os.environ.get("OCR_REVIEW_THRESHOLD") or model_card.review_threshold(OCR_MODEL_PATH))

# Anonymous uploads are allowed unless this is set; an anonymous job is reachable only by its id.
OCR_REQUIRE_LOGIN = env_bool("OCR_REQUIRE_LOGIN", False)
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "recognition:home"
LOGOUT_REDIRECT_URL = "recognition:home"
# GET /metrics wants `Authorization: Bearer <this>` when set; empty leaves it open (make run).
OCR_METRICS_TOKEN = os.environ.get("OCR_METRICS_TOKEN", "")

# Celery: Redis broker and result backend; tasks acknowledged after they finish so a killed worker's
# chunk is delivered again.
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues by kind of work, so a big zip's chunks do not hold up single images: every worker consumes
# them all unless started with -Q. A prefix lets several systems share one Redis.
OCR_QUEUE_PREFIX = os.environ.get("OCR_QUEUE_PREFIX", "")
# Learning from corrections (learning/): a candidate is promoted when it reads the corrections kept
# aside better and the base validation sample at most this much worse (a share: 0.01 = one point).
OCR_PROMOTION_MARGIN = float(os.environ.get("OCR_PROMOTION_MARGIN", "0.01"))
# Off on a public instance: then only signed-in users' corrections teach the network, so that whoever
# holds an anonymous job's link cannot steer it.
OCR_LEARN_FROM_ANONYMOUS = env_bool("OCR_LEARN_FROM_ANONYMOUS", True)
OCR_FINE_TUNE_VALIDATION_IMAGES = env_int("OCR_FINE_TUNE_VALIDATION_IMAGES", 1500)
OCR_FINE_TUNE_STALL_SECONDS = env_int("OCR_FINE_TUNE_STALL_SECONDS", 3600)  # then a run is given up
# Where workers keep local copies of the versions they load from storage.
OCR_MODEL_CACHE_DIR = Path(os.environ.get("OCR_MODEL_CACHE_DIR", str(BASE_DIR / "var" / "models")))
OCR_QUEUES = {
    kind: OCR_QUEUE_PREFIX + kind
    for kind in ("interactive", "classify", "expand", "callbacks", "maintenance", "training")
}
# A worker started without -Q consumes every queue but `training`: fine-tuning imports TensorFlow,
# and only the worker started for it (-Q <prefix>training) should.
CELERY_TASK_QUEUES = [Queue(name) for kind, name in OCR_QUEUES.items() if kind != "training"]
CELERY_TASK_DEFAULT_QUEUE = OCR_QUEUES["maintenance"]

# Celery beat runs the sweep that re-sends the work of stalled jobs, and the retention pass.
OCR_STALL_SECONDS = env_int("OCR_STALL_SECONDS", 300)
# Every 10 s: work lost with a broker that restarted empty is sent again within seconds (cheap: one
# Redis key and one query on unfinished jobs).
OCR_SWEEP_INTERVAL = env_int("OCR_SWEEP_INTERVAL", 10)
# Jobs that ended more than this many days ago are deleted with their files, every hour (0: kept forever).
OCR_RETENTION_DAYS = env_int("OCR_RETENTION_DAYS", 30)
CELERY_BEAT_SCHEDULE = {
    "requeue-stalled-jobs": {"task": "worker.tasks.requeue_stalled_jobs", "schedule": OCR_SWEEP_INTERVAL},
    "delete-expired-jobs": {"task": "worker.tasks.delete_expired_jobs", "schedule": 3600},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# The cache (upload rate limits) lives in Redis so every web process shares it; a database of its own
# keeps it apart from the broker's queues.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("CACHE_URL", REDIS_URL.rsplit("/", 1)[0] + "/1"),
    }
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_RATES": {"uploads": os.environ.get("OCR_UPLOAD_RATE", "120/minute")},
    # An anonymous uploader is told apart by address: REMOTE_ADDR, or behind this many proxies the address
    # the nearest one saw. Not X-Forwarded-For as sent, which a client can change with every request.
    "NUM_PROXIES": env_int("OCR_TRUSTED_PROXIES", 0),
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "digit-ocr API",
    "DESCRIPTION": "Batch OCR of digits: upload an image or a zip, read a digit and a confidence per image.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components, so the upload's file is `format: binary`, not a URL.
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH /api/jobs/<id>/results/<result id>/ needs its one field: no "Patched" variant with it optional.
    "COMPONENT_SPLIT_PATCH": False,
    # Jobs and network versions both have a `kind`: each its own enum name.
    "ENUM_NAME_OVERRIDES": {
        "JobKindEnum": "uploads.models.Job.Kind",
        "NetworkKindEnum": "learning.models.ModelVersion.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "recognition.openapi.declare_errors_and_links",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Production (DJANGO_PRODUCTION=true, behind TLS): secure cookies and security headers;
# `manage.py check --deploy` passes with these.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env_bool("DJANGO_PRODUCTION", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [origin for origin in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if origin]
