"""Settings shared by every mode. Each concern is one block, read from the environment.

`local.py`, `test.py` and `production.py` only override. Every variable read here is
listed in `.env.example`.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF

from apps.accounts import providers
from apps.core import sentinel

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A developer's `.env` is a convenience for local runs; real deployments set variables.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------------
# Local defaults only; production.py refuses to start without the real values.
SECRET_KEY = env("SECRET_KEY", default="local-only-insecure-key-do-not-deploy")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",  # allauth's sessions page uses naturaltime
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.discord",
    "allauth.socialaccount.providers.microsoft",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.headless",
    # djstripe before apps.billing: its sync handlers are connected first, so our
    # receivers see the rows it just synced.
    "djstripe",
    "apps.core",
    "apps.accounts",
    "apps.billing",
    "apps.services",
    "procrastinate.contrib.django",  # the task queue apps.events delivers through
    "apps.events",
    "apps.web",
]

MIDDLEWARE = [
    "apps.core.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # django-csp's, with the settings' header built once (apps/core/csp.py).
    "apps.core.csp.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware, with request.user served from a Redis snapshot.
    "apps.accounts.middleware.CachedAuthenticationMiddleware",
    "apps.accounts.middleware.SessionTimeoutMiddleware",
    "apps.billing.access.middleware.AccessMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # HEAD on a provider's login URL gets 405 rather than starting the OAuth flow.
    "apps.accounts.provider_guard.ProviderLoginHeadMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees exceptions from views: a Redis or Postgres outage gets a friendly
    # 503 (and a login attempt is refused, not let through) instead of a 500.
    "apps.core.middleware.ServiceUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
PORT = env.int("PORT", default=8000)
WSGI_APPLICATION = "config.wsgi.application"
ADMIN_URL = env("ADMIN_URL", default="admin/")

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

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database: Postgres through psycopg 3 ----------------------------------------
# Persistent connections save a TCP + auth handshake per request; health checks
# drop a connection the server closed instead of failing the request on it.
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/tollgate"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A streaming standby for the few reads that may lag, each chosen by name
# (apps/core/db_router.py; docs/architecture.md, "Reads and a Postgres standby").
# Unset: every query reads the primary. A URL that is not postgres:// adds no alias, and
# core.E010 names it at start-up.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
_replica = env.db_url_config(DATABASE_REPLICA_URL) if DATABASE_REPLICA_URL else {}
if _replica.get("ENGINE") == "django.db.backends.postgresql" and _replica.get("NAME"):
    DATABASES["replica"] = {
        **_replica,
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        # A standby that does not answer costs a page at most this, then the primary reads.
        "OPTIONS": {"connect_timeout": 2, **_replica.get("OPTIONS", {})},
        "TEST": {"MIRROR": "default"},  # tests read the primary's test database through it
    }
    DATABASE_ROUTERS = ["apps.core.db_router.PrimaryUnlessChosenRouter"]

# --- Cache and sessions: Redis through django-redis ------------------------------
# Two aliases on one Redis. "default" raises on errors, so callers that must not
# guess (rate limits, the Access cache) decide what an outage means. "sessions"
# swallows errors: `cached_db` then falls back to its durable Postgres copy, so a
# Redis outage or restart signs nobody out.
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX", default="tollgate")
_REDIS_OPTIONS = {
    "CLIENT_CLASS": "django_redis.client.DefaultClient",
    "PARSER_CLASS": "redis._parsers._HiredisParser",
    "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
    "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
}
# >>> Redis Cluster (REDIS_CLUSTER=on): REDIS_URL names any one primary, database 0
# (a Cluster has no other); redis-py's RedisCluster finds the rest and follows MOVED.
# apps/core/redis_cluster.py; the near cache turns itself off (a plain MGET per request).
REDIS_CLUSTER = env.bool("REDIS_CLUSTER", default=False)
if REDIS_CLUSTER:
    _REDIS_OPTIONS["CLIENT_CLASS"] = "apps.core.redis_cluster.ClusterClient"
# <<< Redis Cluster
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": _REDIS_OPTIONS,
    },
    "sessions": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": {
            **_REDIS_OPTIONS,
            "IGNORE_EXCEPTIONS": True,
            # JSON, not django-redis's default pickle: no session is unpickled from Redis.
            "SERIALIZER": "apps.accounts.session_store.SessionSerializer",
        },
    },
}
# >>> Redis Sentinel (REDIS_SENTINELS=host:port,...): both aliases on the primary the
# sentinels name REDIS_SENTINEL_SERVICE, database as in REDIS_URL (its host is unused).
# An invalidation then waits for REDIS_WAIT_REPLICAS replicas (at most REDIS_WAIT_TIMEOUT
# ms) or stays owed: apps/core/sentinel.py. Not with REDIS_CLUSTER (core.E006).
REDIS_SENTINELS = env.list("REDIS_SENTINELS", default=[])
REDIS_SENTINEL_SERVICE = env("REDIS_SENTINEL_SERVICE", default="tollgate")
# On a Cluster the default is 0 (no WAIT: a Cluster may have no replicas); one with
# replicas sets 1, or a revocation its primary took just before a crash may be lost.
REDIS_WAIT_REPLICAS = env.int("REDIS_WAIT_REPLICAS", default=0 if REDIS_CLUSTER else 1)
REDIS_WAIT_TIMEOUT = env.int("REDIS_WAIT_TIMEOUT", default=100)
if REDIS_SENTINELS:
    for _alias in CACHES.values():
        _alias["LOCATION"], _alias["OPTIONS"] = sentinel.cache_alias(
            REDIS_SENTINELS,
            service=REDIS_SENTINEL_SERVICE,
            redis_url=REDIS_URL,
            options=_alias["OPTIONS"],
        )
# <<< Redis Sentinel
# The near cache (apps/core/near_cache.py): each thread keeps its last MGET's answer and
# Redis pushes an invalidation when a key changes (CLIENT TRACKING, Redis 6+), so a
# repeat gated page makes no round trip. LIVENESS: copies are served only while Redis
# answered a request sent within it, which bounds how long another host may still serve a
# revoked copy (delays, stalls, a silent partition); MAX_KEYS bounds memory.
REDIS_NEAR_CACHE = env.bool("REDIS_NEAR_CACHE", default=True)
# A member takes 6 keys and about 1.9 KiB of a worker's resident memory (bench/memory.py):
# 90,000 keys are 15,000 members in ~28 MiB, so 4 sync workers fit a 512 MiB container.
REDIS_NEAR_CACHE_MAX_KEYS = env.int("REDIS_NEAR_CACHE_MAX_KEYS", default=90_000)
REDIS_NEAR_CACHE_LIVENESS = env.float("REDIS_NEAR_CACHE_LIVENESS", default=0.1)
# An invalidation Redis failed to take is owed in Postgres (apps/core/state/invalidation.py). A
# process that saw the failure pays it before trusting Redis again; every other process
# looks for owed ones this often (seconds; 0 = before every cached read, one query each).
REDIS_REPLAY_INTERVAL = env.float("REDIS_REPLAY_INTERVAL", default=1.0)
# cached_db, with keys that name their user so one MGET fetches session + identity + Access.
SESSION_ENGINE = "apps.accounts.session_store"
SESSION_CACHE_ALIAS = "sessions"
# Absolute lifetime (the cookie and the server-side record) and idle timeout, in seconds;
# apps.accounts.middleware.SessionTimeoutMiddleware enforces both on the server.
SESSION_COOKIE_AGE = env.int("SESSION_MAX_AGE", default=60 * 60 * 24 * 14)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=60 * 60 * 24 * 2)
# How often a web worker sends the sessions list's "last seen" it noted to Redis (the
# queue worker writes it to Postgres once a minute: apps/accounts/last_seen.py, tasks.py).
SESSION_SEEN_SEND_INTERVAL = env.float("SESSION_SEEN_SEND_INTERVAL", default=1.0)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Users and sign-in (django-allauth) -------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:home"
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "apps.accounts.adapters.SocialAccountAdapter"
ACCOUNT_ALLOW_SIGNUPS = env.bool("ACCOUNT_ALLOW_SIGNUPS", default=True)
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True  # same answer for known and unknown emails
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_SESSION_REMEMBER = True
# The client's address for rate limits and the sessions list. gunicorn leaves REMOTE_ADDR
# as the proxy's, so behind N proxies of ours allauth takes the Nth address from the right
# of X-Forwarded-For (what our nearest proxy saw; anything further left the client may
# have forged). 0: no proxy, the header is ignored.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# allauth's own limits, counted in the default (Redis) cache; merged over its defaults.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
SOCIALACCOUNT_LOGIN_ON_GET = False  # a GET to a provider's login URL asks to confirm by POST
# A provider-verified email that matches an account signs into it; unverified ones never do.
# Each app (apps/accounts/providers.py) says so itself (`email_authentication`, from
# `<PROVIDER>_EMAIL_AUTHENTICATION` / `OIDC_<ID>_EMAIL_AUTHENTICATION`): on for Google,
# GitHub, Discord and Microsoft, off for OpenID Connect issuers unless turned on, because
# an issuer that says `email_verified` for an address it does not control could otherwise
# sign into anyone's account. This global value only covers apps stored as SocialApp rows.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"  # the provider's verified flag decides
SOCIALACCOUNT_STORE_TOKENS = False

# Providers are configured from the environment only (no SocialApp rows): GOOGLE_*,
# GITHUB_*, DISCORD_*, MICROSOFT_*, and OIDC_PROVIDERS with OIDC_<ID>_* for each issuer
# (apps/accounts/providers.py). A provider with no client id has no app, so no button.
SOCIALACCOUNT_PROVIDERS = providers.socialaccount_providers(env)

# Multi-factor authentication: authenticator apps, recovery codes and passkeys.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="Tollgate")
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# allauth's own tracking writes to Postgres on every request; SessionTimeoutMiddleware
# refreshes "last seen" at most once a minute instead.
USERSESSIONS_TRACK_ACTIVITY = False

# --- API clients: allauth headless and its JWT token strategy ----------------------
# /_allauth/{app,browser}/v1/... (allauth's headless API). App clients (mobile apps,
# SPAs holding tokens) get an RS256 access token, verifiable by anyone through
# /.well-known/jwks.json, and a rotating refresh token (apps/accounts/tokens/).
# Signing keys live in Postgres (`manage.py tokens_rotate_key`), not in settings, so
# allauth's HEADLESS_JWT_PRIVATE_KEY and HEADLESS_JWT_ALGORITHM are unused.
HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_TOKEN_STRATEGY = "apps.accounts.tokens.strategy.TokenStrategy"  # noqa: S105 - a path
HEADLESS_JWT_AUTHORIZATION_HEADER_SCHEME = "Bearer"
HEADLESS_JWT_ROTATE_REFRESH_TOKEN = True
# Lifetimes as durations (e.g. 900, 15m, 12h, 30d); accounts.E010 names a bad value.
TOKENS_ACCESS_LIFETIME = env("TOKENS_ACCESS_LIFETIME", default="15m")
TOKENS_REFRESH_LIFETIME = env("TOKENS_REFRESH_LIFETIME", default="30d")
# `iss` of every token (and the base of jwks_uri), and `aud` of access tokens.
TOKENS_ISSUER = env("TOKENS_ISSUER", default="") or None  # None: SITE_URL
TOKENS_AUDIENCE = env("TOKENS_AUDIENCE", default="") or None  # None: <issuer>/api/

# --- Stripe (dj-stripe) and billing ------------------------------------------------
STRIPE_LIVE_MODE = env.bool("STRIPE_LIVE_MODE", default=False)
STRIPE_TEST_SECRET_KEY = env("STRIPE_TEST_SECRET_KEY", default="")
STRIPE_LIVE_SECRET_KEY = env("STRIPE_LIVE_SECRET_KEY", default="")
STRIPE_TEST_PUBLIC_KEY = env("STRIPE_TEST_PUBLIC_KEY", default="")
STRIPE_LIVE_PUBLIC_KEY = env("STRIPE_LIVE_PUBLIC_KEY", default="")
# The signing secret of the webhook endpoint registered in Stripe (whsec_...);
# `manage.py billing_setup` stores it on dj-stripe's WebhookEndpoint row.
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Pinned: Stripe objects change shape between versions (e.g. where the period end lives).
STRIPE_API_VERSION = "2026-05-27.dahlia"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"
# Public base URL (scheme + host): the webhook URL billing_setup prints, links in emails.
# (Stripe return URLs come from the request, whose Host ALLOWED_HOSTS has checked.)
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{PORT}")
# Access rules (apps.billing.access): how long past_due keeps access after the first
# failed payment (e.g. "3d", "12h", "0"), and features everyone has without paying.
# The site's pages billing sends members to (URL names or paths); billing sits below the
# web app and never names its URLs itself.
BILLING_PAGES = {"pricing": "web:pricing", "dashboard": "web:dashboard", "billing": "web:billing"}
BILLING_PAST_DUE_GRACE = env("BILLING_PAST_DUE_GRACE", default="0")
BILLING_FREE_FEATURES = env.list("BILLING_FREE_FEATURES", default=["community"])
# Largest webhook body accepted; larger is a 413. Stripe's events are a few KiB (lists
# inside an event's object are cut to 10 entries), so 64 KiB leaves ample room.
BILLING_WEBHOOK_MAX_BYTES = env.int("BILLING_WEBHOOK_MAX_BYTES", default=64 * 1024)
# Webhook rejections (bad signature, unknown endpoint) allowed per client IP per window
# before they answer 429; signed deliveries are never counted. "0/10m" turns it off.
BILLING_WEBHOOK_REJECTION_RATE = env("BILLING_WEBHOOK_REJECTION_RATE", default="30/10m")
# Also sign a user out everywhere when their subscription ends.
BILLING_END_SESSIONS_ON_CANCEL = env.bool("BILLING_END_SESSIONS_ON_CANCEL", default=False)

# --- Other services (apps.services): token introspection and revocation ------------
# How long a rotated-out service secret keeps working, so the service can be redeployed
# with the new one (e.g. "1d", "12h"; "0" ends it at once).
SERVICES_SECRET_OVERLAP = env("SERVICES_SECRET_OVERLAP", default="1d")
# Failed service authentications (allauth's rate-limit format) per client IP and per
# client id before they answer 429; valid credentials are never counted.
SERVICES_AUTH_FAILURE_RATE = env("SERVICES_AUTH_FAILURE_RATE", default="30/m/ip,10/m/key")
ACCOUNT_RATE_LIMITS["service_auth_failed"] = SERVICES_AUTH_FAILURE_RATE
# Longest token introspection or revocation accepts (a session id is 40 characters; room
# for signed access tokens); longer is a 400.
SERVICES_TOKEN_MAX_LENGTH = 4096

# --- Events for other services (apps.events: Standard Webhooks through procrastinate) -
# A delivery is tried up to EVENTS_MAX_ATTEMPTS times, waiting a random time of up to
# base * 2^(n-1) seconds (never more than the cap) after the n-th failure, then is dead.
EVENTS_MAX_ATTEMPTS = env.int("EVENTS_MAX_ATTEMPTS", default=10)
EVENTS_RETRY_BASE = env.float("EVENTS_RETRY_BASE", default=5.0)
EVENTS_RETRY_CAP = env.float("EVENTS_RETRY_CAP", default=3600.0)
# Seconds a receiver has to answer one attempt (connect and read).
EVENTS_TIMEOUT = env.float("EVENTS_TIMEOUT", default=10.0)
# Deliveries one worker process makes at once (each waits on its receiver in a thread).
EVENTS_WORKER_CONCURRENCY = env.int("EVENTS_WORKER_CONCURRENCY", default=8)
# The worker (`manage.py procrastinate worker`, started by `make run`) hears of new jobs
# at once (LISTEN/NOTIFY); it polls this often (seconds) for retries that came due.
EVENTS_POLL_INTERVAL = env.float("EVENTS_POLL_INTERVAL", default=1.0)
# Days a delivered or dead delivery (with its attempts, its event and its queue job) is
# kept in the delivery log before events.prune deletes it; owed ones are never deleted.
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=30)
PROCRASTINATE_WORKER_DEFAULTS = {
    "queues": ["events", "bookkeeping"],
    "concurrency": EVENTS_WORKER_CONCURRENCY,
    "fetch_job_polling_interval": EVENTS_POLL_INTERVAL,
    "delete_jobs": "successful",  # the delivery log (apps.events) keeps what happened
}

# --- Email -------------------------------------------------------------------------
# EMAIL_URL picks the backend: smtp+tls://user:pass@host:587 in production, the console
# locally (verification and reset links are printed to the terminal).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Tollgate <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Static files: served by whitenoise ------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT: Path | None = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security headers (production.py turns on the HTTPS-only parts) --------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Content Security Policy (django-csp): no inline script or style anywhere -------
# Forms that start Checkout or open the Portal are answered with a redirect to Stripe,
# and a provider button's POST with a redirect to the provider's authorization endpoint:
# form-action allows exactly those origins (apps/accounts/providers.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [
            SELF,
            "https://checkout.stripe.com",
            "https://billing.stripe.com",
            *providers.form_action_origins(SOCIALACCOUNT_PROVIDERS),
        ],
    }
}

# --- Logging: one line per request to stdout, keys in paths redacted --------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    # Django's own lines about a request name its path, which may carry a key.
    "filters": {"redact_paths": {"()": "apps.core.redaction.RedactedPathFilter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "line",
            "filters": ["redact_paths"],
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Our request log replaces Django's own per-request lines.
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        # At DEBUG it prints whole template contexts, e.g. an email's confirmation link.
        "django.template": {"level": "INFO"},
        # stripe-python logs every request at INFO; errors still come through.
        "stripe": {"level": "WARNING"},
        # procrastinate logs every deferred job and every run at INFO; apps.events logs
        # each delivery attempt itself, and a delivery that died comes through as ERROR.
        "procrastinate": {"level": "WARNING"},
    },
}

# --- Demo data (`manage.py demo_load`, run by `make run`; refuses unless DEBUG) -------
# Accounts are created verified; without a password one is generated and printed.
DEMO_ADMIN_EMAIL = env("DEMO_ADMIN_EMAIL", default="admin@example.com")
DEMO_ADMIN_PASSWORD = env("DEMO_ADMIN_PASSWORD", default="")
DEMO_MEMBER_EMAIL = env("DEMO_MEMBER_EMAIL", default="member@example.com")
DEMO_MEMBER_PASSWORD = env("DEMO_MEMBER_PASSWORD", default="")
# The offline demo Stripe (apps/billing/demo_stripe.py). Never on here: only
# config/settings/local.py turns it on, and a system check refuses it without DEBUG.
DEMO_STRIPE = False
# Where it keeps the demo member's customer and subscription, so the demo commands
# and every gunicorn worker read the same state (relative to the project directory).
DEMO_STRIPE_STATE = BASE_DIR / (env("DEMO_STRIPE_STATE", default="") or ".demo/stripe.json")
