"""The dosing day in a real browser: a whole IV ketamine session and a whole intranasal
esketamine session, from check-in to discharge, as the nurse and the prescriber click them.

The clock: the live server runs in a thread of this process, so ``time_machine`` moves its
clock too (it patches the process-wide clock functions, not one thread's). Each test freezes
the clock (``tick=False``) and moves it forward step by step, so that the minimum observation
times (70 min for the IV infusion, 2 h for esketamine) and the 5 minutes between nasal devices
pass, and the minutes printed on the pages are exact. Playwright's own timeouts run in its
driver process and on ``time.monotonic``, which time_machine leaves alone; the browser's own
clock is not moved (nothing here depends on it).
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Locator, Page, expect

from ketacare.accounts.models import Clinic
from ketacare.accounts.permissions import Role
from ketacare.clinical.datafiles import load
from ketacare.inventory import actions as inventory
from ketacare.inventory.models import LedgerEntry
from ketacare.planning import actions as planning
from ketacare.treatments import actions
from ketacare.treatments.models import DoseStep, TreatmentSession
from tests.browser.conftest import TIMEOUT_MS
from tests.conftest import PASSWORD, actor, make_patient
from tests.inventory.conftest import DEA_NUMBER
from tests.planning.conftest import as_prescriber, iv_request, signed_evaluation
from tests.treatments.conftest import as_nurse, consent

pytestmark = pytest.mark.browser

State = TreatmentSession.State
MORNING = time(9, 0)  # the clinic's day starts, in the test's frozen clock
IV_LOT, ESKETAMINE_LOT = "L-rac", "L-esk"
GATE_CHECK = "ketamine_bp_above_140_90"
OVERRIDE_REASON = "White-coat hypertension, 128/80 at home this week; benefit outweighs risk."
ACK_NOTE = "Labetalol 10 mg IV given; BP 150/92 ten minutes later."
AE_INTERVENTION = "Ondansetron 4 mg IV"


# --- setup ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """Today's board: an IV ketamine session (chair 1) and an esketamine session (chair 2)."""

    iv: TreatmentSession
    esketamine: TreatmentSession
    lots: dict  # drug → Lot
    safe_id: int


def stock_up(clinic, clinic_admin, nurse):
    """A registration with a safe holding ketamine 10 mg/mL (20 mL vials, counted in mL) and
    esketamine 28 mg devices (as tests/treatments/conftest.py's ``stock`` fixture)."""
    admin = actor(clinic_admin, clinic, Role.CLINIC_ADMIN)
    registration = inventory.create_registration(admin, DEA_NUMBER, "Riverside", "")
    safe = inventory.add_location(admin, registration.pk, "Main safe", "safe")
    lots = {}
    for ndc, name, drug, form, mg, unit, units, lot_number in [
        (
            "00000-0101-20",
            "Ketamine 10 mg/mL 20 mL",
            "racemic_ketamine",
            "vial",
            "10",
            "mL",
            "400",
            IV_LOT,
        ),
        (
            "00000-0228-02",
            "Esketamine 28 mg device",
            "esketamine",
            "nasal_device",
            "28",
            "device",
            "24",
            ESKETAMINE_LOT,
        ),
    ]:
        product = inventory.add_product(
            admin,
            ndc=ndc,
            name=name,
            drug=drug,
            form=form,
            mg_per_unit=Decimal(mg),
            unit=unit,
            units_per_package=Decimal(1),
        )
        lots[drug] = inventory.receive(
            as_nurse(nurse, clinic),
            registration.pk,
            product_id=product.pk,
            lot_number=lot_number,
            expires_on=timezone.localdate() + timedelta(days=300),
            location_id=safe.pk,
            units=units,
            supplier="Acme",
            invoice="1",
        ).lot
    return lots, safe.pk


def on_the_board(prescriber, nurse, clinic, patient, request, consent_kind, chair):
    """Sign an evaluation and a plan starting today, record the consent, and put the plan's
    first session on today's board (as tests/treatments/conftest.py's ``make_session``)."""
    evaluation = signed_evaluation(prescriber, clinic, patient)
    who = as_prescriber(prescriber, clinic)
    consent(as_nurse(nurse, clinic), patient, consent_kind)
    if consent_kind == "treatment_esketamine":
        consent(as_nurse(nurse, clinic), patient, "rems_enrollment")
    plan = planning.sign_plan(who, planning.draft_plan(who, evaluation.pk, request).pk, PASSWORD)
    return actions.open_session(as_nurse(nurse, clinic), plan.sessions.first().pk, chair)


