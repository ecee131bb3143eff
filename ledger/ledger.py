"""The double-entry ledger: accounts per (owner, asset), holds for open orders, fills with fees.

After TigerBeetle: every account has posted and pending debits and credits. A user's balance is
``credits_posted - debits_posted``; what it can spend now is that minus ``debits_pending``; it can never
go below zero. The operator account of an asset is the other side of deposits and withdrawals; the
fee account collects fees; the escrow account is the other side of every hold.

A hold (an order's reservation) is a pending transfer user -> escrow. A fill posts part of the seller's
base hold and the buyer's quote hold to escrow, pays escrow out to the counterparties, and moves each
fee from the receiver to the fee account; all legs at once. Releasing voids what is left of a hold.

Fee rule (one rule, in the exchange's favour): each side pays its rate in basis points of what it
receives, rounded up to the next minor unit: ``ceil(received * bps / 10_000)``. The buyer pays in base,
the seller in quote; the taker pays the taker rate, the maker the maker rate.

Every operation is checked completely before anything changes, then applied and handed to the journal
sink as one entry, so replaying the journal rebuilds the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from book.types import Side, TradeExecuted
from config.errors import GatewayError
from config.settings import FeeSettings, SymbolSettings
from ledger.journal import EntryKind, HoldEntry, JournalEntry, TradeEntry, TransferEntry

OPERATOR = 0
ESCROW = -1
FEES = -2
SYSTEM_NAMES = {OPERATOR: "operator", ESCROW: "escrow", FEES: "fees"}
BASIS_POINTS = 10_000
# Balances and holds are stored as 64-bit integers: what is in circulation (deposited and not
# withdrawn) stays within this, so no balance can overflow one.
AMOUNT_MINOR_MAX = 2**62


class LedgerError(GatewayError):
    """A transfer the ledger refuses; nothing changed."""


class InsufficientFunds(LedgerError):
    pass


class Balance:
    """Posted and pending debits and credits of one account."""

    __slots__ = ("credits_pending", "credits_posted", "debits_pending", "debits_posted")

    def __init__(self) -> None:
        self.credits_posted = 0
        self.debits_posted = 0
        self.credits_pending = 0
        self.debits_pending = 0

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.credits_posted, self.debits_posted, self.credits_pending, self.debits_pending)

    @property
    def total_minor(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available_minor(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """What a user sees: total, available to spend now, and held by open orders (minor units)."""

    total_minor: int
    available_minor: int
    held_minor: int


@dataclass(slots=True)
class Hold:
    account_id: int
    asset: str
    remaining_minor: int


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """A deposit or withdrawal to apply, all-or-nothing with the others of its batch."""

    kind: EntryKind
    transfer_id: str
    account_id: int
    asset: str
    amount_minor: int
    ts_ns: int = 0


def fee_minor(received_minor: int, rate_bps: int) -> int:
    """The fee on ``received_minor`` at ``rate_bps``, rounded up."""
    return -(-received_minor * rate_bps // BASIS_POINTS)


class Ledger:
    """In-memory balances and holds; the only writer is the event loop, so every call is synchronous."""

    def __init__(
        self,
        *,
        fees: FeeSettings,
        journal: Callable[[JournalEntry], None] | None = None,
        sequence: int = 0,
    ) -> None:
        self.fees = fees
        self.sequence = sequence
        self._journal = journal
        self._accounts: dict[tuple[int, str], Balance] = {}
        self._holds: dict[int, Hold] = {}
        self._transfers: dict[str, TransferEntry] = {}
        # Since the last checkpoint: accounts and holds that changed, and holds created (not stored yet).
        self._changed_accounts: set[tuple[int, str]] = set()
        self._changed_holds: set[int] = set()
        self._new_holds: set[int] = set()

    # Accounts ------------------------------------------------------------------------------------

    def _account(self, owner: int, asset: str) -> Balance:
        """The balance to change (every change goes through here, so it is marked for the checkpoint)."""
        key = (owner, asset)
        self._changed_accounts.add(key)
        balance = self._accounts.get(key)
        if balance is None:
            balance = self._accounts[key] = Balance()
        return balance

    def balance(self, account_id: int, asset: str) -> AccountBalance:
        balance = self._accounts.get((account_id, asset)) or Balance()
        return AccountBalance(balance.total_minor, balance.available_minor, balance.debits_pending)

    def balances(self, account_id: int) -> dict[str, AccountBalance]:
        return {
            asset: self.balance(account_id, asset)
            for owner, asset in sorted(self._accounts)
            if owner == account_id
        }

    def accounts(self) -> dict[tuple[int, str], tuple[int, int, int, int]]:
        """Every account's (credits_posted, debits_posted, credits_pending, debits_pending)."""
        return {key: balance.as_tuple() for key, balance in sorted(self._accounts.items())}

    def holds(self) -> dict[int, Hold]:
        return {hold_id: Hold(h.account_id, h.asset, h.remaining_minor) for hold_id, h in self._holds.items()}

    def _emit(self, entry: JournalEntry) -> None:
        if self._journal is not None:
            self._journal(entry)

    def _next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    # Deposits and withdrawals --------------------------------------------------------------------

    def deposit(
        self, transfer_id: str, account_id: int, asset: str, amount_minor: int, ts_ns: int = 0
    ) -> TransferEntry:
        request = TransferRequest(EntryKind.DEPOSIT, transfer_id, account_id, asset, amount_minor, ts_ns)
        return self.transfer([request])[0]

    def withdraw(
        self, transfer_id: str, account_id: int, asset: str, amount_minor: int, ts_ns: int = 0
    ) -> TransferEntry:
        request = TransferRequest(EntryKind.WITHDRAWAL, transfer_id, account_id, asset, amount_minor, ts_ns)
        return self.transfer([request])[0]

    def transfer(self, requests: Sequence[TransferRequest]) -> list[TransferEntry]:
        """Apply linked deposits and withdrawals: all of them, or none (raising ``LedgerError``).

        A transfer id seen before returns its first result when the contents match, and is refused when
        they differ.
        """
        spend: dict[tuple[int, str], int] = {}
        fresh: list[TransferRequest] = []
        seen_here: set[str] = set()
        for request in requests:
            if request.kind not in (EntryKind.DEPOSIT, EntryKind.WITHDRAWAL):
                raise LedgerError(f"transfer {request.transfer_id}: {request.kind.value} is not a transfer")
            if not 0 < request.amount_minor <= AMOUNT_MINOR_MAX:
                raise LedgerError(
                    f"transfer {request.transfer_id}: amount must be positive and at most 2**62"
                )
            if request.account_id <= 0:
                raise LedgerError(
                    f"transfer {request.transfer_id}: account {request.account_id} is not a user"
                )
            if request.transfer_id in seen_here:
                raise LedgerError(f"transfer {request.transfer_id} appears twice in one batch")
            seen_here.add(request.transfer_id)
            existing = self._transfers.get(request.transfer_id)
            if existing is not None:
                if (existing.kind, existing.account_id, existing.asset, existing.amount_minor) != (
                    request.kind,
                    request.account_id,
                    request.asset,
                    request.amount_minor,
                ):
                    raise LedgerError(f"transfer {request.transfer_id} exists with different contents")
                continue
            fresh.append(request)
            if request.kind is EntryKind.WITHDRAWAL:
                key = (request.account_id, request.asset)
                spend[key] = spend.get(key, 0) + request.amount_minor
        circulation: dict[str, int] = {}
        for request in fresh:
            if request.kind is EntryKind.DEPOSIT:
                asset = request.asset
                if asset not in circulation:
                    circulation[asset] = -self._accounts.get((OPERATOR, asset), Balance()).total_minor
                circulation[asset] += request.amount_minor
                if circulation[asset] > AMOUNT_MINOR_MAX:
                    raise LedgerError(
                        f"transfer {request.transfer_id}: {asset} in circulation would exceed 2**62"
                    )
        for (account_id, asset), amount in spend.items():
            available = self.balance(account_id, asset).available_minor
            if amount > available:
                raise InsufficientFunds(
                    f"account {account_id} has {available} {asset} available, cannot withdraw {amount}"
                )
        for request in fresh:
            entry = TransferEntry(
                sequence=self._next_sequence(),
                kind=request.kind,
                transfer_id=request.transfer_id,
                account_id=request.account_id,
                asset=request.asset,
                amount_minor=request.amount_minor,
                ts_ns=request.ts_ns,
            )
            self._apply_transfer(entry)
            self._emit(entry)
        return [self._transfers[request.transfer_id] for request in requests]

    def _apply_transfer(self, entry: TransferEntry) -> None:
        user = self._account(entry.account_id, entry.asset)
        operator = self._account(OPERATOR, entry.asset)
        if entry.kind is EntryKind.DEPOSIT:
            operator.debits_posted += entry.amount_minor
            user.credits_posted += entry.amount_minor
        else:
            user.debits_posted += entry.amount_minor
            operator.credits_posted += entry.amount_minor
            assert user.available_minor >= 0, f"withdrawal {entry.transfer_id} overdrew {entry.account_id}"
        self._transfers[entry.transfer_id] = entry

    # Holds: the Funds port of the book tasks -----------------------------------------------------

    def hold(self, hold_id: int, account_id: int, asset: str, amount_minor: int) -> bool:
        """Reserve ``amount_minor`` for order ``hold_id`` (adding to its hold); False if not available.

        Reserving 0 (a market order that can fill nothing) records nothing: a hold of 0 has nothing to
        release, so it would outlive its order.
        """
        assert amount_minor >= 0 and account_id > 0
        existing = self._holds.get(hold_id)
        assert existing is None or (existing.account_id, existing.asset) == (account_id, asset)
        if amount_minor == 0:
            return True
        balance = self._accounts.get((account_id, asset))
        if (0 if balance is None else balance.available_minor) < amount_minor:
            return False
        entry = HoldEntry(
            sequence=self._next_sequence(),
            kind=EntryKind.HOLD,
            hold_id=hold_id,
            account_id=account_id,
            asset=asset,
            amount_minor=amount_minor,
        )
        self._apply_hold(entry)
        self._emit(entry)
        return True

    def hold_remaining(self, hold_id: int) -> int:
        hold = self._holds.get(hold_id)
        return 0 if hold is None else hold.remaining_minor

    def release(self, hold_id: int, amount_minor: int) -> None:
        """Void ``amount_minor`` of a hold (an order ended, or needs less than it reserved)."""
        hold = self._holds[hold_id]
        assert 0 < amount_minor <= hold.remaining_minor, f"release {amount_minor} of hold {hold_id}"
        entry = HoldEntry(
            sequence=self._next_sequence(),
            kind=EntryKind.RELEASE,
            hold_id=hold_id,
            account_id=hold.account_id,
            asset=hold.asset,
            amount_minor=amount_minor,
        )
        self._apply_hold(entry)
        self._emit(entry)

    def _apply_hold(self, entry: HoldEntry) -> None:
        user = self._account(entry.account_id, entry.asset)
        escrow = self._account(ESCROW, entry.asset)
        hold = self._holds.get(entry.hold_id)
        if entry.kind is EntryKind.HOLD:
            if entry.amount_minor == 0:
                return  # written by a version that recorded holds of 0; it reserved nothing
            if hold is None:
                hold = self._holds[entry.hold_id] = Hold(entry.account_id, entry.asset, 0)
                if entry.hold_id not in self._changed_holds:
                    self._new_holds.add(entry.hold_id)
            self._changed_holds.add(entry.hold_id)
            hold.remaining_minor += entry.amount_minor
            user.debits_pending += entry.amount_minor
            escrow.credits_pending += entry.amount_minor
            assert user.available_minor >= 0, f"hold {entry.hold_id} overdrew account {entry.account_id}"
        else:
            assert hold is not None and hold.remaining_minor >= entry.amount_minor
            self._void(entry.hold_id, hold, user, escrow, entry.amount_minor)

    def _void(self, hold_id: int, hold: Hold, user: Balance, escrow: Balance, amount_minor: int) -> None:
        hold.remaining_minor -= amount_minor
        user.debits_pending -= amount_minor
        escrow.credits_pending -= amount_minor
        if hold.remaining_minor:
            self._changed_holds.add(hold_id)
            return
        del self._holds[hold_id]
        if hold_id in self._new_holds:
            self._new_holds.discard(hold_id)
            self._changed_holds.discard(hold_id)
        else:
            self._changed_holds.add(hold_id)

    # Fills ---------------------------------------------------------------------------------------

    def settle_trade(
        self, trade: TradeExecuted, *, symbol: SymbolSettings, buyer_hold_id: int, seller_hold_id: int
    ) -> tuple[int, int]:
        """Post one fill with its fees; return (buyer's fee in base, seller's fee in quote)."""
        buyer_is_taker = trade.aggressor_side is Side.BUY
        buyer_rate = self.fees.taker_bps if buyer_is_taker else self.fees.maker_bps
        seller_rate = self.fees.maker_bps if buyer_is_taker else self.fees.taker_bps
        buyer_hold, seller_hold = self._holds[buyer_hold_id], self._holds[seller_hold_id]
        entry = TradeEntry(
            sequence=self._next_sequence(),
            symbol=symbol.name,
            trade_id=trade.trade_id,
            base=symbol.base,
            quote=symbol.quote,
            price_minor=trade.price_minor,
            quantity_minor=trade.quantity_minor,
            quote_quantity_minor=trade.quote_quantity_minor,
            buyer_account_id=buyer_hold.account_id,
            seller_account_id=seller_hold.account_id,
            buyer_order_id=buyer_hold_id,
            seller_order_id=seller_hold_id,
            buyer_is_maker=not buyer_is_taker,
            buyer_fee_minor=fee_minor(trade.quantity_minor, buyer_rate),
            seller_fee_minor=fee_minor(trade.quote_quantity_minor, seller_rate),
            ts_ns=trade.ts_ns,
        )
        self._apply_trade(entry)
        self._emit(entry)
        return entry.buyer_fee_minor, entry.seller_fee_minor

    def _apply_trade(self, entry: TradeEntry) -> None:
        buyer_hold = self._holds[entry.buyer_order_id]
        seller_hold = self._holds[entry.seller_order_id]
        assert (buyer_hold.asset, seller_hold.asset) == (entry.quote, entry.base), (
            f"trade {entry.trade_id} assets"
        )
        assert buyer_hold.remaining_minor >= entry.quote_quantity_minor, (
            f"buyer hold short in {entry.trade_id}"
        )
        assert seller_hold.remaining_minor >= entry.quantity_minor, f"seller hold short in {entry.trade_id}"
        self._pay_from_hold(entry.seller_order_id, seller_hold, entry.buyer_account_id, entry.quantity_minor)
        self._pay_from_hold(
            entry.buyer_order_id, buyer_hold, entry.seller_account_id, entry.quote_quantity_minor
        )
        self._charge_fee(entry.buyer_account_id, entry.base, entry.buyer_fee_minor)
        self._charge_fee(entry.seller_account_id, entry.quote, entry.seller_fee_minor)

    def _pay_from_hold(self, hold_id: int, hold: Hold, receiver_id: int, amount_minor: int) -> None:
        """Post ``amount_minor`` of a hold to escrow, then pay escrow out to the receiver."""
        payer = self._account(hold.account_id, hold.asset)
        escrow = self._account(ESCROW, hold.asset)
        receiver = self._account(receiver_id, hold.asset)
        self._void(hold_id, hold, payer, escrow, amount_minor)
        payer.debits_posted += amount_minor
        escrow.credits_posted += amount_minor
        escrow.debits_posted += amount_minor
        receiver.credits_posted += amount_minor

    def _charge_fee(self, account_id: int, asset: str, amount_minor: int) -> None:
        if amount_minor:
            self._account(account_id, asset).debits_posted += amount_minor
            self._account(FEES, asset).credits_posted += amount_minor

    # Recovery, replay and invariants ------------------------------------------------------------

    @classmethod
    def restore(
        cls,
        *,
        fees: FeeSettings,
        checkpoint_sequence: int,
        accounts: Mapping[tuple[int, str], tuple[int, int, int, int]],
        holds: Mapping[int, tuple[int, str, int]],
        transfers: Iterable[TransferEntry],
        journal_after_checkpoint: Iterable[JournalEntry],
        sink: Callable[[JournalEntry], None] | None = None,
    ) -> Ledger:
        """Rebuild the ledger from a checkpoint, every transfer id ever used, and the journal after it."""
        ledger = cls(fees=fees, sequence=checkpoint_sequence)
        for key, values in accounts.items():
            balance = ledger._account(*key)
            balance.credits_posted, balance.debits_posted, balance.credits_pending, balance.debits_pending = (
                values
            )
        for hold_id, (account_id, asset, remaining) in holds.items():
            if remaining:
                ledger._holds[hold_id] = Hold(account_id, asset, remaining)
            else:  # an older version's hold of 0: reserved nothing, and the next checkpoint drops it
                ledger._changed_holds.add(hold_id)
        ledger._changed_accounts.clear()
        for entry in transfers:
            if entry.sequence <= checkpoint_sequence:
                ledger._transfers[entry.transfer_id] = entry
        ledger.replay(journal_after_checkpoint)
        ledger._journal = sink
        return ledger

    def checkpoint_rows_pending(self) -> int:
        """The rows the next checkpoint would write, at most (a hold created and gone is not written)."""
        return len(self._changed_accounts) + len(self._changed_holds)

    def checkpoint_changes(
        self,
    ) -> tuple[int, dict[tuple[int, str], tuple[int, int, int, int]], dict[int, tuple[int, str, int] | None]]:
        """(sequence, accounts, holds) changed since the last call (or the restore), then forget them.

        Applied to the previous checkpoint they give the one at ``sequence``; a hold that is gone maps to
        ``None``, and one created and gone in between is not mentioned.
        """
        accounts = {key: self._accounts[key].as_tuple() for key in self._changed_accounts}
        holds: dict[int, tuple[int, str, int] | None] = {}
        for hold_id in self._changed_holds:
            hold = self._holds.get(hold_id)
            holds[hold_id] = None if hold is None else (hold.account_id, hold.asset, hold.remaining_minor)
        self._changed_accounts.clear()
        self._changed_holds.clear()
        self._new_holds.clear()
        return self.sequence, accounts, holds

    def replay(self, entries: Iterable[JournalEntry]) -> None:
        """Apply journal entries (in sequence order) without journaling them again: recovery."""
        for entry in entries:
            assert entry.sequence > self.sequence, f"journal entry {entry.sequence} out of order"
            if type(entry) is TradeEntry:
                self._apply_trade(entry)
            elif type(entry) is HoldEntry:
                self._apply_hold(entry)
            else:
                self._apply_transfer(entry)
            self.sequence = entry.sequence

    def verify(self, open_order_spend: Mapping[int, int] | None = None) -> list[str]:
        """Every broken invariant, in words; an empty list means the ledger is sound.

        With ``open_order_spend`` (order id -> what it can still spend) holds must match open orders
        exactly: no hold without an open order, no open order with a different hold.
        """
        problems = []
        totals: dict[str, list[int]] = {}
        pending_by_account: dict[tuple[int, str], int] = {}
        for (owner, asset), balance in self._accounts.items():
            sums = totals.setdefault(asset, [0, 0, 0, 0])
            for index, value in enumerate(balance.as_tuple()):
                sums[index] += value
            if owner > 0 and balance.available_minor < 0:
                problems.append(f"account {owner} {asset} is below zero: available {balance.available_minor}")
        for asset, (credits, debits, credits_pending, debits_pending) in sorted(totals.items()):
            if credits != debits:
                problems.append(f"{asset}: posted debits {debits} != posted credits {credits}")
            if credits_pending != debits_pending:
                problems.append(
                    f"{asset}: pending debits {debits_pending} != pending credits {credits_pending}"
                )
        for hold_id, hold in self._holds.items():
            key = (hold.account_id, hold.asset)
            pending_by_account[key] = pending_by_account.get(key, 0) + hold.remaining_minor
            if open_order_spend is not None and open_order_spend.get(hold_id) != hold.remaining_minor:
                spend = open_order_spend.get(hold_id, 0)
                problems.append(f"hold {hold_id} is {hold.remaining_minor} but its order can spend {spend}")
        if open_order_spend is not None:
            for order_id, spend in open_order_spend.items():
                if spend and order_id not in self._holds:
                    problems.append(f"open order {order_id} can spend {spend} but has no hold")
        for (owner, asset), balance in self._accounts.items():
            if owner > 0 and balance.debits_pending != pending_by_account.get((owner, asset), 0):
                problems.append(
                    f"account {owner} {asset}: pending {balance.debits_pending} != sum of its holds"
                )
        return problems

    def differences(self, other: Ledger) -> list[str]:
        """How ``other`` (say, rebuilt from the journal) differs from this ledger's balances and holds."""
        problems = []
        mine, theirs = self.accounts(), other.accounts()
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key, (0, 0, 0, 0)) != theirs.get(key, (0, 0, 0, 0)):
                problems.append(f"account {key}: stored {mine.get(key)} != recomputed {theirs.get(key)}")
        if self.holds() != other.holds():
            problems.append("holds differ from the holds recomputed from the journal")
        return problems


