"""A dose given in a session cannot be taken back into stock by reversing its dispense (issue
13): not through the inventory action, not by a direct POST to the reverse form."""

import pytest
from django.urls import reverse

from ketacare.accounts.permissions import Role
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import StockError
from ketacare.inventory.models import LedgerEntry, StockBalance
from ketacare.treatments import actions
from tests.conftest import actor, client_for
from tests.treatments.conftest import NORMAL, READY, as_nurse, supply


@pytest.fixture
def dosed(session, nurse, clinic, stock):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    return actions.start_dose(who, session.pk, supply(stock))


def balance(stock):
    _, safe, lots = stock
    return StockBalance.objects.get(lot=lots["racemic_ketamine"], location=safe).quantity_units


@pytest.mark.parametrize("role", [Role.NURSE, Role.CLINIC_ADMIN])
def test_the_dispense_of_a_given_dose_cannot_be_reversed(dosed, stock, staff, clinic, role):
    before = balance(stock)
    who = actor(staff[str(role)], clinic, role)
    with pytest.raises(StockError, match="a dose that was given cannot be reversed"):
        inventory.reverse(who, stock[0].pk, entry_id=dosed.dispense_id, reason="Undo")
    assert balance(stock) == before
    assert not LedgerEntry.objects.filter(kind="reversal").exists()


def test_a_direct_post_cannot_reverse_it_either(dosed, stock, nurse):
    before = balance(stock)
    url = reverse("inventory-reverse", args=[dosed.dispense_id])
    response = client_for(nurse).post(url, {"reason": "Undo"}, follow=True)
    assert "a dose that was given cannot be reversed" in response.content.decode()
    assert balance(stock) == before