@pytest.fixture
def day(clinic, clinic_admin, nurse, prescriber) -> Day:
    # The clinic treats every day, so that today is a clinic day whatever day the test runs.
    Clinic.objects.filter(pk=clinic.pk).update(treatment_days="0123456")
    clinic.treatment_days = "0123456"
    lots, safe_id = stock_up(clinic, clinic_admin, nurse)
    today = timezone.localdate()
    iv_patient = make_patient(
        nurse, clinic, given_name="Chidi", family_name="Okafor", weight_kg=Decimal("80.0")
    )
    es_patient = make_patient(
        nurse, clinic, given_name="Maren", family_name="Lindqvist", weight_kg=Decimal("64.0")
    )
    iv = on_the_board(
        prescriber,
        nurse,
        clinic,
        iv_patient,
        iv_request(vial_mg_per_ml=Decimal("10"), start_date=today),  # 0.5 mg/kg over 40 min
        "treatment_ketamine",
        "Chair 1",
    )
    esketamine = on_the_board(
        prescriber,
        nurse,
        clinic,
        es_patient,
        iv_request(protocol_id="esketamine_trd", dose=Decimal("56"), start_date=today),
        "treatment_esketamine",
        "Chair 2",
    )
    return Day(iv=iv, esketamine=esketamine, lots=lots, safe_id=safe_id)


@pytest.fixture
def no_idle_logoff(settings):
    # A nurse at the chair clicks all along; here the clock jumps up to 80 minutes between
    # two clicks, which the 15-minute idle logoff would end. The live server thread reads the
    # same settings object. (Idle logoff has its own tests.)
    settings.KETACARE_IDLE_TIMEOUT_SECONDS = 6 * 60 * 60


@pytest.fixture(autouse=True)
def clock(no_idle_logoff):
    """The clock, frozen at 09:00 today before any fixture writes to the database, and moved
    forward only (``shift``, ``move_to``): the day's sessions run 09:00 to about 11:15 whenever
    the test runs, so they never cross midnight (the board and check-in go by the date).

    Going back in the day is safe for the browser: the session cookie ends with the browser
    (SESSION_EXPIRE_AT_BROWSER_CLOSE) and the CSRF cookie lasts a year."""
    morning = datetime.combine(
        timezone.localdate(), MORNING, tzinfo=timezone.get_current_timezone()
    )
    with time_machine.travel(morning, tick=False) as traveller:
        yield traveller


