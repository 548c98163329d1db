"""PAdES signatures on progress reports.

``sign_pdf`` signs with the tenant's key: PAdES (``ETSI.CAdES.detached``), a signature
timestamp from a TSA (B-T) and, where revocation information is at hand, the certificates
and CRLs/OCSP responses in the document security store of the same revision (B-LT), plus a
visible stamp on the last page ("Ký bởi", the signer, "Thời gian ký").

Out of the box (``make run``, tests) everything comes from the demo PKI of
:mod:`reporting.pki`: a root CA, a TSA used in-process, a CRL and a key per tenant under
``var/pki``, whose keys are encrypted with ``REPORT_SIGNING_PASSPHRASE``.

Putting a real certificate in place
-----------------------------------

Everything is read from the environment (see the "Report signing" block of
``healthplans/settings/base.py``):

- **A PKCS#12 file per tenant** (``.p12``/``.pfx`` from a certification authority):
  ``REPORT_SIGNING_P12_<SLUG>=/run/secrets/lao-cai.p12`` (the slug upper-cased, ``-`` → ``_``,
  e.g. ``REPORT_SIGNING_P12_QUANG_NGAI``), its passphrase in
  ``REPORT_SIGNING_PASSPHRASE_<SLUG>`` or, shared by all, ``REPORT_SIGNING_PASSPHRASE``.
  The file should hold the whole chain (key, certificate, intermediates).
- **Or a PKCS#11 token / HSM** holding every tenant's key: ``REPORT_PKCS11_MODULE`` (the
  vendor's ``.so``), ``REPORT_PKCS11_TOKEN_LABEL``, ``REPORT_PKCS11_PIN`` and
  ``REPORT_PKCS11_KEY_LABEL`` (default ``{slug}``; ``{slug}`` becomes the tenant's slug; the
  certificate carries the same label). Needs ``pip install 'pyHanko[pkcs11]'``
  (python-pkcs11). When the module is set, the token wins over key files.
- **Trust**: ``REPORT_TRUST_ROOTS=/etc/healthplans/root-ca.pem,/etc/healthplans/tsa-root.pem``
  (PEM or DER files, comma-separated): the root of the signer's CA and of the TSA. Signing
  refuses a certificate that does not chain to a trusted root; ``/verify/`` trusts exactly
  these roots and the demo root.
- **A real time-stamping service** (RFC 3161): ``REPORT_TSA_URL=https://tsa.example.vn/tsa``.
  Without it the demo TSA stamps in-process, which is fine for a demo and worthless as
  evidence to anyone else.
- **Revocation data for B-LT**: the demo certificates' CRL is local; for real certificates
  set ``REPORT_FETCH_REVOCATION_INFO=true`` to let the signing worker fetch CRLs/OCSP
  responses (it then needs outbound HTTP); otherwise the signature is B-T with the
  certificate chain embedded.

``sign_pdf`` is synchronous (pyHanko runs its own event loop): call it through
``sync_to_async`` from async code. Its verdict is :mod:`reporting.verification`'s.
"""

import asyncio
import functools
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from fontTools import subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer, SimpleSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko.sign.timestamps import DummyTimeStamper, HTTPTimeStamper, TimeStamper
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext

from reporting.pki import demo_crl, demo_tsa, ensure_demo_pki, is_demo_p12, signing_passphrase, tenant_p12_path
from reporting.pki import trust_roots as configured_trust_roots

logger = logging.getLogger(__name__)

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SIGNATURE_FIELD = "KySoBaoCao"

# The stamp's place on the last page, in millimetres from the bottom-right corner of the page:
# inside the decree's margins (right 15–20 mm, bottom 20–25 mm), so the renderer keeps the
# bottom-right STAMP_WIDTH_MM × STAMP_HEIGHT_MM of the last page's text area free.
STAMP_RIGHT_MM = 20
STAMP_BOTTOM_MM = 20
STAMP_WIDTH_MM = 80
STAMP_HEIGHT_MM = 22
STAMP_FONT_SIZE = 9
# Below the top of the space the report keeps for the stamp (the signature-stamp destination).
STAMP_GAP_MM = 6
STAMP_TEXT = "Ký bởi: %(signer)s\n%(title)s\nThời gian ký: %(signed_at)s"

