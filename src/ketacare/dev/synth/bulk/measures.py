"""What ``measures.actions`` writes: questionnaire responses entered by staff or answered by
link, the safety alerts they raise and their acknowledgement, and the links and reminders."""

from datetime import timedelta

from django.conf import settings

from ketacare.accounts.access import Actor
from ketacare.audit.record import Action, field_changes
from ketacare.clinical.instruments import get as get_instrument
from ketacare.clinical.instruments import score
from ketacare.clinical.safety import safety_signals
from ketacare.dev.synth.bulk.base import BulkBase
from ketacare.dev.synth.clock import Clock
from ketacare.dev.synth.setup import Staff, StockSetup
from ketacare.dev.synth.sinks import LocalSink, PipeSink
from ketacare.measures import actions as measures
from ketacare.measures.models import PatientLink, QuestionnaireResponse, SafetyAlert


class MeasuresOps(BulkBase):
    """Questionnaires, links and safety alerts as rows (``measures.actions``)."""

    def __init__(
        self, stock: StockSetup, staff: Staff, clock: Clock, sink: LocalSink | PipeSink
    ) -> None:
        super().__init__(stock, staff, clock, sink)
        self.expiry = timedelta(hours=settings.KETACARE_LINK_EXPIRY_HOURS)

    def _response(
        self,
        actor: Actor,
        patient_id: int,
        instrument_id: str,
        answers: list[int],
        source: str,
        sex: str | None,
        link_id: int | None,
    ) -> None:
        """What ``measures.actions._save_response`` writes: the scored response, its audit
        event, and a safety alert (with its own) for each signal."""
        patient = self.patients[patient_id]
        instrument = get_instrument(instrument_id)
        result = score(instrument, answers, sex=sex or measures.sex_for_scoring(patient.model))
        now = self.clock.at
        pk = self.w.insert(
            QuestionnaireResponse,
            patient_id=patient_id,
            instrument_id=instrument.id,
            instrument_version=instrument.version,
            answers=list(answers),
            total=result.total,
            severity=result.severity or "",
            flags=list(result.flags),
            subscales=result.subscales,
            completed_at=now,
            source=source,
            entered_by_id=actor.user.pk if actor.user is not None else None,
            link_id=link_id,
        )
        patient.latest[instrument.id] = {
            "instrument": instrument.id,
            "total": result.total,
            "severity": result.severity or "",
            "completed_at": now.isoformat(),
            "response_id": pk,
        }
        clinic_id = self.clinic.pk
        self.audit(
            actor,
            Action.CREATE,
            "questionnaire_response",
            pk,
            patient_id,
            field_changes(
                {},
                {
                    "instrument": instrument.id,
                    "answers": list(answers),
                    "total": result.total,
                    "severity": result.severity,
                    "flags": list(result.flags),
                },
            ),
            clinic_id=clinic_id,
        )
        for signal in safety_signals(result):
            alert = self.w.insert(
                SafetyAlert,
                patient_id=patient_id,
                clinic_id=clinic_id,
                response_id=pk,
                flag=signal.flag,
                rule=signal.rule,
                source=signal.source,
                created_at=now,
            )
            patient.open_alerts.append(alert)
            self.audit(
                actor,
                Action.CREATE,
                "safety_alert",
                alert,
                patient_id,
                field_changes({}, {"flag": signal.flag}),
                clinic_id=clinic_id,
            )

    def staff_response(
        self, actor: Actor, patient_id: int, instrument: str, answers: list[int], sex: str | None
    ) -> None:
        self._response(
            actor, patient_id, instrument, answers, QuestionnaireResponse.Source.STAFF, sex, None
        )

    def acknowledge_safety(self, actor: Actor, patient_id: int, note: str) -> None:
        assert actor.user is not None
        patient = self.patients[patient_id]
        for alert in patient.open_alerts:
            self.w.update(
                SafetyAlert,
                alert,
                acknowledged_by_id=actor.user.pk,
                acknowledged_at=self.clock.at,
                acknowledgement_note=note,
            )
            self.audit(
                actor,
                Action.UPDATE,
                "safety_alert",
                alert,
                patient_id,
                field_changes({"acknowledged": False}, {"acknowledged": True, "note": note}),
            )
        patient.open_alerts = []

    def send_link(self, actor: Actor, patient_id: int, instrument: str) -> int:
        assert actor.user is not None
        now = self.clock.at
        channel = PatientLink.Channel.SMS
        pk = self.w.insert(
            PatientLink,
            patient_id=patient_id,
            instrument_id=instrument,
            channel=channel,
            created_by_id=actor.user.pk,
            created_at=now,
            expires_at=now + self.expiry,
        )
        self.patients[patient_id].links[pk] = {"instrument": instrument}
        self.owners[("link", pk)] = self.patients[patient_id]
        self.audit(
            actor,
            Action.CREATE,
            "patient_link",
            pk,
            patient_id,
            field_changes({}, {"instrument": instrument, "channel": channel}),
        )
        return pk

    def _link_patient(self, link_id: int) -> int:
        return self.owners[("link", link_id)].pk

    def remind(self, actor: Actor, link_id: int) -> None:
        patient_id = self._link_patient(link_id)
        self.w.update(PatientLink, link_id, reminded_at=self.clock.at)
        self.audit(
            actor,
            Action.UPDATE,
            "patient_link",
            link_id,
            patient_id,
            {"reminder_sent": {"old": False, "new": True}},
            clinic_id=self.clinic.pk,
        )

    def answer_link(self, link_id: int, answers: list[int]) -> None:
        patient_id = self._link_patient(link_id)
        link = self.patients[patient_id].links[link_id]
        self.w.update(PatientLink, link_id, used_at=self.clock.at)
        patient = Actor(user=None, role="patient", clinic=self.clinic, ip=None)
        self._response(
            patient,
            patient_id,
            link["instrument"],
            answers,
            QuestionnaireResponse.Source.PATIENT_LINK,
            None,
            link_id,
        )