@pytest.fixture
def prescriber_page(browser: Browser, live_server, insecure_cookies, console):
    """A second browser (own cookies) for the prescriber, beside the nurse's ``page``."""
    context = browser.new_context(base_url=live_server.url, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    try:
        yield page
    finally:
        context.close()


# --- helpers ----------------------------------------------------------------------------------


def sign_in(page: Page, user) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def open_from_board(page: Page, patient_link: str, sessions: int | None = None) -> None:
    """The chair board from the menu (``sessions`` rows on it, if given), then the patient's
    session."""
    page.get_by_role("navigation").get_by_role("link", name="Chair board").click()
    expect(page.get_by_role("heading", name="Chair board")).to_be_visible()
    board = page.locator("#chair-board")
    if sessions is not None:
        expect(board.locator("tbody tr")).to_have_count(sessions)
    board.get_by_role("link", name=patient_link).click()


def session_url(session: TreatmentSession) -> str:
    return reverse("session-detail", kwargs={"session_id": session.pk})


def status(page: Page) -> Locator:
    """The page's flash message (Django messages are rendered with role=status)."""
    return page.get_by_role("main").get_by_role("status")


def state(page: Page) -> Locator:
    return page.locator(".toolbar .state")


def check_in(page: Page, pregnancy_test: str, escort: bool = False, transport: bool = False):
    form = page.locator("#check-in")
    form.get_by_label("Fasted as instructed").check()
    if escort:
        form.get_by_label("A responsible adult will take the patient home").check()
    if transport:
        form.get_by_label("Transport home arranged: the patient will not drive today").check()
    form.get_by_label("Pregnancy test").select_option(label=pregnancy_test)
    form.get_by_label("Today's questionnaires done").check()
    form.get_by_role("button", name="Check in").click()
    expect(status(page)).to_have_text("Checked in. Record the pre-dose vital signs.")
    expect(state(page)).to_have_text("Checked in")


VITAL_LABELS = {
    "systolic": "Systolic (mmHg)",
    "diastolic": "Diastolic (mmHg)",
    "heart_rate": "Heart rate (/min)",
    "spo2": "SpO₂ (%)",
    "respiratory_rate": "Resp. rate (/min)",
    "moaas": "MOAA/S (0–5)",
    "cadss": "CADSS (0–92)",
}


def record_vitals(page: Page, **values: int) -> None:
    """Fill every field of the observation form (blank where not given: the form starts from
    the last row's values) and save."""
    form = page.locator("#observation")
    for name, label in VITAL_LABELS.items():
        form.get_by_label(label).fill(str(values.get(name, "")))
    form.get_by_role("button", name="Save observation").click()


def post_from_page(page: Page, action: str, fields: dict[str, str]) -> None:
    """Submit a form the page does not offer, as a page still showing it (or a hand-made
    request) would: the browser's cookies and the page's CSRF token, a real navigation."""
    with page.expect_navigation():
        page.evaluate(
            """([action, fields]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                const token = document.querySelector("input[name=csrfmiddlewaretoken]");
                form.append(token.cloneNode());
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    input.value = value;
                    form.append(input);
                }
                document.body.append(form);
                form.submit();
            }""",
            [action, fields],
        )


def mg(value: Decimal | int) -> str:
    """A whole number of mg as a pattern, however many decimals the page prints it with (the
    plan's "40.0", the database's "40.00")."""
    assert value == int(value)
    return rf"{int(value)}(\.0+)? mg"


def choose_lot(select: Locator, lot_number: str) -> None:
    """Pick the option of this lot in the main safe (its label also shows the expiry and
    the quantity in stock)."""
    option = select.locator("option").filter(
        has_text=re.compile(rf"lot {re.escape(lot_number)} \(exp\. .*\) · Main safe · ")
    )
    expect(option).to_have_count(1)
    select.select_option(value=option.get_attribute("value"))


def fact(scope: Page | Locator, label: str) -> Locator:
    """The value (<dd>) of a <dt> with exactly this label, in a definition list."""
    term = scope.locator("dl.facts dt").filter(has_text=re.compile(rf"^{re.escape(label)}$"))
    return term.locator("xpath=following-sibling::dd[1]")


def reload(session: TreatmentSession) -> TreatmentSession:
    return TreatmentSession.objects.select_related("dispense").get(pk=session.pk)


# --- the tests --------------------------------------------------------------------------------


def test_a_whole_iv_session_with_a_blocked_dose_an_override_an_alert_and_an_adverse_event(
    page: Page, prescriber_page: Page, console, day: Day, nurse, prescriber, clock
):
    """IV racemic ketamine, 0.5 mg/kg for 80 kg (40 mg) over 40 minutes, from the chair board
    to the locked session note.

    The nurse checks the patient in and records a pre-dose BP of 152/94: the gate stops the
    dose, naming the clinic-policy check and its source; the page offers no dose, and a
    start-dose request anyway is refused with that reason and dispenses nothing. The
    prescriber, in their own browser, overrides with a reason and their password. The nurse
    dispenses a 20 mL vial and starts the infusion; 10 minutes in, a BP of 186/104 raises an
    alert and she records nausea (mild, ondansetron); the prescriber acknowledges the alert.
    The infusion ends at 40 minutes, the remaining 160 mg is wasted with the prescriber as
    witness, and at 75 minutes, with normal vital signs, the nurse signs the discharge. The
    locked note holds the dose and lot, the override, the adverse event and the alert.
    """
    session = day.iv
    gate = next(c for c in load("session_thresholds")["pre_dose"] if c["id"] == GATE_CHECK)
    dose_mg = Decimal(session.plan.dose_order["dose_mg"])
    assert dose_mg == 40  # 0.5 mg/kg × 80 kg

    # The nurse finds the patient on today's board, both sessions on it, and checks in.
    sign_in(page, nurse)
    open_from_board(page, "Okafor, Chidi", sessions=2)
    expect(page.get_by_role("heading", level=1)).to_have_text("Chidi Okafor")
    expect(state(page)).to_have_text("Scheduled")
    check_in(page, pregnancy_test="Not applicable", escort=True)

    # Pre-dose vital signs with a high blood pressure: the gate stops the dose.
    clock.shift(timedelta(minutes=3))
    record_vitals(page, systolic=152, diastolic=94, heart_rate=84, spo2=98, respiratory_rate=14)
    expect(status(page)).to_have_text(
        "Pre-dose vital signs saved (stops dosing). The gate stops dosing: a repeat reading "
        "after rest, or a prescriber, decides."
    )
    gate_card = page.locator("#gate")
    expect(gate_card.locator(".alert-safety")).to_have_text(
        "The gate stops dosing. A repeat reading after at least 5 minutes' rest that passes "
        "reopens it."
    )
    fired = gate_card.locator("ul.fired li")
    expect(fired).to_have_count(1)
    expect(fired).to_contain_text(gate["message"])
    expect(fired).to_contain_text("systolic 152")
    # The source as a citation linked to the clinical reference; the rule id stays in the audit.
    expect(fired.locator("a.citation")).to_have_text("clinical reference §3")
    expect(fired).not_to_contain_text(GATE_CHECK)
    expect(fired.locator(".tag")).to_have_text("clinic policy")
    expect(gate_card).to_contain_text("A prescriber decides")
    # The nurse is offered neither the override nor the dose…
    expect(page.get_by_role("button", name="Override the gate")).to_have_count(0)
    expect(page.get_by_role("button", name="Dispense and start")).to_have_count(0)
    # …and a start-dose request sent anyway is refused, with the gate's reason.
    post_from_page(
        page,
        reverse("session-dose", kwargs={"session_id": session.pk}),
        {"supply": f"{day.lots['racemic_ketamine'].pk}:{day.safe_id}", "units": "20"},
    )
    expect(status(page)).to_have_text(f"The pre-dose gate stops dosing. {gate['message']}")
    assert reload(session).state == State.CHECKED_IN
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DISPENSE).exists()

    # The prescriber sees the stopped gate on the board and overrides it, with a reason.
    clock.shift(timedelta(minutes=2))
    doctor = prescriber_page
    sign_in(doctor, prescriber)
    doctor.get_by_role("navigation").get_by_role("link", name="Chair board").click()
    iv_row = doctor.locator("#chair-board tr", has_text="Okafor, Chidi")
    expect(iv_row.locator(".tag")).to_have_text("gate stopped: repeat reading or prescriber")
    iv_row.get_by_role("link", name="Okafor, Chidi").click()
    override = doctor.locator("#gate form")
    override.get_by_label("Benefit/risk reason for dosing despite the gate").fill(OVERRIDE_REASON)
    override.get_by_label("Your password").fill(PASSWORD)
    override.get_by_role("button", name="Override the gate").click()
    expect(status(doctor)).to_have_text("Override recorded: dosing may start.")
    expect(doctor.locator("#gate")).to_contain_text(
        "The gate stopped dosing; a prescriber overrode it."
    )
    expect(doctor.locator("#gate p.override").last).to_have_text(
        f"Override by Prescriber Tester: “{OVERRIDE_REASON}”"
    )

    # The nurse dispenses a 20 mL vial from the safe and starts the infusion.
    clock.shift(timedelta(minutes=2))
    page.goto(session_url(session))
    expect(page.locator("#gate")).to_contain_text(
        f"Override by Prescriber Tester: “{OVERRIDE_REASON}”"
    )
    dose = page.locator("#dose")
    choose_lot(dose.get_by_label("Lot and storage"), IV_LOT)
    dose.get_by_label("Quantity dispensed (mL)").fill("20")
    dose.get_by_role("button", name="Dispense and start").click()
    expect(status(page)).to_have_text(
        re.compile(rf"^Dose of {mg(dose_mg)} started; dispensed from lot {IV_LOT}\.$")
    )
    expect(state(page)).to_have_text("Dosing")
    expect(fact(page, "Dose given")).to_have_text(
        re.compile(rf"^{mg(dose_mg)} · lot {IV_LOT}, 20(\.0+)? mL dispensed \({mg(200)}\)$")
    )
    rate = session.plan.dose_order["rate_ml_per_h"]
    expect(page.locator("#pump")).to_contain_text(f"Running at {rate} mL/h.")
    dosed = reload(session)
    assert dosed.dose_mg == dose_mg and dosed.gate_override_by == prescriber

    # Ten minutes in: a BP of 186/104 raises an alert, and the patient is nauseous.
    clock.shift(timedelta(minutes=10))
    page.reload()
    record_vitals(
        page,
        systolic=186,
        diastolic=104,
        heart_rate=96,
        spo2=97,
        respiratory_rate=16,
        moaas=4,
        cadss=9,
    )
    expect(status(page)).to_have_text("Observation saved. 1 alert(s) raised for a prescriber.")
    alert = page.locator(".alert-safety[role=alert]")
    expect(alert).to_contain_text("Blood pressure above 180/110 mmHg.")
    expect(alert).to_contain_text("systolic 186")
    expect(alert).to_contain_text("Waits for a prescriber's acknowledgement.")
    expect(page.locator("#flowsheet tr.alerted")).to_contain_text("186/104")

    page.get_by_text("Record an adverse event").click()
    event_form = page.locator("#adverse-event form")
    event_form.get_by_label("Adverse event").select_option(label="Nausea")
    event_form.get_by_label("Severity").select_option(label="Mild")
    event_form.get_by_label("Description").fill("Nauseous ten minutes into the infusion")
    event_form.get_by_label("Intervention").fill(AE_INTERVENTION)
    event_form.get_by_role("button", name="Record adverse event").click()
    expect(status(page)).to_have_text("Adverse event recorded: Nausea (mild).")
    expect(page.locator("#flowsheet")).to_contain_text(AE_INTERVENTION)

    # The prescriber acknowledges the alert from the session page.
    clock.shift(timedelta(minutes=2))
    doctor.reload()
    doctor_alert = doctor.locator(".alert-safety[role=alert]")
    expect(doctor_alert).to_contain_text("Blood pressure above 180/110 mmHg.")
    doctor_alert.get_by_label("What was done").fill(ACK_NOTE)
    doctor_alert.get_by_role("button", name="Acknowledge").click()
    expect(status(doctor)).to_have_text("Alert acknowledged.")
    expect(doctor.locator(".alert-safety[role=alert]")).to_have_count(0)
    expect(doctor.locator("#flowsheet")).to_contain_text(ACK_NOTE)

    # The infusion ends at 40 minutes; discharge waits for the time and for the waste.
    clock.move_to(dosed.dose_started_at + timedelta(minutes=40))
    page.goto(session_url(session))
    page.locator("#pump").get_by_role("button", name="End infusion").click()
    expect(status(page)).to_have_text("Infusion ended at 09:47.")  # started at 09:07
    expect(state(page)).to_have_text("Monitoring")
    blockers = page.locator("#discharge ul.blockers")
    expect(blockers).to_contain_text("observed 40 of at least 70 minutes")
    expect(blockers).to_contain_text("observed 0 of at least 30 minutes since the infusion ended")
    expect(blockers).to_contain_text(
        re.compile(rf"{mg(160)} left from the dispense is not yet wasted with a witness")
    )

    # The remaining 16 mL (160 mg) is wasted; the prescriber witnesses with their password.
    page.get_by_role("link", name="Record the witnessed waste of the remainder").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Waste from dispense #\d+$")
    )
    expect(page.locator(".notice")).to_contain_text("Left to waste: 16 mL (160 mg)")
    page.get_by_label("Quantity").fill("16")
    page.get_by_label("How and why it was wasted").fill(
        "Remainder of the 20 mL vial, into the drug waste container"
    )
    page.get_by_label("Witness's username").fill(prescriber.username)
    page.get_by_label("Witness's password").fill(PASSWORD)
    page.get_by_role("button", name="Record witnessed waste").click()
    expect(status(page)).to_have_text(
        re.compile(
            r"^Wasted 16(\.00)? mL \(160(\.0+)? mg\) of dispense #\d+, "
            r"witnessed by Prescriber Tester\.$"
        )
    )

    # 75 minutes after the start: vital signs before discharge, then the discharge.
    clock.move_to(dosed.dose_started_at + timedelta(minutes=75))
    page.goto(session_url(session))
    record_vitals(
        page,
        systolic=134,
        diastolic=84,
        heart_rate=78,
        spo2=98,
        respiratory_rate=14,
        moaas=5,
        cadss=0,
    )
    expect(status(page)).to_have_text("Observation saved.")
    expect(page.locator("#discharge")).to_contain_text(
        "Every criterion from the record is met. Attest the rest and sign."
    )
    discharge = page.locator("#discharge form")
    discharge.get_by_label("Dissociation resolved").check()
    discharge.get_by_label("A responsible adult is here to take the patient home").check()
    discharge.get_by_label("Your password").fill(PASSWORD)
    discharge.get_by_role("button", name="Sign discharge").click()
    expect(status(page)).to_have_text("Discharged. The session note is signed and locked.")
    expect(state(page)).to_have_text("Discharged")

    # The locked note: the dose and lot, the override, the adverse event, the alert.
    note = page.locator("#note pre.session-note")
    expect(note).to_contain_text(re.compile(rf"Dose {mg(dose_mg)}, lot {IV_LOT}\."))
    expect(note).to_contain_text(f"pre-dose gate stopped dosing: {gate['message']}")
    expect(note).to_contain_text(
        f"dosed despite the gate on the decision of Prescriber Tester: {OVERRIDE_REASON}"
    )
    expect(note).to_contain_text(f"adverse event: Nausea (mild); {AE_INTERVENTION}")
    expect(note).to_contain_text("alert: Blood pressure above 180/110 mmHg.")
    expect(note).to_contain_text(
        f"alert (Blood pressure above 180/110 mmHg.) acknowledged by Prescriber Tester: {ACK_NOTE}"
    )
    expect(note).to_contain_text(
        "wasted 16 mL (160 mg) by Nurse Tester, witnessed by Prescriber Tester"
    )
    expect(page.locator("#note")).to_contain_text("the note is locked")
    expect(page.get_by_role("main").locator("form")).to_have_count(0)  # nothing to record
    done = reload(session)
    assert done.state == State.DISCHARGED and done.discharged_by == nurse
    assert OVERRIDE_REASON in done.note
    assert console.messages == []


