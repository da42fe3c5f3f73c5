"""DKIM keys for tests, made once per test session, and their TXT records for dkimpy's verifier.

RSA-2048 key generation takes a noticeable fraction of a second, so the keys are module-level and
shared; `published()` gives the records as the DNS test server or dkimpy's `dnsfunc` serves them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from maildispatch.adapters.dkim_signer import DkimSigner, SigningKey
from maildispatch.core.dkim import SignerIdentity, key_record

DOMAIN = "example.com"
RSA_SELECTOR = "md2026"
ED25519_SELECTOR = "md2026e"


@functools.cache
def rsa_key(size: int = 2048, index: int = 0) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


@functools.cache
def ed25519_key(index: int = 0) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def signing_key(domain: str = DOMAIN, selector: str = RSA_SELECTOR, *, ed25519_key_: bool = False) -> SigningKey:
    if ed25519_key_:
        return SigningKey(SignerIdentity(domain, selector, "ed25519-sha256"), ed25519_key())
    return SigningKey(SignerIdentity(domain, selector), rsa_key())


def signer(*, with_ed25519: bool = False, domain: str = DOMAIN, clock: Callable[[], float] | None = None) -> DkimSigner:
    keys = [signing_key(domain)]
    if with_ed25519:
        keys.append(signing_key(domain, ED25519_SELECTOR, ed25519_key_=True))
    return DkimSigner({domain: keys}, **({"clock": clock} if clock else {}))


def published(domain: str = DOMAIN) -> dict[str, str]:
    """Record name -> TXT text, for the RSA and Ed25519 test keys of `domain`."""
    return {
        signing_key(domain).identity.record_name: key_record("rsa-sha256", signing_key(domain).public_key_bytes()),
        f"{ED25519_SELECTOR}._domainkey.{domain}": key_record(
            "ed25519-sha256", signing_key(domain, ED25519_SELECTOR, ed25519_key_=True).public_key_bytes()
        ),
    }


def dnsfunc(records: Mapping[str, str] | None = None) -> Callable[..., bytes | None]:
    """dkimpy's `dnsfunc`: TXT text by name (with the trailing dot dkimpy asks with)."""
    table = {name.rstrip(".").lower(): text for name, text in (records or published()).items()}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        text = table.get(name.decode("ascii").rstrip(".").lower())
        return text.encode("ascii") if text is not None else None

    return lookup


def verify_all(message: bytes, records: Mapping[str, str] | None = None) -> list[bool]:
    """dkimpy's verdict on every DKIM-Signature of `message`, top first."""
    checker = dkim.DKIM(message, minkey=1024)
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    lookup = dnsfunc(records)
    return [_verify(message, i, lookup) for i in range(count)]


def _verify(message: bytes, index: int, lookup: Callable[..., bytes | None]) -> bool:
    try:
        return bool(dkim.DKIM(message, minkey=1024).verify(idx=index, dnsfunc=lookup))
    except dkim.DKIMException:  # what dkim.verify() turns into False
        return False
