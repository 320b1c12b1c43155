"""Every step of the dosing day. Each runs in one transaction with its audit event; a refusal
raises SessionError naming every unmet condition and writes nothing. The hard stops live
here, not in the pages, so no request can go around them.

Each action loads and checks, then calls its builder ``write_<step>(writes, actor, ...)``,
which writes only through ``ketacare.writes.Writes`` — the database here, the bulk writer in
the synthetic clinic, which calls the same builders (docs/decisions/0113).

- ``common``: the refusal, the session loaded and locked, signatures, the shared writes;
- ``check_in``: opening a session, check-in, cancellation;
- ``observations``: vital signs, the pre-dose gate and its override;
- ``dosing``: the dose started, nasal devices, pump steps;
- ``events``: adverse events, alerts acknowledged;
- ``readiness``: the discharge criteria and when the patient became ready;
- ``discharge``: discharge and transfer.
"""

from ketacare.treatments.actions.check_in import (
    Checklist,
    cancel_session,
    check_in,
    check_in_problems,
    open_session,
    route_check_in,
    write_cancel,
    write_check_in,
    write_open_session,
)
from ketacare.treatments.actions.common import (
    DISCHARGE_SIGNATURE,
    GATE_OVERRIDE_SIGNATURE,
    TRANSFER_SIGNATURE,
    VITAL_FIELDS,
    Problem,
    SessionError,
    confirm_password,
    protocol_of,
)
from ketacare.treatments.actions.discharge import (
    discharge,
    transfer,
    transfer_deciders,
    write_discharge,
    write_transfer,
)
from ketacare.treatments.actions.dosing import (
    Supply,
    check_bedside_dose,
    devices_needed,
    give_device,
    infusion_step,
    start_dose,
    write_device,
    write_infusion_step,
    write_start_dose,
)
from ketacare.treatments.actions.events import (
    acknowledge_alert,
    adverse_event_audit,
    record_adverse_event,
    serious_criteria_labels,
    write_acknowledgement,
    write_adverse_event,
)
from ketacare.treatments.actions.observations import (
    gate_fields,
    observation_audit,
    override_gate,
    pre_dose_readings,
    pre_dose_verdict,
    record_observation,
    write_gate_override,
    write_observation,
)
from ketacare.treatments.actions.readiness import (
    discharge_blockers,
    left_to_waste,
    ready_at_after,
    ready_at_discharge,
    rechecks,
    write_readiness,
)

__all__ = [
    "DISCHARGE_SIGNATURE",
    "GATE_OVERRIDE_SIGNATURE",
    "TRANSFER_SIGNATURE",
    "VITAL_FIELDS",
    "Checklist",
    "Problem",
    "SessionError",
    "Supply",
    "acknowledge_alert",
    "adverse_event_audit",
    "cancel_session",
    "check_bedside_dose",
    "check_in",
    "check_in_problems",
    "confirm_password",
    "devices_needed",
    "discharge",
    "discharge_blockers",
    "gate_fields",
    "give_device",
    "infusion_step",
    "left_to_waste",
    "observation_audit",
    "open_session",
    "override_gate",
    "pre_dose_readings",
    "pre_dose_verdict",
    "protocol_of",
    "ready_at_after",
    "ready_at_discharge",
    "rechecks",
    "record_adverse_event",
    "record_observation",
    "route_check_in",
    "serious_criteria_labels",
    "start_dose",
    "transfer",
    "transfer_deciders",
    "write_acknowledgement",
    "write_adverse_event",
    "write_cancel",
    "write_check_in",
    "write_device",
    "write_discharge",
    "write_gate_override",
    "write_infusion_step",
    "write_observation",
    "write_open_session",
    "write_readiness",
    "write_start_dose",
    "write_transfer",
]
