"""The protocol library: one TOML file per protocol, each with its version and sources."""

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from ketacare.clinical.datafiles import load

DATA = files("ketacare.clinical.protocols").joinpath("data")
PROTOCOL_IDS: tuple[str, ...] = tuple(
    sorted(p.name.removesuffix(".toml") for p in DATA.iterdir() if p.name.endswith(".toml"))
)


@dataclass(frozen=True)
class Protocol:
    id: str
    name: str
    drug: str
    route: str
    version: str
    source: str
    raw: dict[str, Any]

    @property
    def weight_based(self) -> bool:
        return "max_mg_per_kg" in self.raw

    @property
    def limits(self) -> dict[str, Any]:
        return dict(self.raw["limits"])


@cache
def get_protocol(protocol_id: str) -> Protocol:
    """The protocol defined by ``data/<protocol_id>.toml``."""
    if protocol_id not in PROTOCOL_IDS:
        raise LookupError(f"unknown protocol {protocol_id!r}; known: {', '.join(PROTOCOL_IDS)}")
    raw = load(protocol_id, package="ketacare.clinical.protocols")
    if not raw.get("limits"):
        raise ValueError(f"protocol {protocol_id}.toml has no 'limits'")
    return Protocol(
        raw["id"], raw["name"], raw["drug"], raw["route"], raw["version"], raw["source"], raw
    )
