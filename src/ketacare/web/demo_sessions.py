"""Today's chair board for the demo clinic: one session in every state, made through the
dosing day's actions (so gate, dispensing, alerts and notes are real). What happened earlier
today is recorded at its time by running those actions as actors whose clock is set back."""

from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from ketacare.accounts.models import Clinic, User
from ketacare.accounts.permissions import Role
from ketacare.actor import Actor
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


def _board_now() -> datetime:
    """The board's "now": the real time, except in the small hours, when it is six hours after
    midnight, so that the whole board stays on today (check-in must happen on the session's
    day; some steps are then ahead of the clock)."""
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time(0, 0)))
    return max(timezone.now(), midnight + DAY_SPAN)


class _Day:
    def __init__(self, clinic: Clinic, password: str) -> None:
        def member(role: Role) -> Actor:
            user = User.objects.filter(memberships__clinic=clinic, memberships__role=role).first()
            return Actor(user=user, role=role.value, clinic=clinic, ip="127.0.0.1")

        self.clinic, self.password = clinic, password
        self.now = _board_now()
        self.staff = {"nurse": member(Role.NURSE), "prescriber": member(Role.PRESCRIBER)}
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

    def nurse(self, minutes_ago: float) -> Actor:
        """The nurse acting ``minutes_ago`` minutes before the board's now: the demo's morning."""
        return self.staff["nurse"].at(self.now - timedelta(minutes=minutes_ago))

    def prescriber(self, minutes_ago: float) -> Actor:
        return self.staff["prescriber"].at(self.now - timedelta(minutes=minutes_ago))

    def _today_lot(self, drug: str, ndc: str, units: str) -> Lot:
        """This morning's delivery, straight to the treatment room's cabinet."""
        nurse = self.nurse(240)
        return inventory.receive(
            nurse,
            self.registration.pk,
            product_id=Product.objects.get(ndc=ndc).pk,
            lot_number=f"{drug[:3].upper()}-{nurse.today():%y%m%d}",
            expires_on=nurse.today() + timedelta(days=365),
            location_id=self.cabinet.pk,
            units=units,
            supplier="Springfield Specialty Pharmacy",
            invoice=f"INV-{nurse.today():%y%m%d}",
        ).lot

    def supply(self, drug: str, units: str) -> Supply:
        return Supply(self.registration.pk, self.lots[drug].pk, self.cabinet.pk, units)

    def plan_today(self, patient: Patient, esketamine: bool) -> TreatmentSession:
        """Evaluation, signed plan starting today, consent, and session 1 on the board."""
        nurse, prescriber = self.nurse(300), self.prescriber(300)
        answers = _clear_answers()
        evaluation = planning.start_evaluation(nurse, patient, answers, "")
        planning.complete_evaluation(nurse, evaluation.pk)
        planning.sign_evaluation(prescriber, evaluation.pk, self.password)
        today = nurse.today()
        request = (
            PlanRequest("esketamine_trd", Decimal("56"), today)
            if esketamine
            else PlanRequest("iv_ketamine", Decimal("0.5"), today, Decimal("10"), 40)
        )
        # Consent before the signature: a plan is signed on a current treatment consent.
        kinds = (
            [ConsentRecord.Kind.TREATMENT_ESKETAMINE, ConsentRecord.Kind.REMS_ENROLLMENT]
            if esketamine
            else [ConsentRecord.Kind.TREATMENT_KETAMINE]
        )
        for kind in kinds:
            patient_actions.record_consent(
                nurse,
                patient,
                {
                    "kind": kind,
                    "version": "2026-1",
                    "decision": "granted",
                    "signed_at": nurse.now(),
                    "signed_by": patient.full_name,
                },
            )
        plan = planning.draft_plan(prescriber, evaluation.pk, request)
        plan = planning.sign_plan(prescriber, plan.pk, self.password)
        chair = f"Chair {TreatmentSession.objects.filter(clinic=self.clinic).count() + 1}"
        return actions.open_session(nurse, plan.sessions.get(number=1).pk, chair)

    def dose(self, session: TreatmentSession, minutes_ago: float) -> None:
        esketamine = session.plan.protocol_id.startswith("esketamine")
        actions.check_in(self.nurse(minutes_ago + 15), session.pk, READY)
        actions.record_observation(self.nurse(minutes_ago + 10), session.pk, NORMAL)
        drug, units = ("esketamine", "2") if esketamine else ("racemic_ketamine", "20")
        actions.start_dose(self.nurse(minutes_ago), session.pk, self.supply(drug, units))
        if esketamine:
            actions.give_device(self.nurse(minutes_ago - 5), session.pk)

    def observe(self, session: TreatmentSession, minutes_ago: float, **values: int) -> None:
        actions.record_observation(self.nurse(minutes_ago), session.pk, {**NORMAL, **values})

    def waste_remainder(self, session: TreatmentSession, minutes_ago: float) -> None:
        session.refresh_from_db()
        entry = session.dispense
        assert entry is not None, "the session was dosed from a dispense"
        leftover = entry.quantity_mg - (session.dose_mg or 0)
        if leftover <= 0:
            return
        witness = self.staff["prescriber"].user
        assert witness is not None
        inventory.waste(
            self.nurse(minutes_ago),
            self.registration.pk,
            dispense_id=entry.pk,
            units=(leftover / entry.lot.product.mg_per_unit).quantize(Decimal("0.01")),
            reason="Remainder of a single-use vial, drawn into the sharps container.",
            witness=Signature(witness.get_username(), self.password),
        )


