"""The charts of the PDF report, drawn with matplotlib's Agg canvas without pyplot.

Each figure is its own object with no global state, so reports can render in worker threads.
"""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta

import matplotlib

matplotlib.use("Agg")

from matplotlib import dates as mdates  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from tasks.report_data import ReportData  # noqa: E402

# Figure size in inches, to fit a portrait A4 page inside 2 cm margins.
WIDTH = 6.7
HEIGHT = 3.6
DPI = 200
BAR_COLOR = "#2f6fab"
LINE_COLORS = ("#2f6fab", "#d1603d", "#3a9b5c", "#8e5bb5", "#c99a2e")
# With this many bars or fewer each bar is labelled with its value.
LABELLED_BARS = 12

matplotlib.rcParams.update(
    {
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.labelsize": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def volume_figure(data: ReportData) -> Figure:
    """Draw a bar per ISO week with the week's weight volume, centred on its Monday to Sunday."""
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    centres = [
        datetime.combine(week.week_start, time(12)) + timedelta(days=3) for week in data.weeks
    ]
    volumes = [week.volume for week in data.weeks]
    bars = axes.bar(
        _date_numbers(centres), volumes, width=6, color=BAR_COLOR, label="volume per week"
    )
    if len(volumes) <= LABELLED_BARS:
        axes.bar_label(bars, labels=[_thousands(value) for value in volumes], padding=2, fontsize=8)
    axes.set_title("Training volume per week")
    axes.set_ylabel(f"Volume, load × reps ({data.unit})")
    axes.set_xlabel(f"Week starting Monday ({data.zone.key})")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _thousands(value)))
    axes.grid(axis="y", alpha=0.3)
    _date_axis(axes, centres, pad_days=7)
    if len(volumes) <= LABELLED_BARS:
        labels = [f"{week.week_start.day} {week.week_start:%b %Y}" for week in data.weeks]
        axes.set_xticks(_date_numbers(centres), labels=labels)
    return figure


def e1rm_figure(data: ReportData) -> Figure:
    """Draw a line per top exercise through its best one-rep max estimate in each workout."""
    figure = Figure(figsize=(WIDTH, HEIGHT + 0.4), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    every_date: list[datetime] = []
    for series, color in zip(data.series, LINE_COLORS, strict=False):
        axes.plot(
            _date_numbers([point.replace(tzinfo=None) for point in series.dates]),
            series.values,
            marker="o",
            markersize=3.5,
            linewidth=1.6,
            color=color,
            label=series.name,
        )
        every_date += series.dates
    axes.set_title("Estimated one-rep max (Epley) of the top exercises by volume")
    axes.set_ylabel(f"Estimated one-rep max ({data.unit})")
    axes.set_xlabel(f"Workout date ({data.zone.key})")
    axes.grid(alpha=0.3)
    if data.series:
        figure.legend(loc="outside lower center", ncols=min(3, len(data.series)), frameon=False)
    _date_axis(axes, [point.replace(tzinfo=None) for point in every_date], pad_days=2)
    return figure


def figure_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)  # type: ignore[no-untyped-call]
    return buffer.getvalue()


def _date_axis(axes: Axes, points: list[datetime], *, pad_days: int) -> None:
    """Label dates concisely, and keep a few days' room at both ends of a short range."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    )
    if points:
        pad = timedelta(days=pad_days)
        low, high = _date_numbers([min(points) - pad, max(points) + pad])
        axes.set_xlim(low, high)


def _date_numbers(points: list[datetime]) -> list[float]:
    """Convert naive datetimes to matplotlib's date numbers (days since 1970)."""
    numbers = mdates.date2num(points)  # type: ignore[no-untyped-call]
    return [float(number) for number in numbers]


def _thousands(value: float) -> str:
    return f"{value:,.0f}"
