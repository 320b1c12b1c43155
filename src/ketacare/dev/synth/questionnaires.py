"""What the patient reports over a course: the PHQ-9 along the patient's drawn trajectory (and
GAD-7, PCL-5, AUDIT-C, DAST-10), in clinic and by link at home, the follow-up after
induction, and the truth of a responder's first response and relapse."""

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.actor import Actor
from ketacare.clinical.instruments import get as get_instrument
from ketacare.clinical.instruments import score
from ketacare.clinical.safety import safety_signals
from ketacare.dev.synth.clock import at, office_day
from ketacare.dev.synth.people import Profile, clip

if TYPE_CHECKING:
    from ketacare.dev.synth.simulation import Sim


def _answers(instrument_id: str, total: int, rng: random.Random, last: int = 0) -> list[int]:
    """Item answers adding up to ``total``; PHQ-9's item 9 fixed at ``last``."""
    items = get_instrument(instrument_id).items
    answers = [0] * len(items)
    open_items = list(range(len(items)))
    if instrument_id == "phq9":
        answers[-1] = last
        open_items.pop()
        total -= last
    room = {i: items[i].max_value for i in open_items}
    while total > 0 and room:
        i = rng.choice(list(room))
        answers[i] += 1
        total -= 1
        room[i] -= 1
        if not room[i]:
            del room[i]
    return answers


def _raises_alert(instrument_id: str, answers: list[int], sex: str | None) -> bool:
    return bool(safety_signals(score(get_instrument(instrument_id), answers, sex=sex)))


