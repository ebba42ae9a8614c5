"""Builds the office inputs of Lectern's documents tests and benchmark.

    python make_office.py pptx OUT SLIDES    # SLIDES slides, each with `slide-marker-N`
    python make_office.py docx OUT PAGES     # PAGES pages, each with `docx-marker-N`

Every slide/page carries its own marker text, vector shapes in a colour and position that
depend on its number, a semi-transparent overlap and a generated picture, so rendered pages
differ from each other and text extraction can be checked. Run with the unoserver venv's
python (tests/documents/setup.sh installs python-pptx and python-docx there).
"""

import io
import os
import sys

from PIL import Image, ImageDraw


def picture(n):
    img = Image.new("RGB", (160, 120), (20 * n % 256, 80, 200))
    d = ImageDraw.Draw(img)
    d.ellipse((10 + n % 40, 10, 110 + n % 40, 110), fill=(250, 200, 0))
    d.line((0, 0, 160, 120), fill=(0, 0, 0), width=4)
    out = io.BytesIO()
    img.save(out, "PNG")
    out.seek(0)
    return out


def pptx(path, slides):
    from lxml import etree
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.util import Emu, Inches, Pt

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    layout = prs.slide_layouts[6]  # blank
    for n in range(1, slides + 1):
        s = prs.slides.add_slide(layout)
        box = s.shapes.add_textbox(Inches(0.5), Inches(0.3), Inches(12), Inches(1.2))
        box.text_frame.text = f"Slide {n} of {slides}: slide-marker-{n}"
        box.text_frame.paragraphs[0].runs[0].font.size = Pt(36)
        rect = s.shapes.add_shape(
            MSO_SHAPE.RECTANGLE, Inches(0.5 + (n % 7)), Inches(2), Inches(3), Inches(2)
        )
        rect.fill.solid()
        rect.fill.fore_color.rgb = RGBColor(30, (n * 12) % 256, 180)
        oval = s.shapes.add_shape(MSO_SHAPE.OVAL, Inches(2 + (n % 7)), Inches(3), Inches(3), Inches(2))
        oval.fill.solid()
        oval.fill.fore_color.rgb = RGBColor(230, 40, 40)
        # 50 % alpha on the oval's fill: python-pptx has no API for it, so set the XML.
        srgb = oval.fill._xPr.find(".//{http://schemas.openxmlformats.org/drawingml/2006/main}srgbClr")
        etree.SubElement(srgb, "{http://schemas.openxmlformats.org/drawingml/2006/main}alpha").set("val", "50000")
        s.shapes.add_picture(picture(n), Inches(9), Inches(3.5), Emu(Inches(3)), Emu(Inches(2.25)))
    # A tag makes otherwise identical decks distinct documents (benchmark runs).
    prs.core_properties.subject = os.environ.get("LECTERN_OFFICE_TAG", "")
    prs.save(path)


def docx(path, pages):
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.shared import Inches, Pt

    doc = Document()
    for n in range(1, pages + 1):
        h = doc.add_heading(f"Chapter {n}: docx-marker-{n}", level=1)
        h.runs[0].font.size = Pt(24)
        for k in range(n % 3 + 2):
            doc.add_paragraph(
                f"Paragraph {k + 1} of chapter {n}. Lectern turns office documents into pages. " * 3
            )
        doc.add_picture(picture(n), width=Inches(2 + (n % 4) * 0.5))
        if n < pages:
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    doc.core_properties.subject = os.environ.get("LECTERN_OFFICE_TAG", "")
    doc.save(path)


if __name__ == "__main__":
    kind, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    {"pptx": pptx, "docx": docx}[kind](out, count)
