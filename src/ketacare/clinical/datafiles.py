"""Loading the clinical data files. Each must declare its ``version`` and ``source``."""

import tomllib
from functools import cache
from importlib.resources import files
from typing import Any


class DataFileError(ValueError):
    """A clinical data file is missing a required field."""


@cache
def load(name: str, package: str = "ketacare.clinical") -> dict[str, Any]:
    """The parsed TOML data file ``<package>/data/<name>.toml``, checked for version and
    source."""
    text = files(package).joinpath("data", f"{name}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    for required in ("version", "source"):
        if not data.get(required):
            raise DataFileError(f"clinical data file {name}.toml has no {required!r}")
    return data
