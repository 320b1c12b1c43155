"""The Kaplan–Meier curve of durability as server-drawn SVG (a step line, its confidence band
and the number at risk), like the other charts: no library, no script."""

from dataclasses import dataclass

from ketacare.clinical.outcomes.cohort.durability import SurvivalCurve

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 30


@dataclass(frozen=True)
class KmChart:
    width: int
    height: int
    steps: str  # polyline points of the survival step function
    band: str  # polygon: upper bound forwards, lower bound back
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM


def km_chart(curve: SurvivalCurve) -> KmChart | None:
    """None when there is no curve to draw (no responders, or suppressed)."""
    if not curve.timeline:
        return None
    last_day = max(float(curve.timeline[-1]), 1.0)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: float) -> float:
        return LEFT + inner_w * day / last_day

    def y(share: float) -> float:
        return TOP + inner_h * (1 - share)

    def step_points(values: tuple[float, ...]) -> list[str]:
        points, previous = [], 1.0
        for day, value in zip(curve.timeline, values, strict=True):
            points.append(f"{x(day):.1f},{y(previous):.1f}")
            points.append(f"{x(day):.1f},{y(value):.1f}")
            previous = value
        return points

    upper, lower = step_points(curve.ci_upper), step_points(curve.ci_lower)
    step = max(1, int(last_day // 5))
    return KmChart(
        width=WIDTH,
        height=HEIGHT,
        steps=" ".join(step_points(curve.survival)),
        band=" ".join(upper + lower[::-1]),
        y_ticks=tuple((y(v / 100), f"{v} %") for v in range(0, 101, 25)),
        x_ticks=tuple((x(d), f"{d} d") for d in range(0, int(last_day) + 1, step)),
    )
