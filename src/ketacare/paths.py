"""Where ketacare keeps its files: the SQLite database, the generated secret key, static files."""

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """The data directory: ``KETACARE_DATA_DIR`` if set, else a per-user default."""
    configured = os.environ.get("KETACARE_DATA_DIR")
    path = Path(configured) if configured else Path(platformdirs.user_data_dir("ketacare"))
    return path.expanduser().resolve()
