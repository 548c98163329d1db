"""WeasyPrint for reports: the embedded fonts, a fetcher that reads only the application's own
files, and HTML → PDF bytes."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.utils.translation import pgettext
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher

# Debian's fonts-liberation2 (the body: metrically compatible with Times New Roman, as the decree
# asks) and fonts-noto-core (glyphs Liberation lacks). Only these and the app's own files are read.
FONT_DIRS = (Path("/usr/share/fonts/truetype/liberation2"), Path("/usr/share/fonts/truetype/noto"))
BODY_FONT = {
    "regular": "LiberationSerif-Regular.ttf",
    "bold": "LiberationSerif-Bold.ttf",
    "italic": "LiberationSerif-Italic.ttf",
    "bold_italic": "LiberationSerif-BoldItalic.ttf",
}
FALLBACK_FONT = {
    "regular": "NotoSerif-Regular.ttf",
    "bold": "NotoSerif-Bold.ttf",
    "italic": "NotoSerif-Italic.ttf",
    "bold_italic": "NotoSerif-BoldItalic.ttf",
}


class ReportRenderingError(RuntimeError):
    """A report that cannot be rendered; the message says why, for the planner to read."""


class FetchRefused(ValueError):
    """A resource outside the app's own files: the renderer never fetches it."""


def allowed_roots() -> list[Path]:
    roots = [Path(settings.BASE_DIR) / "static", Path(settings.BASE_DIR) / "templates", *FONT_DIRS]
    roots += [Path(directory) for directory in getattr(settings, "STATICFILES_DIRS", [])]
    return [root.resolve() for root in roots]


class LocalFilesFetcher(URLFetcher):
    """Lets WeasyPrint read `data:` URIs and `file://` paths under the app's static and template
    directories and the font directories; anything else (http, ftp, other files) is refused.

    `fail_on_errors` turns a refusal into a stop of the whole render rather than a warning and a
    silently missing image: the template is ours, so a foreign URL in it is a bug to surface."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False, fail_on_errors=True)
        self.roots = allowed_roots()

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            parts = urlsplit(url)
            path = Path(url2pathname(parts.path)).resolve()
            if parts.netloc in ("", "localhost") and path.is_file() and any(path.is_relative_to(r) for r in self.roots):
                return super().fetch(path.as_uri(), headers)
        raise FetchRefused(f"Refused to fetch {url!r}: reports use only the application's own files.")


def font_faces() -> list[tuple[str, str, str, str]]:
    """(family, weight, style, file URI) of every face the report may use."""
    faces = []
    for family, files in (("Report Serif", BODY_FONT), ("Report Serif Fallback", FALLBACK_FONT)):
        for face, name in files.items():
            path = next((d / name for d in FONT_DIRS if (d / name).is_file()), None)
            if path is None:
                raise ReportRenderingError(
                    pgettext("report", "The font %(name)s of the reports is not installed.") % {"name": name}
                )
            weight = "bold" if "bold" in face else "normal"
            style = "italic" if "italic" in face else "normal"
            faces.append((family, weight, style, path.as_uri()))
    return faces


def html_to_pdf(html: str) -> bytes:
    """The PDF of a report page; only the app's files and the fonts are read."""
    base_url = (Path(settings.BASE_DIR) / "templates" / "reporting" / "pdf").resolve().as_uri() + "/"
    try:
        document = HTML(string=html, base_url=base_url, url_fetcher=LocalFilesFetcher(), media_type="print")
        pdf: bytes = document.write_pdf()
    except FatalURLFetchingError as error:
        # A BaseException in WeasyPrint: turned into an ordinary error the workflow can report.
        detail = str(error.__cause__ or error)
        raise ReportRenderingError(
            pgettext("report", "The report refers to a file outside the application: %(detail)s") % {"detail": detail}
        ) from error
    return pdf
