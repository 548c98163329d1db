"""Small images of a report's pages, for the official who confirms a signature to see what is
signed: rendered on the server by PDFium (pypdfium2, which brings its own binary), from the
app's own stored PDF."""

import threading
from dataclasses import dataclass
from io import BytesIO

import pypdfium2 as pdfium  # type: ignore[import-untyped]

# Pages shown before signing; a longer report says how many more it has.
PREVIEW_PAGES = 12
# A page's width on the page, in CSS pixels; its image has twice as many, for sharp screens.
PREVIEW_WIDTH = 150
PIXELS_PER_CSS_PIXEL = 2

# PDFium is not thread-safe: one document at a time in a process (gunicorn's threads, runserver).
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class PagePreview:
    number: int  # from 1
    width: int  # CSS pixels
    height: int


def page_previews(pdf: bytes) -> tuple[list[PagePreview], int]:
    """The previews of the first PREVIEW_PAGES pages (their sizes, from each page's own size), and
    how many pages the document has."""
    with _PDFIUM:
        document = pdfium.PdfDocument(pdf)
        try:
            total = len(document)
            sizes = [document.get_page_size(index) for index in range(min(total, PREVIEW_PAGES))]
        finally:
            document.close()
    previews = [
        PagePreview(number, PREVIEW_WIDTH, round(PREVIEW_WIDTH * height / width))
        for number, (width, height) in enumerate(sizes, start=1)
    ]
    return previews, total


def page_png(pdf: bytes, number: int) -> bytes | None:
    """Page ``number`` (from 1, at most PREVIEW_PAGES) as a PNG of its preview's size in device
    pixels; None when the document has no such page."""
    if not 1 <= number <= PREVIEW_PAGES:
        return None
    output = BytesIO()
    with _PDFIUM:
        document = pdfium.PdfDocument(pdf)
        try:
            if number > len(document):
                return None
            page = document[number - 1]
            try:
                width, _height = page.get_size()
                bitmap = page.render(scale=PREVIEW_WIDTH * PIXELS_PER_CSS_PIXEL / width)
                bitmap.to_pil().save(output, format="PNG", optimize=True)
                bitmap.close()
            finally:
                page.close()
        finally:
            document.close()
    return output.getvalue()
