"""DANE for SMTP (RFC 7672): does a server certificate match the MX host's TLSA records? Pure.

Only DNSSEC-validated TLSA records count (the DNS adapter reports the AD flag); with them, TLS is
mandatory and the certificate must match one usable record. For SMTP only DANE-EE (usage 3) is
supported here: the end-entity certificate (selector 0) or its public key (selector 1), exact or
hashed with SHA-256/SHA-512 (matching types 0, 1, 2); names and expiry are not checked, as RFC 7672
§3.1.1 says for DANE-EE. DANE-TA (usage 2) needs the server's whole chain, which Python's ssl module
exposes only from 3.13: such records are counted as unusable (TLS still mandatory, unauthenticated).
PKIX-TA/PKIX-EE (usages 0, 1) are unusable for SMTP (RFC 7672 §3.1.3).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

DANE_EE = 3
DANE_TA = 2


@dataclass(frozen=True)
class Tlsa:
    usage: int
    selector: int
    matching_type: int
    data: bytes


def usable(records: Sequence[Tlsa]) -> list[Tlsa]:
    """The records this implementation can match a certificate against (DANE-EE with known parameters)."""
    return [r for r in records if r.usage == DANE_EE and r.selector in (0, 1) and r.matching_type in (0, 1, 2)]


def certificate_matches(records: Sequence[Tlsa], certificate_der: bytes) -> bool:
    """Whether the server's end-entity certificate (DER) matches one usable TLSA record."""
    for record in usable(records):
        try:
            selected = certificate_der if record.selector == 0 else subject_public_key_info(certificate_der)
        except ValueError:
            return False
        if record.matching_type == 0:
            digest = selected
        elif record.matching_type == 1:
            digest = hashlib.sha256(selected).digest()
        else:
            digest = hashlib.sha512(selected).digest()
        if digest == record.data:
            return True
    return False


def subject_public_key_info(certificate_der: bytes) -> bytes:
    """The DER SubjectPublicKeyInfo of an X.509 certificate (RFC 5280 4.1), found by walking the DER."""
    _, body = _element(certificate_der, 0, expect=0x30)  # Certificate
    tbs_start, _ = body
    _, tbs = _element(certificate_der, tbs_start, expect=0x30)  # TBSCertificate
    position, end = tbs
    if certificate_der[position] == 0xA0:  # [0] version
        position = _next(certificate_der, position)
    for _field in range(5):  # serialNumber, signature, issuer, validity, subject
        position = _next(certificate_der, position)
    if position >= end or certificate_der[position] != 0x30:
        raise ValueError("no SubjectPublicKeyInfo where RFC 5280 puts it")
    return certificate_der[position : _next(certificate_der, position)]


def _element(der: bytes, position: int, *, expect: int) -> tuple[int, tuple[int, int]]:
    """(tag, (content start, content end)) of the DER element at `position`."""
    if position + 2 > len(der) or der[position] != expect:
        raise ValueError(f"DER element {expect:#x} expected at {position}")
    length = der[position + 1]
    start = position + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > len(der):
            raise ValueError("unsupported DER length")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    if start + length > len(der):
        raise ValueError("DER element runs past the end")
    return der[position], (start, start + length)


def _next(der: bytes, position: int) -> int:
    """The position after the DER element at `position`."""
    _, (_, end) = _element(der, position, expect=der[position])
    return end
