"""The pre-treatment evaluation the eligibility rules read, and its strict validation.

An evaluation arrives as a dict or JSON (from the planning app, or a file given to
``ketacare eligibility``). Every field must be present with the right type and no unknown
field is accepted: a missing, mistyped or misspelt field raises :class:`EvaluationError`
naming it, because a rule that silently reads nothing would report "eligible".

Layout — every key is required, nothing else is allowed::

    {
      "indication": "trd",
      "adequate_antidepressant_trials": 3,
      "age_years": 46,
      "psychiatric": {
        "psychosis": false,
        "mania_or_bipolar": false,
        "substance_use_disorder": true,
        "substances": ["alcohol"],
        "prior_ketamine_or_pcp_misuse": false
      },
      "medical": {
        "uncontrolled_hypertension": false,
        "aneurysmal_vascular_disease": false,
        "arteriovenous_malformation": false,
        "intracerebral_haemorrhage_history": false,
        "recent_mi_or_stroke": false,
        "severe_cardiac_disease": false,
        "severe_hepatic_disease": false,
        "raised_intracranial_or_intraocular_pressure": false,
        "pregnant_or_breastfeeding": false,
        "hypersensitivity_to_ketamine_or_esketamine": false
      },
      "medications": {
        "benzodiazepines": false,
        "non_benzodiazepine_hypnotics": false,
        "psychostimulants": false,
        "maois": false,
        "opioids": false,
        "lamotrigine": false
      },
      "vitals": {"systolic": 132, "diastolic": 84, "heart_rate": 76},
      "screening": {
        "auditc_positive": null,
        "dast10_score": 1,
        "urine_toxicology": "not_indicated"
      }
    }

- ``indication``: one of ``trd``, ``mdd_with_suicidal_ideation``, ``anxiety``, ``ptsd``,
  ``ocd``, ``other``.
- ``adequate_antidepressant_trials``, ``age_years``: whole numbers (trials >= 0).
  ``age_years`` is the age in completed years on the evaluation date; the planning app derives
  it from the patient's date of birth, so it is never typed.
- ``psychiatric``, ``medical``, ``medications``: ``true``/``false`` only (not 0/1, not "no").
  ``substances`` names the substances of the use disorder: non-empty when
  ``substance_use_disorder`` is true, empty when it is false. ``severe_hepatic_disease`` means
  severe hepatic impairment, Child-Pugh class C (the Spravato label's term, §8.6).
- ``vitals``: baseline blood pressure (mmHg) and heart rate (/min), whole numbers within the
  plausibility bounds of ``clinical/data/vital_signs.toml``; diastolic below systolic.
- ``screening``: ``null`` means "not done" and must be written out, so that leaving a screen
  out is never mistaken for a negative one. ``auditc_positive`` is the AUDIT-C result against
  its sex-specific cut-point; ``dast10_score`` the DAST-10 total; ``urine_toxicology`` one of
  ``not_indicated``, ``negative``, ``positive``.
"""

import difflib
import json
import types
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, is_dataclass
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from ketacare.clinical.datafiles import load
from ketacare.clinical.instruments import get as get_instrument

Indication = Literal["trd", "mdd_with_suicidal_ideation", "anxiety", "ptsd", "ocd", "other"]
UrineToxicology = Literal["not_indicated", "negative", "positive"]
FieldValue = bool | int | str | tuple[str, ...] | None
FieldKind = Literal["bool", "int", "choice", "text_list"]


class EvaluationError(ValueError):
    """An evaluation that cannot be judged: a field is missing, mistyped, unknown or
    implausible. The message names the field and fits on one line."""


@dataclass(frozen=True)
class Psychiatric:
    psychosis: bool
    mania_or_bipolar: bool
    substance_use_disorder: bool
    substances: tuple[str, ...]
    prior_ketamine_or_pcp_misuse: bool


