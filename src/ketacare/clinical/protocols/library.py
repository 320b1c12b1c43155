"""The protocol library: one TOML file per protocol, each with its version and sources."""

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any

from ketacare.clinical.datafiles import load
from ketacare.clinical.eligibility.rules import ROUTES
from ketacare.clinical.pk.models import MODEL_IDS

DATA = files("ketacare.clinical.protocols").joinpath("data")
_REQUIRED = ("limits", "induction", "monitoring", "pre_dose", "eligibility_route", "pk_model")
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

    @property
    def eligibility_route(self) -> str:
        """The route the eligibility rules judge for this protocol (``iv_ketamine`` ...)."""
        return str(self.raw["eligibility_route"])

    @property
    def pk_model(self) -> str:
        """The pharmacokinetic model the planner draws this protocol's doses with."""
        return str(self.raw["pk_model"])

    @property
    def monitoring(self) -> dict[str, Any]:
        return dict(self.raw["monitoring"])

    @property
    def pre_dose_instructions(self) -> tuple[str, ...]:
        return tuple(self.raw["pre_dose"]["instructions"])

    @property
    def starting_dose(self) -> Decimal:
        """mg/kg for a weight-based protocol, mg for a fixed-dose one."""
        key = "starting_mg_per_kg" if self.weight_based else "first_dose_mg"
        return Decimal(str(self.raw[key]))

    @property
    def required_indication(self) -> str | None:
        """The only indication this protocol may be planned for, if it is restricted."""
        value = self.raw.get("requires_indication")
        return str(value) if value else None

    @property
    def dose_choices(self) -> tuple[Decimal, ...]:
        """The doses a plan may start at: the starting dose and the titration steps (mg/kg),
        or the label's starting doses (mg)."""
        if self.weight_based:
            steps = [self.raw["starting_mg_per_kg"], *self.raw.get("titration_mg_per_kg", [])]
        else:
            steps = self.raw.get("starting_doses_mg", self.raw["allowed_doses_mg"])
        return tuple(Decimal(str(s)) for s in steps)


@cache
def get_protocol(protocol_id: str) -> Protocol:
    """The protocol defined by ``data/<protocol_id>.toml``."""
    if protocol_id not in PROTOCOL_IDS:
        raise LookupError(f"unknown protocol {protocol_id!r}; known: {', '.join(PROTOCOL_IDS)}")
    raw = load(protocol_id, package="ketacare.clinical.protocols")
    for section in _REQUIRED:
        if not raw.get(section):
            raise ValueError(f"protocol {protocol_id}.toml has no {section!r}")
    if raw["eligibility_route"] not in ROUTES:
        raise ValueError(
            f"protocol {protocol_id}.toml: eligibility_route {raw['eligibility_route']!r} "
            f"is not one of {', '.join(ROUTES)}"
        )
    if raw["pk_model"] not in MODEL_IDS:
        raise ValueError(f"protocol {protocol_id}.toml: unknown pk_model {raw['pk_model']!r}")
    return Protocol(
        raw["id"], raw["name"], raw["drug"], raw["route"], raw["version"], raw["source"], raw
    )
