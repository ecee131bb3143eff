"""Binance request signatures: the payload built exactly as documented, and its HMAC, Ed25519 or RSA check.

The payload is every parameter but ``signature``, sorted by name, as ``name=value`` joined by ``&``, in
UTF-8. Values are the strings the client sent; other JSON values (numbers, booleans, null, arrays and
objects) are written as JSON writes them.
HMAC signatures are hex and case-insensitive; Ed25519 and RSA (PKCS#1 v1.5, SHA-256) are base64.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey


class KeyType(enum.Enum):
    HMAC = "HMAC"
    ED25519 = "ED25519"
    RSA = "RSA"


def parameter_text(value: Any) -> str:
    """A parameter's value as it appears in the payload: any JSON value can be signed, so a null or
    an array is a signature to check (and the parameter's own error), never a failure of ours."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    return orjson.dumps(value).decode()


def signature_payload(params: Mapping[str, Any]) -> bytes:
    """The bytes a client signs: all params but ``signature``, sorted by name, ``a=1&b=2``."""
    return "&".join(
        f"{name}={parameter_text(params[name])}" for name in sorted(params) if name != "signature"
    ).encode("utf-8")


def hmac_signature(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


class Verifier:
    """Checks signatures made with one API key; built once per key, used per request."""

    __slots__ = ("_hmac_secret", "_public_key", "key_type")

    def __init__(self, key_type: KeyType, *, secret: str = "", public_key_pem: str = "") -> None:
        self.key_type = key_type
        self._hmac_secret = secret.encode("utf-8")
        self._public_key: Ed25519PublicKey | RSAPublicKey | None = None
        if key_type is KeyType.HMAC:
            if not secret:
                raise ValueError("an HMAC key needs its secret")
            return
        key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
        expected = Ed25519PublicKey if key_type is KeyType.ED25519 else RSAPublicKey
        if not isinstance(key, expected):
            raise ValueError(f"the public key is not an {key_type.value} key")
        self._public_key = key

    def verify(self, payload: bytes, signature: str) -> bool:
        """Whether ``signature`` signs ``payload`` with this key; malformed signatures are simply False."""
        if self.key_type is KeyType.HMAC:
            expected = hmac.new(self._hmac_secret, payload, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, signature.lower())
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        try:
            if self.key_type is KeyType.ED25519:
                self._public_key.verify(raw, payload)
            else:
                self._public_key.verify(raw, payload, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True
