"""The worker verifies the audit trail and the stock ledgers every day and checkpoints them; a
chain tampered with fails the job with a message for the clinic admin's failed-jobs page (how
a failed job gets there: test_retries.py)."""

import pytest
from django_tasks import TaskResultStatus

from ketacare.audit import checkpoints
from ketacare.audit.models import AuditEvent
from ketacare.jobs.failures import JobError
from ketacare.jobs.tasks import verify_chains
from tests.audit.conftest import tamper  # noqa: F401 (fixture)
from tests.conftest import make_patient
from tests.jobs.conftest import row, run_worker


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("no_periodic_jobs")
def test_the_worker_verifies_a_sound_trail_and_checkpoints_it(clinic, nurse):
    make_patient(nurse, clinic)
    result = verify_chains.enqueue()
    run_worker()
    done = row(result)
    assert done.status == TaskResultStatus.SUCCESSFUL
    assert done.return_value["audit_chains"] >= 1
    recorded, problems = checkpoints.read(checkpoints.AUDIT_LOG)
    assert recorded and problems == []


def test_a_tampered_trail_fails_the_job_naming_the_chain_and_no_patient(
    clinic,
    nurse,
    tamper,  # noqa: F811
):
    patient = make_patient(nurse, clinic)
    event = AuditEvent.objects.filter(object_type="patient").first()
    tamper.update(event.pk, action="delete")
    with pytest.raises(JobError) as failure:
        verify_chains.call()
    message = str(failure.value)
    assert message.startswith("Tampering suspected in the audit trail")
    assert patient.family_name not in message
    recorded, _ = checkpoints.read(checkpoints.AUDIT_LOG)
    assert recorded == []  # a broken chain is not checkpointed
