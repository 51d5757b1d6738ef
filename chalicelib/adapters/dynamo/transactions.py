"""What the repositories share: one connection per region, labelled transactions, pages."""

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import throttling
from chalicelib.settings import Settings


@dataclass(frozen=True)
class Page:
    items: list
    last_id: str | None  # the id to continue after, None on the last page


@lru_cache(maxsize=8)
def connection(region: str) -> Connection:
    """One low-level connection per region for transactions: building a client costs ~40 ms."""
    return Connection(region=region)


def name_key(kind: str, name: str) -> str:
    """Names compare case-insensitively and after Unicode normalization: 'Sale' and 'SALE' clash."""
    return f"{kind}#{unicodedata.normalize('NFKC', name).casefold().strip()}"


class Transaction:
    """A TransactWrite whose items carry labels, so a cancellation says which purpose failed.

    PynamoDB sends deletes, then puts, then updates, whatever order they were added in; the
    cancellation reasons follow that order, and so do the labels here.
    """

    def __init__(self, settings: Settings):
        self._tx = TransactWrite(connection=connection(settings.region))
        self._labels: dict[str, list[str]] = {"delete": [], "save": [], "update": []}

    def save(self, label: str, record: Model, condition=None) -> None:
        self._labels["save"].append(label)
        self._tx.save(record, condition=condition)

    def update(self, label: str, record: Model, actions: list, condition=None) -> None:
        self._labels["update"].append(label)
        self._tx.update(record, actions=actions, condition=condition)

    def delete(self, label: str, record: Model, condition=None) -> None:
        self._labels["delete"].append(label)
        self._tx.delete(record, condition=condition)

    def commit(self) -> None:
        """Run the transaction; raise TransactionFailed naming the labels of the failed items."""
        labels = self._labels["delete"] + self._labels["save"] + self._labels["update"]
        try:
            self._tx._commit()
        except TransactWriteError as error:
            failed = [
                labels[index]
                for index, reason in enumerate(error.cancellation_reasons)
                if reason is not None and reason.code not in (None, "None")
            ]
            if not failed or throttling.is_transient(error):
                raise
            raise TransactionFailed(failed) from error


class TransactionFailed(Exception):
    def __init__(self, labels: list[str]):
        super().__init__(", ".join(labels))
        self.labels = labels
