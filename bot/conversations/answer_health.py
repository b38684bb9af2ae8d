"""Answer health, week by week: how many visitor questions the bot answered, met with "did you
mean", could not answer, and how many answers visitors marked not helpful (👎); drawn as a chart
with matplotlib, as the model comparison's confusion matrices are. Pure: the gap report
(bot/conversations/gaps.py) passes in what it read."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

SERIES = ("answered", "did you mean", "not answered", "not helpful")


@dataclass(frozen=True)
class WeekCounts:
    week: dt.date  # its Monday (UTC)
    answered: int = 0
    did_you_mean: int = 0
    not_answered: int = 0
    not_helpful: int = 0

    def values(self) -> tuple[int, int, int, int]:
        return (self.answered, self.did_you_mean, self.not_answered, self.not_helpful)


def week_of(timestamp: float) -> dt.date:
    day = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).date()
    return day - dt.timedelta(days=day.weekday())


def weekly_health(
    questions: list[tuple[float, str]], down_votes: list[float], since: float, until: float
) -> list[WeekCounts]:
    """Counts per week from the week of `since` to the week of `until`, empty weeks included.
    `questions`: (time, outcome) with outcome "answered", "did you mean", "not answered" or
    another (not counted); `down_votes`: the times of 👎 votes."""
    first, last = week_of(since), week_of(until)
    counts: dict[dt.date, list[int]] = {}
    week = first
    while week <= last:
        counts[week] = [0, 0, 0, 0]
        week += dt.timedelta(days=7)
    for timestamp, outcome in questions:
        if outcome in SERIES[:3] and week_of(timestamp) in counts:
            counts[week_of(timestamp)][SERIES.index(outcome)] += 1
    for timestamp in down_votes:
        if week_of(timestamp) in counts:
            counts[week_of(timestamp)][3] += 1
    return [WeekCounts(week, *values) for week, values in counts.items()]


def health_chart_png(weeks: list[WeekCounts]) -> bytes:
    """A line per series over the weeks, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(8, 3.6), dpi=100)
    labels = [week.week.isoformat() for week in weeks]
    styles = ("-o", "-s", "-^", "-x")
    for position, (name, style) in enumerate(zip(SERIES, styles, strict=True)):
        axes.plot(labels, [week.values()[position] for week in weeks], style, label=name)
    axes.set_xlabel("week starting (UTC)")
    axes.set_ylabel("visitor questions")
    axes.set_title("Answer health per week")
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(alpha=0.3)
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of questions
    for label in axes.get_xticklabels():
        label.set_rotation(30)
        label.set_ha("right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