POINTS_PER_MM = 72 / 25.4
# What Vietnamese text needs of a font: Latin with its extensions, combining marks, the
# precomposed Vietnamese letters (U+1EA0–U+1EFF), punctuation and the đồng sign.
VIETNAMESE_UNICODES = [
    *range(0x20, 0x7F),
    *range(0xA0, 0x250),
    *range(0x300, 0x370),
    *range(0x1EA0, 0x1F00),
    *range(0x2000, 0x2070),
    0x20AB,
]


class SigningFailed(Exception):
    """The report could not be signed; the message says why, for the page and the API."""


class TokenPinRefused(SigningFailed):
    """The PKCS#11 token refused the PIN given; nothing was signed."""


def sign_pdf(
    pdf: bytes,
    *,
    tenant_slug: str,
    signer_name: str,
    signer_title: str,
    reason: str,
    location: str,
    signed_at: datetime,
    pin: str | None = None,
) -> bytes:
    """Sign ``pdf`` with the tenant's key: PAdES B-T, B-LT where revocation info is at hand.
    ``pin`` unlocks a PKCS#11 token for this signature (else REPORT_PKCS11_PIN); it is not kept."""
    if signed_at.tzinfo is None:
        raise ValueError("signed_at must be timezone-aware")
    signed_at = signed_at.astimezone(VIETNAM)
    # Database and file work happen here, outside pyHanko's event loop (Django's ORM refuses
    # to run inside one).
    if (not settings.REPORT_PKCS11_MODULE and is_demo_p12(tenant_slug)) or not settings.REPORT_TSA_URL:
        ensure_demo_pki(tenant_slugs=[tenant_slug])
    timestamper = _timestamper()
    crl = demo_crl()
    fetching = bool(getattr(settings, "REPORT_FETCH_REVOCATION_INFO", False))
    validation_context = ValidationContext(
        trust_roots=configured_trust_roots(),
        crls=[crl] if crl is not None else None,
        allow_fetching=fetching,
        revocation_mode="soft-fail",
    )
    metadata = PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        name=signer_name,
        reason=reason,
        location=location,
        subfilter=SigSeedSubFilter.PADES,
        validation_context=validation_context,
        embed_validation_info=crl is not None or fetching,
        # Validation data in the signature's own revision: one revision, which every reader
        # (poppler, Acrobat) sees as covering the whole file.
        dss_settings=DSSContentSettings(placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE, include_vri=False),
    )
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf))
        page, box = _stamp_place(writer)
        field_spec = SigFieldSpec(SIGNATURE_FIELD, on_page=page, box=box)
        text_params = {
            "signer": signer_name,
            "title": signer_title,
            # not "ts": pyHanko overwrites that one with its own format of the signing time
            # as Vietnamese documents write a time: Vietnam keeps UTC+7 all year (no summer time)
            "signed_at": f"{signed_at:%d/%m/%Y %H:%M}, GMT+7",
        }
        with _tenant_signer(tenant_slug, pin) as signer:
            pdf_signer = PdfSigner(
                metadata, signer, timestamper=timestamper, stamp_style=_stamp_style(), new_field_spec=field_spec
            )
            return asyncio.run(_sign(pdf_signer, writer, signed_at, text_params, validation_context))
    except (SigningFailed, ImproperlyConfigured):
        raise
    except Exception as error:
        logger.exception("Signing for tenant %s failed", tenant_slug)
        raise SigningFailed(f"Không ký được báo cáo: {error}") from error


