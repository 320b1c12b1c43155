"""Research-registry consent: only patients whose latest consent is granted are exported,
and how many were left out, as the viewer may see that count."""

from dataclasses import dataclass

import pandas as pd
from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from ketacare.accounts.permissions import allowed
from ketacare.actor import SYSTEM, Actor
from ketacare.clinical.outcomes.cohort import config as cohort_config
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.registry.dataset import Dataset

CONSENT_RULE = (
    "Clinic policy: a patient is exported only while their latest research-registry consent "
    "is granted; patients who never gave it or withdrew it are left out of every file."
)


def _research_consent() -> Coalesce:
    """Per patient, the decision of the latest research-registry consent record ("" when there
    is none): the latest signed, then the latest recorded, as the dosing-day check reads the
    treatment consent."""
    latest = (
        ConsentRecord.objects.filter(
            patient=OuterRef("pk"), kind=ConsentRecord.Kind.RESEARCH_REGISTRY
        )
        .order_by("-signed_at", "-id")
        .values("decision")[:1]
    )
    return Coalesce(Subquery(latest), Value(""))


def consenting(clinic_id: int) -> QuerySet[Patient]:
    """The clinic's patients whose latest research-registry consent is granted."""
    return (
        Patient.objects.filter(clinic_id=clinic_id)
        .alias(research_consent=_research_consent())
        .filter(research_consent=ConsentRecord.Decision.GRANTED)
    )


def without_consent(clinic_id: int) -> int:
    """How many of the clinic's patients an export would leave out for want of consent."""
    return (
        Patient.objects.filter(clinic_id=clinic_id)
        .alias(research_consent=_research_consent())
        .exclude(research_consent=ConsentRecord.Decision.GRANTED)
        .count()
    )


def consented_only(dataset: Dataset, consented: set[int]) -> tuple[Dataset, int]:
    """The dataset without the patients outside ``consented``, in every table, and how many
    of its patients that left out."""

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        return frame[frame["patient_id"].isin(consented)].reset_index(drop=True)

    patients = keep(dataset.patients)
    return (
        Dataset(
            patients,
            keep(dataset.sessions),
            keep(dataset.adverse_events),
            keep(dataset.scores),
        ),
        len(dataset.patients) - len(patients),
    )


@dataclass(frozen=True)
class LeftOut:
    """Patients left out for want of research-registry consent, as the viewer may see the
    count: None below the small-cell minimum for a viewer who may not see small cells."""

    count: int | None
    minimum: int

    def __str__(self) -> str:
        return f"< {self.minimum}" if self.count is None else str(self.count)


def left_out_for(actor: Actor, count: int) -> LeftOut:
    """``count`` as ``actor`` may see it: exact for staff who may see the patients behind the
    registry's figures (and for the management command, run with the database at hand); for
    the researcher, hidden below cohort.toml's small-cell minimum, 0 included, as on the
    dashboard."""
    minimum = cohort_config.settings().small_cell_minimum
    exact = actor.role == SYSTEM.role or allowed(actor.role, "registry.patients")
    return LeftOut(count if exact or count >= minimum else None, minimum)
