"""The journal's SQL, the same on both stores but for the table's name and the
placeholder (SQLite ``?``, psycopg ``%s``): an append-only table, read newest last."""

from __future__ import annotations

from typing import Any

from reconciler.state import JournalEntry, StateError

JOURNAL_COLUMNS = (
    "time, account, step_id, action, target, result, error, detail, idempotency_key,"
    " git_commit, actor, run_id, plan"
)
_COUNT = len(JOURNAL_COLUMNS.split(","))


class SqlJournal:
    """``record`` and ``history`` for a store that has ``_execute(sql, args)`` (a cursor)
    and ``_mutex`` (re-entrant: held across the fetch, as ``_execute`` takes it too)."""

    _journal_table: str
    _param: str
    _mutex: Any

    def _execute(self, sql: str, args: Any = ()) -> Any:
        raise NotImplementedError

    def record(self, entry: JournalEntry) -> None:
        values = ", ".join([self._param] * _COUNT)
        self._execute(
            f"INSERT INTO {self._journal_table} ({JOURNAL_COLUMNS}) VALUES ({values})",
            (entry.time, entry.account, entry.step_id, entry.action, entry.target,
             entry.result, entry.error, entry.detail, entry.idempotency_key,
             entry.git_commit, entry.actor, entry.run_id, entry.plan),
        )

    def history(self, account: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        sql = f"SELECT {JOURNAL_COLUMNS} FROM {self._journal_table}"
        args: list[Any] = []
        if account is not None:
            sql += f" WHERE account = {self._param}"
            args.append(account)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {self._param}"
            args.append(limit)
        with self._mutex:
            rows = self._execute(sql, args).fetchall()
        return [JournalEntry(*row) for row in reversed(rows)]


def newer_schema(where: str, found: int, known: int) -> StateError:
    """A store a newer reconciler migrated: this one would misread it, so it is refused
    on opening, before anything is read or written."""
    return StateError(
        f"the state store {where} is at schema version {found}, newer than this "
        f"reconciler knows ({known}); upgrade reconciler"
    )
