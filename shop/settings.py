"""Settings for the shop backoffice, read from the environment (see .env.example).

One module for every environment: a first run on the embedded SQLite file needs nothing set;
production sets DATABASE_URL, SECRET_KEY, ALLOWED_HOSTS and leaves DEBUG off.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp import constants as csp
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
    "staff.apps.StaffAdminConfig",  # django.contrib.admin with the staff home screen
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",  # browser storefronts on other origins (CORS below)
    "rest_framework",
    "rest_framework.authtoken",  # staff API tokens (Authorization: Token …)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",  # throttles the admin's login (see "Admin login" below)
    "shop",
    "orders",
    "fulfillment",
    "returns",
    "events",
    "staff",  # the admin site, its home, cross-app pages, the demo shop: above every app
]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",  # first: preflights are answered before the rest
    "shop.body_limit.RequestBodyLimitMiddleware",  # before anything reads a body
    "django.middleware.security.SecurityMiddleware",
    "shop.api.method_override.MethodOverrideMiddleware",  # POST + override header → the GET
    # API reads from the replica when one is configured (DATABASE_REPLICA_URL): after the
    # override, so a long read sent as a POST is a read; removed from the chain otherwise.
    "shop.db_routing.ReplicaReadsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shop.idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
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
EMBEDDED_DATABASE_URL = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASE_URL_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}


def parse_database_url(url: str) -> dict:
    """DATABASE_URL as Django's database settings, or one line saying what is wrong with it.

    The messages never repeat the URL: it may hold a password.
    """
    usage = "use postgres://USER:PASSWORD@HOST:5432/NAME, or unset it for the embedded SQLite file"
    scheme, separator, _ = url.partition("://")
    if not separator or scheme.lower() not in DATABASE_URL_SCHEMES:
        named = f"scheme {scheme!r}" if separator else "no scheme"
        raise ImproperlyConfigured(
            f"DATABASE_URL has {named}; the shop runs on PostgreSQL or SQLite: {usage}."
        )
    try:
        parsed = dj_database_url.parse(
            url,
            conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
            conn_health_checks=True,
        )
    except ValueError:  # a port that is not a number, an unquoted character, …
        raise ImproperlyConfigured(
            "DATABASE_URL cannot be read (is the port a number, and is every @, : or / in the "
            f"password %-encoded, e.g. @ as %40?): {usage}."
        ) from None
    if not parsed.get("NAME"):
        raise ImproperlyConfigured(f"DATABASE_URL names no database: {usage}.")
    return parsed


DATABASES = {"default": parse_database_url(os.environ.get("DATABASE_URL") or EMBEDDED_DATABASE_URL)}
# PostgreSQL cancels any statement running longer than this (milliseconds; 0: never), so no
# query a client sends holds a worker and a connection for long: the API answers 503. The
# admin's CSV export runs with the longer export timeout. manage.py commands other than
# runserver (migrate, imports) run without a timeout unless the environment sets one.
DATABASE_STATEMENT_TIMEOUT_MS = int(os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", "5000"))
DATABASE_EXPORT_STATEMENT_TIMEOUT_MS = int(
    os.environ.get("DATABASE_EXPORT_STATEMENT_TIMEOUT_MS", str(10 * 60 * 1000))
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer instead of failing at once; IMMEDIATE makes every atomic
    # block take the write lock up front, so SQLite serialises writers the way row locks would.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}


def _postgres_options(db: dict) -> None:
    """The statement timeout and, with DATABASE_POOL, psycopg's connection pool."""
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return
    options = db.setdefault("OPTIONS", {})
    if DATABASE_STATEMENT_TIMEOUT_MS > 0:
        # Set when each connection starts (a libpq option: no extra round trip).
        options["options"] = " ".join(
            filter(
                None,
                [options.get("options"), f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT_MS}"],
            )
        )
    if DATABASE_POOL:
        # Connections are opened once per process and lent to each request (Django closes
        # nothing: it gives the connection back), so CONN_MAX_AGE does not apply.
        options["pool"] = {
            "min_size": int(os.environ.get("DATABASE_POOL_MIN_SIZE", "1")),
            "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE", "4")),
            "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
        }
        db["CONN_MAX_AGE"] = 0


