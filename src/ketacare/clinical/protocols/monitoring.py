"""When a protocol asks for vital signs and how long the patient stays, from its data file."""

from dataclasses import dataclass

from ketacare.clinical.protocols.library import Protocol


@dataclass(frozen=True)
class VitalCheck:
    """One planned vital-sign check: ``at_min`` minutes after the dose starts (None for the
    check before discharge, whose time depends on the patient)."""

    at_min: int | None
    label: str


def observation_minutes(protocol: Protocol, dose_minutes: int = 0) -> int:
    """The minimum time from the start of the dose before discharge may be considered."""
    monitoring = protocol.monitoring
    if "min_observation_minutes_after_dose" in monitoring:
        return dose_minutes + int(monitoring["min_observation_minutes_after_dose"])
    return int(monitoring["min_observation_minutes"])


def planned_vital_signs(protocol: Protocol, dose_minutes: int = 0) -> list[VitalCheck]:
    """The protocol's vital-sign checks for a dose lasting ``dose_minutes`` (an infusion's
    length; 0 for an injection or nasal devices), in time order."""
    monitoring = protocol.monitoring
    checks: list[VitalCheck] = []
    if monitoring.get("vitals_before_dose"):
        checks.append(VitalCheck(0, "before dosing"))
    until = observation_minutes(protocol, dose_minutes)
    during = monitoring.get("vitals_every_min_during_dose")
    if during and dose_minutes:
        checks += [
            VitalCheck(t, "during the dose") for t in range(int(during), dose_minutes + 1, during)
        ]
    after = monitoring.get("vitals_every_min_after_dose")
    if after:
        checks += [
            VitalCheck(t, "after the dose")
            for t in range(dose_minutes + int(after), until + 1, int(after))
        ]
    checks += [VitalCheck(int(t), "after the dose") for t in monitoring.get("vitals_at_min", [])]
    checks.sort(key=lambda c: c.at_min or 0)
    if monitoring.get("vitals_before_discharge"):
        checks.append(VitalCheck(None, "before discharge"))
    return checks
