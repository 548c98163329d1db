"""WeasyPrint for reports: the embedded fonts, a fetcher that reads only the application's own
files, and HTML → PDF bytes."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.utils.translation import pgettext
from fontpkg_noto_serif import ROOT as NOTO_SERIF_ROOT  # type: ignore[import-untyped]
from fontpkg_source_serif_4 import ROOT as SOURCE_SERIF_ROOT  # type: ignore[import-untyped]
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher

# The report's typefaces, installed with the project from PyPI (OFL) rather than found on the
# system, so that a report looks the same on every machine: Noto Serif (fontpkg-noto-serif) for
# the text — every Vietnamese letter, and the decree asks only for a Unicode Vietnamese font
# (TCVN 6909:2001) —, and Source Serif 4 (fontpkg-source-serif-4) for what Noto Serif lacks, such
# as the targets' ≥ and ≤. Variable files, one per style: WeasyPrint sets the weight on the
# `wght` axis.
FONTS = {
    "Report Serif": (
        NOTO_SERIF_ROOT / "files",
        {"normal": "NotoSerif[wdth,wght].ttf", "italic": "NotoSerif-Italic[wdth,wght].ttf"},
    ),
    "Report Serif Fallback": (
        SOURCE_SERIF_ROOT / "files",
        {"normal": "SourceSerif4[opsz,wght].ttf", "italic": "SourceSerif4-Italic[opsz,wght].ttf"},
    ),
}


class ReportRenderingError(RuntimeError):
    """A report that cannot be rendered; the message says why, for the planner to read."""


class FetchRefused(ValueError):
    """A resource outside the app's own files: the renderer never fetches it."""


def allowed_roots() -> list[Path]:
    roots = [Path(settings.BASE_DIR) / "static", Path(settings.BASE_DIR) / "templates"]
    roots += [directory for directory, _files in FONTS.values()]
    roots += [Path(directory) for directory in getattr(settings, "STATICFILES_DIRS", [])]
    return [root.resolve() for root in roots]


class LocalFilesFetcher(URLFetcher):
    """Lets WeasyPrint read `data:` URIs and `file://` paths under the app's static and template
    directories and the font's; anything else (http, ftp, other files) is refused.

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
    """(family, weight range, style, file URI) of every face the report may use."""
    return [
        (family, "100 900", style, (directory / name).as_uri())
        for family, (directory, files) in FONTS.items()
        for style, name in files.items()
    ]


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
