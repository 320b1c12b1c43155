"""The controlled-substance ledger: registrations, locations, products, lots, the append-only
ledger of movements, balances derived from it, and physical counts with their discrepancies.

Ledger entries are never changed or deleted (the database refuses it, migrations 0002 and
0003); a correction is a reversing entry that names the entry it corrects. Each entry chains
a keyed digest (HMAC under the audit key) of its content and of the registration's previous
entry, so an edit made behind the application's back is found by ``ketacare inventory
verify``, and signed checkpoints outside the database reveal entries removed from the end.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketacare.accounts.models import Clinic

STAFF = settings.AUTH_USER_MODEL
GENESIS_HASH = "0" * 64


class Registration(models.Model):
    """A DEA registration of a clinic. Also the head of its ledger's hash chain: writers lock
    this row, so entries get consecutive numbers and each names its true predecessor.

    ``legacy_*``: where the entries with unkeyed (SHA-256) digests end, sealed with the audit
    key by migration inventory 0003; empty for registrations whose ledger began keyed."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="registrations")
    dea_number = models.CharField("DEA number", max_length=9, unique=True)
    name = models.CharField(max_length=200, help_text="Registrant name as on the certificate.")
    address = models.TextField(blank=True)
    last_sequence = models.PositiveIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    legacy_sequence = models.PositiveIntegerField(null=True)
    legacy_hash = models.CharField(max_length=64, blank=True, default="")
    legacy_seal = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.name} ({self.dea_number})"

    @property
    def chain_name(self) -> str:
        """The ledger chain's name in checkpoints."""
        return f"registration:{self.pk}"


class Location(models.Model):
    class Kind(models.TextChoices):
        SAFE = "safe", "Safe"
        CABINET = "cabinet", "Locked cabinet"
        OTHER = "other", "Other secured storage"

    registration = models.ForeignKey(
        Registration, on_delete=models.PROTECT, related_name="locations"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registration", "name"], name="location_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A stocked presentation. Quantities are kept in ``unit`` (mL of a vial's solution, or
    nasal devices) and in mg: mg = units × ``mg_per_unit``."""

    class Form(models.TextChoices):
        VIAL = "vial", "Vial (solution for injection)"
        NASAL_DEVICE = "nasal_device", "Nasal spray device"

    class Drug(models.TextChoices):
        KETAMINE = "racemic_ketamine", "Ketamine (racemic)"
        ESKETAMINE = "esketamine", "Esketamine"

    ndc = models.CharField("NDC", max_length=13, unique=True)
    name = models.CharField(max_length=200)
    drug = models.CharField(max_length=20, choices=Drug.choices)
    form = models.CharField(max_length=15, choices=Form.choices)
    mg_per_unit = models.DecimalField(max_digits=7, decimal_places=2)
    unit = models.CharField(max_length=10, help_text="mL or device")
    units_per_package = models.DecimalField(max_digits=7, decimal_places=2)

    def __str__(self) -> str:
        return self.name

    def mg(self, units: Decimal) -> Decimal:
        return (units * self.mg_per_unit).quantize(Decimal("0.01"))


class Lot(models.Model):
    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="lots")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=40)
    expires_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "product", "lot_number"], name="lot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product.name}, lot {self.lot_number} (exp. {self.expires_on:%Y-%m-%d})"


class LedgerEntry(models.Model):
    """One movement of stock. ``from_location`` loses and ``to_location`` gains
    ``quantity_units``; a waste moves nothing in stock (it disposes of part of a dispense)."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        DISPENSE = "dispense", "Dispense"
        WASTE = "waste", "Waste (witnessed)"
        RETURN = "return", "Return to supplier"
        TRANSFER = "transfer", "Transfer"
        LOSS = "loss", "Loss or theft"
        ADJUSTMENT = "adjustment", "Count adjustment"
        REVERSAL = "reversal", "Reversal of an entry"

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="entries")
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="entries")
    from_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, related_name="+"
    )
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, null=True, related_name="+")
    quantity_units = models.DecimalField(max_digits=9, decimal_places=2)
    quantity_mg = models.DecimalField(max_digits=11, decimal_places=2)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, related_name="+"
    )
    plan = models.ForeignKey(
        "planning.TreatmentPlan", on_delete=models.PROTECT, null=True, related_name="+"
    )
    # A dispense's dose (mg) to be given; given + wasted must equal what was dispensed.
    dose_mg = models.DecimalField(max_digits=9, decimal_places=2, null=True)
    dispense = models.ForeignKey("self", on_delete=models.PROTECT, null=True, related_name="wastes")
    corrects = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, related_name="reversed_by"
    )
    supplier = models.CharField(max_length=200, blank=True)
    invoice = models.CharField(max_length=100, blank=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict)  # e.g. the DEA Form 106 facts of a loss
    witness = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    override_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    actor = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    # When it happened, and when it was written down: a movement may be recorded late
    # (never ahead), and both times are part of the record.
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["registration", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "sequence"], name="one_entry_per_sequence"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity_units__gt=0) & models.Q(quantity_mg__gt=0),
                name="entry_quantity_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["registration", "kind", "occurred_at"]),
            models.Index(fields=["lot", "occurred_at"]),
        ]

    def content(self) -> dict[str, object]:
        """What the hash covers: every fact of the entry, ids for related rows."""
        return {
            "registration": self.registration_id,
            "sequence": self.sequence,
            "kind": self.kind,
            "lot": self.lot_id,
            "from_location": self.from_location_id,
            "to_location": self.to_location_id,
            "quantity_units": f"{Decimal(self.quantity_units):.2f}",
            "quantity_mg": f"{Decimal(self.quantity_mg):.2f}",
            "patient": self.patient_id,
            "plan": self.plan_id,
            "dose_mg": None if self.dose_mg is None else f"{Decimal(self.dose_mg):.2f}",
            "dispense": self.dispense_id,
            "corrects": self.corrects_id,
            "supplier": self.supplier,
            "invoice": self.invoice,
            "reason": self.reason,
            "details": self.details,
            "witness": self.witness_id,
            "override_by": self.override_by_id,
            "actor": self.actor_id,
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
        }