def test_a_whole_esketamine_session_and_its_rems_form(page: Page, console, day: Day, nurse, clock):
    """Intranasal esketamine 56 mg (two 28 mg devices), first session, to the REMS form.

    The nurse checks the patient in (no escort needed for this protocol), records normal
    pre-dose vital signs (the gate is open) and dispenses two devices from the lot, which
    starts the dose with the first device. "Next device" 3 minutes later is refused (5
    minutes apart, 2 min 0 s to wait); at 5 minutes it is accepted and monitoring starts.
    She records vital signs 40 minutes after the first device and again at 2 hours, and
    discharges at 2 h 5 min. The REMS Patient Monitoring Form, opened from the locked session,
    shows the dose, the lot, the blood pressure before dosing, at 40 minutes and before
    completion, and the minutes of monitoring.
    """
    session = day.esketamine
    sign_in(page, nurse)
    open_from_board(page, "Lindqvist, Maren")
    expect(page.get_by_role("heading", level=1)).to_have_text("Maren Lindqvist")
    expect(fact(page, "Planned dose")).to_contain_text("56 mg")
    expect(fact(page, "Planned dose")).to_contain_text("2 devices")
    check_in(page, pregnancy_test="Negative", transport=True)

    clock.shift(timedelta(minutes=3))
    record_vitals(page, systolic=124, diastolic=78, heart_rate=72, spo2=98, respiratory_rate=14)
    expect(status(page)).to_have_text("Pre-dose vital signs saved (passes). The gate is open.")
    expect(page.locator("#gate .ok")).to_contain_text("Passed at")

    clock.shift(timedelta(minutes=2))
    dose = page.locator("#dose")
    choose_lot(dose.get_by_label("Lot and storage"), ESKETAMINE_LOT)
    expect(dose.get_by_label("Quantity dispensed (device)")).to_have_value("2")  # the plan's
    dose.get_by_role("button", name="Dispense and start").click()
    expect(status(page)).to_have_text(
        re.compile(rf"^Dose of {mg(56)} started; dispensed from lot {ESKETAMINE_LOT}\.$")
    )
    expect(state(page)).to_have_text("Dosing")
    first_device = reload(session).dose_started_at
    assert f"{timezone.localtime(first_device):%H:%M}" == "09:05"
    devices = page.locator("#devices")
    expect(devices).to_contain_text("1 of 2 given; the next not before 09:10:00")

    # Too early for the second device: refused, with the time left.
    clock.shift(timedelta(minutes=3))
    devices.get_by_role("button", name="Next device given").click()
    expect(status(page)).to_have_text(
        "Wait 2 min 0 s: devices are 5 minutes apart (Spravato label)."
    )
    expect(state(page)).to_have_text("Dosing")
    assert reload(session).steps.count() == 1

    clock.shift(timedelta(minutes=2))
    page.locator("#devices").get_by_role("button", name="Next device given").click()
    expect(status(page)).to_have_text("Device given.")
    expect(state(page)).to_have_text("Monitoring")
    steps = page.locator("#flowsheet").get_by_role("cell", name="Nasal device")
    expect(steps).to_have_count(2)

    # The label's check about 40 minutes after dosing: sedated and a little dissociated.
    clock.move_to(first_device + timedelta(minutes=40))
    page.goto(session_url(session))
    record_vitals(
        page,
        systolic=142,
        diastolic=88,
        heart_rate=80,
        spo2=97,
        respiratory_rate=14,
        moaas=4,
        cadss=6,
    )
    expect(status(page)).to_have_text("Observation saved.")
    expect(page.locator("#discharge ul.blockers")).to_contain_text(
        "observed 40 of at least 120 minutes"
    )

    # After two hours: vital signs before discharge, then the discharge.
    clock.move_to(first_device + timedelta(minutes=120))
    page.goto(session_url(session))
    record_vitals(
        page,
        systolic=126,
        diastolic=80,
        heart_rate=70,
        spo2=98,
        respiratory_rate=14,
        moaas=5,
        cadss=0,
    )
    expect(status(page)).to_have_text("Observation saved.")
    # At 2 h 5 min the board shows her ready; the nurse attests and signs.
    clock.move_to(first_device + timedelta(minutes=125))
    page.locator(".toolbar").get_by_role("link", name="Chair board").click()
    row = page.locator("#chair-board tr", has_text="Lindqvist, Maren")
    expect(row.locator(".state")).to_have_text("Ready for discharge")
    row.get_by_role("link", name="Lindqvist, Maren").click()
    expect(page.locator("#discharge")).to_contain_text("Every criterion from the record is met.")
    discharge = page.locator("#discharge form")
    expect(discharge.get_by_text("Not required by this protocol.")).to_be_visible()
    discharge.get_by_label("Dissociation resolved").check()
    discharge.get_by_label("Your password").fill(PASSWORD)
    discharge.get_by_role("button", name="Sign discharge").click()
    expect(status(page)).to_have_text("Discharged. The session note is signed and locked.")
    note = page.locator("#note pre.session-note")
    expect(note).to_contain_text(re.compile(rf"Dose {mg(56)}, lot {ESKETAMINE_LOT}\."))

    # The REMS form, from the session: filled from what was recorded (first device 09:05,
    # vital signs at 09:03, 09:45 and 11:05, discharge at 11:10).
    done = reload(session)
    assert [s.kind for s in done.steps.all()] == [DoseStep.Kind.DEVICE] * 2
    page.get_by_role("link", name="REMS Patient Monitoring Form").click()
    expect(page.get_by_role("heading", name="REMS Patient Monitoring Form")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Not submitted")
    expect(fact(page, "Patient name")).to_contain_text("Maren Lindqvist")
    expect(fact(page, "First treatment")).to_contain_text("Yes")
    expect(fact(page, "Dose").locator("strong")).to_have_text("56 mg")
    expect(fact(page, "Lot number").locator("strong")).to_have_text(ESKETAMINE_LOT)
    expect(fact(page, "Vital signs acceptable before dosing").locator("strong")).to_have_text("Yes")
    expect(fact(page, "Blood pressure before dosing").locator("strong")).to_have_text(
        "124/78 mmHg at 09:03"
    )
    expect(fact(page, "Blood pressure at 40 minutes").locator("strong")).to_have_text(
        "142/88 mmHg at 09:45 (40 min after the first device)"
    )
    expect(fact(page, "Blood pressure before completion").locator("strong")).to_have_text(
        "126/80 mmHg at 11:05 (120 min after the first device)"
    )
    minutes = fact(page, "Total minutes from first device to end of monitoring")
    expect(minutes.locator("strong")).to_have_text("125")
    expect(minutes).to_contain_text("First device 09:05, discharged 11:10.")
    # Ready at 2 hours, when the reading before discharge met the last criterion.
    expect(
        fact(page, "Minutes until the patient would have been ready to leave").locator("strong")
    ).to_have_text("120")
    expect(fact(page, "Provider").locator("strong")).to_have_text("Nurse Tester")
    expect(fact(page, "Sedation")).to_contain_text("Lowest MOAA/S 4.")
    expect(fact(page, "Dissociation")).to_contain_text("Highest CADSS 6.")
    expect(fact(page, "Pulse oximetry used").locator("strong")).to_have_text("Yes")
    expect(fact(page, "Serious adverse events").locator("strong")).to_have_text("No")
    assert console.messages == []


def test_a_gate_cleared_by_a_repeat_reading_and_a_transfer_to_the_emergency_department(
    page: Page, console, day: Day, nurse, prescriber, clock
):
    """IV ketamine. The pre-dose BP of 152/94 stops the gate; a repeat of 130/84 three minutes
    later is recorded but does not count; after six minutes' rest 128/82 reopens the gate, and
    the board says how it was cleared. Twelve minutes into the infusion the patient has chest
    pain with 210/122: the nurse records a serious adverse event and transfers her to the
    emergency department on the prescriber's decision. The locked note holds every reading
    and the gate's verdict on each, the transfer, and the serious event."""
    session = day.iv
    sign_in(page, nurse)
    open_from_board(page, "Okafor, Chidi")
    check_in(page, pregnancy_test="Not applicable", escort=True)

    clock.shift(timedelta(minutes=2))
    record_vitals(page, systolic=152, diastolic=94, heart_rate=84, spo2=98, respiratory_rate=14)
    expect(status(page)).to_contain_text("The gate stops dosing")
    clock.shift(timedelta(minutes=3))
    record_vitals(page, systolic=130, diastolic=84, heart_rate=80, spo2=98, respiratory_rate=14)
    expect(status(page)).to_contain_text(
        "taken 3 min after the reading that stopped dosing: a repeat reading counts after 5 min"
    )
    expect(page.get_by_role("button", name="Dispense and start")).to_have_count(0)
    clock.shift(timedelta(minutes=3))
    record_vitals(page, systolic=128, diastolic=82, heart_rate=78, spo2=98, respiratory_rate=14)
    expect(status(page)).to_have_text(
        "Pre-dose vital signs saved (repeat reading after 6 min rest: passes). The gate is open."
    )
    expect(page.locator("#gate .ok")).to_have_text(
        "Stopped dosing at 09:02; reopened by a repeat reading after rest at 09:08."
    )
    expect(page.locator("#gate")).to_contain_text("(not counted)")
    page.locator(".toolbar").get_by_role("link", name="Chair board").click()
    row = page.locator("#chair-board tr", has_text="Okafor, Chidi")
    expect(row.locator(".tag")).to_have_text("gate stopped 09:02: cleared by repeat reading 09:08")
    row.get_by_role("link", name="Okafor, Chidi").click()

    clock.shift(timedelta(minutes=1))
    dose = page.locator("#dose")
    choose_lot(dose.get_by_label("Lot and storage"), IV_LOT)
    dose.get_by_label("Quantity dispensed (mL)").fill("20")
    dose.get_by_role("button", name="Dispense and start").click()
    expect(state(page)).to_have_text("Dosing")

    clock.shift(timedelta(minutes=12))
    page.reload()
    record_vitals(
        page, systolic=210, diastolic=122, heart_rate=112, spo2=96, respiratory_rate=18, moaas=5
    )
    page.get_by_text("Record an adverse event").click()
    event_form = page.locator("#adverse-event form")
    event_form.get_by_label("Adverse event").select_option(label="Hypertension")
    event_form.get_by_label("Severity").select_option(label="Severe")
    event_form.get_by_label("Description").fill("Chest pain with 210/122")
    event_form.get_by_label("Intervention").fill("Infusion stopped; ambulance called")
    event_form.get_by_label("Inpatient hospitalisation or its prolongation").check()
    event_form.get_by_role("button", name="Record adverse event").click()
    expect(status(page)).to_have_text("Adverse event recorded: Hypertension (severe, serious).")

    clock.shift(timedelta(minutes=2))
    page.get_by_text("Transfer to emergency care").click()
    transfer = page.locator("#transfer form")
    transfer.get_by_label("Transferred to").fill("Riverside General emergency department")
    transfer.get_by_label("Why").fill("Chest pain with 210/122 twelve minutes into the infusion.")
    transfer.get_by_label("Who decided").select_option(label="Prescriber Tester")
    transfer.get_by_label("Your password").fill(PASSWORD)
    transfer.get_by_role("button", name="Record the transfer").click()
    expect(status(page)).to_have_text(
        "Transferred to Riverside General emergency department. "
        "The session note is signed and locked."
    )
    expect(state(page)).to_have_text("Transferred to emergency care")
    note = page.locator("#note pre.session-note")
    expect(note).to_contain_text("systolic 152, diastolic 94")
    expect(note).to_contain_text("gate: stops dosing")
    expect(note).to_contain_text("systolic 130, diastolic 84")
    expect(note).to_contain_text("a repeat reading counts after 5 min rest")
    expect(note).to_contain_text("gate: repeat reading after 6 min rest: passes")
    expect(note).to_contain_text("pre-dose gate reopened by a repeat reading after rest")
    expect(note).to_contain_text("SERIOUS: hospitalisation")
    expect(note).to_contain_text(
        "transferred to Riverside General emergency department on the decision of "
        "Prescriber Tester (recorded by Nurse Tester)"
    )
    expect(page.get_by_role("main").locator("form")).to_have_count(0)
    done = reload(session)
    assert done.state == State.TRANSFERRED and done.transfer_decided_by == prescriber
    assert console.messages == []


def test_a_monitoring_alert_from_the_board_to_the_alerts_page_and_a_recheck_before_discharge(
    page: Page, prescriber_page: Page, console, day: Day, nurse, prescriber, clinic, clock
):
    """The infusion (given through the actions) ended; 45 minutes in, the nurse records
    186/104 on the page. The board shows the alert and the blood-pressure recheck due. The
    prescriber follows the navigation's count to the alerts page and from there to the
    session, and acknowledges. At 75 minutes a heart rate and SpO₂ alone do not let the
    patient go: the recheck is missing; a full set of vital signs does."""
    session, who = day.iv, as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, actions.Checklist(True, True, "not_applicable", True))
    actions.record_observation(
        who, session.pk, {"systolic": 124, "diastolic": 78, "heart_rate": 72, "spo2": 98}
    )
    actions.start_dose(
        who,
        session.pk,
        actions.Supply(
            day.lots["racemic_ketamine"].registration_id,
            day.lots["racemic_ketamine"].pk,
            day.safe_id,
            "20",
        ),
    )
    started = reload(session).dose_started_at
    clock.move_to(started + timedelta(minutes=40))
    actions.infusion_step(who, session.pk, DoseStep.Kind.INFUSION_END)
    inventory.waste(
        who,
        day.lots["racemic_ketamine"].registration_id,
        dispense_id=reload(session).dispense_id,
        units="16",
        reason="Remainder of the vial",
        witness=inventory.Signature(prescriber.get_username(), PASSWORD),
    )

    clock.move_to(started + timedelta(minutes=45))
    sign_in(page, nurse)
    page.goto(session_url(session))
    record_vitals(
        page,
        systolic=186,
        diastolic=104,
        heart_rate=88,
        spo2=97,
        respiratory_rate=14,
        moaas=5,
        cadss=0,
    )
    expect(status(page)).to_have_text("Observation saved. 1 alert(s) raised for a prescriber.")
    page.locator(".toolbar").get_by_role("link", name="Chair board").click()
    row = page.locator("#chair-board tr", has_text="Okafor, Chidi")
    expect(row.locator(".alert-count")).to_have_text("1")
    expect(row).to_contain_text("recheck blood pressure (alert at 09:45)")

    doctor = prescriber_page
    sign_in(doctor, prescriber)
    doctor.get_by_role("navigation").get_by_role("link", name="Safety alerts (1)").click()
    session_alerts = doctor.locator("#session-alerts")
    expect(session_alerts).to_contain_text("Blood pressure above 180/110 mmHg.")
    session_alerts.get_by_role("link", name="Open the session to acknowledge").click()
    alert = doctor.locator(".alert-safety[role=alert]")
    alert.get_by_label("What was done").fill("Assessed: no symptoms; recheck in 15 minutes.")
    alert.get_by_role("button", name="Acknowledge").click()
    expect(status(doctor)).to_have_text("Alert acknowledged.")
    expect(doctor.get_by_role("navigation").get_by_role("link", name="Safety alerts")).to_have_text(
        "Safety alerts"
    )

    clock.move_to(started + timedelta(minutes=75))
    page.goto(session_url(session))
    record_vitals(page, heart_rate=80, spo2=98, moaas=5)
    expect(page.locator("#discharge ul.blockers")).to_contain_text(
        "blood pressure not rechecked since the alert at 09:45 (due 10:00)"
    )
    record_vitals(
        page,
        systolic=138,
        diastolic=84,
        heart_rate=78,
        spo2=98,
        respiratory_rate=14,
        moaas=5,
        cadss=0,
    )
    discharge = page.locator("#discharge form")
    discharge.get_by_label("Dissociation resolved").check()
    discharge.get_by_label("A responsible adult is here to take the patient home").check()
    discharge.get_by_label("Your password").fill(PASSWORD)
    discharge.get_by_role("button", name="Sign discharge").click()
    expect(status(page)).to_have_text("Discharged. The session note is signed and locked.")
    assert console.messages == []
