"""Settings, all from environment variables (see README "Configuration")."""

import os
from pathlib import Path

import dj_database_url

from smmpanel.env import data_dir, envbool, envint, envlist, secret_key

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()
SECRET_KEY = secret_key(DATA_DIR)
DEBUG = envbool("DEBUG")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "smmpanel.apps.OperatorAdminConfig",  # Django's admin, with the site's sign-in limits
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "smmpanel.accounts",
    "smmpanel.catalog",
    "smmpanel.ledger",
    "smmpanel.orders",
    "smmpanel.providers",
    "smmpanel.engine",
    "smmpanel.api",
    "smmpanel.payments",
    "smmpanel.web",
    "smmpanel.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor (console only).
    "django_otp.middleware.OTPMiddleware",
    # After authentication: a signed-in customer's own language and time zone.
    "smmpanel.web.middleware.CustomerPreferences",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so that its refusals get every header above: a member of staff signed in as a
    # customer sees the customer's site as them, read-only (console/impersonation.py).
    "smmpanel.console.impersonation.Impersonation",
]

ROOT_URLCONF = "smmpanel.urls"
WSGI_APPLICATION = "smmpanel.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "django.template.context_processors.i18n",
                "smmpanel.web.context.panel",
                "smmpanel.console.context.console",
            ],
        },
    },
]


