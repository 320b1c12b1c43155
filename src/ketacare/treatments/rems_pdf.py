"""The REMS Patient Monitoring Form as a PDF: the same labelled lines as the printable page
(``RemsForm.sections``), on US Letter, in the PDF's built-in fonts."""

import unicodedata
from datetime import datetime

from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from ketacare.clinical.session.rems import deadline_days
from ketacare.treatments.rems_form import TITLE, RemsForm

# The PDF's built-in fonts hold Latin-1 only; other characters are spelled out or replaced.
_SPELLED = str.maketrans(
    {
        "≤": "<=",
        "≥": ">=",
        "—": "-",
        "–": "-",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "ı": "i",
        "Œ": "OE",
        "œ": "oe",
    }
)


def latin1(text: str) -> tuple[str, bool]:
    """(the text in Latin-1, whether a character had to be replaced by "?")."""
    text = text.translate(_SPELLED)
    out, lost = [], False
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if base and all(ord(c) < 256 for c in base):
            out.append(base)
        else:
            out.append("?")
            lost = True
    return "".join(out), lost


def monitoring_pdf(
    monitoring: RemsForm, *, printed_at: datetime, printed_by: str, compress: bool = True
) -> bytes:
    """The form's fields as a PDF: the same lines as the printable page."""
    pdf = FPDF(format="Letter")
    pdf.set_compression(compress)
    pdf.set_title(TITLE)
    pdf.set_margins(15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    lost = False

    def text(value: str) -> str:
        nonlocal lost
        clean, missing = latin1(value)
        lost = lost or missing
        return clean

    def paragraph(value: str, size: float, style: str = "", height: float = 5) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(0, height, text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    paragraph(TITLE, 13, "B", 6)
    paragraph(
        f"Treatment {monitoring.treatment_date:%Y-%m-%d}. Submit on the REMS portal by "
        f"{monitoring.deadline:%Y-%m-%d} ({deadline_days()} days). MRN {monitoring.mrn}.",
        9,
    )
    value_style = FontFace(emphasis="BOLD")
    note_style = FontFace(emphasis="ITALICS", size_pt=7.5)
    for section in monitoring.sections():
        pdf.ln(2)
        paragraph(section.title, 10, "B", 5)
        if section.note:
            paragraph(section.note, 7.5, "I", 4)
        pdf.set_font("Helvetica", "", 8.5)
        with pdf.table(
            col_widths=(60, 50, 76),
            first_row_as_headings=False,
            borders_layout="HORIZONTAL_LINES",
            text_align="LEFT",
            v_align="TOP",
            line_height=4,
            padding=0.8,
        ) as table:
            for line in section.lines:
                row = table.row()
                row.cell(text(line.label))
                row.cell(text(line.value), style=value_style)
                row.cell(text(line.note), style=note_style)
    pdf.ln(4)
    printed = timezone.localtime(printed_at)
    paragraph(f"Printed {printed:%Y-%m-%d %H:%M} by {printed_by} from ketacare.", 8, "I", 4)
    if lost:
        paragraph(
            "Some characters cannot be shown in this PDF and appear as '?': the printable page "
            "has the exact text.",
            8,
            "B",
            4,
        )
    return bytes(pdf.output())
