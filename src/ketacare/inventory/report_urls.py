from django.urls import path

from ketacare.inventory.views import report_pages as views

urlpatterns = [
    path("dispensing/", views.dispensing, name="inventory-report-dispensing"),
    path("receipts/", views.receipts, name="inventory-report-receipts"),
    path("balances/", views.balances, name="inventory-report-balances"),
    path("counts/<int:count_id>/", views.count, name="inventory-report-count"),
    path("reconciliation/", views.reconciliation, name="inventory-reconciliation"),
]