@dataclass(frozen=True)
class Medical:
    uncontrolled_hypertension: bool
    aneurysmal_vascular_disease: bool
    arteriovenous_malformation: bool
    intracerebral_haemorrhage_history: bool
    recent_mi_or_stroke: bool
    severe_cardiac_disease: bool
    severe_hepatic_disease: bool
    raised_intracranial_or_intraocular_pressure: bool
    pregnant_or_breastfeeding: bool
    hypersensitivity_to_ketamine_or_esketamine: bool


@dataclass(frozen=True)
class Medications:
    """Current medication by interaction class."""

    benzodiazepines: bool
    non_benzodiazepine_hypnotics: bool
    psychostimulants: bool
    maois: bool
    opioids: bool
    lamotrigine: bool


@dataclass(frozen=True)
class Vitals:
    systolic: int
    diastolic: int
    heart_rate: int


@dataclass(frozen=True)
class Screening:
    """Screens that may not have been done: None means not done."""

    auditc_positive: bool | None
    dast10_score: int | None
    urine_toxicology: UrineToxicology | None


@dataclass(frozen=True)
class Evaluation:
    indication: Indication
    adequate_antidepressant_trials: int
    age_years: int
    psychiatric: Psychiatric
    medical: Medical
    medications: Medications
    vitals: Vitals
    screening: Screening

    @classmethod
    def from_dict(cls, data: object) -> "Evaluation":
        """A validated evaluation; raises EvaluationError naming the first bad field."""
        evaluation: Evaluation = _section(cls, data, "")
        _check_consistency(evaluation)
        return evaluation

    @classmethod
    def from_json(cls, text: str) -> "Evaluation":
        """A validated evaluation from JSON text; a repeated key is an error too, because JSON
        parsers otherwise keep the last value without a word."""
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except json.JSONDecodeError as error:
            raise EvaluationError(
                f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            ) from None
        return cls.from_dict(data)

    def value(self, path: str) -> FieldValue:
        """The value at a dotted path such as ``"vitals.systolic"``."""
        if path not in field_specs():
            raise KeyError(path)
        node: Any = self
        for name in path.split("."):
            node = getattr(node, name)
        value: FieldValue = node
        return value

    def as_dict(self) -> dict[str, Any]:
        """The evaluation in its JSON layout (round-trips through ``from_dict``)."""
        # Through JSON so that tuples come back as the lists the layout uses.
        data: dict[str, Any] = json.loads(json.dumps(asdict(self)))
        return data


@dataclass(frozen=True)
class FieldSpec:
    """What one leaf field of the layout accepts; rules are checked against these too."""

    path: str
    kind: FieldKind
    nullable: bool
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None

    @property
    def expected(self) -> str:
        text = {
            "bool": "true or false",
            "int": "an integer",
            "choice": f"one of {', '.join(self.choices)}",
            "text_list": "a list of names",
        }[self.kind]
        return f"{text} or null" if self.nullable else text


@cache
def field_specs() -> Mapping[str, FieldSpec]:
    """Every leaf field of the layout by dotted path, in layout order (read-only: shared)."""
    return types.MappingProxyType({spec.path: spec for spec in _specs(Evaluation, "")})


def _specs(cls: Any, prefix: str) -> list[FieldSpec]:
    specs: list[FieldSpec] = []
    hints = get_type_hints(cls)
    for f in fields(cls):
        hint = hints[f.name]
        if is_dataclass(hint):
            specs.extend(_specs(hint, f"{prefix}{f.name}."))
        else:
            specs.append(_spec(f"{prefix}{f.name}", hint))
    return specs


def _spec(path: str, hint: Any) -> FieldSpec:
    nullable = False
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        nullable, hint = len(args) < len(get_args(hint)), args[0]
    if hint is bool:
        return FieldSpec(path, "bool", nullable)
    if hint is int:
        low, high = _bounds().get(path, (0, None))
        return FieldSpec(path, "int", nullable, low=low, high=high)
    if get_origin(hint) is Literal:
        return FieldSpec(path, "choice", nullable, choices=tuple(get_args(hint)))
    if hint == tuple[str, ...]:
        return FieldSpec(path, "text_list", nullable)
    raise TypeError(f"no validation for {path}: {hint!r}")  # a new field type needs code here