def _clear_answers() -> dict[str, object]:
    from ketacare.web.demo_planning import CLEAR_EVALUATION

    return dict(CLEAR_EVALUATION)


def _scheduled(day: _Day, patient: Patient) -> None:
    day.plan_today(patient, esketamine=False)


def _gate_stopped(day: _Day, patient: Patient) -> None:
    """Checked in; the pre-dose blood pressure stopped the gate: a prescriber must decide."""
    session = day.plan_today(patient, esketamine=True)
    actions.check_in(day.nurse(12), session.pk, READY)
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
    actions.record_adverse_event(
        day.nurse(8), session.pk, "nausea", "mild", intervention="Ondansetron 4 mg ODT"
    )


def _ready_for_discharge(day: _Day, patient: Patient) -> None:
    """IV infusion ended an hour ago, vitals back to normal, remainder wasted."""
    session = day.plan_today(patient, esketamine=False)
    day.dose(session, 110)
    day.observe(session, 100, systolic=142, diastolic=88, moaas=4, cadss=8)
    actions.infusion_step(day.nurse(70), session.pk, DoseStep.Kind.INFUSION_END)
    day.observe(session, 5, moaas=5, cadss=0)
    day.waste_remainder(session, 60)


def _discharged(day: _Day, patient: Patient) -> None:
    """Esketamine this morning, discharged after two hours: its REMS form is due."""
    session = day.plan_today(patient, esketamine=True)
    day.dose(session, 170)
    day.observe(session, 130, systolic=146, diastolic=90, moaas=4, cadss=10)
    day.observe(session, 45, moaas=5, cadss=0)
    actions.discharge(
        day.nurse(40),
        session.pk,
        dissociation_resolved=True,
        responsible_adult_present=False,
        password=day.password,
    )


def _gate_cleared_by_repeat(day: _Day, patient: Patient) -> None:
    """The gate stopped a hurried 154/96; seven minutes' rest later 132/84 reopened it."""
    session = day.plan_today(patient, esketamine=False)
    actions.check_in(day.nurse(45), session.pk, READY)
    day.observe(session, 40, systolic=154, diastolic=96)
    day.observe(session, 33, systolic=132, diastolic=84)
    actions.start_dose(day.nurse(30), session.pk, day.supply("racemic_ketamine", "20"))
    day.observe(session, 20, systolic=136, diastolic=86, moaas=4, cadss=10)


def _transferred(day: _Day, patient: Patient) -> None:
    """Esketamine; at 40 minutes 198/118 with a headache: the prescriber sent her to the
    emergency department (a serious adverse event: hospitalisation). Her REMS form is due."""
    session = day.plan_today(patient, esketamine=True)
    day.dose(session, 100)
    day.observe(session, 60, systolic=198, diastolic=118, heart_rate=104, moaas=5, cadss=6)
    actions.record_adverse_event(
        day.nurse(58),
        session.pk,
        "hypertension",
        "severe",
        "Severe headache with 198/118",
        "Prescriber assessed; ambulance called",
        serious_criteria=("hospitalisation",),
    )
    alert = session.alerts.get()
    actions.acknowledge_alert(
        day.prescriber(58), alert.pk, "Hypertensive urgency with headache: emergency department."
    )
    decider = day.staff["prescriber"].user
    assert decider is not None
    actions.transfer(
        day.nurse(45),
        session.pk,
        destination="Springfield General Hospital, emergency department (ambulance)",
        reason="Blood pressure 198/118 with a severe headache 40 minutes after the dose.",
        decided_by_id=decider.pk,
        password=day.password,
    )


def _cancelled(day: _Day, patient: Patient) -> None:
    session = day.plan_today(patient, esketamine=False)
    actions.cancel_session(day.nurse(30), session.pk, "Patient phoned: fever since last night.")


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
        assert latest is not None, "every demo patient was measured at evaluation"
        # Weighed on arrival: dosing needs a recent weight.
        nurse = day.nurse(320)
        patient_actions.record_measurement(
            nurse, patient, nurse.today(), latest.weight_kg, latest.height_cm
        )
        state(day, patient)
