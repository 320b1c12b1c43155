"""Server-drawn SVG trajectory charts: no chart library, nothing from a CDN, no script.

The x axis is time: a point's position is proportional to when the score was taken, so three
months look like three months, and the doses given are drawn as marks on the same axis."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from ketacare.clinical.instruments import Instrument
from ketacare.clinical.outcomes import Assessment

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 36, 10, 26
# Labels are 10 px text (ketacare.css); a character is at most ~0.6 of that wide, and a line
# of text needs 12 px of height, so labels kept that far apart cannot overlap.
FONT_SIZE = 10
LINE_HEIGHT = 12
# At most this many date labels under the axis.
MAX_DATE_LABELS = 6


def text_width(text: str) -> float:
    """A generous estimate of the drawn width of ``text`` at the chart's font size."""
    return len(text) * FONT_SIZE * 0.6


MIN_LABEL_GAP = text_width("2026-12-31") + 6


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    total: int
    label: str
    baseline: bool = False


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
    label_y: float = 0.0
    """Where its label's baseline sits: just above the line, moved up or down when another
    line's label would overlap it."""


@dataclass(frozen=True)
class Relapse:
    """A relapse, drawn as a warning from its first day to the end of the chart."""

    x: float
    label: str
    label_x: float
    label_anchor: str
    label_y: float = TOP + LINE_HEIGHT


@dataclass(frozen=True)
class Mark:
    """A dose given, as a vertical mark at its time."""

    x: float
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
    doses: tuple[Mark, ...] = ()
    relapse: Relapse | None = None
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM

    @property
    def plot_width(self) -> int:
        return self.plot_right - self.plot_left

    @property
    def plot_height(self) -> int:
        return self.plot_bottom - self.plot_top

    @property
    def relapse_width(self) -> float:
        return self.plot_right - self.relapse.x if self.relapse else 0.0

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def trajectory_chart(
    instrument: Instrument,
    points: Sequence[tuple[datetime, int, str]],
    assessment: Assessment | None,
    doses: Sequence[datetime] = (),
) -> Chart | None:
    """``points`` are (time, total, label) in time order and ``doses`` the times doses were
    started; None if there is nothing to draw. Both share one time axis spanning all of them."""
    total_range = instrument.total_range
    if not points or total_range is None:
        return None
    low, high = total_range
    span = max(high - low, 1)

    def y_of(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - low) / span)

    times = [t for t, _, _ in points] + list(doses)
    start, end = min(times), max(times)
    inner = WIDTH - LEFT - RIGHT

    def x_of(at: datetime) -> float:
        if end == start:
            return LEFT + inner / 2
        return LEFT + inner * ((at - start) / (end - start))

    baseline_at = assessment.baseline.taken_at if assessment and assessment.baseline else None
    plotted = tuple(
        Point(x_of(at), y_of(total), total, label, baseline=at == baseline_at)
        for at, total, label in points
    )
    bands = tuple(
        BandRect(y_of(b.max + 0.5), y_of(b.min - 0.5) - y_of(b.max + 0.5), b.id, i)
        for i, b in enumerate(instrument.bands)
    )
    lines = []
    outcomes = instrument.outcomes
    # Before the first dose the baseline is provisional: no response line is drawn from it.
    if doses and assessment and assessment.baseline and outcomes and outcomes.response_drop_percent:
        line = assessment.baseline.total * (1 - outcomes.response_drop_percent / 100)
        lines.append(
            Line(y_of(line), f"Response ({outcomes.response_drop_percent:g} % below baseline)")
        )
    if outcomes and outcomes.remission_max is not None:
        lines.append(Line(y_of(outcomes.remission_max + 0.5), "Remission"))
    step = max(1, span // 4)
    ticks = tuple((y_of(v), v) for v in range(low, high + 1, step))
    marks = tuple(Mark(x_of(at), f"Dose {timezone.localtime(at):%Y-%m-%d %H:%M}") for at in doses)
    relapse = assessment.get("relapse") if assessment else None
    return Chart(
        WIDTH,
        HEIGHT,
        plotted,
        bands,
        _placed_labels(lines),
        ticks,
        _date_labels(start, end, x_of),
        marks,
        _relapse(x_of(relapse.since)) if relapse and relapse.met and relapse.since else None,
    )


def _placed_labels(lines: list[Line]) -> tuple[Line, ...]:
    """Each line's label just above it (3 px), then, from the top down, pushed below the
    label above it wherever the two would be less than a line of text apart."""
    placed: list[Line] = []
    for line in sorted(lines, key=lambda line: line.y):
        label_y = max(line.y - 3, TOP + LINE_HEIGHT)
        if placed and label_y - placed[-1].label_y < LINE_HEIGHT:
            label_y = placed[-1].label_y + LINE_HEIGHT
        placed.append(Line(line.y, line.label, label_y))
    return tuple(placed)


def _relapse(x: float) -> Relapse:
    # Written on the shaded part, under the top edge; right-aligned when it starts too close
    # to the right edge to fit.
    label = "Relapse"
    right = WIDTH - RIGHT
    if x + 4 + text_width(label) <= right:
        return Relapse(x, label, x + 4, "start")
    return Relapse(x, label, right - 2, "end")


def _date_labels(
    start: datetime, end: datetime, x_of: Callable[[datetime], float]
) -> tuple[tuple[float, str], ...]:
    """Local calendar dates under the axis, each at its midnight (the first at ``start``),
    a whole number of days apart and never overlapping."""
    first, last = timezone.localtime(start).date(), timezone.localtime(end).date()
    step = max(1, -(-(last - first).days // (MAX_DATE_LABELS - 1)))
    labels: list[tuple[float, str]] = []
    day = first
    while day <= last:
        midnight = timezone.make_aware(datetime.combine(day, time.min))
        x = x_of(max(midnight, start))
        if not labels or x - labels[-1][0] >= MIN_LABEL_GAP:
            labels.append((x, day.isoformat()))
        day += timedelta(days=step)
    return tuple(labels)
