"""The research export as an action: the cohort's de-identified files, of its consenting
patients only, recorded in the audit log."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from ketacare.accounts.models import Clinic
from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.registry.dataset import Cohort, load
from ketacare.registry.export.consent import LeftOut, consented_only, consenting, left_out_for
from ketacare.registry.export.safe_harbor import deidentify, installation_key
from ketacare.registry.export.writers import FORMATS, export_files, row_counts


def _cohort_facts(cohort: Cohort) -> dict[str, Any]:
    return {
        "clinic_id": cohort.clinic_id,
        "start": cohort.start.isoformat() if cohort.start else None,
        "end": cohort.end.isoformat() if cohort.end else None,
        "indication": cohort.indication,
        "route": cohort.route,
        "min_age": cohort.min_age,
        "max_age": cohort.max_age,
        "sex": cohort.sex,
    }


@dataclass(frozen=True)
class Export:
    """The files of one export by name, and its count of patients left out for want of
    consent as the exporting actor may see it."""

    files: dict[str, bytes]
    left_out: LeftOut


def export_cohort(
    actor: Actor, cohort: Cohort, formats: Iterable[str], key: bytes | None = None
) -> Export:
    """The cohort's de-identified files, of its patients with research-registry consent
    only, audited: who, the cohort, row counts, formats and how many patients were left out
    for want of consent (never a patient or research id). ``key`` defaults to the
    installation's."""
    formats = [f for f in FORMATS if f in set(formats)]
    if not formats:
        raise ValueError(f"Choose at least one format of {', '.join(FORMATS)}.")
    dataset = load(cohort)
    implausible = dataset.implausible
    # Read after the tables, so a withdrawal recorded while they were read still counts.
    consented = set(consenting(cohort.clinic_id).values_list("pk", flat=True))
    dataset, left_out = consented_only(dataset, consented)
    research = deidentify(dataset, key or installation_key())
    shown = left_out_for(actor, left_out)
    files = export_files(research, formats, shown, left_out_for(actor, implausible))
    with transaction.atomic():
        record(
            actor,
            Action.EXPORT,
            object_type="registry_export",
            clinic=actor.clinic or Clinic.objects.get(pk=cohort.clinic_id),
            changes={
                "cohort": _cohort_facts(cohort),
                "formats": formats,
                "rows": row_counts(research),
                "left_out_without_consent": left_out,
                "left_out_for_implausible_dates": implausible,
                "key": "installation" if key is None else "given",
            },
        )
    return Export(files, shown)
