"""Every change to a registration's controlled-substance books: set-up, receipts, the
movements out of and between the cabinets, reversals, and counts with their discrepancies.

Each action reads and locks what it acts on (``checks``), refuses with StockError before
anything is written, and writes in one transaction; every ledger entry goes through the one
append (``ledger.write_entry``: the chain's head, the balances, the audit event), which the
synthetic clinic's bulk path calls too. Import the package: ``from ketacare.inventory import
actions as inventory``; the modules are named for what they hold."""

from ketacare.inventory.actions.checks import (
    BALANCE_UNITS,
    LEDGER_MG,
    LEDGER_UNITS,
    PRODUCT_AMOUNT,
    STOCK_KINDS,
    Kind,
    StockError,
    policy,
    quantity,
)
from ketacare.inventory.actions.counts import (
    Counted,
    Line,
    record_count,
    resolve_discrepancy,
    write_count,
)
from ketacare.inventory.actions.ledger import Balances, moved_balance, write_entry
from ketacare.inventory.actions.movements import (
    LOSS_FIELDS,
    dispense,
    report_loss,
    return_to_supplier,
    transfer,
    waste,
)
from ketacare.inventory.actions.receipts import receive, write_receive
from ketacare.inventory.actions.reversals import (
    WITNESSED_REVERSALS,
    reversal_needs_witness,
    reverse,
)
from ketacare.inventory.actions.setup import add_location, add_product, create_registration
from ketacare.inventory.actions.signatures import (
    EXPIRY_OVERRIDE,
    REVERSAL_WITNESS,
    WASTE_WITNESS,
    Signature,
    confirm_signer,
    confirm_witness,
)

__all__ = [
    "BALANCE_UNITS",
    "EXPIRY_OVERRIDE",
    "LEDGER_MG",
    "LEDGER_UNITS",
    "LOSS_FIELDS",
    "PRODUCT_AMOUNT",
    "REVERSAL_WITNESS",
    "STOCK_KINDS",
    "WASTE_WITNESS",
    "WITNESSED_REVERSALS",
    "Balances",
    "Counted",
    "Kind",
    "Line",
    "Signature",
    "StockError",
    "add_location",
    "add_product",
    "confirm_signer",
    "confirm_witness",
    "create_registration",
    "dispense",
    "moved_balance",
    "policy",
    "quantity",
    "receive",
    "record_count",
    "report_loss",
    "resolve_discrepancy",
    "return_to_supplier",
    "reversal_needs_witness",
    "reverse",
    "transfer",
    "waste",
    "write_count",
    "write_entry",
    "write_receive",
]