async def _sign(
    pdf_signer: PdfSigner,
    writer: IncrementalPdfFileWriter,
    signed_at: datetime,
    text_params: dict[str, str],
    validation_context: ValidationContext,
) -> bytes:
    """PdfSigner.async_sign_pdf, except that the signing time is the official's, not the clock's."""
    try:
        session = pdf_signer.init_signing_session(writer)
        # The signature dictionary's /M and the CMS signingTime; the timestamp stays the TSA's.
        session.system_time = signed_at
        validation_info = await session.perform_presign_validation(writer)
        bytes_reserved = await session.estimate_signature_container_size(validation_info, tight=False)
        tbs_document = session.prepare_tbs_document(
            validation_info=validation_info,
            bytes_reserved=bytes_reserved,
            appearance_text_params=text_params,
        )
        prepared, output = tbs_document.digest_tbs_document()
        signed_document = await tbs_document.perform_signature(
            document_digest=prepared.document_digest,
            pdf_cms_signed_attrs=PdfCMSSignedAttributes(
                signing_time=signed_at,
                adobe_revinfo_attr=None if validation_info is None else validation_info.adobe_revinfo_attr,
                cades_signed_attrs=pdf_signer.signature_meta.cades_signed_attr_spec,
            ),
        )
        await signed_document.post_signature_processing(output)
        output.seek(0)
        return bytes(output.read())
    finally:
        await validation_context.aclose()


def _timestamper() -> TimeStamper:
    if settings.REPORT_TSA_URL:
        return HTTPTimeStamper(settings.REPORT_TSA_URL, timeout=30)
    tsa = demo_tsa()
    return DummyTimeStamper(tsa_cert=tsa.certificate, tsa_key=tsa.private_key)


@contextmanager
def _tenant_signer(tenant_slug: str, pin: str | None) -> Iterator[Signer]:
    if settings.REPORT_PKCS11_MODULE:
        with _pkcs11_signer(tenant_slug, pin) as signer:
            yield signer
        return
    path = tenant_p12_path(tenant_slug)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SigningFailed(f"Không đọc được tệp khóa ký của đơn vị {tenant_slug} ({path}): {error}") from error
    try:
        yield SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=signing_passphrase(tenant_slug))
    except ValueError as error:
        raise SigningFailed(
            f"Không mở được tệp khóa ký {path.name}: sai mật khẩu (REPORT_SIGNING_PASSPHRASE) hoặc tệp hỏng."
        ) from error


@contextmanager
def _pkcs11_signer(tenant_slug: str, pin: str | None) -> Iterator[Signer]:
    try:
        from pkcs11.exceptions import PinIncorrect, PinInvalid, PinLenRange
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
    except ImportError as error:
        raise ImproperlyConfigured(
            "REPORT_PKCS11_MODULE is set but python-pkcs11 is missing: pip install 'pyHanko[pkcs11]'."
        ) from error
    label = settings.REPORT_PKCS11_KEY_LABEL.format(slug=tenant_slug)
    token_label = settings.REPORT_PKCS11_TOKEN_LABEL
    try:
        session = open_pkcs11_session(
            settings.REPORT_PKCS11_MODULE,
            token_criteria=TokenCriteria(label=token_label) if token_label else None,
            user_pin=pin or settings.REPORT_PKCS11_PIN or None,
        )
    except (PinIncorrect, PinInvalid, PinLenRange) as error:
        raise TokenPinRefused(_("The signing token's PIN is wrong. Nothing was signed.")) from error
    try:
        yield PKCS11Signer(session, cert_label=label, key_label=label)
    finally:
        session.close()


def _stamp_style() -> TextStampStyle:
    # Noto Serif has 1000 units per em: pyHanko 0.38 spreads the letters of 2048-unit fonts.
    font = GlyphAccumulatorFactory(_vietnamese_font_file(str(settings.REPORT_STAMP_FONT)), font_size=STAMP_FONT_SIZE)
    return TextStampStyle(
        stamp_text=STAMP_TEXT,
        text_box_style=TextBoxStyle(font=font, font_size=STAMP_FONT_SIZE, leading=STAMP_FONT_SIZE + 3),
        border_width=1,
    )


