"""Django settings, read from typed environment variables (see README for the list)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from clinic import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

CLINIC_ENV = env.choice("CLINIC_ENV", "development", {"development", "production"})
PRODUCTION = CLINIC_ENV == "production"
DEBUG = env.boolean("DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when CLINIC_ENV=production")

SECRET_KEY = env.string("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-never-used-in-production-0123456789abcdef"

SITE_URL = (env.string("SITE_URL", "http://127.0.0.1:8000") or "").rstrip("/")
_site = urlparse(SITE_URL)
if _site.scheme not in {"http", "https"} or not _site.hostname:
    raise ImproperlyConfigured(f"SITE_URL={SITE_URL!r} must be an absolute http(s) URL")
if PRODUCTION and _site.scheme != "https":
    raise ImproperlyConfigured("SITE_URL must be https when CLINIC_ENV=production")

ALLOWED_HOSTS = env.csv(
    "ALLOWED_HOSTS",
    [_site.hostname] if PRODUCTION else [_site.hostname, "127.0.0.1", "localhost", "testserver"],
)
# nginx (deploy/) overwrites X-Real-IP with the client's address; trust it only behind such a proxy.
TRUST_X_REAL_IP = env.boolean("TRUST_X_REAL_IP", PRODUCTION)
CSRF_TRUSTED_ORIGINS = env.csv("CSRF_TRUSTED_ORIGINS", [f"{_site.scheme}://{_site.netloc}"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "clinic.staticfiles.ClinicStaticFilesConfig",  # django.contrib.staticfiles, minus node_modules
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "viewflow",
    "viewflow.workflow",
    "clinic.accounts",
    "clinic.audit",
    "clinic.rooms",
    "clinic.bookings",
    "clinic.notifications",
    "clinic.outreach",
    "clinic.payments",
    "clinic.ops",
    "workflows",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside every middleware that may answer early (a bad Host header's 400 comes from
    # CommonMiddleware): every answer, errors included, carries X-Frame-Options.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "clinic.middleware.RequestIdMiddleware",
    "clinic.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

# HTTP requests a web process runs at once; more wait their turn (clinic.admission).
WEB_ACTIVE_REQUESTS = env.integer("WEB_ACTIVE_REQUESTS", 4, minimum=1, maximum=256)

ROOT_URLCONF = "clinic.urls"
ASGI_APPLICATION = "clinic.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database(url: str) -> dict[str, Any]:
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    except Exception as exc:  # dj_database_url raises bare ValueErrors with terse text
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} cannot be parsed: {exc}") from exc
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        # IMMEDIATE transactions serialise every atomic block, which is what makes the
        # booking checks race-free on SQLite; WAL lets readers proceed meanwhile.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file, not :memory:, so that threads in race tests share one database.
        # TEST_SQLITE_NAME lets concurrent runs use distinct files.
        config["TEST"] = {"NAME": env.string("TEST_SQLITE_NAME") or str(VAR_DIR / "test-sqlite.sqlite3")}
    elif engine == "django.db.backends.postgresql":
        options = config.setdefault("OPTIONS", {})
        options["connect_timeout"] = env.integer("DATABASE_CONNECT_TIMEOUT", 5, minimum=1)
        # A row lock that cannot be had within this time is a clear error, never a hang.
        options["options"] = f"-c lock_timeout={env.integer('DATABASE_LOCK_TIMEOUT_MS', 10000, minimum=100)}"
        # A per-process pool of open connections (Django's psycopg pool): a request does not pay
        # for a new connection (about 3 ms), and at most DATABASE_POOL_MAX requests of a process
        # use the database at once; the others wait up to DATABASE_POOL_TIMEOUT seconds for a
        # connection, then get a 503. Each connection is checked as it is handed out, so a
        # PostgreSQL restart fails no request. DATABASE_POOL_MAX=0 turns pooling off.
        pool_max = env.integer("DATABASE_POOL_MAX", 8, minimum=0, maximum=200)
        if pool_max:
            options["pool"] = {
                "min_size": 1,
                "max_size": pool_max,
                "timeout": env.integer("DATABASE_POOL_TIMEOUT", 10, minimum=1, maximum=60),
            }
            config["CONN_HEALTH_CHECKS"] = True  # with a pool: psycopg_pool's check on getconn
            # The one private patch kept, for the figure it holds: after PostgreSQL drops every
            # idle connection (a restart, a proxy), the next requests each take < 0.5 s
            # (tests/clinic/test_db_pool.py); with psycopg_pool's own first pause (1 s, doubling
            # at each dead connection met in a row) the first one waited 6.6 s. There is no
            # public option for it. Start at 50 ms, still doubling, so a database that stays
            # down is not hammered.
            import psycopg_pool.base

            psycopg_pool.base.AttemptWithBackoff.INITIAL_DELAY = 0.05
    else:
        raise ImproperlyConfigured(f"DATABASE_URL uses {engine}; only PostgreSQL and SQLite are supported")
    return config


VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": _database(env.string("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'clinic.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.string("REDIS_URL", "redis://127.0.0.1:6379/0") or ""
if urlparse(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} must be a redis:// URL")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}
# A socket's consumer waits on Redis with a blocking read (BZPOPMIN, 5 s at a time). redis-py
# 8 gives every connection a 5 s socket_timeout by default, so an idle socket's read timed out
# with the blocking call and the socket died every 5 s (redis-py issue 4091). Reads are allowed
# well past the blocking time; a dead Redis is still noticed by keepalive and the health check.
CHANNEL_LAYER_SOCKET_TIMEOUT_S = 30


def channel_layer_hosts(url: str) -> list[dict]:
    return [
        {
            "address": url,
            "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT_S,
            "socket_connect_timeout": 5,
            "socket_keepalive": True,
            "health_check_interval": 15,
            # No CLIENT SETINFO on connecting (redis-py's opt-out: driver_info None). A push from
            # a Celery task opens a connection each time (async_to_sync runs a new event loop,
            # and channels_redis keeps connections per loop); announcing the client, with
            # redis-py reading its own version from the installed package metadata every time,
            # cost 1.2 ms of the 2.4 ms CPU a push took (bench/load.py).
            "driver_info": None,
        }
    ]


CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": channel_layer_hosts(REDIS_URL)},
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["clinic.accounts.backends.LockoutModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Login brute force (clinic.accounts.services.guarded_login): at most LOGIN_MAX_FAILURES passwords
# are checked per (account, address) until the lock lifts, however many arrive at once; after
# LOGIN_ACCOUNT_FAILURES failures from anywhere, addresses without a login in the last
# LOGIN_KNOWN_ADDRESS_DAYS get one check per LOGIN_STRANGER_PAUSE_SECONDS, so that nobody can
# lock an account out everywhere.
LOGIN_MAX_FAILURES = env.integer("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_LOCK_MINUTES = env.integer("LOGIN_LOCK_MINUTES", 15, minimum=1)
LOGIN_ACCOUNT_FAILURES = env.integer("LOGIN_ACCOUNT_FAILURES", 20, minimum=1)
LOGIN_STRANGER_PAUSE_SECONDS = env.integer("LOGIN_STRANGER_PAUSE_SECONDS", 10, minimum=1)
LOGIN_KNOWN_ADDRESS_DAYS = env.integer("LOGIN_KNOWN_ADDRESS_DAYS", 30, minimum=1)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
# locale/: our strings (makemessages); locale_vendor/: Viewflow's, whose zh_Hans catalog is empty.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_vendor"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Request rates (api.throttles): registrations per client address, questions per logged-in
# user and per address ("N/second|minute|hour|day").
THROTTLE_RATES = {
    "register": env.string("THROTTLE_REGISTER", "10/hour"),
    "questions_user": env.string("THROTTLE_QUESTIONS_USER", "10/hour"),
    "questions_address": env.string("THROTTLE_QUESTIONS_ADDRESS", "20/hour"),
}
# An API token unused this long stops working (each login has its own: clinic.accounts.models).
TOKEN_IDLE_DAYS = env.integer("TOKEN_IDLE_DAYS", 30, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clinic.accounts.authentication.AccessTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # `?format=svg` chooses the QR image type, not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Collection booking API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # api/converters.py: ids in paths are integers a database row can have.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}},
    "ENUM_NAME_OVERRIDES": {
        "ReviewEnum": "clinic.bookings.models.Review",
        "DoorQrModeEnum": "clinic.rooms.models.Room.QrMode",
        "PaymentProviderEnum": "clinic.payments.models.PaymentOrder.Provider",
    },
}

# Booking rules (minutes / days).
MIN_DAYS_BETWEEN_DONATIONS = env.integer("MIN_DAYS_BETWEEN_DONATIONS", 3, minimum=0)
ARRIVAL_GAP_MINUTES = env.integer("ARRIVAL_GAP_MINUTES", 0, minimum=0, maximum=240)
EARLY_CHECK_IN_MINUTES = env.integer("EARLY_CHECK_IN_MINUTES", 10, minimum=0)
CHECK_IN_GRACE_MINUTES = env.integer("CHECK_IN_GRACE_MINUTES", 15, minimum=0)
REMINDER_MINUTES = env.integer("REMINDER_MINUTES", 60, minimum=0)
BOOKING_HORIZON_DAYS = env.integer("BOOKING_HORIZON_DAYS", 60, minimum=1)
# A qualified donor's retest falls due this many months after his first donation (beat marks
# him `retest_due`, checking every DONOR_JOURNEY_SECONDS).
DONOR_RETEST_MONTHS = env.integer("DONOR_RETEST_MONTHS", 6, minimum=1, maximum=60)
DONOR_JOURNEY_SECONDS = env.integer("DONOR_JOURNEY_SECONDS", 3600, minimum=1, maximum=86400)
# A slot freed for the first donor in a waitlist is kept for him this long before it passes on.
WAITLIST_HOLD_MINUTES = env.integer("WAITLIST_HOLD_MINUTES", 15, minimum=1, maximum=240)
DOOR_HELD_OPEN_SECONDS = env.integer("DOOR_HELD_OPEN_SECONDS", 120, minimum=5)
# The relay boards' health watch (workflows.boards): how often beat probes every board in use,
# and how long one probe (a coil read) may take before the board counts as not answering.
# Where relay boards may be: a room's lock host must be an IP address inside one of these
# networks (a staff account cannot point the platform's Modbus commands at any address).
RELAY_NETWORKS = env.csv("RELAY_NETWORKS", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "fc00::/7"])
try:
    _relay_networks = [ipaddress.ip_network(net, strict=False) for net in RELAY_NETWORKS]
except ValueError as _exc:
    raise ImproperlyConfigured(f"RELAY_NETWORKS: {_exc}") from None
RELAY_PROBE_SECONDS = env.integer("RELAY_PROBE_SECONDS", 60, minimum=5, maximum=3600)
RELAY_PROBE_DEADLINE_MS = env.integer("RELAY_PROBE_DEADLINE_MS", 1000, minimum=100, maximum=1900)
# The occupant's scan this soon after his check-in opens the door again (a re-tap, or a door he
# missed) instead of finishing his session. Counted from the check-in, never extended.
DOOR_REPEAT_SECONDS = env.integer("DOOR_REPEAT_SECONDS", 60, minimum=0, maximum=600)
# One deadline for connect, write and read-back of a relay command; the scan answers within 2 s.
DOOR_COMMAND_DEADLINE_MS = env.integer("DOOR_COMMAND_DEADLINE_MS", 1500, minimum=100, maximum=1900)
# The door-lock adapter (a hardware.relays.LockAdapter), built with command_guard=...; tests use
# "tests.doubles.FakeLock".
DOOR_LOCK_ADAPTER = env.string("DOOR_LOCK_ADAPTER") or "hardware.relays.ModbusRelayLock"

# Payments. "cashier" (default): orders are paid at the desk and confirmed by staff.
# "wechat": WeChat Pay Native in public-key mode (no platform certificate download); every
# WECHATPAY_* value below is then required. Keys and the APIv3 key may come from NAME_FILE,
# e.g. WECHATPAY_PRIVATE_KEY_FILE=/run/secrets/apiclient_key.pem.
PAYMENT_PROVIDER = env.choice("PAYMENT_PROVIDER", "cashier", {"cashier", "wechat"})
PAYMENT_ORDER_TTL_MINUTES = env.integer("PAYMENT_ORDER_TTL_MINUTES", 120, minimum=5, maximum=1440)
WECHATPAY_MCHID = env.string("WECHATPAY_MCHID", "") or ""
WECHATPAY_APPID = env.string("WECHATPAY_APPID", "") or ""
WECHATPAY_MERCHANT_SERIAL_NO = env.string("WECHATPAY_MERCHANT_SERIAL_NO", "") or ""
WECHATPAY_PRIVATE_KEY = env.string("WECHATPAY_PRIVATE_KEY", "") or ""  # apiclient_key.pem (PKCS#8)
WECHATPAY_APIV3_KEY = env.string("WECHATPAY_APIV3_KEY", "") or ""
WECHATPAY_PUBLIC_KEY = env.string("WECHATPAY_PUBLIC_KEY", "") or ""  # WeChat Pay's pub_key.pem
WECHATPAY_PUBLIC_KEY_ID = env.string("WECHATPAY_PUBLIC_KEY_ID", "") or ""  # PUB_KEY_ID_...
WECHATPAY_NOTIFY_URL = env.string("WECHATPAY_NOTIFY_URL", f"{SITE_URL}/api/payments/notify/wechat/") or ""
WECHATPAY_GATEWAY = (env.string("WECHATPAY_GATEWAY", "https://api.mch.weixin.qq.com") or "").rstrip("/")
WECHATPAY_TIMEOUT_SECONDS = env.integer("WECHATPAY_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
if PAYMENT_PROVIDER == "wechat":
    _required = {
        "WECHATPAY_MCHID": WECHATPAY_MCHID,
        "WECHATPAY_APPID": WECHATPAY_APPID,
        "WECHATPAY_MERCHANT_SERIAL_NO": WECHATPAY_MERCHANT_SERIAL_NO,
        "WECHATPAY_PRIVATE_KEY": WECHATPAY_PRIVATE_KEY,
        "WECHATPAY_APIV3_KEY": WECHATPAY_APIV3_KEY,
        "WECHATPAY_PUBLIC_KEY": WECHATPAY_PUBLIC_KEY,
        "WECHATPAY_PUBLIC_KEY_ID": WECHATPAY_PUBLIC_KEY_ID,
    }
    _missing = [name for name, value in _required.items() if not value]
    if _missing:
        raise ImproperlyConfigured(f"PAYMENT_PROVIDER=wechat needs {', '.join(_missing)} (or NAME_FILE)")
    if len(WECHATPAY_APIV3_KEY.encode()) != 32:
        raise ImproperlyConfigured("WECHATPAY_APIV3_KEY must be the 32-character APIv3 key")
    for _name, _url in (("WECHATPAY_NOTIFY_URL", WECHATPAY_NOTIFY_URL), ("WECHATPAY_GATEWAY", WECHATPAY_GATEWAY)):
        _parsed = urlparse(_url)
        if _parsed.scheme not in {"http", "https"} or not _parsed.hostname:
            raise ImproperlyConfigured(f"{_name}={_url!r} must be an absolute http(s) URL")
        if PRODUCTION and _parsed.scheme != "https":
            raise ImproperlyConfigured(f"{_name} must be https when CLINIC_ENV=production")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
    # pymodbus logs every refused connection with hex dumps; the lock adapter reports failures.
    "loggers": {"django.request": {"level": "ERROR"}, "pymodbus": {"level": "CRITICAL"}},
}

# Text messages go through this backend; the default writes them to the log (a clinic plugs in
# its SMS provider's class here).
SMS_BACKEND = env.string("SMS_BACKEND", "clinic.notifications.channels.LogSmsBackend")
EMAIL_BACKEND = env.string("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "noreply@localhost")

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
