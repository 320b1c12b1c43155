"""Fictional people: names and addresses in one catchment, and each patient's story drawn up
front from the patient's own generator (``Profile``) — who they are, why they are referred,
their findings, vital signs and true outcome — and what the coordinator registers of them."""

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ketacare.dev.synth.clock import at
from ketacare.dev.synth.params import INDICATIONS, SynthParams


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GIVEN_FEMALE = _words(
    "Maria Elena Sofia Aisha Fatima Chloé Ingrid Zoë Priya Grace Hannah Olivia Emma Ava "
    "Mia Amara Yuki Leila Nadia Rosa Clara Ines Lucia Anna Sara Julia Mei Keisha Tamara"
)
GIVEN_MALE = _words(
    "James Marcus Hiroshi Liam Noah Mateo Kwame Ravi Daniel Omar Lucas Ethan David Samuel "
    "Tomás Ivan Arjun Kenji Malik Andre Felix Jonas Pedro Ali Chen Diego Luca Ben Oscar"
)
GIVEN_ANY = _words("Alex Jordan Sam Taylor Morgan Casey Riley Jamie Avery Quinn Robin Kai")
FAMILY = _words(
    "Nguyen García Smith O'Brien Kowalski Haddad Johnson Müller Okonkwo Rossi Andersson "
    "Patel Kim Novak Silva Brown Dubois Yamamoto Walker Ivanova Martinez Lee Chen Wilson "
    "Anderson Thomas Jackson White Harris Lopez Gonzalez Clark Lewis Robinson Young Hall "
    "Allen King Wright Scott Torres Hill Green Adams Baker Nelson Carter Mitchell Perez"
)
STREETS = _words("Oak Maple Cedar Pine Elm Lake Hill Park River Washington Lincoln Main")
# The catchment: one metro area's ZIP codes, and a few patients from further away.
TOWN, STATE = "Springfield", "IL"
ZIPS = tuple(f"627{n:02d}" for n in (1, 2, 3, 4, 7, 11, 12, 13, 15, 20, 31, 50, 59, 77, 91))
FAR_ZIPS = ("60601", "60614", "61820", "62901", "63101", "46204")
MEDICATIONS = (
    "Sertraline 100 mg daily",
    "Bupropion XL 300 mg daily",
    "Venlafaxine XR 150 mg daily",
    "Escitalopram 20 mg daily\nTrazodone 50 mg at night",
    "Duloxetine 60 mg daily",
    "Vortioxetine 20 mg daily\nAripiprazole 5 mg daily",
    "Fluoxetine 40 mg daily",
    "",
)
ALLERGIES = ("NKDA",) * 6 + ("Penicillin — rash", "Sulfa drugs — hives", "Latex — dermatitis")


def clip(value: float, low: int, high: int) -> int:
    """A drawn value rounded and held within bounds."""
    return max(low, min(high, round(value)))


@dataclass
class Profile:
    """A patient's story, drawn up front from the patient's own generator."""

    number: int
    referred: datetime
    sex: str
    age: int
    indication: str
    baseline: int  # the true PHQ-9 at the first dose
    outcome: str  # remitter, responder, non_responder
    endpoint: int  # the PHQ-9 at the end of induction
    relapse_day: float | None  # days after the endpoint window; None: no relapse
    dropout_after: int | None  # sessions dosed before dropping out
    systolic: int
    diastolic: int
    heart_rate: int
    hypertension_factor: float
    weight: Decimal
    height: Decimal
    findings: dict[str, Any]
    wants_esketamine: bool
    im: bool
    clears: bool
    research_consent: bool


def referred_at(params: SynthParams, n: int, start: date, days: int) -> datetime:
    """When patient ``n`` is referred: office hours of a weekday within the window."""
    rng = random.Random(f"{params.seed}/referral/{n}")  # noqa: S311
    day = start + timedelta(days=rng.randrange(max(1, days)))
    while day.weekday() >= 5:
        day = start + timedelta(days=rng.randrange(max(1, days)))
    return at(day, rng.randint(9, 15), rng.choice((0, 15, 30, 45)))


