"""Settings for mypy's Django plugin, which imports the settings to learn the installed apps
and models. Production settings refuse to load without a SECRET_KEY and would write an audit key
into the data directory; these keys are never used to sign anything.
"""

import os

os.environ.setdefault("SECRET_KEY", "type-checking-only-not-secret")
os.environ.setdefault("KETACARE_AUDIT_KEY", "type-checking-only-not-secret")

from ketacare.settings import *  # noqa: F403
