"""Settings for the shop backoffice, read from the environment (see .env.example).

One module for every environment: a first run on the embedded SQLite file needs nothing set;
production sets DATABASE_URL, SECRET_KEY, ALLOWED_HOSTS and leaves DEBUG off.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

# A development key is only acceptable while DEBUG is on; a production process must be given one.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "shop.admin_site.ShopAdminConfig",  # django.contrib.admin with the staff home screen
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # staff API tokens (Authorization: Token …)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "shop",
    "orders",
    "fulfillment",
    "returns",
    "events",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shop.idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
ASGI_APPLICATION = "shop.asgi.application"

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
            ],
        },
    },
]

# The embedded SQLite file is the first-run default; production and CI use postgres://…
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer instead of failing at once; IMMEDIATE makes every atomic
    # block take the write lock up front, so SQLite serialises writers the way row locks would.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("ko", "Korean")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
# In development static files are served from the apps, re-read on change; no collectstatic run.
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Shop rules
SHOP_CURRENCY = os.environ.get("SHOP_CURRENCY", "KRW")
# Delivered orders are confirmed automatically after this many days (confirm_delivered_orders).
SHOP_AUTO_CONFIRM_DAYS = int(os.environ.get("SHOP_AUTO_CONFIRM_DAYS", "7"))
# Customer login tokens (Authorization: JWT …) live this long.
SHOP_CUSTOMER_TOKEN_SECONDS = int(os.environ.get("SHOP_CUSTOMER_TOKEN_SECONDS", str(2 * 60 * 60)))
# Failed customer logins: this many per account (four times as many per address) within the
# window (seconds) block further attempts until the window passes.
SHOP_LOGIN_FAILURE_LIMIT = int(os.environ.get("SHOP_LOGIN_FAILURE_LIMIT", "5"))
SHOP_LOGIN_FAILURE_WINDOW = int(os.environ.get("SHOP_LOGIN_FAILURE_WINDOW", "900"))
# Idempotency-Key answers are replayed for this long (seconds).
SHOP_IDEMPOTENCY_TTL = int(os.environ.get("SHOP_IDEMPOTENCY_TTL", str(24 * 60 * 60)))

# Events, webhooks, customer emails and background work (events/, shop/celery.py).
# The broker: Redis (REDIS_URL, or CELERY_BROKER_URL for another). Without one, tasks run in the
# process that asks for them, after the change commits (the embedded first run needs no Redis).
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "") or REDIS_URL
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Every key the broker writes starts with this (several shops, or test runs, on one Redis).
    "global_keyprefix": os.environ.get("CELERY_KEY_PREFIX", ""),
    "visibility_timeout": 3600,
}
# Outbox rows are written with every change (false only to measure what they cost).
SHOP_EVENTS = env_bool("SHOP_EVENTS", True)
# Relay what is left and retry what is due this often (seconds; Celery beat).
SHOP_EVENTS_SWEEP_SECONDS = float(os.environ.get("SHOP_EVENTS_SWEEP_SECONDS", "10"))
# A webhook receiver that has not answered after this many seconds has failed the attempt.
SHOP_WEBHOOK_TIMEOUT = float(os.environ.get("SHOP_WEBHOOK_TIMEOUT", "5"))
# Deliveries a worker claims at once.
SHOP_DELIVERY_BATCH = int(os.environ.get("SHOP_DELIVERY_BATCH", "10"))
# Retries: the first after this many seconds, then doubling up to the maximum delay, for up to
# the window (three days) after the first attempt; then the delivery is failed (admin queue).
SHOP_DELIVERY_RETRY_BASE = float(os.environ.get("SHOP_DELIVERY_RETRY_BASE", "10"))
SHOP_DELIVERY_RETRY_MAX_DELAY = float(
    os.environ.get("SHOP_DELIVERY_RETRY_MAX_DELAY", str(6 * 60 * 60))
)
SHOP_DELIVERY_RETRY_WINDOW = float(
    os.environ.get("SHOP_DELIVERY_RETRY_WINDOW", str(3 * 24 * 60 * 60))
)
# Retries due within this many seconds are scheduled on the broker; later ones by the sweep.
SHOP_DELIVERY_COUNTDOWN_MAX = float(os.environ.get("SHOP_DELIVERY_COUNTDOWN_MAX", "300"))
# Confirm delivered orders (SHOP_AUTO_CONFIRM_DAYS) this often (seconds; Celery beat).
SHOP_AUTO_CONFIRM_EVERY = float(os.environ.get("SHOP_AUTO_CONFIRM_EVERY", str(60 * 60)))
CELERY_BEAT_SCHEDULE = {
    "relay-and-retry": {"task": "events.tasks.sweep", "schedule": SHOP_EVENTS_SWEEP_SECONDS},
    "confirm-delivered-orders": {
        "task": "events.tasks.confirm_delivered_orders",
        "schedule": SHOP_AUTO_CONFIRM_EVERY,
    },
}

# Customer emails (order confirmation, shipped, delivered, returns), in the customer's language.
SHOP_CUSTOMER_EMAILS = env_bool("SHOP_CUSTOMER_EMAILS", True)
SHOP_NAME = os.environ.get("SHOP_NAME", "Shop")
SHOP_REPLY_TO = os.environ.get("SHOP_REPLY_TO", "")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"{SHOP_NAME} <shop@localhost>")
# Django's email backends: printed to the console in development, SMTP from the environment
# otherwise (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS/SSL).
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))

# REST API (shop/api/): Payload CMS's REST dialect. Access is decided in shop/api/access.py.
REST_FRAMEWORK = {
    # Who is calling (shop/api/auth.py): a server's secret key, a customer's token with the
    # storefront's publishable key, a staff token or admin session, a publishable key alone.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "shop.api.auth.SecretKeyAuthentication",
        "shop.api.auth.CustomerTokenAuthentication",
        "shop.api.auth.StaffTokenAuthentication",
        "shop.api.auth.StaffSessionAuthentication",
        "shop.api.auth.PublishableKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["shop.api.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["shop.api.renderers.ORJSONParser"],
    "EXCEPTION_HANDLER": "shop.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "shop.api.schema.CollectionSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Rows a list answers at most (limit=0 and larger limits are capped to it).
API_MAX_LIMIT = int(os.environ.get("API_MAX_LIMIT", "1000"))
# Statements run on every request are prepared once per database connection (shop/statements.py).
# Turn off behind a connection pooler in transaction mode that does not keep them.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop backoffice API",
    "DESCRIPTION": "Payload CMS's REST dialect over orders, payments, fulfilments and returns.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["shop.api.schema.add_collection_components"],
}
