"""The plan's concentration chart, drawn on the server as SVG (no chart library, no script)."""

from dataclasses import dataclass
from decimal import Decimal

from ketacare.clinical.measurements import age_in_years
from ketacare.clinical.pk.models import FloatArray
from ketacare.clinical.pk.planner import PlannedCurve, planned_curve
from ketacare.clinical.protocols.library import get_protocol
from ketacare.planning.models import TreatmentPlan

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 30
HOURS = 4


@dataclass(frozen=True)
class PkChart:
    curve: PlannedCurve
    weight_kg: Decimal
    width: int
    height: int
    typical: str  # polyline points
    band: str  # polygon points: upper edge forwards, lower edge back
    reference_y: float | None
    reference_band: tuple[float, float] | None  # (y of high, height)
    y_ticks: tuple[tuple[float, int], ...]
    x_ticks: tuple[tuple[float, str], ...]
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM

    @property
    def plot_width(self) -> int:
        return self.plot_right - self.plot_left


def _nice_top(value: float) -> int:
    for step in (10, 25, 50, 100, 250, 500, 1000):
        if value <= step * 5:
            return int(-(-value // step) * step)
    return int(value) + 1


def plan_chart(plan: TreatmentPlan) -> PkChart:
    protocol = get_protocol(plan.protocol_id)
    # The models scale by actual body weight, whatever weight the dose was calculated on.
    weight_kg = plan.dose_order.get("actual_weight_kg") or plan.evaluation.weight_kg
    assert weight_kg is not None, "a signed plan's dose was calculated on a weight"
    weight = Decimal(weight_kg)
    curve = planned_curve(
        protocol.pk_model,
        protocol.route,
        float(plan.dose_order["dose_mg"]),
        float(weight),
        drug=protocol.drug,
        # The age at the first session: the curve is drawn for the plan's sessions.
        age_years=age_in_years(plan.patient.date_of_birth, plan.start_date),
        infusion_min=float(plan.infusion_minutes or 0),
        hours=HOURS,
        seed=plan.pk,
    )
    reference = curve.reference
    top = max(float(curve.high_ng_ml.max()), reference.high_ng_ml if reference else 0.0) * 1.05
    top = _nice_top(top)
    span_min = HOURS * 60
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(minutes: float) -> float:
        return LEFT + inner_w * minutes / span_min

    def y(value: float) -> float:
        return TOP + inner_h * (1 - value / top)

    def points(values: FloatArray) -> list[str]:
        times = curve.typical.times_min
        return [f"{x(t):.1f},{y(c):.1f}" for t, c in zip(times, values, strict=True)]

    typical = " ".join(points(curve.typical.concentration_ng_ml))
    upper, lower = points(curve.high_ng_ml), points(curve.low_ng_ml)
    step = top // 5
    return PkChart(
        curve=curve,
        weight_kg=weight,
        width=WIDTH,
        height=HEIGHT,
        typical=typical,
        band=" ".join(upper + lower[::-1]),
        reference_y=y(reference.cmax_ng_ml) if reference else None,
        reference_band=(y(reference.high_ng_ml), y(reference.low_ng_ml) - y(reference.high_ng_ml))
        if reference
        else None,
        y_ticks=tuple((y(v), v) for v in range(0, top + 1, step)),
        x_ticks=tuple((x(h * 60), f"{h} h") for h in range(HOURS + 1)),
    )
