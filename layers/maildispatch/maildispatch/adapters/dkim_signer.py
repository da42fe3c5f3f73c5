"""DKIM signing with `cryptography` (OpenSSL): the public-key half of core/dkim.py.

RSA PKCS#1 v1.5 over the SHA-256 digest the core computes (OpenSSL blinds the private-key
operation), about 1 ms for a 2048-bit key where dkimpy's pure-Python RSA takes over 10
(`python -m bench.dkim`); Ed25519 (RFC 8463) over the same digest, only ever as a second signature.

This module imports `cryptography` at its top, and only runtime/dispatch_function.py imports this
module, only when DKIM_KEYS is set: a stack that does not sign never loads OpenSSL's bindings.

Keys come from Secrets Manager as PEM text, fetched through the 5-minute parameter cache; a key is
parsed once per container (the keyring keeps it by the hash of its PEM) and again only when its
secret changes. Keys are never logged, printed or put in a repr: errors name the domain and the
secret, not what the secret holds.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils

from maildispatch.core.dkim import (
    Algorithm,
    SignerIdentity,
    SigningDomain,
    finish_signature,
    header_from_domain,
    parse_for_signing,
    prepare_signature,
    signing_domain,
)
from maildispatch.core.outcome import Envelope, Outcome
from maildispatch.ports import MailTransport, MessageSigner

MIN_RSA_BITS = 1024  # RFC 8301: verifiers may refuse less; 2048 is what to generate
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class DkimKeyError(ValueError):
    """A configured key cannot be used; the message names the domain and the secret, never the key."""


@dataclass(frozen=True)
class SigningKey:
    identity: SignerIdentity
    key: PrivateKey = field(repr=False)

    def sign(self, digest: bytes) -> bytes:
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        return self.key.sign(digest)  # RFC 8463 §3: Ed25519 (pure) over the SHA-256 digest

    def public_key_bytes(self) -> bytes:
        """What p= publishes: SubjectPublicKeyInfo DER for RSA, the raw 32 bytes for Ed25519."""
        public = self.key.public_key()
        if isinstance(public, ed25519.Ed25519PublicKey):
            return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(pem: bytes, algorithm: Algorithm, *, where: str) -> PrivateKey:
    """A PEM private key of the algorithm's type; DkimKeyError (naming `where`) otherwise."""
    try:
        key = serialization.load_pem_private_key(pem.strip() + b"\n", password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise DkimKeyError(f"{where}: not an unencrypted PEM private key") from None
    if algorithm == "rsa-sha256":
        if not isinstance(key, rsa.RSAPrivateKey):
            raise DkimKeyError(f"{where}: an RSA private key is needed for rsa-sha256")
        if key.key_size < MIN_RSA_BITS:
            raise DkimKeyError(f"{where}: a {key.key_size}-bit RSA key is too short (2048 bits recommended)")
        return key
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise DkimKeyError(f"{where}: an Ed25519 private key is needed for ed25519-sha256")
    return key


class DkimSigner:
    """The MessageSigner port: the DKIM-Signature fields for a message, by its From domain's keys."""

    def __init__(self, keys: Mapping[str, Sequence[SigningKey]], *, clock: Callable[[], float] = time.time) -> None:
        self._keys = {domain: tuple(found) for domain, found in keys.items()}
        self._clock = clock

    def __repr__(self) -> str:
        return f"DkimSigner(domains={sorted(self._keys)})"

    @property
    def domains(self) -> list[str]:
        return sorted(self._keys)

    def signature_fields(self, message: bytes, *, from_domain: str) -> bytes | None:
        domain = signing_domain(from_domain, self._keys)
        if domain is None:
            return None
        parsed = parse_for_signing(message)
        now = int(self._clock())
        fields = []
        for key in self._keys[domain]:
            prepared = prepare_signature(parsed, key.identity, timestamp=now)
            fields.append(finish_signature(prepared, key.sign(prepared.digest)))
        # RSA on top: a verifier that checks only the first signature (dkimpy's dkim.verify) sees the one
        # every receiver supports.
        return b"".join(fields)


class DkimKeyring:
    """Parsed keys by the hash of their PEM, for the container's life: a key is parsed once, and again
    only when its secret's text changes (a rotation)."""

    def __init__(self, fetch_secret: Callable[[str], bytes]) -> None:
        self._fetch = fetch_secret
        self._parsed: dict[tuple[bytes, Algorithm], PrivateKey] = {}

    def __repr__(self) -> str:
        return f"DkimKeyring(parsed={len(self._parsed)})"

    def signer(self, domains: Sequence[SigningDomain], *, clock: Callable[[], float] = time.time) -> DkimSigner:
        keys: dict[str, list[SigningKey]] = {}
        for entry in domains:
            for identity, secret in entry.identities:
                keys.setdefault(entry.domain, []).append(SigningKey(identity, self._key(secret, identity)))
        return DkimSigner(keys, clock=clock)

    def _key(self, secret: str, identity: SignerIdentity) -> PrivateKey:
        pem = self._fetch(secret)
        cache_key = (hashlib.sha256(pem).digest(), identity.algorithm)
        key = self._parsed.get(cache_key)
        if key is None:
            where = f"DKIM key of {identity.domain} (selector {identity.selector}, secret {secret})"
            key = self._parsed[cache_key] = load_private_key(pem, identity.algorithm, where=where)
        return key


class SigningTransport:
    """A MailTransport that DKIM-signs what it hands on, by the message's From field: for the mail the
    functions write themselves (the bounce function's DSNs). Without a key for that domain the message
    goes as it is: a report is never held back for want of a signature."""

    def __init__(self, transport: MailTransport, signer: MessageSigner) -> None:
        self._transport = transport
        self._signer = signer

    async def deliver(self, envelope: Envelope, message: bytes) -> list[Outcome]:
        domain = header_from_domain(message)
        fields = self._signer.signature_fields(message, from_domain=domain) if domain else None
        return await self._transport.deliver(envelope, fields + message if fields else message)


def published_key(pem: bytes) -> tuple[Algorithm, bytes]:
    """The algorithm and the p= bytes of a PEM key, private or public (for `maildispatch check-sender`)."""
    text = pem.strip() + b"\n"
    public: object
    try:
        public = serialization.load_pem_private_key(text, password=None).public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        try:
            public = serialization.load_pem_public_key(text)
        except (ValueError, UnsupportedAlgorithm):
            raise DkimKeyError("not a PEM private or public key") from None
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "ed25519-sha256", public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if isinstance(public, rsa.RSAPublicKey):
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return "rsa-sha256", der
    raise DkimKeyError("DKIM keys are RSA or Ed25519")
