"""What ``inventory.actions`` writes for the cabinet, through its builders: a delivery received
(its lot and receipt), a dose's remainder wasted before a witness, and a physical count."""

from datetime import date
from decimal import Decimal

from ketacare.actor import Actor
from ketacare.dev.synth.bulk.base import BulkBase, as_stored
from ketacare.dev.synth.ops import SUPPLIER, WASTE_REASON
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import Counted, Signature
from ketacare.inventory.models import LedgerEntry, Lot, PhysicalCount, Product


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
        lot = Lot(
            registration=self.registration,
            product=product,
            lot_number=lot_number.strip(),
            expires_on=expires_on,
        )
        inventory.write_receive(
            self.writes,
            actor,
            self.registration,
            self.balances,
            lot=lot,
            location=self.locations[self.stock.location_id],
            units=Decimal(str(units)),
            supplier=SUPPLIER,
            invoice=invoice,
        )
        self.lots[lot.pk] = lot
        return lot.pk

    def count(self, actor: Actor, lines: list[Counted], note: str) -> None:
        checked = [
            inventory.Line(
                self.lots[line.lot_id],
                self.locations[line.location_id],
                Decimal(str(line.units)),
                as_stored(self.balances[(line.lot_id, line.location_id)].quantity_units, 2),
            )
            for line in lines
        ]
        inventory.write_count(
            self.writes,
            actor,
            self.registration,
            kind=PhysicalCount.Kind.AD_HOC,
            lines=checked,
            note=note,
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
        entry.actor, entry.witness = self.users[actor.user.pk], self.users[signer.pk]
        # The note lists the dispense's wastes, as the actions read them back.
        vars(dispense)["_prefetched_objects_cache"]["wastes"].append(entry)
