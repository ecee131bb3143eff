"""Binance's own FIX connector, unmodified, logs on over TLS with an Ed25519-signed Logon."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
import uvloop
from binance_fix_connector.fix_connector import create_order_entry_session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from config.settings import StoreSettings
from gateway.fix_transport import AcceptedSession, FixAcceptor
from ledger.sqlite_store import SqliteStore
from ledger.writer import GroupCommitWriter
from session.fix.auth import make_authenticator
from session.fix.session import SessionConfig
from tests.e2e.fix.test_quickfix_session import RecordingApplication

API_KEY = "BinanceStyleApiKey0123456789"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, which the client will trust through SSL_CERT_FILE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "server.pem", directory / "server.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return certificate_path, key_path


@pytest.mark.timeout(60)
async def test_binance_fix_connector_logs_on_over_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)  # conftest.py: see why there
    certificate_path, key_path = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate_path))
    private_key = Ed25519PrivateKey.generate()
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    store = SqliteStore(StoreSettings(sqlite_path=str(tmp_path / "gateway.sqlite3")))
    await store.open()
    writer = GroupCommitWriter(store)
    writer_task = asyncio.create_task(writer.run())
    config = SessionConfig(
        session_id="BOEBOT1-SPOT",
        our_comp_id="SPOT",
        their_comp_id="BOEBOT1",
        authenticate=make_authenticator(
            username=API_KEY, password_hash="", ed25519_public_key_pem=public_pem
        ),
    )
    application = RecordingApplication()
    acceptor = FixAcceptor(
        sessions={("BOEBOT1", "SPOT"): AcceptedSession(config, "bot")},
        store=store,
        persistence=writer,
        application=application,
        message_bytes_max=65536,
        receive_buffer_bytes_max=1 << 20,
    )
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificate_path, key_path)
    port = await acceptor.listen("127.0.0.1", 0, tls=tls)
    try:
        client = await asyncio.to_thread(
            create_order_entry_session,
            API_KEY,
            private_key,
            endpoint=f"tcps://localhost:{port}",
            sender_comp_id="BOT1",
        )
        replies = await asyncio.to_thread(client.retrieve_messages_until, "A", None, 10)
        logon = replies[-1]
        assert logon.get("35") == b"A" and logon.get("108") == b"30" and logon.get("141") == b"Y"
        assert application.logons == [("BOEBOT1-SPOT", "bot")]
        await asyncio.to_thread(client.logout)
        replies = await asyncio.to_thread(client.retrieve_messages_until, "5", None, 10)
        assert replies and replies[-1].get("35") == b"5"
        await asyncio.to_thread(client.disconnect)
        for _ in range(500):
            if "BOEBOT1-SPOT" not in acceptor.connected:
                break
            await asyncio.sleep(0.01)

        forged = await asyncio.to_thread(
            create_order_entry_session,
            API_KEY,
            Ed25519PrivateKey.generate(),
            endpoint=f"tcps://localhost:{port}",
            sender_comp_id="BOT1",
        )
        refused = await asyncio.to_thread(forged.retrieve_messages_until, "5", None, 10)
        assert refused[-1].get("58") == b"Signature (RawData 96) is not valid"
        await asyncio.to_thread(forged.disconnect)
    finally:
        await acceptor.close()
        await writer.close()
        await writer_task
        await store.close()
