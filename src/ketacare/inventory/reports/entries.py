"""How a ledger entry reads in every report: who did it, its product's strength, a quantity
without trailing zeros, and the entry that reversed it, if any."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from ketacare.accounts.models import User
from ketacare.inventory.models import LedgerEntry, Product


def staff_name(user: User | None) -> str:
    if user is None:
        return ""
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else str(user.get_username())


def plain(number: Decimal) -> str:
    """A decimal without trailing zeros: 50.00 → "50", 0.50 → "0.5"."""
    return f"{Decimal(number).normalize():f}"


def strength(product: Product) -> str:
    return f"{plain(product.mg_per_unit)} mg/{product.unit}"


def _reversal(entry: LedgerEntry) -> LedgerEntry | None:
    # Selected with the entry; an absent reverse one-to-one raises an AttributeError subclass.
    return getattr(entry, "reversed_by", None)


@dataclass(frozen=True)
class Reversal:
    sequence: int
    occurred_at: datetime
    staff: str
    reason: str

    @classmethod
    def of(cls, entry: LedgerEntry) -> "Reversal | None":
        reversal = _reversal(entry)
        if reversal is None:
            return None
        return cls(
            reversal.sequence, reversal.occurred_at, staff_name(reversal.actor), reversal.reason
        )


def stamp(value: datetime) -> str:
    """A moment in the clinic's time zone, to the minute."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
