"""What the patients resource reads and writes, for Ninja and the OpenAPI document."""

from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Schema

from ketacare.patients.models import Patient


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class ErrorOut(Schema):
    error: ErrorDetail


class Duplicate(Schema):
    id: int
    mrn: str
    reasons: list[str]


class DuplicateDetail(ErrorDetail):
    duplicates: list[Duplicate]


class DuplicateOut(Schema):
    """409 ``likely_duplicate``: register anyway by naming each id in
    ``confirmed_duplicates``."""

    error: DuplicateDetail


class PatientSummary(Schema):
    id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex_at_birth: str


class PatientOut(PatientSummary):
    gender_identity: str
    phone: str
    email: str
    address: str
    emergency_contact_name: str
    emergency_contact_relationship: str
    emergency_contact_phone: str
    allergies: str
    current_medications: str
    created_at: datetime
    updated_at: datetime


class PatientPage(Schema):
    items: list[PatientSummary]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page."
    )


class PatientQuery(Schema):
    q: str = Field("", max_length=200, description="Name prefix, MRN, birth date or year.")
    cursor: str = Field("", max_length=500, description="A `next_cursor` of the same search.")
    limit: int = Field(25, ge=1, le=100)


class PatientIn(Schema):
    """A new patient, checked as the registration form checks it."""

    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date
    sex_at_birth: Patient.SexAtBirth
    allergies: str = Field(description="Substance and reaction, one per line; NKDA if none.")
    gender_identity: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    emergency_contact_name: str = ""
    emergency_contact_relationship: str = ""
    emergency_contact_phone: str = ""
    current_medications: str = ""
    weight_kg: Decimal | None = Field(
        None, description="A first weight (roles that record measurements only)."
    )
    height_cm: Decimal | None = None
    confirmed_duplicates: list[int] = Field(
        default_factory=list,
        description="Ids of likely duplicates a 409 named that are someone else.",
    )
