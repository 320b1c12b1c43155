"""Django settings, read from the environment (12-factor).

DATABASE_URL      database; default: SQLite file in the data directory
SECRET_KEY        required, except that `ketacare demo` generates one and keeps it in the data dir
ALLOWED_HOSTS     comma-separated; default localhost only
DEBUG             off unless "1"/"true"
KETACARE_REQUIRE_2FA  "1": prescribers and clinic admins must use a TOTP second factor
KETACARE_INSECURE_COOKIES  "1": allow session cookies over plain http (the local demo only)
KETACARE_AUDIT_KEY  the key of the audit and ledger hash chains; default: a key generated once
                    into <data dir>/audit_key (back it up apart from the database)
KETACARE_CHECKPOINT_DIR  where signed chain checkpoints are appended; default <data dir>/checkpoints
KETACARE_CHECKPOINT_EVERY  checkpoint each chain every so many items (100)
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ketacare.paths import data_dir


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = data_dir()
DEBUG = env_flag("DEBUG")
DEMO = env_flag("KETACARE_DEMO")


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    if DEMO:
        # Only the demo may invent a key; it keeps it so sessions survive a restart.
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
        f"(or run `ketacare demo`, which keeps a generated key in {key_file})."
    )


SECRET_KEY = _secret_key()


def _audit_key() -> str:
    """The audit key from the environment, else from the key file, else a new one written
    there once (linked into place, so two processes starting together agree on one key)."""
    key = os.environ.get("KETACARE_AUDIT_KEY", "").strip()
    if key:
        return key
    key_file = DATA_DIR / "audit_key"
    try:
        if not key_file.exists():
            DATA_DIR.mkdir(parents=True, exist_ok=True)
            draft = key_file.with_name(f".audit_key.{os.getpid()}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48) + "\n")
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(draft, key_file)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        key = key_file.read_text().strip()
    except OSError as error:
        raise ImproperlyConfigured(
            f"The audit key file {key_file} cannot be read or created ({error}). Set "
            "KETACARE_AUDIT_KEY, or make the data directory writable."
        ) from error
    if not key:
        raise ImproperlyConfigured(f"The audit key file {key_file} is empty.")
    return key


# The key of the audit and ledger hash chains and of their checkpoints. Kept outside the
# database, so that whoever can rewrite the database cannot re-hash them. Lose it and the
# chains can no longer be verified: back it up apart from the database.
KETACARE_AUDIT_KEY = _audit_key()
KETACARE_AUDIT_KEY_FROM_ENV = bool(os.environ.get("KETACARE_AUDIT_KEY", "").strip())
KETACARE_AUDIT_KEY_FILE = DATA_DIR / "audit_key"
# Signed checkpoints of every chain head, appended where the database cannot rewrite them
# (audit.log, ledger.log); every KETACARE_CHECKPOINT_EVERY items of a chain, at every verify,
# at `ketacare serve` and by `ketacare audit checkpoint` / `ketacare inventory checkpoint`.
KETACARE_CHECKPOINT_DIR = Path(
    os.environ.get("KETACARE_CHECKPOINT_DIR") or DATA_DIR / "checkpoints"
).expanduser()
KETACARE_CHECKPOINT_EVERY = int(os.environ.get("KETACARE_CHECKPOINT_EVERY", "100"))
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_tasks",
    "django_tasks_db",
    # Django Ninja: installed so that its docs page loads Swagger UI from its own static
    # files rather than a CDN (the Content-Security-Policy allows 'self' only).
    "ninja",
    "ketacare.accounts",
    "ketacare.audit",
    "ketacare.patients",
    "ketacare.measures",
    "ketacare.planning",
    "ketacare.inventory",
    "ketacare.treatments",
    "ketacare.scheduling",
    "ketacare.reminders",
    "ketacare.referrals",
    "ketacare.portal",
    "ketacare.registry",
    "ketacare.jobs",
    "ketacare.api",
    "ketacare.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "ketacare.accounts.middleware.IdleLogoffMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "ketacare.accounts.middleware.SecondFactorMiddleware",
    # After the second factor: an account whose password an admin chose must change it first.
    "ketacare.accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the outcome of authentication for lockouts.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ketacare.urls"
WSGI_APPLICATION = "ketacare.wsgi.application"

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
                "ketacare.accounts.context.staff_context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'ketacare.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes every transaction take the write lock up front, so two writers
    # serialize instead of failing half-way; the audit hash chain relies on that.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Never chosen by set_password: for machine-made 256-bit secrets (accounts.hashers).
    "ketacare.accounts.hashers.MachineSecretHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not the clinic's or the product's name; not a common password with digits added.
    {"NAME": "ketacare.accounts.passwords.ClinicNameValidator"},
    {"NAME": "ketacare.accounts.passwords.CommonPasswordVariantValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # The patient portal's one-time codes (ketacare.portal.signin): behind django-axes, so a
    # code prompt locks out as a password prompt does.
    "ketacare.portal.backends.SignInCodeBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"  # each role's own start page (accounts.views.home)
LOGOUT_REDIRECT_URL = "login"

# Lock an account for 30 minutes after 5 failed attempts (by username, so an attacker
# cannot lock out a whole clinic behind one NAT address by guessing other names).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.5
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# axes warns that username-only lockout lets an attacker rotate names; we accept that, because
# locking by IP would lock a whole clinic out behind one shared address.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Idle logoff: a shared clinic workstation must not stay signed in.
# IdleLogoffMiddleware enforces it (and says why, and audits the logoff); the session itself
# lives at most one long shift, as a backstop.
KETACARE_IDLE_TIMEOUT_SECONDS = 15 * 60
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
KETACARE_REQUIRE_2FA = env_flag("KETACARE_REQUIRE_2FA")
OTP_TOTP_ISSUER = "ketacare"

_insecure_cookies = env_flag("KETACARE_INSECURE_COOKIES") or DEBUG
SESSION_COOKIE_SECURE = not _insecure_cookies
CSRF_COOKIE_SECURE = not _insecure_cookies
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
KETACARE_BEHIND_TLS_PROXY = env_flag("KETACARE_BEHIND_TLS_PROXY")
if KETACARE_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# No inline script anywhere: scripts come from our own static files only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Patient questionnaire links (measures app).
KETACARE_BASE_URL = os.environ.get("KETACARE_BASE_URL", "http://127.0.0.1:8000")
# The clinic's own licensed wording of the C-SSRS screener questions (a TOML file); without
# it the public referral form is off (ketacare.referrals.screener).
KETACARE_SCREENER_WORDING = os.environ.get("KETACARE_SCREENER_WORDING", "")
KETACARE_LINK_EXPIRY_HOURS = int(os.environ.get("KETACARE_LINK_EXPIRY_HOURS", "72"))
KETACARE_LINK_REMINDER_HOURS = int(os.environ.get("KETACARE_LINK_REMINDER_HOURS", "24"))
KETACARE_SMS_BACKEND = os.environ.get("KETACARE_SMS_BACKEND", "ketacare.measures.sms.FileBackend")
# The shared secret the SMS gateway sends with the texts patients send back (STOP, START) to
# /reminders/sms/inbound/; unset, that endpoint refuses every request.
KETACARE_SMS_INBOUND_TOKEN = os.environ.get("KETACARE_SMS_INBOUND_TOKEN", "")
# Email: Django's SMTP settings from the environment; without EMAIL_HOST, messages are written
# to files under the data directory (the demo's "outbox").
if os.environ.get("EMAIL_HOST"):
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_flag("EMAIL_USE_TLS", default=True)
    # A reminder is sent while its appointment's row is locked: a mail server that hangs must
    # not hold the appointment book for long.
    EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "outbox"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ketacare@localhost")

# The job queue (ketacare.jobs, decision 0115): jobs wait in the database for `ketacare worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Operational policy, not a clinical number: how long to wait for a message gateway or the
# database to come back. A job that raises is tried again after each delay in turn (seconds:
# a minute, 5 minutes, half an hour, 2 hours; 5 attempts in all); after the last it is failed
# and shown to the clinic admin (/jobs/failed/).
KETACARE_JOB_RETRY_DELAYS = [60, 300, 1800, 7200]
# Jobs the worker runs by itself: task -> every so many seconds (what cron did before).
KETACARE_PERIODIC_JOBS = {
    "ketacare.measures.tasks.send_questionnaires": 3600,
    "ketacare.reminders.tasks.send_reminders": 600,
    # Tampering with the audit trail or a stock ledger found within a day.
    "ketacare.jobs.tasks.verify_chains": 86400,
}

LANGUAGE_CODE = "en-us"
# The patient-facing pages (the portal, questionnaire and reminder links) are translated; staff
# pages are in English. The portal chooses the language per request (ketacare.languages).
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = os.environ.get("KETACARE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("KETACARE_STATIC_ROOT", DATA_DIR / "static"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
