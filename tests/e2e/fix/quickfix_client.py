"""A QuickFIX (quickfix-ssl wheel) initiator for the end-to-end tests, driven from asyncio.

QuickFIX runs its own threads; callbacks record what arrived, and ``wait_for`` polls a condition from
the event loop with a deadline, so tests never sleep blindly.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path

import quickfix as fix

# QuickFIX's own FIX 4.4 dictionary, installed with the quickfix-ssl wheel (it parses repeating groups).
DATA_DICTIONARY = Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"


class Recorder(fix.Application):
    def __init__(self, username: str = "", password: str = "") -> None:
        super().__init__()
        self.username = username
        self.password = password
        self.lock = threading.Lock()
        self.logons = 0
        self.logouts = 0
        self.admin_in: list[str] = []
        self.app_in: list[str] = []
        self.session_id = None

    def onCreate(self, session_id) -> None:
        self.session_id = session_id

    def onLogon(self, session_id) -> None:
        with self.lock:
            self.logons += 1

    def onLogout(self, session_id) -> None:
        with self.lock:
            self.logouts += 1

    def toAdmin(self, message, session_id) -> None:
        msg_type = fix.MsgType()
        message.getHeader().getField(msg_type)
        if msg_type.getValue() == fix.MsgType_Logon and self.password:
            message.setField(fix.Username(self.username))
            message.setField(fix.Password(self.password))

    def fromAdmin(self, message, session_id) -> None:
        with self.lock:
            self.admin_in.append(message.toString().replace("\x01", "|"))

    def toApp(self, message, session_id) -> None:
        pass

    def fromApp(self, message, session_id) -> None:
        with self.lock:
            self.app_in.append(message.toString().replace("\x01", "|"))


def settings_text(port: int, directory: Path, *, sender: str, target: str, heartbeat_s: int) -> str:
    return f"""[DEFAULT]
ConnectionType=initiator
ReconnectInterval=1
FileStorePath={directory / "store"}
FileLogPath={directory / "log"}
StartTime=00:00:00
EndTime=00:00:00
UseDataDictionary=Y
DataDictionary={DATA_DICTIONARY}
ValidateUserDefinedFields=Y
AllowUnknownMsgFields=N
ValidateFieldsOutOfOrder=Y
SocketConnectHost=127.0.0.1
SocketConnectPort={port}

[SESSION]
BeginString=FIX.4.4
SenderCompID={sender}
TargetCompID={target}
HeartBtInt={heartbeat_s}
"""


class QuickFixClient:
    """Start/stop one QuickFIX initiator session against the gateway."""

    def __init__(
        self,
        port: int,
        directory: Path,
        *,
        sender: str = "ALICE",
        target: str = "GATEWAY",
        heartbeat_s: int = 5,
        password: str = "",
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "initiator.cfg"
        path.write_text(settings_text(port, directory, sender=sender, target=target, heartbeat_s=heartbeat_s))
        self.settings = fix.SessionSettings(str(path))
        self.application = Recorder(sender.lower() if password else "", password)
        self.store_factory = fix.FileStoreFactory(self.settings)
        self.log_factory = fix.FileLogFactory(self.settings)
        self.initiator = fix.SocketInitiator(
            self.application, self.store_factory, self.settings, self.log_factory
        )
        # Our own SessionID: the one QuickFIX passes to callbacks is only valid during the call.
        self.session_id = fix.SessionID("FIX.4.4", sender, target)
        self.running = False

    def start(self) -> None:
        self.initiator.start()
        self.running = True

    def stop(self) -> None:
        """Log out and stop the initiator (once: QuickFIX must not be stopped twice)."""
        if self.running:
            self.running = False
            self.initiator.stop()

    @property
    def session(self):
        return fix.Session.lookupSession(self.session_id)

    def send(self, message) -> None:
        fix.Session.sendToTarget(message, self.session_id)


async def wait_for(condition, timeout_s: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