def _database() -> dict[str, object]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=600))
        if config.get("ENGINE") == "django.db.backends.postgresql" and envbool("SMMPANEL_PG_PREPARED", True):
            # Server-side binding and prepared statements: the API's few hot queries are then
            # parsed and planned once per connection (bench/README.md). Off behind a PgBouncer
            # in transaction mode, which cannot keep prepared statements.
            config["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
        return config
    # SMMPANEL_SQLITE_PATH: another database file, e.g. the test database for the
    # real server the test suite starts (tests/server.py).
    path = os.environ.get("SMMPANEL_SQLITE_PATH", "").strip()
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(path) if path else DATA_DIR / "smmpanel.sqlite3",
        "OPTIONS": {
            # IMMEDIATE: a write transaction takes the write lock at BEGIN, so two
            # writers queue on busy_timeout instead of failing on lock upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        "CONN_MAX_AGE": 600,
        "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
    }


DATABASES = {"default": _database()}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The panel's first market is Spanish-speaking; every page exists in both.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date format per language across the site (smmpanel/formats/).
FORMAT_MODULE_PATH = ["smmpanel.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = envbool("SMMPANEL_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
# How many reverse proxies (nginx ...) stand in front of the web processes and append to
# X-Forwarded-For: the client's address is read from there. 0: REMOTE_ADDR, no proxy trusted.
SMMPANEL_TRUSTED_PROXIES = envint("SMMPANEL_TRUSTED_PROXIES", 0)
# Behind a trusted proxy that terminates TLS, its X-Forwarded-Proto says whether the client
# came over HTTPS (links in mails and pages, the redirect, HSTS). Without one, a client could
# send the header itself, so it means nothing.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SMMPANEL_TRUSTED_PROXIES > 0 else None
# Production over HTTPS only (README "Production"): plain HTTP is redirected, and browsers are
# told to use nothing else for this long. Off by default: the demo serves plain HTTP.
SECURE_SSL_REDIRECT = envbool("SMMPANEL_SSL_REDIRECT")
SECURE_HSTS_SECONDS = envint("SMMPANEL_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SMMPANEL_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = envbool("SMMPANEL_HSTS_PRELOAD")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Every asset is served by the panel itself, and nothing inline runs (django-csp).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Mail (sign-up confirmation, password reset): printed to the console unless an
# SMTP server is configured.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "smmpanel <noreply@localhost>")
# Where the file-based backend (django.core.mail.backends.filebased.EmailBackend) writes mail.
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # httpx logs every request at INFO; the panel records upstream calls itself.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

# The panel's own settings.
SMMPANEL_CURRENCY = os.environ.get("SMMPANEL_CURRENCY", "USD").strip() or "USD"
# Largest request body the reseller API accepts (bytes); larger gets HTTP 413.
SMMPANEL_API_MAX_BODY = envint("SMMPANEL_API_MAX_BODY", 512 * 1024)
# Per-key request rate limit of the reseller API: `RATE` per second after a burst
# of `BURST`; 0 turns it off. With several web processes, set SMMPANEL_REDIS_URL
# so they share one count.
SMMPANEL_API_RATE = float(os.environ.get("SMMPANEL_API_RATE", "20") or 0)
SMMPANEL_API_BURST = envint("SMMPANEL_API_BURST", 100)
SMMPANEL_REDIS_URL = os.environ.get("SMMPANEL_REDIS_URL", "").strip()
# The simulated provider (demo and tests only): how long it takes to deliver an
# order, and the share of orders it ends Partial or Canceled.
SMMPANEL_SIMULATOR_SECONDS = float(os.environ.get("SMMPANEL_SIMULATOR_SECONDS", "90") or 90)
SMMPANEL_SIMULATOR_PARTIAL_PERCENT = envint("SMMPANEL_SIMULATOR_PARTIAL_PERCENT", 10)
SMMPANEL_SIMULATOR_CANCEL_PERCENT = envint("SMMPANEL_SIMULATOR_CANCEL_PERCENT", 5)
# A provider's exchange rate (to SMMPANEL_CURRENCY) set longer ago than this is flagged as stale.
SMMPANEL_EXCHANGE_RATE_MAX_AGE_DAYS = envint("SMMPANEL_EXCHANGE_RATE_MAX_AGE_DAYS", 7)
# Upstream call records older than this are deleted by the worker.
SMMPANEL_CALL_RETENTION_DAYS = envint("SMMPANEL_CALL_RETENTION_DAYS", 30)
# A service whose provider cost rises above its price is disabled (off: only reported).
SMMPANEL_DISABLE_UNPROFITABLE = envbool("SMMPANEL_DISABLE_UNPROFITABLE", True)
# The worker reads each enabled provider's service list this often (minutes; 0: never, only from
# the console or `smmpanel provider sync`), and asks for its balance this often.
SMMPANEL_LISTING_SYNC_MINUTES = envint("SMMPANEL_LISTING_SYNC_MINUTES", 360)
SMMPANEL_BALANCE_CHECK_MINUTES = envint("SMMPANEL_BALANCE_CHECK_MINUTES", 15)
# Refuse a second active order for the same service and link (docs/api.md).
SMMPANEL_ONE_ACTIVE_ORDER_PER_LINK = envbool("SMMPANEL_ONE_ACTIVE_ORDER_PER_LINK", True)
# Sign-in attempts (the site's and the console's) allowed per client address, and per client
# address and username: a burst, then this many a minute (shared between web processes through
# SMMPANEL_REDIS_URL). Never per username alone: nobody can lock a customer out from elsewhere.
SMMPANEL_LOGIN_BURST = envint("SMMPANEL_LOGIN_BURST", 10)
SMMPANEL_LOGIN_PER_MINUTE = float(os.environ.get("SMMPANEL_LOGIN_PER_MINUTE", "5") or 0)
SMMPANEL_LOGIN_USER_BURST = envint("SMMPANEL_LOGIN_USER_BURST", 5)
SMMPANEL_LOGIN_USER_PER_MINUTE = float(os.environ.get("SMMPANEL_LOGIN_USER_PER_MINUTE", "2") or 0)
# Mail the site sends on request (sign-up, a new confirmation link, a password reset), per
# client address and per recipient: a burst, then this many a minute.
SMMPANEL_MAIL_BURST = envint("SMMPANEL_MAIL_BURST", 5)
SMMPANEL_MAIL_PER_MINUTE = float(os.environ.get("SMMPANEL_MAIL_PER_MINUTE", "1") or 0)
# Add funds by bank transfer: what the customer is told (the account's details; empty: a
# general explanation in the customer's language), and the smallest amount.
SMMPANEL_BANK_TRANSFER_INSTRUCTIONS = os.environ.get("SMMPANEL_BANK_TRANSFER_INSTRUCTIONS", "").strip()
SMMPANEL_MIN_DEPOSIT = os.environ.get("SMMPANEL_MIN_DEPOSIT", "1")
# Gateways (docs/payments.md). An underpaid deposit credits what was paid (off: nothing, and the
# deposit fails). The worker asks the gateway about a deposit still open this long after its last
# word, and fails one the gateway never knew after SMMPANEL_DEPOSIT_EXPIRE_HOURS.
SMMPANEL_CREDIT_UNDERPAYMENTS = envbool("SMMPANEL_CREDIT_UNDERPAYMENTS", True)
SMMPANEL_DEPOSIT_POLL_SECONDS = float(os.environ.get("SMMPANEL_DEPOSIT_POLL_SECONDS", "300") or 300)
SMMPANEL_DEPOSIT_EXPIRE_HOURS = envint("SMMPANEL_DEPOSIT_EXPIRE_HOURS", 24)
# Webhook deliveries: the largest body (bytes) and, per sending address, a burst then this many a minute.
SMMPANEL_WEBHOOK_MAX_BODY = envint("SMMPANEL_WEBHOOK_MAX_BODY", 64 * 1024)
SMMPANEL_WEBHOOK_BURST = envint("SMMPANEL_WEBHOOK_BURST", 60)
SMMPANEL_WEBHOOK_PER_MINUTE = float(os.environ.get("SMMPANEL_WEBHOOK_PER_MINUTE", "120") or 0)
# The engine's first status check of an order, this many seconds after it is sent
# (then later and later while nothing moves). Tests shorten it.
SMMPANEL_FIRST_CHECK_SECONDS = float(os.environ.get("SMMPANEL_FIRST_CHECK_SECONDS", "30") or 30)
# The longest wait between two status checks of an order that does not move (the back-off's cap).
SMMPANEL_LONGEST_CHECK_SECONDS = float(os.environ.get("SMMPANEL_LONGEST_CHECK_SECONDS", "3600") or 3600)
# How often the engine asks a subscription's provider about new posts.
SMMPANEL_SUBSCRIPTION_CHECK_SECONDS = float(os.environ.get("SMMPANEL_SUBSCRIPTION_CHECK_SECONDS", "60") or 60)
# A claim (an order `sending`) older than this means its worker died mid-send: the order
# becomes `unknown`. Keep it well beyond a round of provider calls (a few minutes).
SMMPANEL_STALE_CLAIM_SECONDS = float(os.environ.get("SMMPANEL_STALE_CLAIM_SECONDS", "600") or 600)
# The console lists an order as stuck when it has not moved for this long (a service may set
# its own threshold).
SMMPANEL_STUCK_AFTER_MINUTES = envint("SMMPANEL_STUCK_AFTER_MINUTES", 720)
# A member of staff is signed out of the console after this long without a request.
SMMPANEL_STAFF_IDLE_MINUTES = envint("SMMPANEL_STAFF_IDLE_MINUTES", 30)
# A new member of staff's setup link (`smmpanel staff create`) works once, for this long.
SMMPANEL_STAFF_SETUP_HOURS = envint("SMMPANEL_STAFF_SETUP_HOURS", 48)
# The panel's address as its staff reach it (e.g. https://panel.example.com): the command line
# prints setup links on it. Empty: it prints the link's path alone.
SMMPANEL_SITE_URL = os.environ.get("SMMPANEL_SITE_URL", "").strip().rstrip("/")
# The issuer shown in the staff's authenticator app beside their name.
OTP_TOTP_ISSUER = os.environ.get("SMMPANEL_OTP_ISSUER", "smmpanel").strip() or "smmpanel"