@functools.cache
def _vietnamese_font_file(source: str) -> str:
    """The font cut down to Vietnamese, made once per font file and kept under var/cache.

    pyHanko subsets the stamp's font anew on every signature; the full Noto Serif (Greek,
    Cyrillic and their layout tables) makes that take over a second, the cut-down one a third.
    """
    source_path = Path(source)
    stat = source_path.stat()
    target = Path(settings.VAR_DIR) / "cache" / f"{source_path.stem}-vi-{stat.st_size}-{int(stat.st_mtime)}.ttf"
    if target.exists():
        return str(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        font = TTFont(source)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=VIETNAMESE_UNICODES)
        subsetter.subset(font)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, suffix=".ttf")
        with os.fdopen(descriptor, "wb") as handle:
            font.save(handle)
        os.replace(temporary, target)
    except OSError as error:
        logger.warning("Could not cache a Vietnamese cut of %s (%s); the stamp uses the whole font", source, error)
        return source
    return str(target)


def _stamp_place(writer: IncrementalPdfFileWriter) -> tuple[int, tuple[int, int, int, int]]:
    """Where the stamp goes: into the space the report keeps for it above the signer's name (the
    `signature-stamp` destination the renderer leaves), which is not the last page when a
    landscape appendix follows; else the bottom right of the last page."""
    target = _named_destination(writer, "signature-stamp")
    if target is not None:
        pages = _page_refs(writer.root["/Pages"])
        page_ref, left, top = target
        if page_ref in pages:
            x1, y2 = left, top - STAMP_GAP_MM * POINTS_PER_MM
            box = (
                round(x1),
                round(y2 - STAMP_HEIGHT_MM * POINTS_PER_MM),
                round(x1 + STAMP_WIDTH_MM * POINTS_PER_MM),
                round(y2),
            )
            return pages.index(page_ref), box
    return -1, _stamp_box(writer)


def _named_destination(writer: IncrementalPdfFileWriter, name: str) -> tuple[Any, float, float] | None:
    """The page and the top-left point of a named destination (/XYZ), if the document has it."""
    names = writer.root.get("/Names")
    tree = names.get_object().get("/Dests") if names is not None else None
    pending = [tree.get_object()] if tree is not None else []
    while pending:
        node = pending.pop()
        entries = node.get("/Names", [])
        for index in range(0, len(entries) - 1, 2):
            if str(entries[index]) == name:
                destination = entries[index + 1].get_object()
                if hasattr(destination, "keys"):  # a dictionary {/D [...]} rather than the array
                    destination = destination["/D"]
                if len(destination) >= 4 and str(destination[1]) == "/XYZ":
                    return destination.raw_get(0).reference, float(destination[2]), float(destination[3])
        pending.extend(kid.get_object() for kid in node.get("/Kids", []))
    return None


def _page_refs(pages: Any) -> list[Any]:
    """References of the document's pages, in order."""
    refs: list[Any] = []
    kids = pages.get_object()["/Kids"]
    for index in range(len(kids)):
        kid = kids.raw_get(index)  # the reference, not the object it points to
        refs.extend([kid.reference] if kid.get_object().get("/Type") == "/Page" else _page_refs(kid))
    return refs


def _stamp_box(writer: IncrementalPdfFileWriter) -> tuple[int, int, int, int]:
    """The stamp's rectangle at the bottom right of the last page, whatever its size."""
    page_ref, _resources = writer.find_page_for_modification(-1)
    node = page_ref.get_object()
    while "/MediaBox" not in node:
        node = node["/Parent"]
    _left, bottom, right, _top = (float(value) for value in node["/MediaBox"])
    x2 = right - STAMP_RIGHT_MM * POINTS_PER_MM
    y1 = bottom + STAMP_BOTTOM_MM * POINTS_PER_MM
    return (
        round(x2 - STAMP_WIDTH_MM * POINTS_PER_MM),
        round(y1),
        round(x2),
        round(y1 + STAMP_HEIGHT_MM * POINTS_PER_MM),
    )
