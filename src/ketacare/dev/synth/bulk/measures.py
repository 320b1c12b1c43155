"""What ``measures.actions`` writes: questionnaire responses entered by staff or answered by
link, the safety alerts they raise and their acknowledgement, and the links and reminders —
written by the actions' own builders (``write_response`` and the others) through the bulk
writer."""

from ketacare.actor import Actor
from ketacare.dev.synth.bulk.base import BulkBase
from ketacare.measures import actions as measures
from ketacare.measures.models import PatientLink, QuestionnaireResponse, SafetyAlert


class MeasuresOps(BulkBase):
    """Questionnaires, links and safety alerts as rows (``measures.actions``)."""

    def _remember_response(
        self, patient_id: int, response: QuestionnaireResponse, alerts: list[SafetyAlert]
    ) -> None:
        """The latest response per instrument and the open alerts, as later steps read them."""
        patient = self.patients[patient_id]
        patient.latest[response.instrument_id] = {
            "instrument": response.instrument_id,
            "total": response.total,
            "severity": response.severity,
            "completed_at": response.completed_at.isoformat(),
            "response_id": response.pk,
        }
        patient.open_alerts.extend(alert.pk for alert in alerts)

    def staff_response(
        self, actor: Actor, patient_id: int, instrument: str, answers: list[int], sex: str | None
    ) -> None:
        response, alerts = measures.write_response(
            self.writes,
            actor,
            self.patients[patient_id].model,
            instrument,
            answers,
            actor.now(),
            QuestionnaireResponse.Source.STAFF,
            sex=sex,
        )
        self._remember_response(patient_id, response, alerts)

    def acknowledge_safety(self, actor: Actor, patient_id: int, note: str) -> None:
        patient = self.patients[patient_id]
        for alert_id in patient.open_alerts:
            alert = SafetyAlert(pk=alert_id, patient_id=patient_id)
            measures.write_acknowledge(self.writes, actor, alert, note)
        patient.open_alerts = []

    def send_link(self, actor: Actor, patient_id: int, instrument: str) -> int:
        patient = self.patients[patient_id]
        link = measures.write_link(
            self.writes, actor, patient.model, instrument, PatientLink.Channel.SMS
        )
        patient.links[link.pk] = {"link": link}
        self.owners[("link", link.pk)] = patient
        return link.pk

    def _link(self, link_id: int) -> PatientLink:
        link: PatientLink = self.owners[("link", link_id)].links[link_id]["link"]
        return link

    def remind(self, actor: Actor, link_id: int) -> None:
        measures.write_reminded(self.writes, actor, self._link(link_id))

    def answer_link(self, link_id: int, answers: list[int]) -> None:
        link = self._link(link_id)
        response, alerts = measures.write_answer_link(self.writes, link, answers, self.clock.at)
        self._remember_response(link.patient_id, response, alerts)
