"""What ``inventory.actions`` writes for the cabinet: a delivery received (its lot and receipt),
a dose's remainder wasted before a witness, and a physical count."""

from datetime import date
from decimal import Decimal

from ketacare.accounts.access import Actor
from ketacare.audit.record import Action
from ketacare.dev.synth.bulk.base import BulkBase, as_stored
from ketacare.dev.synth.ops import SUPPLIER, WASTE_REASON
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import Counted, Signature
from ketacare.inventory.models import CountLine, LedgerEntry, Lot, PhysicalCount, Product


class StockOps(BulkBase):
    """Deliveries, wastes and counts as rows (``inventory.actions``)."""

    def receive(
        self,
        actor: Actor,
        product: Product,
        lot_number: str,
        expires_on: date,
        units: Decimal,
        invoice: str,
    ) -> int:
        lot_id = self.w.insert(
            Lot,
            registration_id=self.stock.registration_id,
            product_id=product.pk,
            lot_number=lot_number.strip(),
            expires_on=expires_on,
        )
        self.lots[lot_id] = Lot(
            pk=lot_id, product=product, lot_number=lot_number.strip(), expires_on=expires_on
        )
        amount = Decimal(str(units))
        self.ledger(
            actor,
            kind=LedgerEntry.Kind.RECEIPT,
            lot_id=lot_id,
            to_location_id=self.stock.location_id,
            quantity_units=amount,
            quantity_mg=product.mg(amount),
            supplier=SUPPLIER,
            invoice=invoice.strip(),
        )
        return lot_id

    def count(self, actor: Actor, lines: list[Counted], note: str) -> None:
        assert actor.user is not None
        pk = self.w.insert(
            PhysicalCount,
            registration_id=self.stock.registration_id,
            kind=PhysicalCount.Kind.AD_HOC,
            counted_at=self.clock.at,
            counted_by_id=actor.user.pk,
            note=note.strip(),
        )
        for line in lines:
            self.w.insert(
                CountLine,
                count_id=pk,
                lot_id=line.lot_id,
                location_id=line.location_id,
                book_units=as_stored(self.balances[line.lot_id][1], 2),
                counted_units=Decimal(str(line.units)),
            )
        self.audit(
            actor,
            Action.CREATE,
            "physicalcount",
            pk,
            None,
            {"kind": PhysicalCount.Kind.AD_HOC, "lines": len(lines), "discrepancies": 0},
        )

    def waste(self, actor: Actor, session_id: int, witness: Signature) -> None:
        session = self.sessions[session_id]
        dispense = session.dispense
        assert dispense is not None and session.dose_mg is not None
        leftover = dispense.quantity_mg - session.dose_mg
        if leftover <= 0:
            return
        signer = inventory.confirm_witness(actor, witness, prompt=inventory.WASTE_WITNESS)
        product = dispense.lot.product
        amount = (leftover / product.mg_per_unit).quantize(Decimal("0.01"))
        _, entry = self.ledger(
            actor,
            kind=LedgerEntry.Kind.WASTE,
            lot_id=dispense.lot.pk,
            quantity_units=amount,
            quantity_mg=product.mg(amount),
            patient_id=session.patient_id,
            dispense_id=dispense.pk,
            reason=WASTE_REASON,
            witness_id=signer.pk,
        )
        assert actor.user is not None
        entry.actor, entry.witness = self.users[actor.user.pk], self.users[entry.witness_id]
        dispense._prefetched_objects_cache["wastes"].append(entry)