# psycopg's connection pool in each server process (DATABASE_POOL=1): sized by
# DATABASE_POOL_MIN_SIZE / _MAX_SIZE (1 / 4; a sync gunicorn worker needs one connection, a
# threaded one one a thread), DATABASE_POOL_TIMEOUT seconds to wait for a free one (10). Off, each
# process keeps its connection for CONN_MAX_AGE seconds. docs/scaling.md compares the two.
DATABASE_POOL = env_bool("DATABASE_POOL") and DATABASES["default"]["ENGINE"].endswith("postgresql")
_postgres_options(DATABASES["default"])

# A streaming replica (a PostgreSQL hot standby of the primary): the API's reads go there, with
# read-your-writes for the caller who just wrote (shop/db_routing.py). Unset, everything reads
# the primary. Tests mirror it onto the test database.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = parse_database_url(DATABASE_REPLICA_URL)
    _postgres_options(DATABASES["replica"])
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["shop.db_routing.ReplicaRouter"]
# What may be read from the replica (apps), and what never is (credentials, login counts,
# idempotency records: a caller must see these the moment they are written, whoever wrote them).
DATABASE_REPLICA_APPS = env_list("DATABASE_REPLICA_APPS", "shop,orders,fulfillment,returns")
DATABASE_REPLICA_NEVER = ["shop.apikey", "shop.loginfailure", "shop.idempotencykey"]
# How long a caller's write is remembered (seconds): their reads go to the primary until the
# replica has replayed it, or this has passed.
DATABASE_REPLICA_STICKY_SECONDS = float(os.environ.get("DATABASE_REPLICA_STICKY_SECONDS", "300"))
if DATABASE_REPLICA_URL and not os.environ.get("REDIS_URL"):
    raise ImproperlyConfigured(
        "DATABASE_REPLICA_URL needs REDIS_URL: every server records there who just wrote, so "
        "that caller reads from the primary until the replica has caught up."
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Admin login: django-axes counts failed staff logins and refuses further ones (429, even with
# the right password) after SHOP_ADMIN_LOGIN_FAILURE_LIMIT failures for a user name or from an
# address (REMOTE_ADDR: behind a proxy, have it set that from the client's) until
# SHOP_ADMIN_LOGIN_COOLOFF seconds have passed since the last one; a successful login starts the
# count again. Staff can see and clear attempts in the admin (Axes → Access attempts).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before checking
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("SHOP_ADMIN_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(seconds=int(os.environ.get("SHOP_ADMIN_LOGIN_COOLOFF", "900")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# The login form folds the user name to NFKC before looking it up; count it the same way.
AXES_USERNAME_CALLABLE = "shop.admin.login_username"
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_ENABLE_ADMIN = False  # shop.admin registers its screens, with permission-checked actions

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en")
# Each language by its own name, as a language menu reads in any language.
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic (bin/serve) writes here; WhiteNoise serves it.
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
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

# HTTPS deployment (manage.py check --deploy): every switch is off unless the environment turns
# it on; .env.example lists the production values. SECURE_PROXY_SSL_HEADER names the header a
# TLS-terminating proxy sets to "https" (e.g. X-Forwarded-Proto): set it only when the proxy
# always sets that header itself. /healthz stays on plain HTTP for load balancers.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE")
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    _proxy_header = os.environ["SECURE_PROXY_SSL_HEADER"].strip().upper().replace("-", "_")
    SECURE_PROXY_SSL_HEADER = (f"HTTP_{_proxy_header}", "https")

# Content-Security-Policy on every response (django-csp 4). Scripts only from this origin, never
# inline or eval'd: the admin's are static files, and /api/docs is drf-spectacular's split view
# (its start script is a separate request). Styles may be inline (the admin, the printable
# documents and Swagger UI set style attributes); images may be data: URIs (Swagger UI's icons).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF, csp.UNSAFE_INLINE],
        "img-src": [csp.SELF, "data:"],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes: failed and locked-out admin logins (warnings), not its start-up chatter.
    "loggers": {"axes": {"level": "WARNING"}},
}

# Shop rules
SHOP_CURRENCY = os.environ.get("SHOP_CURRENCY", "KRW")
# Delivered orders are confirmed automatically after this many days (confirm_delivered_orders).
SHOP_AUTO_CONFIRM_DAYS = int(os.environ.get("SHOP_AUTO_CONFIRM_DAYS", "7"))
# Customer login tokens (Authorization: JWT …) live this long.
SHOP_CUSTOMER_TOKEN_SECONDS = int(os.environ.get("SHOP_CUSTOMER_TOKEN_SECONDS", str(2 * 60 * 60)))
# The customer's payload-token cookie (set by login and refresh-token, cleared by logout):
# Secure (HTTPS only; on by default outside DEBUG), SameSite (Lax, Strict or None; None needs
# Secure, which it then gets) and an optional Domain (e.g. example.com, so shop.example.com and
# api.example.com share it).
SHOP_CUSTOMER_COOKIE_SECURE = env_bool("SHOP_CUSTOMER_COOKIE_SECURE", not DEBUG)
SHOP_CUSTOMER_COOKIE_SAMESITE = os.environ.get("SHOP_CUSTOMER_COOKIE_SAMESITE", "Lax")
SHOP_CUSTOMER_COOKIE_DOMAIN = os.environ.get("SHOP_CUSTOMER_COOKIE_DOMAIN") or None
# Failed customer logins: this many per account (four times as many per address) within the
# window (seconds) block further attempts until the window passes.
SHOP_LOGIN_FAILURE_LIMIT = int(os.environ.get("SHOP_LOGIN_FAILURE_LIMIT", "5"))
SHOP_LOGIN_FAILURE_WINDOW = int(os.environ.get("SHOP_LOGIN_FAILURE_WINDOW", "900"))
# Request bodies: at most this many bytes (answered 413 before reading), except the admin's
# bulk tracking import (pasted or uploaded rows). Django's own check never refuses first.
SHOP_MAX_REQUEST_BYTES = int(os.environ.get("SHOP_MAX_REQUEST_BYTES", str(1024 * 1024)))
SHOP_MAX_IMPORT_BYTES = int(os.environ.get("SHOP_MAX_IMPORT_BYTES", str(16 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = max(SHOP_MAX_REQUEST_BYTES, SHOP_MAX_IMPORT_BYTES)
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
        "task": "fulfillment.tasks.confirm_delivered_orders",
        "schedule": SHOP_AUTO_CONFIRM_EVERY,
    },
}

# Customer emails (order confirmation, shipped, delivered, returns), in the customer's language.
SHOP_CUSTOMER_EMAILS = env_bool("SHOP_CUSTOMER_EMAILS", True)
SHOP_NAME = os.environ.get("SHOP_NAME", "Shop")
SHOP_REPLY_TO = os.environ.get("SHOP_REPLY_TO", "")
# The seller on invoices: name, address and business registration number (사업자등록번호).
SHOP_SELLER = {
    "name": os.environ.get("SHOP_SELLER_NAME", SHOP_NAME),
    "address": os.environ.get("SHOP_SELLER_ADDRESS", ""),
    "business_number": os.environ.get("SHOP_SELLER_BUSINESS_NUMBER", ""),
}
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
        "shop.api.auth.CustomerCookieAuthentication",
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
# Rows a list answers at most: a larger limit is lowered to it (the answer's limit says so), and
# limit=0 or pagination=false (every match) with more matches than this is a 400 saying to paginate.
API_MAX_LIMIT = int(os.environ.get("API_MAX_LIMIT", "1000"))
# CORS (django-cors-headers): browser storefronts served from other origins call /api/ with
# fetch. CORS_ALLOWED_ORIGINS lists them (scheme://host[:port], comma-separated); credentials
# are allowed so the customer's payload-token cookie travels. The allowed request headers are
# Payload's defaults plus the ones this API reads.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_METHODS = ["PUT", "PATCH", "POST", "GET", "DELETE", "OPTIONS"]
CORS_ALLOW_HEADERS = [
    "origin",
    "x-requested-with",
    "content-type",
    "accept",
    "authorization",
    "content-encoding",
    "x-payload-http-method-override",
    "x-publishable-key",
    "idempotency-key",
]
CORS_EXPOSE_HEADERS = ["Idempotent-Replayed", "Retry-After"]
# Statements run on every request are prepared once per database connection (shop/statements.py).
# Turn off behind a connection pooler in transaction mode that does not keep them.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
# Compile every statement afresh too and fail if the cached one differs (the test suite's
# setting; it costs the compile the cache saves).
SHOP_STATEMENTS_VERIFY = env_bool("SHOP_STATEMENTS_VERIFY", False)
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop backoffice API",
    "DESCRIPTION": "Payload CMS's REST dialect over orders, payments, fulfilments and returns.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge image from validator.swagger.io: the docs load nothing from other origins.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["shop.api.schema.add_collection_components"],
}
