"""The synthetic clinic's set-up, always through the actions: the clinic with its treatment
days, its staff (who sign and witness), its DEA registration, cabinet and products."""

import random
from dataclasses import dataclass, replace

from django.contrib.auth.hashers import make_password

from ketacare.accounts.actions import create_clinic, create_staff
from ketacare.accounts.hashers import MachineSecretHasher
from ketacare.accounts.models import Clinic, User
from ketacare.accounts.permissions import Role
from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes, record
from ketacare.dev.synth.params import SynthError, SynthParams
from ketacare.dev.synth.people import STATE, TOWN
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import Signature
from ketacare.inventory.models import Location, Product, Registration
from ketacare.patients.models import Patient

STAFF_PLAN = ((Role.PRESCRIBER, 2), (Role.NURSE, 4), (Role.COORDINATOR, 1), (Role.CLINIC_ADMIN, 1))
# Fictional NDCs (labeler 00000), as in the demo, so nobody mistakes this for real stock.
PRODUCTS = {
    "racemic_ketamine": ("00000-0101-20", "Ketamine HCl 10 mg/mL, 20 mL vial (demo)",
                         "racemic_ketamine", "vial", "10", "mL", "20"),
    "esketamine": ("00000-0228-02", "Esketamine 28 mg nasal spray device (demo)", "esketamine",
                   "nasal_device", "28", "device", "2"),
}  # fmt: skip


def _dea_number(clinic_id: int) -> str:
    """A well-formed, fictional DEA number ("FS", six digits, check digit) not yet registered."""
    for n in range(clinic_id, clinic_id + 1000):
        digits = [int(c) for c in f"{(n * 7919) % 1_000_000:06d}"]
        check = (digits[0] + digits[2] + digits[4] + 2 * (digits[1] + digits[3] + digits[5])) % 10
        number = "FS" + "".join(map(str, digits)) + str(check)
        if not Registration.objects.filter(dea_number=number).exists():
            return number
    raise SynthError("No free fictional DEA number.")


def synthetic_clinic(params: SynthParams, system: Actor) -> Clinic:
    """The clinic named in ``params``, created with its treatment days if missing (by
    ``system``, the installation acting at the program's clock); a clinic that already has
    patients is refused."""
    clinic = Clinic.objects.filter(name=params.clinic).first()
    if clinic is None:
        clinic = create_clinic(system, params.clinic)
        days = "0123456" if params.every_day else "01234"
        if clinic.treatment_days != days:
            # No action sets a clinic's days yet; recorded as one would.
            Clinic.objects.filter(pk=clinic.pk).update(treatment_days=days)
            record(
                system,
                Action.UPDATE,
                obj=clinic,
                clinic=clinic,
                changes=field_changes(
                    {"treatment_days": clinic.treatment_days}, {"treatment_days": days}
                ),
            )
            clinic.refresh_from_db()
    elif Patient.objects.filter(clinic=clinic).exists():
        raise SynthError(
            f"{params.clinic} already has patients: synth fills a clinic of its own. Choose "
            "another --clinic name."
        )
    return clinic


class Staff:
    """The synthetic clinic's staff, with a password made for this run and never shown: nobody
    can sign in as them afterwards."""

    def __init__(self, clinic: Clinic, password: str, system: Actor) -> None:
        self.clinic, self.password = clinic, password
        self.by_role: dict[Role, list[Actor]] = {role: [] for role, _ in STAFF_PLAN}
        for role, count in STAFF_PLAN:
            for n in range(1, count + 1):
                username = f"synth{clinic.pk}.{role.value}{n}"
                user = User.objects.filter(username=username).first()
                if user is None:
                    user = create_staff(
                        system,
                        clinic=clinic,
                        username=username,
                        password=password,
                        role=role,
                        first_name=f"{role.label} {n}",
                        last_name="(synthetic)",
                        email=f"{username}@example.org",
                    )
                # Hashed as the machine-made secret it is (accounts.hashers): they sign through
                # the one sign-in check hundreds of times a day, which Argon2 would make slow.
                user.password = make_password(password, hasher=MachineSecretHasher.algorithm)
                user.save(update_fields=["password"])
                self.by_role[role].append(
                    replace(system, user=user, role=role.value, clinic=clinic, ip="127.0.0.1")
                )

    def pick(self, role: Role, rng: random.Random) -> Actor:
        return rng.choice(self.by_role[role])

    def witness(self, actor: Actor, rng: random.Random) -> Signature:
        """Another nurse or a prescriber signs as the waste witness."""
        others = [a for a in self.by_role[Role.NURSE] + self.by_role[Role.PRESCRIBER] if a != actor]
        user = rng.choice(others).user
        assert user is not None
        return Signature(user.get_username(), self.password)


@dataclass
class StockSetup:
    """Where the clinic's stock is kept and what it holds (fixed for the run)."""

    registration_id: int
    location_id: int
    products: dict[str, Product]


def stock_setup(staff: Staff) -> StockSetup:
    """The clinic's DEA registration, its cabinet and the two products, created if missing."""
    clinic, admin = staff.clinic, staff.by_role[Role.CLINIC_ADMIN][0]
    registration = Registration.objects.filter(clinic=clinic).order_by("pk").first()
    if registration is None:
        registration = inventory.create_registration(
            admin, _dea_number(clinic.pk), clinic.name, f"1 Main Street\n{TOWN}, {STATE}"
        )
    location = Location.objects.filter(
        registration=registration, kind=Location.Kind.CABINET
    ).first() or inventory.add_location(
        admin, registration.pk, "Treatment room cabinet", Location.Kind.CABINET
    )
    products = {}
    for key, (ndc, name, drug, form, mg, unit, per_package) in PRODUCTS.items():
        products[key] = Product.objects.filter(ndc=ndc).first() or inventory.add_product(
            admin,
            ndc=ndc,
            name=name,
            drug=drug,
            form=form,
            mg_per_unit=mg,
            unit=unit,
            units_per_package=per_package,
        )
        products[key].refresh_from_db()  # decimals as the database gives them back
    return StockSetup(registration.pk, location.pk, products)
