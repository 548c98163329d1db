"""What a signature cannot cover: its own bytes outside the signed ranges.

The zero padding of ``/Contents``, the certificate copies carried in the CMS object (each must
still verify under its issuer) and the unsigned CMS fields (signer identifier byte for byte,
versions, digest algorithm list) would otherwise change unnoticed. What is left unprotected by
design: removing the signature-timestamp attribute leaves a valid signature without a
timestamp, whose time is then only the signer's claim.
"""

import logging

from asn1crypto import cms
from asn1crypto import parser as asn1_parser
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

logger = logging.getLogger(__name__)


def unsigned_bytes_untouched(signature: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate]) -> bool:
    """The signature's own bytes lie outside the signed ranges: check what the signature cannot."""
    try:
        return (
            _contents_padding_is_clean(signature)
            and _cms_fields_consistent(signature)
            and _embedded_certificates_untouched(signature, roots)
        )
    except Exception as error:
        logger.info("Signature %s has unreadable contents: %s", signature.field_name, error)
        return False


def _contents_padding_is_clean(signature: EmbeddedPdfSignature) -> bool:
    """After the CMS object, /Contents holds nothing but the zeros the signer reserved."""
    contents = signature.pkcs7_content
    _class, _method, _tag, header, content, trailer = asn1_parser.parse(contents)
    return not contents[len(header) + len(content) + len(trailer) :].strip(b"\x00")


def _cms_fields_consistent(signature: EmbeddedPdfSignature) -> bool:
    """Fields no signature covers must still say exactly what RFC 5652 and the covered ones do.

    They are not used for validation (names even match case-insensitively), so only this
    notices that one was changed: in the signature and in its timestamp token alike.
    """
    return all(_signed_data_consistent(signed_data) for signed_data in _signed_datas(signature))


def _signed_data_consistent(signed_data: cms.SignedData) -> bool:
    certificates = [choice.chosen for choice in (signed_data["certificates"] or []) if choice.name == "certificate"]
    declared_digests = {algorithm.dump() for algorithm in signed_data["digest_algorithms"]}
    signer_versions = set()
    for signer_info in signed_data["signer_infos"]:
        sid = signer_info["sid"]
        version = signer_info["version"].native
        signer_versions.add(version)
        if sid.name == "issuer_and_serial_number":
            issuer, serial = sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native
            same_serial = [certificate for certificate in certificates if certificate.serial_number == serial]
            if version != "v1" or (same_serial and all(c.issuer.dump() != issuer for c in same_serial)):
                return False
        elif version != "v3":
            return False
        if signer_info["digest_algorithm"].dump() not in declared_digests:
            return False
    # RFC 5652 § 5.1 (versions 4 and 5, for attribute certificates and other formats, pass).
    is_data = signed_data["encap_content_info"]["content_type"].native == "data"
    expected = "v1" if is_data and signer_versions <= {"v1"} else "v3"
    return signed_data["version"].native in {expected, "v4", "v5"}


def _signed_datas(signature: EmbeddedPdfSignature) -> list[cms.SignedData]:
    """The signature's SignedData and those of its signature timestamp tokens."""
    signed_datas = [signature.signed_data]
    unsigned_attrs = signature.signer_info["unsigned_attrs"]
    if unsigned_attrs.native is not None:
        signed_datas += [
            token["content"]
            for attribute in unsigned_attrs
            if attribute["type"].native == "signature_time_stamp_token"
            for token in attribute["values"]
        ]
    return signed_datas


def _embedded_certificates_untouched(signature: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate]) -> bool:
    """Whether every certificate copy in the signature (and its timestamp) still verifies under its issuer.

    The CMS signature covers the signer's certificate but not the other copies that travel
    with it (the root, the TSA's chain); validation takes those from the trust list, so a
    changed copy would go unnoticed: its issuer's signature over it betrays it.
    """
    try:
        embedded = [
            x509.load_der_x509_certificate(choice.chosen.dump())
            for signed_data in _signed_datas(signature)
            for choice in (signed_data["certificates"] or [])
            if choice.name == "certificate"
        ]
        trusted = [x509.load_der_x509_certificate(root.dump()) for root in roots]
    except ValueError:
        return False
    known = embedded + trusted
    for certificate in embedded:
        issuers = [candidate for candidate in known if candidate.subject == certificate.issuer]
        if issuers:
            if not any(_issued_by(certificate, issuer) for issuer in issuers):
                return False
        elif any(_same_key_and_subject(certificate, root) and certificate != root for root in trusted):
            # A copy of a trusted root whose issuer no longer names anyone: changed in transit.
            return False
    return True


def _same_key_and_subject(certificate: x509.Certificate, other: x509.Certificate) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return certificate.subject == other.subject and (
        certificate.public_key().public_bytes(*spki) == other.public_key().public_bytes(*spki)
    )


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
