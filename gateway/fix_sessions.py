"""The FIX sessions the acceptor admits: from the config file, and those an operator added (stored)."""

from __future__ import annotations

from config.settings import FixSessionSettings
from gateway.fix_transport import AcceptedSession
from ledger.store import FixSessionRecord
from session.fix.auth import make_authenticator
from session.fix.dialect import FixDialect
from session.fix.session import SessionConfig


def accepted_session(fix_session: FixSessionSettings) -> AcceptedSession:
    """The acceptor's view of a session (raises ``ValueError`` for a public key that is not Ed25519)."""
    config = SessionConfig(
        session_id=f"{fix_session.sender_comp_id}-{fix_session.target_comp_id}",
        our_comp_id=fix_session.target_comp_id,
        their_comp_id=fix_session.sender_comp_id,
        heartbeat_interval_s_min=fix_session.heartbeat_interval_s_min,
        heartbeat_interval_s_max=fix_session.heartbeat_interval_s_max,
        authenticate=make_authenticator(
            username=fix_session.username,
            password_hash=fix_session.password_hash,
            ed25519_public_key_pem=fix_session.ed25519_public_key_pem,
        ),
    )
    # Binance's FIX API is the one that logs on with an Ed25519 signature.
    dialect = FixDialect.BINANCE if fix_session.ed25519_public_key_pem else FixDialect.FIX44
    return AcceptedSession(config, fix_session.account, fix_session.daily_reset_utc, dialect)


def fix_session_settings(record: FixSessionRecord, account: str) -> FixSessionSettings:
    return FixSessionSettings(
        sender_comp_id=record.sender_comp_id,
        target_comp_id=record.target_comp_id,
        account=account,
        username=record.username,
        password_hash=record.password_hash,
        ed25519_public_key_pem=record.ed25519_public_key_pem,
        heartbeat_interval_s_min=record.heartbeat_interval_s_min,
        heartbeat_interval_s_max=record.heartbeat_interval_s_max,
        daily_reset_utc=record.daily_reset_utc,
    )


def fix_session_record(settings: FixSessionSettings, account_id: int, created_ns: int) -> FixSessionRecord:
    """What the store keeps of an operator-added session (``fix_session_settings`` reads it back)."""
    return FixSessionRecord(
        sender_comp_id=settings.sender_comp_id,
        target_comp_id=settings.target_comp_id,
        account_id=account_id,
        username=settings.username,
        password_hash=settings.password_hash,
        ed25519_public_key_pem=settings.ed25519_public_key_pem,
        heartbeat_interval_s_min=settings.heartbeat_interval_s_min,
        heartbeat_interval_s_max=settings.heartbeat_interval_s_max,
        daily_reset_utc=settings.daily_reset_utc,
        created_ns=created_ns,
    )
