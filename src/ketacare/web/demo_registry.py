"""The registry demo: a second, synthetic clinic with a year of history behind it, so that the
outcomes dashboard (``/registry/``) has something to say — the flow, response and remission
with their intervals, a durability curve with relapses, safety and misuse tables, and the
experimental prediction above its minimum data.

Riverside, the hand-made demo clinic, cannot hold this history: the synthetic clinic
generator (``ketacare.dev.synth``) fills only a clinic without patients, with staff of its own.
So the history goes to a clinic of its own, named so nobody mistakes it for a real one, and
two demo logins are added to it. Built once: a demo database that has it keeps it."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.accounts.permissions import Role
from ketacare.dev.synth import SynthParams, synthesize
from ketacare.patients.models import Patient
from ketacare.web.demo_data import ensure_staff

REGISTRY_CLINIC = "Ketacare Registry Demo (synthetic)"
# Enough that the prediction model's smaller outcome class clears its events-per-feature
# minimum (10 x 9 degrees of freedom) with a margin on any day the demo is started; fewer
# would cost less start-up time but leave the prediction panel withheld on some days.
REGISTRY_PATIENTS = 400
REGISTRY_MONTHS = 12
REGISTRY_SEED = 2026

# A medical director (sees the patients behind each figure and the prediction) and a
# researcher (the same report de-identified). A user belongs to one clinic, hence new users.
REGISTRY_DIRECTOR = "registry.director"
REGISTRY_RESEARCHER = "registry.researcher"
REGISTRY_STAFF = [
    (REGISTRY_DIRECTOR, "Amara", "Whitfield", Role.PRESCRIBER),
    (REGISTRY_RESEARCHER, "Jonas", "Berg", Role.RESEARCHER),
]


def registry_is_built() -> bool:
    """Whether the synthetic clinic already has its history (then seeding adds nothing)."""
    return Patient.objects.filter(clinic__name=REGISTRY_CLINIC).exists()


def seed_registry(
    patients: int = REGISTRY_PATIENTS, end: date | None = None
) -> list[tuple[str, str, str]]:
    """Create the synthetic registry clinic and its demo logins if missing; returns (user,
    role, clinic). The program ends at midnight starting ``end`` (default today), so its last
    simulated day is yesterday; for a seed and an end day it is always the same clinic."""
    # One transaction: a run that fails leaves no half-built clinic that would then be kept
    # (synth refuses to add to a clinic with patients). Inside it synth writes from this
    # process, which is also what a transaction needs.
    with transaction.atomic():
        if not registry_is_built():
            params = SynthParams(
                patients=patients,
                seed=REGISTRY_SEED,
                months=REGISTRY_MONTHS,
                clinic=REGISTRY_CLINIC,
                end=end or timezone.localdate(),
            )
            synthesize(params, bulk=True, writer="local")
        clinic = Clinic.objects.get(name=REGISTRY_CLINIC)
        accounts = []
        for username, first, last, role in REGISTRY_STAFF:
            ensure_staff(clinic, username, first, last, role)
            accounts.append((username, role.label, clinic.name))
    return accounts
