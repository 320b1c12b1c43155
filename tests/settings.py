"""Test settings: the production settings with a throwaway key and data directory.

The database comes from DATABASE_URL like in production; `make test` sets it from
KETACARE_TEST_DATABASE_URL for the PostgreSQL run.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("KETACARE_AUDIT_KEY", "test-only-audit-key")
os.environ.setdefault("KETACARE_DATA_DIR", tempfile.mkdtemp(prefix="ketacare-test-"))
# Playwright's sync API runs an event loop in the test thread; Django's ORM is used beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from ketacare.settings import *  # noqa: F403

# Argon2 stays the hasher (a test checks it); cheaper parameters keep fixtures fast.
PASSWORD_HASHERS = [
    "tests.hashers.FastArgon2PasswordHasher",
    "ketacare.accounts.hashers.MachineSecretHasher",
]

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
WHITENOISE_USE_FINDERS = True

# PostgreSQL refuses to TRUNCATE the audit log (migration audit 0005); the test runner empties
# tables with TRUNCATE between transactional tests, so test connections allow it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (  # noqa: F405
        "-c ketacare.allow_audit_truncate=on"
    )
