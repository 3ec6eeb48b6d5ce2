"""The PDF report renders page by page, and its charts and table show the user's own data."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from matplotlib import dates as mdates
from PIL import Image
from sqlalchemy import select

from server.app import SERVICES
from storage.measures import epley, to_canonical
from storage.models import Exercise, User, Workout, WorkoutSet
from tasks.report_charts import e1rm_figure, volume_figure
from tasks.report_data import load_report
from tests.export_helpers import (
    Client,
    Sample,
    download,
    export,
    measured,
    set_preferences,
    store_workouts,
    tasks_run,
    wait_for_tasks,
    weight,
)
from tests.helpers import register

__all__ = ["tasks_run"]

PARIS = ZoneInfo("Europe/Paris")
LB = 0.45359237


def owner_history() -> list[Sample]:
    """Six weight exercises over three ISO weeks, one workout at 00:30 on a Paris Monday."""
    start = datetime(2024, 3, 4, 17, 0, tzinfo=UTC)
    samples = []
    for week in range(3):
        for day, names in ((0, ("Squat", "Bench Press", "Row")), (2, ("Deadlift", "Press"))):
            # Distinct loads give every exercise its own total volume, so the top five
            # by volume are Row, Press, Bench Press, Deadlift and Squat.
            exercises = [
                weight(
                    name,
                    "kg",
                    [(40.0 + 10 * index + 2.5 * week + day * 2.5, 5, None)] * (3 + index),
                )
                for index, name in enumerate(names)
            ]
            started = start + timedelta(weeks=week, days=day)
            samples.append(Sample("Strength", started, exercises))
    samples.append(
        Sample(
            "Extra",
            # Monday 2024-03-25 00:30 in Paris is Sunday 23:30 UTC.
            datetime(2024, 3, 24, 23, 30, tzinfo=UTC),
            [
                weight("Curl", "lb", [(30, 10, None)]),
                measured("time", "Plank", "seconds", [60, 90]),
            ],
        )
    )
    return samples


def stranger_history() -> list[Sample]:
    return [
        Sample(
            "Other",
            datetime(2024, 3, 5, 12, tzinfo=UTC),
            [weight("Stranger Lift", "kg", [(500, 10, None)] * 5)],
        )
    ]


async def volumes_from_sets(client: Client, user_id: int, unit: str) -> dict[date, float]:
    """Add reps x load of the user's weight sets into Paris ISO weeks, straight from the sets."""
    totals: dict[date, float] = defaultdict(float)
    async with client.server.app[SERVICES].db.read() as session:
        rows = await session.execute(
            select(Workout.created_at, Exercise.unit, WorkoutSet.value, WorkoutSet.reps)
            .join(Exercise, Exercise.workout_id == Workout.id)
            .join(WorkoutSet, WorkoutSet.exercise_id == Exercise.id)
            .where(Workout.user_id == user_id, Exercise.type == "weight")
        )
        for started, exercise_unit, value, reps in rows.tuples():
            local = started.astimezone(PARIS).date()
            monday = local - timedelta(days=local.isoweekday() - 1)
            load = to_canonical(value, "weight", exercise_unit) or 0.0
            totals[monday] += load * reps / (LB if unit == "lb" else 1.0)
    return dict(totals)


async def best_e1rm_from_sets(client: Client, user_id: int, name: str) -> list[float]:
    """Return the best Epley estimate of each workout with the exercise, oldest first, in kg."""
    best: dict[datetime, float] = {}
    async with client.server.app[SERVICES].db.read() as session:
        rows = await session.execute(
            select(Workout.created_at, Exercise.unit, WorkoutSet.value, WorkoutSet.reps)
            .join(Exercise, Exercise.workout_id == Workout.id)
            .join(WorkoutSet, WorkoutSet.exercise_id == Exercise.id)
            .where(Workout.user_id == user_id, Exercise.name == name)
        )
        for started, exercise_unit, value, reps in rows.tuples():
            estimate = epley(to_canonical(value, "weight", exercise_unit), reps)
            if estimate is not None:
                best[started] = max(best.get(started, 0.0), estimate)
    return [best[started] for started in sorted(best)]


async def prepare(client: Client, unit: str) -> tuple[dict[str, object], User]:
    owner = await register(client)
    owner_id = int(owner["userId"])
    stranger = await register(client)
    await set_preferences(client, owner_id, timezone="Europe/Paris", unit=unit)
    await store_workouts(client, owner_id, owner_history())
    await store_workouts(client, int(stranger["userId"]), stranger_history())
    await wait_for_tasks(client)
    async with client.server.app[SERVICES].db.read() as session:
        user = await session.get(User, owner_id)
    assert user is not None
    return owner, user


@pytest.mark.parametrize("unit", ["kg", "lb"])
async def test_volume_chart_plots_user_weeks(client: Client, tasks_run: None, unit: str) -> None:
    _, user = await prepare(client, unit)
    data = await load_report(client.server.app[SERVICES].db, user)
    expected = await volumes_from_sets(client, user.id, unit)

    bars = volume_figure(data).axes[0].patches
    plotted = {}
    for bar in bars:
        centre = mdates.num2date(bar.get_x() + bar.get_width() / 2)
        plotted[centre.date() - timedelta(days=3)] = bar.get_height()
    assert sorted(plotted) == sorted(expected)
    assert len(plotted) == 4
    for monday, volume in expected.items():
        assert plotted[monday] == pytest.approx(volume)
    assert plotted[date(2024, 3, 25)] == pytest.approx(30 * 10 * LB / (LB if unit == "lb" else 1))


async def test_e1rm_chart_plots_top_exercises(client: Client, tasks_run: None) -> None:
    _, user = await prepare(client, "kg")
    data = await load_report(client.server.app[SERVICES].db, user)

    lines = e1rm_figure(data).axes[0].get_lines()
    labels = [line.get_label() for line in lines]
    assert labels == ["Row", "Press", "Bench Press", "Deadlift", "Squat"]
    assert "Stranger Lift" not in labels
    assert "Curl" not in labels
    for line in lines:
        expected = await best_e1rm_from_sets(client, user.id, str(line.get_label()))
        assert list(line.get_ydata()) == pytest.approx(expected)
    exercises = {record.exercise for record in data.records}
    assert exercises == {"Squat", "Bench Press", "Row", "Deadlift", "Press", "Curl", "Plank"}


async def test_pdf_renders_pages(client: Client, tasks_run: None, tmp_path: Path) -> None:
    owner, _ = await prepare(client, "kg")
    headers = owner["headers"]
    assert isinstance(headers, dict)
    job = await export(client, headers, "pdf")
    assert job["state"] == "succeeded", job
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(await download(client, headers, job))

    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=60
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 3
    for page in pages:
        with Image.open(page) as image:
            grey = image.convert("L")
            dark = sum(grey.histogram()[:200])
            assert dark > 0.002 * grey.width * grey.height, page.name
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert owner["email"] in text
    assert "Personal records" in text
    assert "Stranger Lift" not in text


async def test_pdf_of_empty_account(client: Client, tasks_run: None, tmp_path: Path) -> None:
    login = await register(client)
    job = await export(client, login["headers"], "pdf")
    assert job["state"] == "succeeded", job
    pdf = tmp_path / "empty.pdf"
    pdf.write_bytes(await download(client, login["headers"], job))
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert "No finished workouts yet" in text
    assert "No personal records yet" in text
