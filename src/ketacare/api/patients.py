"""The patients resource: search, read and register, through the same search and action as
the pages, scoped to the caller's clinic, each read audited like a chart view."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from ketacare.accounts.permissions import allowed
from ketacare.api import pagination
from ketacare.api.auth import api_requires, caller
from ketacare.api.errors import ApiError
from ketacare.api.schemas import (
    DuplicateOut,
    ErrorOut,
    PatientIn,
    PatientOut,
    PatientPage,
    PatientQuery,
)
from ketacare.audit.record import Action, record
from ketacare.bounds import parse_id
from ketacare.patients import actions as patient_actions
from ketacare.patients.forms import NewPatientForm
from ketacare.patients.models import Patient
from ketacare.patients.search import ORDER, search

router = Router(tags=["patients"])
REFUSALS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut}


@router.get("/", response={200: PatientPage, **REFUSALS})
@api_requires("patient.view")
def list_patients(request: HttpRequest, params: Query[PatientQuery]) -> dict[str, Any]:
    """The clinic's patients in name order, or those matching ``q`` as the patient list's
    search box matches them."""
    who = caller(request)
    actor = who.actor
    # Printable characters only, as on the page: a NUL is refused by PostgreSQL's JSON.
    query = "".join(ch for ch in params.q if ch.isprintable()).strip()[:100]
    patients = Patient.objects.filter(clinic=actor.clinic)
    if params.cursor:
        after = pagination.decode(params.cursor, query)
        keys = patients.filter(pk=after).values_list("search_family", "search_given").first()
        if keys is None:
            raise ApiError(400, "The cursor is not valid: start again from the first page.")
        patients = patients.filter(pagination.after_keys(keys[0], keys[1], after))
    found = search(patients, query, actor.today()) if query else patients.order_by(*ORDER)
    limit = params.limit
    page = list(found[: limit + 1])
    items = page[:limit]
    record(
        actor,
        Action.SEARCH,
        object_type="patient",
        changes={"query": query, "via": who.via, "patients": [p.pk for p in items]},
    )
    more = len(page) > limit
    return {"items": items, "next_cursor": pagination.encode(items[-1].pk, query) if more else None}


@router.post("/", response={201: PatientOut, 409: DuplicateOut, **REFUSALS})
@api_requires("patient.create")
def create_patient(request: HttpRequest, payload: PatientIn) -> Status[Patient]:
    """Register a patient as the registration page does: the same checks, a likely
    duplicate refused (409) unless named in ``confirmed_duplicates``, the same audit."""
    actor = caller(request).actor
    measures = allowed(actor.role, "patient.record_measurement")
    if not measures and (payload.weight_kg is not None or payload.height_cm is not None):
        raise ApiError(403, "Your role may not record a weight or height.")
    data = {
        name: "" if value is None else str(value)
        for name, value in payload.model_dump(exclude={"confirmed_duplicates"}).items()
    }
    form = NewPatientForm(data, with_measurement=measures)
    if not form.is_valid():
        fields = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        raise ApiError(422, "The patient was not registered: see the fields.", fields=fields)
    try:
        patient = patient_actions.create_patient(
            actor, form.cleaned_data, set(payload.confirmed_duplicates)
        )
    except patient_actions.LikelyDuplicates as found:
        duplicates = [
            {"id": d.patient.pk, "mrn": d.patient.mrn, "reasons": list(d.reasons)}
            for d in found.duplicates
        ]
        raise ApiError(409, str(found), code="likely_duplicate", duplicates=duplicates) from None
    return Status(201, patient)


@router.get("/{int:pk}", response={200: PatientOut, 404: ErrorOut, **REFUSALS})
@api_requires("patient.view")
def read_patient(request: HttpRequest, pk: int) -> Patient:
    """One patient's demographics. Another clinic's patient is "not found", as on the
    pages, so ids reveal nothing."""
    who = caller(request)
    patient = (
        Patient.objects.filter(pk=pk, clinic=who.actor.clinic).first() if parse_id(pk) else None
    )
    if patient is None:
        raise ApiError(404, "No such patient.")
    record(who.actor, Action.VIEW, obj=patient, patient=patient, changes={"via": who.via})
    return patient
