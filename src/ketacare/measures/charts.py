"""Server-drawn SVG trajectory charts: no chart library, nothing from a CDN, no script."""

from collections.abc import Sequence
from dataclasses import dataclass

from ketacare.clinical.instruments import Instrument
from ketacare.clinical.outcomes import Assessment

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 36, 10, 26


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    total: int
    label: str


@dataclass(frozen=True)
class BandRect:
    y: float
    height: float
    band_id: str
    index: int


@dataclass(frozen=True)
class Line:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: tuple[Point, ...]
    bands: tuple[BandRect, ...]
    lines: tuple[Line, ...]
    y_ticks: tuple[tuple[float, int], ...]
    x_labels: tuple[tuple[float, str], ...]
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT

    @property
    def plot_width(self) -> int:
        return self.plot_right - self.plot_left

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def trajectory_chart(
    instrument: Instrument,
    points: Sequence[tuple[object, int, str]],
    assessment: Assessment | None,
) -> Chart | None:
    """``points`` are (time, total, label) in time order; None if there is nothing to draw."""
    total_range = instrument.total_range
    if not points or total_range is None:
        return None
    low, high = total_range
    span = max(high - low, 1)

    def y_of(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - low) / span)

    count = len(points)
    inner = WIDTH - LEFT - RIGHT
    xs = [LEFT + (inner * i / (count - 1) if count > 1 else inner / 2) for i in range(count)]
    plotted = tuple(
        Point(x, y_of(total), total, label) for x, (_, total, label) in zip(xs, points, strict=True)
    )
    bands = tuple(
        BandRect(y_of(b.max + 0.5), y_of(b.min - 0.5) - y_of(b.max + 0.5), b.id, i)
        for i, b in enumerate(instrument.bands)
    )
    lines = []
    outcomes = instrument.outcomes
    if assessment and assessment.baseline and outcomes and outcomes.response_drop_percent:
        line = assessment.baseline.total * (1 - outcomes.response_drop_percent / 100)
        lines.append(
            Line(y_of(line), f"response ({outcomes.response_drop_percent:g} % below baseline)")
        )
    if outcomes and outcomes.remission_max is not None:
        lines.append(Line(y_of(outcomes.remission_max + 0.5), "remission"))
    step = max(1, span // 4)
    ticks = tuple((y_of(v), v) for v in range(low, high + 1, step))
    every = max(1, count // 6)
    x_labels = tuple((p.x, p.label.split(" ")[0]) for i, p in enumerate(plotted) if i % every == 0)
    return Chart(WIDTH, HEIGHT, plotted, bands, tuple(lines), ticks, x_labels)
