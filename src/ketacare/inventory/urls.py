from django.urls import path

from ketacare.inventory import views

urlpatterns = [
    path("inventory/", views.stock, name="inventory-stock"),
    path("inventory/ledger/", views.ledger, name="inventory-ledger"),
    path("inventory/receive/", views.receive, name="inventory-receive"),
    path("inventory/dispense/", views.dispense, name="inventory-dispense"),
    path("inventory/transfer/", views.transfer, name="inventory-transfer"),
    path("inventory/return/", views.return_to_supplier, name="inventory-return"),
    path("inventory/loss/", views.loss, name="inventory-loss"),
    path("inventory/entries/<int:entry_id>/waste/", views.waste, name="inventory-waste"),
    path(
        "inventory/entries/<int:entry_id>/reverse/",
        views.reverse_entry,
        name="inventory-reverse",
    ),
    path("inventory/counts/new/", views.count_new, name="inventory-count-new"),
    path("inventory/discrepancies/", views.discrepancies, name="inventory-discrepancies"),
    path(
        "inventory/discrepancies/<int:discrepancy_id>/",
        views.discrepancy_resolve,
        name="inventory-discrepancy",
    ),
    path("inventory/setup/", views.setup, name="inventory-setup"),
]
