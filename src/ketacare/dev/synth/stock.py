"""The simulated stock: the cabinet's lots kept in memory in step with the ledger, which lot
a dose comes from, and the clinic's routine of weekly orders and monthly counts."""

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from ketacare.actor import Actor
from ketacare.dev.synth.clock import at
from ketacare.dev.synth.ops import Ops
from ketacare.dev.synth.setup import PRODUCTS, StockSetup
from ketacare.inventory.actions import Counted
from ketacare.inventory.models import StockBalance
from ketacare.treatments.actions import Supply

SHELF_LIFE_DAYS = {"racemic_ketamine": 720, "esketamine": 540}


@dataclass
class _Lot:
    lot_id: int
    expires_on: date
    units: Decimal


class Stock:
    """The cabinet's lots, kept in memory in step with the ledger, to dispense first-expiry-
    first and to order ahead: weekly, two weeks of expected use (what is booked, or what the
    last two weeks took if more) and a quarter more, in whole packages; a same-day delivery
    when a dose finds no lot that holds it."""

    def __init__(self, setup: StockSetup, ops: Ops, admin: Actor) -> None:
        self.setup, self.ops, self.admin = setup, ops, admin
        self.lots: dict[str, list[_Lot]] = {drug: [] for drug in PRODUCTS}
        route_of = {p.pk: route for route, p in setup.products.items()}
        for balance in (
            StockBalance.objects.filter(location_id=setup.location_id, quantity_units__gt=0)
            .select_related("lot")
            .order_by("pk")
        ):
            route = route_of.get(balance.lot.product_id)
            if route is not None:
                self.lots[route].append(
                    _Lot(balance.lot_id, balance.lot.expires_on, Decimal(balance.quantity_units))
                )
        self.booked: dict[date, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.used: dict[date, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.received = 0

    def book(self, day: date, route: str, units: Decimal, sign: int = 1) -> None:
        self.booked[day][route] += float(units) * sign

    def on_hand(self, route: str, today: date) -> Decimal:
        return sum((lot.units for lot in self.lots[route] if lot.expires_on >= today), Decimal(0))

    def receive(self, route: str, packages: Decimal, kind: str) -> None:
        today = self.admin.today()
        product = self.setup.products[route]
        units = packages * Decimal(product.units_per_package)
        self.received += 1
        lot_id = self.ops.receive(
            self.admin,
            product,
            f"{product.ndc[6:10]}-{today:%y%m%d}-{self.received}",
            today + timedelta(days=SHELF_LIFE_DAYS[route]),
            units,
            f"{kind}-{today:%y%m%d}-{self.received}",
        )
        self.lots[route].append(_Lot(lot_id, today + timedelta(days=SHELF_LIFE_DAYS[route]), units))

    def reorder(self) -> None:
        today = self.admin.today()
        for route, product in self.setup.products.items():
            booked = sum(self.booked[today + timedelta(days=d)][route] for d in range(14))
            took = sum(self.used[today - timedelta(days=d)][route] for d in range(1, 15))
            want = Decimal(math.ceil(max(booked, took) * 1.25)) - self.on_hand(route, today)
            if want > 0:
                per = Decimal(product.units_per_package)
                self.receive(route, (want / per).to_integral_value(ROUND_CEILING), "INV")

    def supply(self, route: str, units: Decimal) -> Supply:
        today = self.admin.today()
        lots = [lot for lot in self.lots[route] if lot.expires_on >= today and lot.units >= units]
        if not lots:
            per = Decimal(self.setup.products[route].units_per_package)
            self.receive(route, (units / per).to_integral_value(ROUND_CEILING) + 4, "URGENT")
            return self.supply(route, units)
        lot = min(lots, key=lambda lot: (lot.expires_on, lot.lot_id))
        lot.units -= units
        self.used[today][route] += float(units)
        if not lot.units:
            self.lots[route].remove(lot)
        return Supply(self.setup.registration_id, lot.lot_id, self.setup.location_id, units)

    def count(self) -> None:
        """The monthly count of the cabinet: it matches the book."""
        today = self.admin.today()
        lines = [
            Counted(lot.lot_id, self.setup.location_id, lot.units)
            for route in PRODUCTS
            for lot in sorted(self.lots[route], key=lambda lot: lot.lot_id)
            if lot.expires_on >= today
        ]
        if lines:
            self.ops.count(self.admin, lines, "Monthly count of the treatment room cabinet.")


def routine(stock: Stock, start: date, end: date) -> Iterator[datetime]:
    """The clinic's own rhythm: the weekly order on Monday mornings, the monthly count."""
    day = start
    while day < end:
        yield at(day, 7, 30)
        if day == start or day.weekday() == 0:
            stock.reorder()
        if day.day == 1:
            stock.count()
        day += timedelta(days=1)
