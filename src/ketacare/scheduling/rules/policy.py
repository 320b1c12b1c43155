"""The booking policy, read from ``data/booking.toml``, and how long a dose holds a chair,
read from the protocol's own file."""

from dataclasses import dataclass
from functools import cache

from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols.library import Protocol
from ketacare.clinical.protocols.monitoring import observation_minutes


@dataclass(frozen=True)
class Policy:
    turnover_minutes: int
    nurse_role: str
    patients_per_nurse: int
    prescriber_role: str
    prescriber_drugs: frozenset[str]
    route_needs: dict[str, frozenset[str]]
    capability_labels: dict[str, str]
    step_minutes: int
    max_days_late: int

    def __post_init__(self) -> None:
        if self.patients_per_nurse < 1 or self.step_minutes < 1 or self.turnover_minutes < 0:
            raise ValueError(f"impossible booking policy {self}")

    def needs(self, protocol: Protocol) -> frozenset[str]:
        """The chair capabilities a dose of ``protocol`` needs."""
        return self.route_needs[protocol.route]

    def capability_words(self, capability: str) -> str:
        return self.capability_labels.get(capability, capability.replace("_", " "))


@cache
def booking_policy() -> Policy:
    """The policy of ``data/booking.toml``."""
    data = load("booking", package="ketacare.scheduling.rules")
    equipment = data["equipment"]
    return Policy(
        turnover_minutes=int(data["turnover"]["minutes"]),
        nurse_role=str(data["nurse_ratio"]["role"]),
        patients_per_nurse=int(data["nurse_ratio"]["patients_per_nurse"]),
        prescriber_role=str(data["prescriber_on_site"]["role"]),
        prescriber_drugs=frozenset(data["prescriber_on_site"]["drugs"]),
        route_needs={route: frozenset(needs) for route, needs in equipment["routes"].items()},
        capability_labels=dict(equipment["labels"]),
        step_minutes=int(data["grid"]["step_minutes"]),
        max_days_late=int(data["grid"]["max_days_late"]),
    )


def dose_minutes(protocol: Protocol) -> int:
    """How long the dose itself lasts: an infusion's longest length (the chair is held for the
    longest the prescriber may choose), 0 for an injection or nasal devices, whose time is
    inside the observation counted from the first device."""
    return max((int(m) for m in protocol.raw.get("infusion_minutes", [])), default=0)


def care_minutes(protocol: Protocol) -> int:
    """The patient's time in the chair: the dose and the protocol's minimum observation."""
    return observation_minutes(protocol, dose_minutes(protocol))


def slot_minutes(protocol: Protocol, policy: Policy) -> int:
    """The minimum slot the protocol holds a chair for: its care time and the turnover."""
    return care_minutes(protocol) + policy.turnover_minutes


@dataclass(frozen=True)
class GatePolicy:
    """Which gates of a dosing appointment block its booking (the rest are flags), and whether
    a patient without any payer authorisation is flagged."""

    blocks: frozenset[str]
    authorisation_required: bool
    source: str


@cache
def gate_policy() -> GatePolicy:
    """The ``[gates]`` of ``data/booking.toml``."""
    gates = load("booking", package="ketacare.scheduling.rules")["gates"]
    suffix = "_blocks"
    return GatePolicy(
        blocks=frozenset(
            k.removesuffix(suffix) for k, v in gates.items() if k.endswith(suffix) and v
        ),
        authorisation_required=bool(gates["authorisation_required"]),
        source=str(gates["source"]),
    )