def draw_profile(params: SynthParams, n: int, referred: datetime) -> Profile:
    rng = random.Random(f"{params.seed}/profile/{n}")  # noqa: S311
    roll = rng.random()
    if roll < params.female_share:
        sex = "female"
    elif roll < params.female_share + params.intersex_share:
        sex = "intersex"
    else:
        sex = "male"
    age = clip(rng.gauss(params.mean_age, 13), 18, 80)
    indication = rng.choices(INDICATIONS, weights=params.indication_shares)[0]
    depressed = indication in ("trd", "mdd_with_suicidal_ideation")
    baseline = clip(rng.gauss(18.5 if depressed else 15, 4), 10, 27)
    half = baseline // 2
    roll = rng.random()
    if roll < params.remission_rate:
        outcome, endpoint = "remitter", rng.randint(0, 4)
    elif roll < params.response_rate:
        outcome, endpoint = "responder", rng.randint(5, half)
    elif rng.random() < 0.08:  # McInnes: 8.4 % worsened
        outcome, endpoint = "non_responder", rng.randint(baseline, min(27, baseline + 4))
    else:
        outcome, endpoint = "non_responder", rng.randint(half + 1, baseline)
    relapse_day = None
    if outcome != "non_responder" and rng.random() < params.relapse_rate:
        relapse_day = rng.uniform(0, 7 * params.follow_up_weeks)
    induction = 8 if depressed else 6
    dropout_after = rng.randint(1, induction - 1) if rng.random() < params.dropout_rate else None
    height = rng.gauss(163 if sex == "female" else 177, 7)
    bmi = min(48.0, max(17.5, rng.lognormvariate(math.log(28), 0.2)))
    weight = min(160.0, max(42.0, bmi * (height / 100) ** 2))
    systolic = clip(rng.gauss(122 + 0.3 * (age - 40), 12), 95, 168)
    return Profile(
        number=n,
        referred=referred,
        sex=sex,
        age=age,
        indication=indication,
        baseline=baseline,
        outcome=outcome,
        endpoint=endpoint,
        relapse_day=relapse_day,
        dropout_after=dropout_after,
        systolic=systolic,
        diastolic=clip(systolic * 0.62 + rng.gauss(3, 6), 55, systolic - 25),
        heart_rate=clip(rng.gauss(75, 10), 50, 105),
        hypertension_factor=rng.gammavariate(2.0, 0.5),  # mean 1: some patients run hotter
        weight=Decimal(f"{weight:.1f}"),
        height=Decimal(f"{height:.1f}"),
        findings=_findings(params, rng, indication, age),
        wants_esketamine=depressed and rng.random() < params.esketamine_share,
        im=rng.random() < params.im_share,
        clears=rng.random() < params.clearance_rate,
        research_consent=rng.random() < params.research_consent_rate,
    )


def _findings(params: SynthParams, rng: random.Random, indication: str, age: int) -> dict[str, Any]:
    """The evaluation's answers other than vital signs and screening scores."""
    sud = rng.random() < params.substance_use_rate
    trials = (1, 2, 2, 3, 3, 3, 4, 4, 5, 6) if indication == "trd" else (0, 1, 1, 2, 2, 3)
    return {
        "indication": indication,
        "adequate_antidepressant_trials": rng.choice(trials),
        "psychiatric.psychosis": rng.random() < params.psychosis_rate,
        "psychiatric.mania_or_bipolar": rng.random() < 0.05,
        "psychiatric.substance_use_disorder": sud,
        "psychiatric.substances": [rng.choice(["alcohol", "cannabis", "opioids"])] if sud else [],
        "psychiatric.prior_ketamine_or_pcp_misuse": False,
        "medical.uncontrolled_hypertension": rng.random() < 0.02,
        "medical.aneurysmal_vascular_disease": rng.random() < params.vascular_rate,
        "medical.arteriovenous_malformation": False,
        "medical.intracerebral_haemorrhage_history": False,
        "medical.recent_mi_or_stroke": age > 50 and rng.random() < 0.01,
        "medical.severe_cardiac_disease": False,
        "medical.severe_hepatic_disease": False,
        "medical.raised_intracranial_or_intraocular_pressure": False,
        "medical.pregnant_or_breastfeeding": False,
        "medical.hypersensitivity_to_ketamine_or_esketamine": False,
        "medications.benzodiazepines": rng.random() < 0.2,
        "medications.non_benzodiazepine_hypnotics": rng.random() < 0.06,
        "medications.psychostimulants": rng.random() < 0.05,
        "medications.maois": rng.random() < 0.01,
        "medications.opioids": rng.random() < 0.03,
        "medications.lamotrigine": rng.random() < 0.05,
        "screening.urine_toxicology": "positive" if sud and rng.random() < 0.5 else "not_indicated",
    }


def demographics(p: Profile, rng: random.Random) -> dict[str, Any]:
    """What the coordinator registers: a fictional person of the drawn sex and age."""
    names = {"female": GIVEN_FEMALE, "male": GIVEN_MALE}.get(p.sex, GIVEN_ANY)
    given, family = rng.choice(names), rng.choice(FAMILY)
    born = p.referred.date() - timedelta(days=365 * p.age + rng.randint(0, 364))
    zip_code = rng.choice(ZIPS) if rng.random() < 0.9 else rng.choice(FAR_ZIPS)
    handle = f"{given}.{family}".encode("ascii", "ignore").decode().lower().replace("'", "")
    return {
        "given_name": given,
        "family_name": family,
        "date_of_birth": born,
        "sex_at_birth": p.sex,
        "gender_identity": rng.choice(["", "", "", "Woman", "Man", "Non-binary"]),
        # Unique per patient: a shared number would be a likely duplicate at registration.
        "phone": f"+1 555 {p.number // 10000:04d} {p.number % 10000:04d}",
        "email": f"{handle}.{p.number}@example.org",
        "address": f"{rng.randint(1, 999)} {rng.choice(STREETS)} Street\n"
        f"{TOWN}, {STATE} {zip_code}",
        "emergency_contact_name": f"{rng.choice(GIVEN_ANY)} {family}",
        "emergency_contact_relationship": rng.choice(["Partner", "Parent", "Sibling"]),
        "emergency_contact_phone": f"+1 555 02{rng.randint(0, 99):02d} 0000",
        "allergies": rng.choice(ALLERGIES),
        "current_medications": rng.choice(MEDICATIONS),
        "weight_kg": p.weight,
        "height_cm": p.height,
        "measured_on": p.referred.date(),
    }
