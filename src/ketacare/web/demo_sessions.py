"""Today's chair board for the demo clinic: one session in every state, made through the
dosing day's actions (so gate, dispensing, alerts and notes are real). What happened earlier
today is recorded at its time by running those actions with the clock set back."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from decimal import Decimal
from unittest import mock

from django.utils import timezone

from ketacare.accounts.access import Actor
from ketacare.accounts.models import Clinic, User
from ketacare.accounts.permissions import Role
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import Signature
from ketacare.inventory.models import Location, Lot, Product, Registration
from ketacare.measures.models import SafetyAlert
from ketacare.patients import actions as patient_actions
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.planning import actions as planning
from ketacare.planning.actions import PlanRequest
from ketacare.planning.models import Evaluation
from ketacare.treatments import actions
from ketacare.treatments.actions import Checklist, Supply
from ketacare.treatments.models import DoseStep, TreatmentSession

READY = Checklist(True, True, "not_applicable", True)
NORMAL = {"systolic": 126, "diastolic": 80, "heart_rate": 74, "spo2": 98, "respiratory_rate": 14}


# The board's day reaches back this far (the earliest step is 320 minutes before "now").
DAY_SPAN = timedelta(hours=6)


@contextmanager
def _clock(minutes_ago: float) -> Iterator[None]:
    """Run actions as if it were ``minutes_ago`` minutes ago: the demo's morning. In the small
    hours, "now" is six hours after midnight instead, so that the whole board stays on today
    (check-in must happen on the session's day; some steps are then ahead of the clock)."""
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time(0, 0)))
    now = max(timezone.now(), midnight + DAY_SPAN)
    with mock.patch("django.utils.timezone.now", return_value=now - timedelta(minutes=minutes_ago)):
        yield


class _Day:
    def __init__(self, clinic: Clinic, password: str) -> None:
        def member(role: Role) -> Actor:
            user = User.objects.filter(memberships__clinic=clinic, memberships__role=role).first()
            return Actor(user=user, role=role.value, clinic=clinic, ip="127.0.0.1")

        self.clinic, self.password = clinic, password
        self.nurse, self.prescriber = member(Role.NURSE), member(Role.PRESCRIBER)
        self.registration = Registration.objects.get(clinic=clinic)
        self.cabinet = Location.objects.get(
            registration=self.registration, kind=Location.Kind.CABINET
        )
        self.lots = {
            drug: self._today_lot(drug, ndc, units)
            for drug, ndc, units in (
                ("racemic_ketamine", "00000-0101-20", "200"),
                ("esketamine", "00000-0228-02", "12"),
            )
        }

    def _today_lot(self, drug: str, ndc: str, units: str) -> Lot:
        """This morning's delivery, straight to the treatment room's cabinet."""
        with _clock(240):
            return inventory.receive(
                self.nurse,
                self.registration.pk,
                product_id=Product.objects.get(ndc=ndc).pk,
                lot_number=f"{drug[:3].upper()}-{timezone.localdate():%y%m%d}",
                expires_on=timezone.localdate() + timedelta(days=365),
                location_id=self.cabinet.pk,
                units=units,
                supplier="Springfield Specialty Pharmacy",
                invoice=f"INV-{timezone.localdate():%y%m%d}",
            ).lot

    def supply(self, drug: str, units: str) -> Supply:
        return Supply(self.registration.pk, self.lots[drug].pk, self.cabinet.pk, units)

    def plan_today(self, patient: Patient, esketamine: bool) -> TreatmentSession:
        """Evaluation, signed plan starting today, consent, and session 1 on the board."""
        with _clock(300):
            answers = _clear_answers()
            evaluation = planning.start_evaluation(self.nurse, patient, answers, "")
            planning.complete_evaluation(self.nurse, evaluation.pk)
            planning.sign_evaluation(self.prescriber, evaluation.pk, self.password)
            request = (
                PlanRequest("esketamine_trd", Decimal("56"), timezone.localdate())
                if esketamine
                else PlanRequest(
                    "iv_ketamine", Decimal("0.5"), timezone.localdate(), Decimal("10"), 40
                )
            )
            # Consent before the signature: a plan is signed on a current treatment consent.
            kinds = (
                [ConsentRecord.Kind.TREATMENT_ESKETAMINE, ConsentRecord.Kind.REMS_ENROLLMENT]
                if esketamine
                else [ConsentRecord.Kind.TREATMENT_KETAMINE]
            )
            for kind in kinds:
                patient_actions.record_consent(
                    self.nurse,
                    patient,
                    {
                        "kind": kind,
                        "version": "2026-1",
                        "decision": "granted",
                        "signed_at": timezone.now(),
                        "signed_by": patient.full_name,
                    },
                )
            plan = planning.draft_plan(self.prescriber, evaluation.pk, request)
            plan = planning.sign_plan(self.prescriber, plan.pk, self.password)
            chair = f"Chair {TreatmentSession.objects.filter(clinic=self.clinic).count() + 1}"
            return actions.open_session(self.nurse, plan.sessions.get(number=1).pk, chair)

    def dose(self, session: TreatmentSession, minutes_ago: float) -> None:
        esketamine = session.plan.protocol_id.startswith("esketamine")
        with _clock(minutes_ago + 15):
            actions.check_in(self.nurse, session.pk, READY)
        with _clock(minutes_ago + 10):
            actions.record_observation(self.nurse, session.pk, NORMAL)
        with _clock(minutes_ago):
            drug, units = ("esketamine", "2") if esketamine else ("racemic_ketamine", "20")
            actions.start_dose(self.nurse, session.pk, self.supply(drug, units))
        if esketamine:
            with _clock(minutes_ago - 5):
                actions.give_device(self.nurse, session.pk)

    def observe(self, session: TreatmentSession, minutes_ago: float, **values: int) -> None:
        with _clock(minutes_ago):
            actions.record_observation(self.nurse, session.pk, {**NORMAL, **values})

    def waste_remainder(self, session: TreatmentSession, minutes_ago: float) -> None:
        session.refresh_from_db()
        entry = session.dispense
        leftover = entry.quantity_mg - (session.dose_mg or 0)
        if leftover <= 0:
            return
        assert self.prescriber.user is not None
        with _clock(minutes_ago):
            inventory.waste(
                self.nurse,
                self.registration.pk,
                dispense_id=entry.pk,
                units=(leftover / entry.lot.product.mg_per_unit).quantize(Decimal("0.01")),
                reason="Remainder of a single-use vial, drawn into the sharps container.",
                witness=Signature(self.prescriber.user.get_username(), self.password),
            )