class CourseQuestionnaires:
    """The first layer of a patient's course (``course.Course`` builds on it): the patient, the
    course's own generator, and what the patient reports — the PHQ-9 on its drawn trajectory,
    the screens, questionnaires in clinic and at home — with the truth of a drawn responder's
    first response and relapse for the report."""

    def __init__(self, sim: "Sim", profile: Profile) -> None:
        self.sim, self.p = sim, profile
        self.ops = sim.ops
        self.rng = random.Random(f"{sim.params.seed}/course/{profile.number}")  # noqa: S311
        self.patient = 0
        self.first_dose: datetime | None = None
        self.crossed = False  # a score at or below the response line since the first dose
        self.first_response_at: datetime | None = None
        self.endpoint_end: datetime | None = None
        self.relapse_at: datetime | None = None
        self.relapse_reported: datetime | None = None  # the first score that shows it

    def phq9_total(self, when: datetime, phase: str) -> int:
        """The PHQ-9 total the patient reports, from their trajectory."""
        p, rng = self.p, self.rng
        half = p.baseline // 2
        if phase == "intake":
            return clip(p.baseline + rng.randint(-2, 2), 10, 27)
        if phase == "baseline":
            return p.baseline
        if phase == "induction":
            # On the way from baseline to the endpoint; a responder who crossed the response
            # line stays below it (no spurious relapse), a non-responder stays above it.
            progress = min(1.0, (when - self.first_dose).days / 14) if self.first_dose else 0
            value = clip(
                p.baseline + (p.endpoint - p.baseline) * progress + rng.gauss(0, 1.5), 0, 27
            )
            if p.outcome == "non_responder":
                return max(value, half + 1)
            return min(value, half) if self.crossed else value
        relapsed = phase == "follow_up" and self.relapse_at is not None and when >= self.relapse_at
        if relapsed and self.relapse_reported is None:
            self.relapse_reported = when
            self.note_truth()
        if relapsed:
            return clip(p.baseline * rng.uniform(0.6, 1.0), half + 1, 27)
        if p.outcome == "remitter":
            low, high = (0, 4) if phase == "endpoint" else (0, half)
        elif p.outcome == "responder":
            low, high = (5 if phase == "endpoint" else 0), half
        else:
            low, high = half + 1, 27
        return clip(p.endpoint + rng.gauss(0, 1.2), low, high)

    def item9(self, total: int, phase: str) -> int:
        """PHQ-9 item 9 (thoughts of death or self-harm): likelier the worse the score; always
        present at the start for the suicidal-ideation indication."""
        nine = 0
        if phase in ("intake", "baseline") and self.p.indication == "mdd_with_suicidal_ideation":
            nine = self.rng.choice((1, 1, 2, 2, 3))
        elif self.rng.random() < 0.7 * (total / 27) ** 2:
            nine = self.rng.choice((1, 1, 1, 2))
        return min(total, max(nine, total - 24))  # items 1-8 hold at most 24 points

    def noted(self, total: int) -> None:
        self.sim.report.questionnaires += 1
        if self.first_dose is not None and total <= self.p.baseline // 2 and not self.crossed:
            self.crossed = True
            self.first_response_at = self.sim.clock()
            self.note_truth()

    def in_clinic(self, actor: Actor, phase: str) -> bool:
        """The day's PHQ-9 (and GAD-7 or PCL-5 by indication), entered by staff from the
        clinic's form. Returns whether it raised a safety alert."""
        total = self.phq9_total(self.sim.clock(), phase)
        answers = _answers("phq9", total, self.rng, self.item9(total, phase))
        self.ops.staff_response(actor, self.patient, "phq9", answers, None)
        self.noted(total)
        ratio = total / self.p.baseline
        if self.p.indication == "anxiety":
            gad = clip(15 * ratio + self.rng.gauss(0, 1.5), 0, 21)
            self.ops.staff_response(
                actor, self.patient, "gad7", _answers("gad7", gad, self.rng), None
            )
            self.sim.report.questionnaires += 1
        if self.p.indication == "ptsd" and phase in ("intake", "baseline", "endpoint"):
            pcl = clip(50 * ratio + self.rng.gauss(0, 5), 0, 80)
            self.ops.staff_response(
                actor, self.patient, "pcl5", _answers("pcl5", pcl, self.rng), None
            )
            self.sim.report.questionnaires += 1
        return _raises_alert("phq9", answers, None)

    def screens(self, nurse: Actor) -> dict[str, Any]:
        """AUDIT-C and DAST-10 at intake; the evaluation takes their results."""
        rng = self.rng
        drinks = [
            rng.choice((0, 0, 1, 1, 2, 3)),
            rng.choice((0, 0, 0, 1, 2)),
            rng.choice((0, 0, 1)),
        ]
        drugs = [0] * 10
        drugs[2] = 1  # item 3 is reverse-scored: "yes, I can stop when I want to"
        if self.p.findings["psychiatric.substance_use_disorder"] or rng.random() < 0.05:
            for item in rng.sample([0, 1, 3, 4, 5, 6, 7, 8, 9], rng.randint(1, 5)):
                drugs[item] = 1
        sex = self.record_screens(nurse, rng, drinks, drugs)
        return {
            "screening.auditc_positive": "positive_screen"
            in score(get_instrument("auditc"), drinks, sex=sex).flags,
            "screening.dast10_score": score(get_instrument("dast10"), drugs).total,
        }

    def rescreen(self, nurse: Actor) -> None:
        """AUDIT-C and DAST-10 again at the last induction session: the registry's misuse
        signal counts the positive ones. Drawn from a generator of their own, so the rest of
        the course is the same with or without them."""
        rng = random.Random(f"{self.sim.params.seed}/rescreen/{self.p.number}")  # noqa: S311
        positive = rng.random() < self.sim.params.rescreen_positive_rate
        drinks = [rng.choice((0, 0, 1, 1, 2)), rng.choice((0, 0, 0, 1)), 0]
        drugs = [0] * 10
        drugs[2] = 1  # item 3 is reverse-scored
        if positive:
            if rng.random() < 0.5:
                drinks = [rng.choice((3, 4)), rng.choice((1, 2)), rng.choice((1, 2))]
            else:
                for item in rng.sample([0, 1, 3, 4, 5, 6, 7, 8, 9], rng.randint(3, 5)):
                    drugs[item] = 1
        self.record_screens(nurse, rng, drinks, drugs)

    def record_screens(
        self, nurse: Actor, rng: random.Random, drinks: list[int], drugs: list[int]
    ) -> str:
        """AUDIT-C and DAST-10 entered by the nurse; returns the sex AUDIT-C was scored for
        (its cut-point depends on it: asked on the form when the chart does not say)."""
        chart_sex = self.p.sex if self.p.sex in ("female", "male") else None
        sex = chart_sex or rng.choice(("female", "male"))
        self.ops.staff_response(nurse, self.patient, "auditc", drinks, None if chart_sex else sex)
        self.ops.staff_response(nurse, self.patient, "dast10", drugs, None)
        self.sim.report.questionnaires += 2
        return sex

    # --- after induction ----------------------------------------------------------------------

    def follow_up(self, last_session: date) -> Iterator[datetime]:
        """PHQ-9 links by text message: weekly to the end of the endpoint window, then every
        two weeks for ``follow_up_weeks``; some never answered."""
        params = self.sim.params
        self.endpoint_end = at(last_session, 12) + timedelta(days=params.endpoint_days)
        offsets = list(range(7, params.endpoint_days + 1, 7))
        # Four weeks past the follow-up, so that a late relapse is seen twice (relapse.toml).
        last = params.endpoint_days + 7 * params.follow_up_weeks + 28
        offsets += list(range(params.endpoint_days + 14, last + 1, 14))
        if self.p.relapse_day is not None:
            # The relapse begins with the first follow-up questionnaire sent on or after the
            # drawn day: the registry cannot see a relapse between two questionnaires.
            drawn = self.endpoint_end + timedelta(days=self.p.relapse_day)
            sends = (at(last_session + timedelta(days=o), 10) for o in offsets)
            self.relapse_at = next((t for t in sends if t >= drawn), drawn)
        self.note_truth()
        for offset in offsets:
            yield max(
                at(last_session + timedelta(days=offset), 10, self.rng.randint(0, 59)),
                self.sim.clock() + timedelta(minutes=1),
            )
            phase = "endpoint" if offset <= params.endpoint_days else "follow_up"
            yield from self.at_home(phase)

    def note_truth(self) -> None:
        """A drawn responder's first response and relapse onset, for the report's truth, once
        both the first response and the end of the endpoint window are known (whichever comes
        last: a responder may first cross the line during induction or in the endpoint window,
        before any relapse can begin)."""
        p, responded = self.p, self.first_response_at
        if p.outcome == "non_responder" or responded is None or self.endpoint_end is None:
            return
        self.sim.report.responses[self.patient] = (
            responded,
            self.relapse_reported or self.relapse_at,
        )

    def at_home(self, phase: str) -> Iterator[datetime]:
        rng, staff, ops = self.rng, self.sim.staff, self.ops
        instruments = ["phq9"] + (["gad7"] if self.p.indication == "anxiety" else [])
        sent_at = self.sim.clock()
        sent = [
            (i, ops.send_link(staff.pick(Role.COORDINATOR, rng), self.patient, i))
            for i in instruments
        ]
        missed = rng.random() < self.sim.params.missed_questionnaire_rate
        hours = rng.uniform(0.2, 20)
        if missed or rng.random() < 0.3:  # no answer by the next day: one reminder
            yield sent_at + timedelta(hours=24)
            for _, link in sent:
                ops.remind(staff.pick(Role.COORDINATOR, rng), link)
            if missed:
                return  # the links expire unanswered
            hours = rng.uniform(24.5, 70)
        yield sent_at + timedelta(hours=hours)
        total = self.phq9_total(self.sim.clock(), phase)
        answers = _answers("phq9", total, rng, self.item9(total, phase))
        for instrument, link in sent:
            if instrument == "phq9":
                ops.answer_link(link, answers)
            else:
                gad = clip(15 * total / self.p.baseline, 0, 21)
                ops.answer_link(link, _answers("gad7", gad, rng))
                self.sim.report.questionnaires += 1
        self.noted(total)
        if _raises_alert("phq9", answers, None):
            # Seen on the prescribers' dashboard in office hours; they phone the patient.
            now = timezone.localtime(self.sim.clock())
            day = now.date() if now.hour < 16 else now.date() + timedelta(days=1)
            yield max(now + timedelta(minutes=30), at(office_day(day), 9, 15))
            ops.acknowledge_safety(
                staff.pick(Role.PRESCRIBER, rng),
                self.patient,
                "Phoned the patient: passive thoughts, no plan or intent; safety plan reviewed, "
                "988 given; earlier review offered.",
            )
