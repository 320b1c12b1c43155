"""The installation's own periodic job: every chain verified and checkpointed (what
`ketacare audit verify` and `ketacare inventory verify` do by hand), so that tampering with
the audit trail or the stock ledger is found within a day without anyone running a command."""

from django_tasks import task

from ketacare.audit import checkpoints
from ketacare.audit.verify import verify_chain
from ketacare.inventory.chain import ledger_head, verify
from ketacare.inventory.models import Registration
from ketacare.jobs.failures import JobError


@task()
def verify_chains() -> dict[str, int]:
    """The audit trail's and the controlled-substance ledgers' hash chains, verified against
    their signed checkpoints; the verified heads checkpointed. A broken chain fails the job:
    after its retries it stays on the clinic admin's failed-jobs page, with the chain named
    and no patient's data."""
    verdict = verify_chain()
    registrations = list(Registration.objects.order_by("pk"))
    problems = verify(registrations)
    if not verdict.ok or problems:
        broken = [] if verdict.ok else ["the audit trail"]
        broken += [
            f"the ledger of {p.label}" if p.registration else "the ledger checkpoints"
            for p in problems
        ]
        raise JobError(
            f"Tampering suspected in {', '.join(broken)}: run `ketacare audit verify` and "
            "`ketacare inventory verify` on the server for the details."
        )
    # The heads as verified: the next run holds the database to at least these.
    checkpoints.append(checkpoints.AUDIT_LOG, verdict.heads)
    checkpoints.append(checkpoints.LEDGER_LOG, [ledger_head(r) for r in registrations])
    return {"audit_chains": len(verdict.heads), "ledgers": len(registrations)}