def _clear_answers() -> dict[str, object]:
    from ketacare.web.demo_data import CLEAR_EVALUATION

    return dict(CLEAR_EVALUATION)


def _scheduled(day: _Day, patient: Patient) -> None:
    day.plan_today(patient, esketamine=False)


def _gate_stopped(day: _Day, patient: Patient) -> None:
    """Checked in; the pre-dose blood pressure stopped the gate: a prescriber must decide."""
    session = day.plan_today(patient, esketamine=True)
    with _clock(12):
        actions.check_in(day.nurse, session.pk, READY)
    day.observe(session, 8, systolic=152, diastolic=94)


def _dosing(day: _Day, patient: Patient) -> None:
    """An IV infusion running for 20 minutes, vitals every 10."""
    session = day.plan_today(patient, esketamine=False)
    day.dose(session, 20)
    day.observe(session, 10, systolic=138, diastolic=86, moaas=4, cadss=12)


def _monitoring_with_alert(day: _Day, patient: Patient) -> None:
    """Esketamine 50 minutes ago; the 40-minute blood pressure raised an alert."""
    session = day.plan_today(patient, esketamine=True)
    day.dose(session, 50)
    day.observe(session, 10, systolic=184, diastolic=106, heart_rate=96, moaas=4, cadss=18)
    with _clock(8):
        actions.record_adverse_event(
            day.nurse, session.pk, "nausea", "mild", intervention="Ondansetron 4 mg ODT"
        )


def _ready_for_discharge(day: _Day, patient: Patient) -> None:
    """IV infusion ended an hour ago, vitals back to normal, remainder wasted."""
    session = day.plan_today(patient, esketamine=False)
    day.dose(session, 110)
    day.observe(session, 100, systolic=142, diastolic=88, moaas=4, cadss=8)
    with _clock(70):
        actions.infusion_step(day.nurse, session.pk, DoseStep.Kind.INFUSION_END)
    day.observe(session, 5, moaas=5, cadss=0)
    day.waste_remainder(session, 60)


