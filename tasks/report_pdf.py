"""The PDF report: a title page, the weekly volume and one-rep max charts, and a records table."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm, inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    LongTable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from tasks.report_charts import e1rm_figure, figure_png, volume_figure
from tasks.report_data import ReportData

# DejaVu Sans ships with matplotlib and covers far more scripts than the PDF base fonts, so
# exercise names in any language print as written.
FONT = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
pdfmetrics.registerFont(TTFont(FONT, str(_FONTS / "DejaVuSans.ttf")))
pdfmetrics.registerFont(TTFont(BOLD, str(_FONTS / "DejaVuSans-Bold.ttf")))

MARGIN = 2 * cm
ACCENT = colors.HexColor("#2f6fab")
MUTED = colors.HexColor("#5f6b7a")
STRIPE = colors.HexColor("#eef3f9")

TITLE = ParagraphStyle("title", fontName=BOLD, fontSize=28, leading=34, alignment=TA_CENTER)
SUBTITLE = ParagraphStyle("subtitle", fontName=FONT, fontSize=14, leading=20, alignment=TA_CENTER)
NOTE = ParagraphStyle(
    "note", fontName=FONT, fontSize=10, leading=14, alignment=TA_CENTER, textColor=MUTED
)
HEADING = ParagraphStyle("heading", fontName=BOLD, fontSize=16, leading=20, spaceAfter=8)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14)
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=11)


def build_pdf(data: ReportData) -> bytes:
    """Render the report; CPU-bound, so callers run it in a worker thread."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title="Training report",
        author="Nappatzim",
        subject=f"Training report of {data.email}",
    )

    def footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, MARGIN / 2, f"Training report of {data.email}")
        canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2, f"Page {doc.page}")
        canvas.restoreState()

    story = _title_page(data) + [PageBreak()] + _charts(data) + [PageBreak()] + _records(data)
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _title_page(data: ReportData) -> list[Flowable]:
    if data.first is not None and data.last is not None:
        span = f"Workouts from {_long_date(data.first)} to {_long_date(data.last)}"
    else:
        span = "No finished workouts yet"
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M")
    summary = Table(
        [
            ["Workouts", f"{data.workouts:,}"],
            ["Sets", f"{data.sets:,}"],
            ["Weeks with weight training", f"{len(data.weeks):,}"],
            [f"Total weight volume ({data.unit})", f"{data.total_volume:,.0f}"],
            ["Personal records held", f"{len(data.records):,}"],
        ],
        colWidths=[7 * cm, 4 * cm],
    )
    summary.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 11),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, -2), 0.5, colors.HexColor("#d5dce4")),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return [
        Spacer(1, 6 * cm),
        Paragraph("Training report", TITLE),
        Spacer(1, 0.6 * cm),
        Paragraph(escape(data.email), SUBTITLE),
        Spacer(1, 0.3 * cm),
        Paragraph(escape(span), SUBTITLE),
        Spacer(1, 1.5 * cm),
        summary,
        Spacer(1, 1.5 * cm),
        Paragraph(
            escape(
                f"Generated {generated} ({data.zone.key}). Loads in {data.unit}; weeks are "
                "ISO weeks, Monday to Sunday, in this time zone."
            ),
            NOTE,
        ),
    ]


def _charts(data: ReportData) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("Progress", HEADING)]
    if data.weeks:
        story.append(_image(figure_png(volume_figure(data)), height_inches=3.6))
    else:
        story.append(Paragraph("No weight training to chart yet.", BODY))
    story.append(Spacer(1, 0.8 * cm))
    if any(series.values for series in data.series):
        story.append(_image(figure_png(e1rm_figure(data)), height_inches=4.0))
    else:
        story.append(Paragraph("No sets of 1 to 12 reps to estimate a one-rep max from.", BODY))
    return story


def _image(png: bytes, *, height_inches: float) -> Image:
    return Image(io.BytesIO(png), width=6.7 * inch, height=height_inches * inch)


def _records(data: ReportData) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("Personal records", HEADING)]
    if not data.records:
        story.append(Paragraph("No personal records yet.", BODY))
        return story
    rows: list[list[object]] = [["Exercise", "Record", "Value", "Unit", "Date"]]
    for line in data.records:
        rows.append(
            [
                Paragraph(escape(line.exercise), CELL),
                Paragraph(escape(line.kind), CELL),
                _value(line.value, line.unit),
                line.unit,
                line.achieved_on.isoformat(),
            ]
        )
    table = LongTable(
        rows, colWidths=[5.2 * cm, 5.0 * cm, 2.4 * cm, 1.5 * cm, 2.4 * cm], repeatRows=1
    )
    style = [
        ("FONT", (0, 0), (-1, 0), BOLD, 9),
        ("FONT", (0, 1), (-1, -1), FONT, 9),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("ALIGN", (2, 0), (2, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    style += [("BACKGROUND", (0, row), (-1, row), STRIPE) for row in range(2, len(rows), 2)]
    table.setStyle(TableStyle(style))
    story.append(table)
    return story


def _value(value: float, unit: str) -> str:
    if unit == "reps" or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}" if unit in ("km", "mi") else f"{value:,.1f}"


def _long_date(day: date) -> str:
    return f"{day.day} {day.strftime('%B %Y')}"
