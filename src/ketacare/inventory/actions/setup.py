"""Setting up a registration's books: the DEA registration itself, its storage locations, and
the products the clinic stocks."""

from typing import Any

from django.db import transaction

from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.inventory.actions.checks import (
    PRODUCT_AMOUNT,
    StockError,
    locked_registration,
    quantity,
)
from ketacare.inventory.dea import dea_number_problem
from ketacare.inventory.models import Location, Product, Registration


@transaction.atomic
def create_registration(actor: Actor, dea_number: str, name: str, address: str) -> Registration:
    number = dea_number.strip().upper()
    problem = dea_number_problem(number)
    if problem:
        raise StockError(problem)
    if not name.strip():
        raise StockError("Write the registrant's name as on the DEA certificate.")
    if Registration.objects.filter(dea_number=number).exists():
        raise StockError(f"DEA number {number} is already registered.")
    if actor.clinic is None:
        raise StockError("A registration is registered by a clinic: act at one.")
    registration = Registration.objects.create(
        clinic=actor.clinic, dea_number=number, name=name.strip(), address=address.strip()
    )
    record(actor, Action.CREATE, obj=registration, changes={"dea_number": number})
    return registration


@transaction.atomic
def add_location(actor: Actor, registration_id: int, name: str, kind: str) -> Location:
    registration = locked_registration(actor, registration_id)
    if not name.strip():
        raise StockError("Name the storage location.")
    if kind not in Location.Kind.values:
        raise StockError(f"Unknown kind of storage {kind!r}.")
    if registration.locations.filter(name=name.strip()).exists():
        raise StockError(f"There is already a location called {name.strip()}.")
    location = Location.objects.create(registration=registration, name=name.strip(), kind=kind)
    record(actor, Action.CREATE, obj=location, changes={"name": location.name, "kind": kind})
    return location


@transaction.atomic
def add_product(actor: Actor, **fields: Any) -> Product:
    for key in ("ndc", "name", "unit"):
        fields[key] = str(fields.get(key, "")).strip()
        if not fields[key]:
            raise StockError(f"A product needs its {key.upper() if key == 'ndc' else key}.")
    if (
        fields.get("drug") not in Product.Drug.values
        or fields.get("form") not in Product.Form.values
    ):
        raise StockError("Choose the product's drug and form.")
    for key in ("mg_per_unit", "units_per_package"):
        fields[key] = quantity(fields.get(key), key.replace("_", " "), PRODUCT_AMOUNT)
    if Product.objects.filter(ndc=fields["ndc"]).exists():
        raise StockError(f"NDC {fields['ndc']} is already in the product list.")
    product = Product.objects.create(**fields)
    record(actor, Action.CREATE, obj=product, changes={k: str(v) for k, v in fields.items()})
    return product
