"""The evaluation's answers as staff see them: labels and sections for the eligibility
layout's fields, and the flat (dotted-path) form the planning app stores them in."""

from collections.abc import Iterable, Mapping
from typing import Any

from ketacare.clinical.eligibility import field_specs

# Filled from the patient's date of birth when the evaluation is completed, never typed.
DERIVED = ("age_years",)

SECTIONS: dict[str, str] = {
    "": "Indication",
    "psychiatric": "Psychiatric history",
    "medical": "Medical history",
    "medications": "Current medications",
    "vitals": "Baseline vital signs",
    "screening": "Substance-use screening",
}

LABELS: dict[str, str] = {
    "indication": "Indication",
    "adequate_antidepressant_trials": "Adequate antidepressant trials (number)",
    "age_years": "Age on the evaluation date (years, from the date of birth)",
    "psychiatric.psychosis": "Psychosis (history or current)",
    "psychiatric.mania_or_bipolar": "Mania or bipolar disorder",
    "psychiatric.substance_use_disorder": "Substance use disorder",
    "psychiatric.substances": "Substances of the use disorder (comma-separated)",
    "psychiatric.prior_ketamine_or_pcp_misuse": "Prior ketamine or PCP misuse",
    "medical.uncontrolled_hypertension": "Uncontrolled hypertension",
    "medical.aneurysmal_vascular_disease": (
        "Aneurysmal vascular disease (aorta, intracranial, peripheral)"
    ),
    "medical.arteriovenous_malformation": "Arteriovenous malformation",
    "medical.intracerebral_haemorrhage_history": "History of intracerebral haemorrhage",
    "medical.recent_mi_or_stroke": "Recent myocardial infarction or stroke",
    "medical.severe_cardiac_disease": "Severe cardiac disease",
    "medical.severe_hepatic_disease": "Severe hepatic impairment (Child-Pugh C)",
    "medical.raised_intracranial_or_intraocular_pressure": (
        "Raised intracranial or intraocular pressure"
    ),
    "medical.pregnant_or_breastfeeding": "Pregnant or breastfeeding",
    "medical.hypersensitivity_to_ketamine_or_esketamine": (
        "Hypersensitivity to ketamine or esketamine"
    ),
    "medications.benzodiazepines": "Benzodiazepines",
    "medications.non_benzodiazepine_hypnotics": "Non-benzodiazepine hypnotics (z-drugs)",
    "medications.psychostimulants": "Psychostimulants",
    "medications.maois": "MAO inhibitors",
    "medications.opioids": "Opioids",
    "medications.lamotrigine": "Lamotrigine",
    "vitals.systolic": "Systolic BP (mmHg)",
    "vitals.diastolic": "Diastolic BP (mmHg)",
    "vitals.heart_rate": "Heart rate (/min)",
    "screening.auditc_positive": "AUDIT-C",
    "screening.dast10_score": "DAST-10 score",
    "screening.urine_toxicology": "Urine toxicology",
}

ROUTE_LABELS: dict[str, str] = {
    "iv_ketamine": "IV racemic ketamine",
    "im_ketamine": "IM racemic ketamine",
    "intranasal_esketamine": "Intranasal esketamine",
}

CHOICE_LABELS: dict[str, str] = {
    "trd": "Treatment-resistant depression",
    "mdd_with_suicidal_ideation": "Major depression with suicidal ideation",
    "anxiety": "Anxiety",
    "ptsd": "PTSD",
    "ocd": "OCD",
    "other": "Other",
    "not_indicated": "Not indicated",
    "negative": "Negative",
    "positive": "Positive",
}


def name_fields(text: str) -> str:
    """``text`` with the layout's field paths named as the form names them
    ("vitals.systolic > 150" → "Systolic BP (mmHg) > 150"), longest paths first so that no
    path is replaced inside a longer one."""
    for path in sorted(LABELS, key=len, reverse=True):
        text = text.replace(f"field {path}", LABELS[path]).replace(path, LABELS[path])
    return text


def entered_paths() -> list[str]:
    """The fields staff answer, in layout order."""
    return [path for path in field_specs() if path not in DERIVED]


def section_of(path: str) -> str:
    return path.rpartition(".")[0]


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"vitals.systolic": 120}`` → ``{"vitals": {"systolic": 120}}``."""
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        node = nested
        *parents, leaf = path.split(".")
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = value
    return nested


def apply_changes(
    answers: Mapping[str, Any], addenda_changes: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """The answers after each addendum's changes (``{path: {"old": …, "new": …}}``) in turn."""
    current = dict(answers)
    for changes in addenda_changes:
        for path, change in changes.items():
            current[path] = change["new"]
    return current


def shown(path: str, value: Any) -> str:
    """An answer as a person reads it."""
    if path not in field_specs():
        return str(value)
    if value is None:
        return "not done" if path in {p for p, s in field_specs().items() if s.nullable} else "—"
    if path == "screening.auditc_positive":
        return "positive" if value else "negative"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(value) or "—"
    return CHOICE_LABELS.get(str(value), str(value))


def grouped(answers: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(section title, [(path, label, shown value)]) for every field, unanswered ones as —."""
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for path in field_specs():
        value = shown(path, answers[path]) if path in answers else "not answered"
        groups.setdefault(section_of(path), []).append((path, LABELS[path], value))
    return [(SECTIONS[key], rows) for key, rows in groups.items()]