@dataclass(frozen=True, slots=True)
class StatementLine:
    sequence: int
    description: str
    change_minor: int
    balance_minor: int


def statement(entries: Iterable[JournalEntry], account_id: int, asset: str) -> list[StatementLine]:
    """The posted history of one account with its running balance (holds change no posted balance)."""
    lines = []
    balance = 0
    for entry in entries:
        changes: list[tuple[str, int]] = []
        if type(entry) is TransferEntry and (entry.account_id, entry.asset) == (account_id, asset):
            sign = 1 if entry.kind is EntryKind.DEPOSIT else -1
            changes.append((f"{entry.kind.value} {entry.transfer_id}", sign * entry.amount_minor))
        elif type(entry) is TradeEntry:
            label = f"trade {entry.symbol} #{entry.trade_id}"
            if entry.buyer_account_id == account_id and asset == entry.base:
                changes += [
                    (f"{label} bought", entry.quantity_minor),
                    (f"{label} fee", -entry.buyer_fee_minor),
                ]
            if entry.buyer_account_id == account_id and asset == entry.quote:
                changes.append((f"{label} paid", -entry.quote_quantity_minor))
            if entry.seller_account_id == account_id and asset == entry.base:
                changes.append((f"{label} sold", -entry.quantity_minor))
            if entry.seller_account_id == account_id and asset == entry.quote:
                changes += [
                    (f"{label} received", entry.quote_quantity_minor),
                    (f"{label} fee", -entry.seller_fee_minor),
                ]
        for description, change in changes:
            if change:
                balance += change
                lines.append(StatementLine(entry.sequence, description, change, balance))
    return lines