def _bounds() -> dict[str, tuple[int, int | None]]:
    """Plausibility bounds, each taken from the data file that already owns the number."""
    bounds: dict[str, tuple[int, int | None]] = {
        f"vitals.{name}": (int(b["min"]), int(b["max"]))
        for name, b in load("vital_signs")["bounds"].items()
        if name in ("systolic", "diastolic", "heart_rate")
    }
    bounds["age_years"] = (0, int(load("body_measurements")["age_years"]["max"]))
    dast_range = get_instrument("dast10").total_range
    assert dast_range is not None
    bounds["screening.dast10_score"] = dast_range
    return bounds


def _section(cls: Any, data: object, prefix: str) -> Any:
    where = prefix.rstrip(".")
    if not isinstance(data, dict):
        if not where:
            raise EvaluationError(f"an evaluation must be a JSON object, got {_shown(data)}")
        raise EvaluationError(f"field {where} must be an object, got {_shown(data)}")
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    for key in data:
        if key not in names:
            raise EvaluationError(
                f"unknown field: {prefix}{key}{_did_you_mean(key, names, prefix)}"
            )
    values: dict[str, Any] = {}
    for name in names:
        path = prefix + name
        if name not in data:
            raise EvaluationError(f"missing field: {path}")
        if is_dataclass(hints[name]):
            values[name] = _section(hints[name], data[name], f"{path}.")
        else:
            values[name] = _value(field_specs()[path], data[name])
    return cls(**values)


def _value(spec: FieldSpec, raw: object) -> FieldValue:
    if raw is None and spec.nullable:
        return None
    wrong = EvaluationError(f"field {spec.path} must be {spec.expected}, got {_shown(raw)}")
    if spec.kind == "bool":
        if not isinstance(raw, bool):
            raise wrong
        return raw
    if spec.kind == "int":
        # bool is an int subclass in Python; true must not pass for 1 trial.
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise wrong
        if (spec.low is not None and raw < spec.low) or (spec.high is not None and raw > spec.high):
            limits = (
                f"between {spec.low} and {spec.high}" if spec.high is not None else f">= {spec.low}"
            )
            raise EvaluationError(f"field {spec.path} must be {limits}, got {raw}")
        return raw
    if spec.kind == "choice":
        if not isinstance(raw, str) or raw not in spec.choices:
            raise wrong
        return raw
    if not isinstance(raw, list) or not all(isinstance(n, str) and n.strip() for n in raw):
        raise wrong
    return tuple(n.strip() for n in raw)


def _check_consistency(evaluation: Evaluation) -> None:
    vitals = evaluation.vitals
    if vitals.diastolic >= vitals.systolic:
        raise EvaluationError(
            f"field vitals.diastolic ({vitals.diastolic}) must be below vitals.systolic "
            f"({vitals.systolic}); were they swapped?"
        )
    psychiatric = evaluation.psychiatric
    if psychiatric.substance_use_disorder and not psychiatric.substances:
        raise EvaluationError(
            "field psychiatric.substances must name the substances when "
            "psychiatric.substance_use_disorder is true"
        )
    if psychiatric.substances and not psychiatric.substance_use_disorder:
        # A list without the diagnosis is ambiguous: a missed tick or a stray entry.
        raise EvaluationError(
            "field psychiatric.substances must be empty when "
            "psychiatric.substance_use_disorder is false"
        )


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise EvaluationError(f"duplicate field: {key} appears twice in one object")
        result[key] = value
    return result


def _did_you_mean(key: object, names: list[str], prefix: str) -> str:
    close = difflib.get_close_matches(str(key), names, n=1)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


def _shown(value: object) -> str:
    """A bad value as the user typed it: JSON spelling, strings quoted, long values cut."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