class StockBalance(models.Model):
    """Units of a lot at a location: the sum of the ledger's movements, kept in the same
    transaction as each entry under a row lock. The CHECK makes a negative balance impossible
    even for a writer that bypasses the application's own test."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="balances")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="balances")
    quantity_units = models.DecimalField(max_digits=9, decimal_places=2, default=Decimal(0))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lot", "location"], name="one_balance_per_place"),
            models.CheckConstraint(
                condition=models.Q(quantity_units__gte=0), name="balance_never_negative"
            ),
        ]


class PhysicalCount(models.Model):
    class Kind(models.TextChoices):
        INITIAL = "initial", "Initial inventory"
        BIENNIAL = "biennial", "Biennial inventory"
        AD_HOC = "ad_hoc", "Ad-hoc count"

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="counts")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    counted_at = models.DateTimeField()
    counted_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)


class CountLine(models.Model):
    count = models.ForeignKey(PhysicalCount, on_delete=models.PROTECT, related_name="lines")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    book_units = models.DecimalField(max_digits=9, decimal_places=2)
    counted_units = models.DecimalField(max_digits=9, decimal_places=2)

    @property
    def difference(self) -> Decimal:
        return Decimal(self.counted_units) - Decimal(self.book_units)


class Discrepancy(models.Model):
    """A count that differs from the book. Open until a clinic admin explains it, adjusts the
    book to the count, or reports it as a loss."""

    class Resolution(models.TextChoices):
        EXPLAINED = "explained", "Explained (book kept)"
        ADJUSTED = "adjusted", "Book adjusted to the count"
        LOSS = "loss", "Reported as loss"

    line = models.OneToOneField(CountLine, on_delete=models.PROTECT, related_name="discrepancy")
    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now, editable=False)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    note = models.TextField(blank=True)
    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, null=True, related_name="+")
    resolved_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    resolved_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["registration", "resolved_at"])]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
