"""Logon credentials: Username/Password against salted scrypt hashes, and Binance's Ed25519-signed Logon.

A password hash is ``scrypt$<salt hex>$<hash hex>`` (n=2**14, r=8, p=1). The Binance dialect signs
MsgType, SenderCompID, TargetCompID, MsgSeqNum and SendingTime joined by SOH with the API key's Ed25519
key, sends the base64 signature in RawData (96) and the API key in Username (553).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from session.fix.codec import FixMessage

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MESSAGE_HANDLING_VALUES = ("1", "2")


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return hmac.compare_digest(digest, expected)


def logon_signature_payload(message: FixMessage) -> bytes:
    return "\x01".join(message.get(tag) or "" for tag in (35, 49, 56, 34, 52)).encode("ascii")


def make_authenticator(
    *, username: str, password_hash: str, ed25519_public_key_pem: str
) -> Callable[[FixMessage], str | None]:
    """A Logon check for one configured session: returns the logout text on failure, None when accepted.

    With neither a password nor a key configured the session is identified by its CompIDs alone.
    """
    public_key = None
    if ed25519_public_key_pem:
        key = serialization.load_pem_public_key(ed25519_public_key_pem.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the FIX session's public key is not an Ed25519 key")
        public_key = key

    def authenticate(message: FixMessage) -> str | None:
        if username and message.get(553) != username:
            return "Invalid Username (553)"
        if password_hash and not password_matches(message.get(554) or "", password_hash):
            return "Invalid Password (554)"
        if public_key is not None:
            handling = message.get(25035)
            if handling not in MESSAGE_HANDLING_VALUES:
                return "MessageHandling (25035) must be 1 (UNORDERED) or 2 (SEQUENTIAL)"
            try:
                signature = base64.b64decode(message.get(96) or "", validate=True)
                public_key.verify(signature, logon_signature_payload(message))
            except (binascii.Error, ValueError, InvalidSignature):
                return "Signature (RawData 96) is not valid"
        return None

    return authenticate
