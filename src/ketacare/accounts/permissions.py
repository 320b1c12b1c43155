"""The one permission table: which role may do which action.

Every view and API endpoint names one action from this table (see ``access.requires``);
the permission-matrix test walks every URL with every role against it.
"""

from enum import StrEnum


class Role(StrEnum):
    PRESCRIBER = "prescriber"
    NURSE = "nurse"
    COORDINATOR = "coordinator"
    CLINIC_ADMIN = "clinic_admin"
    RESEARCHER = "researcher"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.PRESCRIBER: "Prescriber",
    Role.NURSE: "Nurse",
    Role.COORDINATOR: "Intake coordinator",
    Role.CLINIC_ADMIN: "Clinic admin",
    Role.RESEARCHER: "Researcher",
}

P, N, C, A, R = (
    Role.PRESCRIBER,
    Role.NURSE,
    Role.COORDINATOR,
    Role.CLINIC_ADMIN,
    Role.RESEARCHER,
)

# action -> roles allowed. Researchers see de-identified registry data only, never a chart.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "patient.view": frozenset({P, N, C, A}),
    "patient.create": frozenset({P, N, C}),
    "patient.edit": frozenset({P, N, C}),
    "patient.record_measurement": frozenset({P, N}),
    "patient.record_consent": frozenset({P, N, C}),
    "measures.view": frozenset({P, N, C}),
    "measures.enter": frozenset({P, N}),
    "measures.send_link": frozenset({P, N, C}),
    "measures.assign": frozenset({P, N, C}),
    "measures.export": frozenset({P, N}),
    # Nurses and coordinators read plans (the dosing day and scheduling need them); nurses
    # also fill in evaluations. Only a prescriber signs, overrides or drafts a plan.
    "planning.view": frozenset({P, N, C}),
    "planning.evaluate": frozenset({P, N}),
    "planning.addendum": frozenset({P, N}),
    "planning.sign": frozenset({P}),
    "planning.reschedule": frozenset({P, N, C}),
    # The eligibility rules are read by everyone who works with patients; the clinic's
    # policy rules are set by its prescribers (the medical director among them).
    "planning.rules_view": frozenset({P, N, C, A}),
    "planning.rules_edit": frozenset({P}),
    # Controlled substances: nurses, prescribers and clinic admins move stock; only clinic
    # admins count it, report losses and adjust the book; only a prescriber may release an
    # expired lot.
    "inventory.view": frozenset({P, N, A}),
    "inventory.move": frozenset({P, N, A}),
    "inventory.count": frozenset({A}),
    "inventory.setup": frozenset({A}),
    "inventory.override_expiry": frozenset({P}),
    # The dosing day: everyone who schedules sees the board, and clinic admins (it is their
    # landing page: who is in which chair today); nurses and prescribers run sessions; only a
    # prescriber overrides the gate, changes a dose or acknowledges alerts.
    "treatments.view": frozenset({P, N, C, A}),
    "treatments.run": frozenset({P, N}),
    "treatments.prescribe": frozenset({P}),
    # The esketamine REMS Patient Monitoring Forms and their 7-day deadlines.
    "treatments.rems": frozenset({P, N, A}),
    # The appointment book: everyone who treats or schedules reads it; coordinators and
    # nurses book and change appointments and record payers' authorisations; the clinic admin
    # sets up what is booked in (chairs, opening hours, closures, staff shifts).
    # The intake queue: everyone who treats or schedules reads the referrals; coordinators and
    # nurses work them (contact, close, accept).
    "referrals.view": frozenset({P, N, C, A}),
    "referrals.manage": frozenset({N, C}),
    "scheduling.view": frozenset({P, N, C, A}),
    "scheduling.book": frozenset({N, C}),
    "scheduling.setup": frozenset({A}),
    # Appointment reminders: whoever reads the book reads their delivery log; the clinic
    # admin sets the lead times and channels.
    "reminders.view": frozenset({P, N, C, A}),
    "reminders.setup": frozenset({A}),
    # A private iCalendar feed of one's own appointments (initials and times only): whoever
    # reads the book may make, rotate or stop theirs.
    "scheduling.feed": frozenset({P, N, C, A}),
    # The outcomes registry: the medical director (a prescriber) and clinic admins see figures
    # and the patients behind them; researchers see counts and statistics only, small cells
    # and any count that would give one away by subtraction suppressed (registry.disclosure).
    "registry.view": frozenset({P, A, R}),
    "registry.patients": frozenset({P, A}),
    "alert.view": frozenset({P, N}),
    "alert.acknowledge": frozenset({P}),
    "audit.view": frozenset({A}),
    "staff.view": frozenset({A}),
    "staff.manage": frozenset({A}),
    # The clinic's own details: address and phone (on the REMS form) and the on-call prescriber
    # told at once of a patient's safety alert.
    "clinic.manage": frozenset({A}),
    # Row-level, Safe Harbor de-identified and not suppressed: for a data-use agreement.
    "registry.export": frozenset({P, A, R}),
    # Background jobs that failed after every retry: the clinic admin runs the clinic's
    # systems and tells whoever runs the server (the page shows no patient's data).
    "jobs.view_failed": frozenset({A}),
    "account.use": frozenset({P, N, C, A, R}),
    # Personal access tokens for the JSON API: a token does what its owner's role may do.
    "api.tokens": frozenset({P, N, C, A, R}),
    # The patient portal: a patient signed in with a one-time code, on their own record only
    # (ketacare.portal.access.portal_requires). No staff role has these: a staff member is no
    # patient there, and a patient is no staff member here.
    "portal.home": frozenset(),
    "portal.appointments": frozenset(),
    "portal.questionnaires": frozenset(),
    "portal.record": frozenset(),
    "portal.consents": frozenset(),
    # Writing to the clinic from the portal (non-urgent; the page gives the crisis lines).
    "portal.messages": frozenset(),
    # The clinic's side of those messages: whoever treats or coordinates a patient's care
    # reads and answers them (the inbox and the chart); admins and researchers do not.
    "messages.view": frozenset({P, N, C}),
    "messages.reply": frozenset({P, N, C}),
}

# The actions above that belong to a signed-in patient, not to a staff role.
PATIENT_ACTIONS = frozenset(action for action in PERMISSIONS if action.startswith("portal."))


# Where each role starts ("/"): the page of its working day.
LANDING: dict[Role, str] = {
    Role.PRESCRIBER: "chair-board",
    Role.NURSE: "chair-board",
    Role.CLINIC_ADMIN: "chair-board",
    Role.COORDINATOR: "patient-list",
    Role.RESEARCHER: "registry-dashboard",
}


def allowed(role: Role | str | None, action: str) -> bool:
    """Whether ``role`` may perform ``action``. Unknown actions are a programming error."""
    roles = PERMISSIONS[action]
    return role is not None and Role(role) in roles
