"""Binance's documented signature examples, and each key type's accept/refuse behaviour."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from session.binance.signing import KeyType, Verifier, hmac_signature, signature_payload

DOC_API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_PARAMS = {
    "symbol": "BTCUSDT",
    "side": "SELL",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.01000000",
    "price": "52000.00",
    "recvWindow": 100,
    "timestamp": 1645423376532,
    "apiKey": DOC_API_KEY,
}
DOC_PARAMS_NON_ASCII = {
    "symbol": "１２３４５６",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "1.00000000",
    "price": "0.10000000",
    "recvWindow": 5000,
    "timestamp": 1645423376532,
    "apiKey": DOC_API_KEY,
}


def test_documented_payload_and_hmac_signature() -> None:
    payload = signature_payload({**DOC_PARAMS, "signature": "ignored"})
    assert payload == (
        b"apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=52000.00"
        b"&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC"
        b"&timestamp=1645423376532&type=LIMIT"
    )
    assert (
        hmac_signature(DOC_SECRET, payload)
        == "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    )


def test_documented_non_ascii_hmac_signature() -> None:
    payload = signature_payload(DOC_PARAMS_NON_ASCII)
    assert (
        hmac_signature(DOC_SECRET, payload)
        == "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd"
    )


def test_hmac_verifier_is_case_insensitive_and_refuses_other_payloads() -> None:
    verifier = Verifier(KeyType.HMAC, secret=DOC_SECRET)
    payload = signature_payload(DOC_PARAMS)
    assert verifier.verify(payload, "AA1B5712C094BC4E57C05A1A5C1FD8D88DCD628338EA863FEC7B88E59FE2DB24")
    assert not verifier.verify(payload.replace(b"SELL", b"BUY"), hmac_signature(DOC_SECRET, payload))
    assert not verifier.verify(payload, "not hex at all")


def test_ed25519_verifier() -> None:
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verifier = Verifier(KeyType.ED25519, public_key_pem=pem.decode())
    payload = signature_payload(DOC_PARAMS)
    signature = base64.b64encode(private_key.sign(payload)).decode()
    assert verifier.verify(payload, signature)
    assert not verifier.verify(payload + b"x", signature)
    assert not verifier.verify(payload, "%%%not base64")
    assert not verifier.verify(payload, signature.lower())


def test_rsa_verifier() -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verifier = Verifier(KeyType.RSA, public_key_pem=pem.decode())
    payload = signature_payload(DOC_PARAMS)
    signature = base64.b64encode(private_key.sign(payload, padding.PKCS1v15(), hashes.SHA256())).decode()
    assert verifier.verify(payload, signature)
    assert not verifier.verify(payload + b"x", signature)


def test_a_key_of_the_wrong_type_is_refused_at_construction() -> None:
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="ED25519"):
        Verifier(KeyType.ED25519, public_key_pem=pem.decode())
    with pytest.raises(ValueError, match="secret"):
        Verifier(KeyType.HMAC)


def test_booleans_and_numbers_are_written_as_json_writes_them() -> None:
    assert signature_payload({"b": True, "a": 1.5, "c": 7}) == b"a=1.5&b=true&c=7"


def test_null_and_json_structures_are_signed_as_their_json_text() -> None:
    """A null or an array in a signed request's params is signed as JSON writes it; it used to raise
    TypeError and the request was answered 500 -1000, as if its outcome were unknown."""
    assert signature_payload({"b": None, "a": ["X", 1], "c": {"k": True}}) == (
        b'a=["X",1]&b=null&c={"k":true}'
    )
