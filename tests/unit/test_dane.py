"""DANE-EE matching (RFC 7672): a certificate against TLSA records, without a socket."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from maildispatch.core.dane import Tlsa, certificate_matches, subject_public_key_info, usable
from tests.stack.certs import make_certificates


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[bytes, bytes]:
    files = make_certificates(Path(tmp_path_factory.mktemp("dane")), names=["mx.example.test"])
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    return cert.public_bytes(Encoding.DER), cert.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )


def test_the_public_key_is_found_in_the_certificate(certificate):
    der, spki = certificate
    assert subject_public_key_info(der) == spki


@pytest.mark.parametrize(
    ("selector", "matching_type", "digest"),
    [
        (1, 1, lambda der, spki: hashlib.sha256(spki).digest()),  # "3 1 1": the common one
        (1, 2, lambda der, spki: hashlib.sha512(spki).digest()),
        (1, 0, lambda der, spki: spki),
        (0, 1, lambda der, spki: hashlib.sha256(der).digest()),
        (0, 0, lambda der, spki: der),
    ],
)
def test_dane_ee_matches_the_certificate_or_its_key(certificate, selector, matching_type, digest):
    der, spki = certificate
    assert certificate_matches([Tlsa(3, selector, matching_type, digest(der, spki))], der)
    assert not certificate_matches([Tlsa(3, selector, matching_type, b"\0" * 32)], der)


def test_one_matching_record_among_several_is_enough(certificate):
    der, spki = certificate
    records = [Tlsa(3, 1, 1, b"\1" * 32), Tlsa(3, 1, 1, hashlib.sha256(spki).digest())]
    assert certificate_matches(records, der)


def test_usages_other_than_dane_ee_are_not_used(certificate):
    der, spki = certificate
    right = hashlib.sha256(spki).digest()
    assert usable([Tlsa(0, 1, 1, right), Tlsa(1, 1, 1, right), Tlsa(2, 1, 1, right)]) == []
    assert not certificate_matches([Tlsa(2, 1, 1, right)], der)


def test_garbage_is_no_certificate():
    assert not certificate_matches([Tlsa(3, 1, 1, b"\0" * 32)], b"\x30\x03\x02\x01\x00")
    with pytest.raises(ValueError):
        subject_public_key_info(b"not der")
