"""The demo clinic's controlled-substance stock: a registration, two storage places, three
products, and a week of movements made through the ledger's actions (so the hash chain,
balances and audit trail are real) — with one lot expiring soon, one dispense still waiting
for its waste, and one count that did not match the book."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from ketacare.accounts.models import Clinic, User
from ketacare.accounts.permissions import Role
from ketacare.actor import Actor
from ketacare.inventory import actions
from ketacare.inventory.actions import Counted, Signature
from ketacare.inventory.models import Location, Lot, Product, Registration, StockBalance
from ketacare.planning.models import TreatmentPlan

DEA_NUMBER = "FR4218738"  # fictional; passes the DEA check digit
# Fictional NDCs (labeler 00000) so nobody mistakes demo stock for a real product.
PRODUCTS = [
    (
        "00000-0101-20",
        "Ketamine HCl 10 mg/mL, 20 mL vial (demo)",
        "racemic_ketamine",
        "vial",
        "10",
        "mL",
        "20",
    ),
    (
        "00000-0105-10",
        "Ketamine HCl 50 mg/mL, 10 mL vial (demo)",
        "racemic_ketamine",
        "vial",
        "50",
        "mL",
        "10",
    ),
    (
        "00000-0228-02",
        "Esketamine 28 mg nasal spray device (demo)",
        "esketamine",
        "nasal_device",
        "28",
        "device",
        "2",
    ),
]


def _staff(clinic: Clinic, role: Role) -> Actor:
    user = User.objects.filter(memberships__clinic=clinic, memberships__role=role).first()
    return Actor(user=user, role=role.value, clinic=clinic, ip="127.0.0.1")


def _at(days_ago: int, hour: int, minute: int = 0) -> datetime:
    """That hour ``days_ago`` days ago; for a demo built before that hour today, now (the
    ledger refuses a movement ahead of time; later calls get later times, so today's
    movements keep their order)."""
    day = timezone.localdate() - timedelta(days=days_ago)
    return min(timezone.make_aware(datetime.combine(day, time(hour, minute))), timezone.now())


def seed_inventory(clinic: Clinic, password: str) -> None:
    admin, nurse = _staff(clinic, Role.CLINIC_ADMIN), _staff(clinic, Role.NURSE)
    prescriber = _staff(clinic, Role.PRESCRIBER)
    assert prescriber.user is not None
    registration = actions.create_registration(
        admin, DEA_NUMBER, clinic.name, "1 River Street, Springfield"
    )
    safe = actions.add_location(admin, registration.pk, "Main safe", Location.Kind.SAFE)
    cabinet = actions.add_location(
        admin, registration.pk, "Infusion room cabinet", Location.Kind.CABINET
    )
    products = []
    for ndc, name, drug, form, mg_per_unit, unit, per_package in PRODUCTS:
        products.append(
            Product.objects.filter(ndc=ndc).first()
            or actions.add_product(
                admin,
                ndc=ndc,
                name=name,
                drug=drug,
                form=form,
                mg_per_unit=Decimal(mg_per_unit),
                unit=unit,
                units_per_package=Decimal(per_package),
            )
        )
    ketamine10, ketamine50, esketamine = products
    today = timezone.localdate()
    receipts = [
        (ketamine10, "K10-2611", today + timedelta(days=400), "400", "INV-20417"),
        # Expires within the warning window: the stock page flags it.
        (ketamine50, "K50-2607", today + timedelta(days=40), "100", "INV-20417"),
        (esketamine, "E28-2610", today + timedelta(days=300), "24", "INV-20418"),
    ]
    lots = {}
    for product, lot_number, expires_on, units, invoice in receipts:
        entry = actions.receive(
            nurse,
            registration.pk,
            product_id=product.pk,
            lot_number=lot_number,
            expires_on=expires_on,
            location_id=safe.pk,
            units=units,
            supplier="Springfield Specialty Pharmacy",
            invoice=invoice,
            occurred_at=_at(8, 9),
        )
        lots[product.pk] = entry.lot
    k10, esk = lots[ketamine10.pk], lots[esketamine.pk]
    actions.transfer(
        nurse,
        registration.pk,
        lot_id=k10.pk,
        from_location_id=safe.pk,
        to_location_id=cabinet.pk,
        units="200",
        occurred_at=_at(7, 8, 30),
    )
    actions.return_to_supplier(
        nurse,
        registration.pk,
        lot_id=k10.pk,
        location_id=safe.pk,
        units="20",
        supplier="Springfield Specialty Pharmacy",
        reference="RA-20418",
        reason="Cracked vial found on receipt check.",
        occurred_at=_at(7, 9),
    )
    _dispense_week(registration, nurse, prescriber, password, k10, esk, cabinet, safe)
    _count_with_discrepancy(admin, registration)


def _dispense_week(
    registration: Registration,
    nurse: Actor,
    prescriber: Actor,
    password: str,
    k10: Lot,
    esk: Lot,
    cabinet: Location,
    safe: Location,
) -> None:
    """Each signed plan's patient dosed on several days; every vial's remainder wasted with
    the prescriber as witness, except today's last dispense (waiting for its waste)."""
    assert prescriber.user is not None
    witness = Signature(prescriber.user.get_username(), password)
    plans = list(
        TreatmentPlan.objects.filter(clinic=registration.clinic, state="signed")
        .select_related("patient")
        .order_by("pk")
    )
    days = [6, 5, 4, 2, 1, 0]
    for index, day in enumerate(days):
        for slot, plan in enumerate(plans):
            if (index + slot) % 2:
                continue  # about three sessions a week each
            dose = Decimal(plan.dose_order["dose_mg"])
            esketamine = plan.dose_order.get("devices")
            lot, location = (esk, safe) if esketamine else (k10, cabinet)
            units = Decimal(esketamine) if esketamine else Decimal("20")  # one 20 mL vial
            entry = actions.dispense(
                nurse,
                registration.pk,
                lot_id=lot.pk,
                location_id=location.pk,
                units=units,
                patient_id=plan.patient_id,
                dose_mg=dose,
                plan_id=plan.pk,
                occurred_at=_at(day, 9 + slot, 5),
            )
            last = day == 0 and slot == len(plans) - 1
            leftover = entry.quantity_mg - dose
            if leftover and not last:
                actions.waste(
                    nurse,
                    registration.pk,
                    dispense_id=entry.pk,
                    units=(leftover / lot.product.mg_per_unit).quantize(Decimal("0.01")),
                    reason="Remainder of a single-use vial, drawn into the sharps container.",
                    witness=witness,
                    occurred_at=_at(day, 10 + slot, 0),
                )


def _count_with_discrepancy(admin: Actor, registration: Registration) -> None:
    """Yesterday's ad-hoc count: the cabinet held 1 mL less than the book."""
    balances = StockBalance.objects.filter(lot__registration=registration, quantity_units__gt=0)
    lines = []
    for balance in balances.select_related("location"):
        counted = balance.quantity_units
        if balance.location.kind == Location.Kind.CABINET:
            counted -= Decimal("1")
        lines.append(Counted(balance.lot_id, balance.location_id, counted))
    actions.record_count(
        admin,
        registration.pk,
        kind="ad_hoc",
        lines=lines,
        note="End-of-week count before the holiday.",
    )