def _discharged(day: _Day, patient: Patient) -> None:
    """Esketamine this morning, discharged after two hours: its REMS form is due."""
    session = day.plan_today(patient, esketamine=True)
    day.dose(session, 170)
    day.observe(session, 130, systolic=146, diastolic=90, moaas=4, cadss=10)
    day.observe(session, 45, moaas=5, cadss=0)
    with _clock(40):
        actions.discharge(
            day.nurse,
            session.pk,
            dissociation_resolved=True,
            responsible_adult_present=False,
            password=day.password,
        )


def _gate_cleared_by_repeat(day: _Day, patient: Patient) -> None:
    """The gate stopped a hurried 154/96; seven minutes' rest later 132/84 reopened it."""
    session = day.plan_today(patient, esketamine=False)
    with _clock(45):
        actions.check_in(day.nurse, session.pk, READY)
    day.observe(session, 40, systolic=154, diastolic=96)
    day.observe(session, 33, systolic=132, diastolic=84)
    with _clock(30):
        actions.start_dose(day.nurse, session.pk, day.supply("racemic_ketamine", "20"))
    day.observe(session, 20, systolic=136, diastolic=86, moaas=4, cadss=10)


def _transferred(day: _Day, patient: Patient) -> None:
    """Esketamine; at 40 minutes 198/118 with a headache: the prescriber sent her to the
    emergency department (a serious adverse event: hospitalisation). Her REMS form is due."""
    session = day.plan_today(patient, esketamine=True)
    day.dose(session, 100)
    day.observe(session, 60, systolic=198, diastolic=118, heart_rate=104, moaas=5, cadss=6)
    with _clock(58):
        actions.record_adverse_event(
            day.nurse,
            session.pk,
            "hypertension",
            "severe",
            "Severe headache with 198/118",
            "Prescriber assessed; ambulance called",
            serious_criteria=("hospitalisation",),
        )
        alert = session.alerts.get()
        actions.acknowledge_alert(
            day.prescriber, alert.pk, "Hypertensive urgency with headache: emergency department."
        )
    with _clock(45):
        assert day.prescriber.user is not None
        actions.transfer(
            day.nurse,
            session.pk,
            destination="Springfield General Hospital, emergency department (ambulance)",
            reason="Blood pressure 198/118 with a severe headache 40 minutes after the dose.",
            decided_by_id=day.prescriber.user.pk,
            password=day.password,
        )


def _cancelled(day: _Day, patient: Patient) -> None:
    session = day.plan_today(patient, esketamine=False)
    with _clock(30):
        actions.cancel_session(day.nurse, session.pk, "Patient phoned: fever since last night.")


STATES: list[Callable[[_Day, Patient], None]] = [
    _scheduled,
    _gate_stopped,
    _dosing,
    _monitoring_with_alert,
    _ready_for_discharge,
    _discharged,
    _gate_cleared_by_repeat,
    _transferred,
    _cancelled,
]


def seed_sessions(clinic: Clinic, password: str) -> None:
    """Today's board. Patients without plans or open safety alerts, with a recent weight."""
    Clinic.objects.filter(pk=clinic.pk).update(treatment_days="0123456")
    clinic.refresh_from_db()
    day = _Day(clinic, password)
    planned = Evaluation.objects.filter(clinic=clinic).values("patient_id")
    alerted = SafetyAlert.objects.filter(clinic=clinic, acknowledged_at__isnull=True).values(
        "patient_id"
    )
    patients = (
        Patient.objects.filter(clinic=clinic, measurements__isnull=False)
        .exclude(pk__in=planned)
        .exclude(pk__in=alerted)
        .distinct()
        .order_by("mrn")[: len(STATES)]
    )
    for state, patient in zip(STATES, patients, strict=False):
        latest = patient.measurements.first()
        with _clock(320):
            # Weighed on arrival: dosing needs a recent weight.
            patient_actions.record_measurement(
                day.nurse, patient, timezone.localdate(), latest.weight_kg, latest.height_cm
            )
        state(day, patient)
