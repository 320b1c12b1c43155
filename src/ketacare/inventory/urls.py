from django.urls import path

from ketacare.inventory.views import counts, movements, reversals, setup, stock

urlpatterns = [
    path("inventory/", stock.stock, name="inventory-stock"),
    path("inventory/ledger/", stock.ledger, name="inventory-ledger"),
    path("inventory/receive/", movements.receive, name="inventory-receive"),
    path("inventory/dispense/", movements.dispense, name="inventory-dispense"),
    path("inventory/transfer/", movements.transfer, name="inventory-transfer"),
    path("inventory/return/", movements.return_to_supplier, name="inventory-return"),
    path("inventory/loss/", movements.loss, name="inventory-loss"),
    path("inventory/entries/<int:entry_id>/waste/", movements.waste, name="inventory-waste"),
    path(
        "inventory/entries/<int:entry_id>/reverse/",
        reversals.reverse_entry,
        name="inventory-reverse",
    ),
    path("inventory/counts/new/", counts.count_new, name="inventory-count-new"),
    path("inventory/discrepancies/", counts.discrepancies, name="inventory-discrepancies"),
    path(
        "inventory/discrepancies/<int:discrepancy_id>/",
        counts.discrepancy_resolve,
        name="inventory-discrepancy",
    ),
    path("inventory/setup/", setup.setup, name="inventory-setup"),
]
