"""The journal's SQL, the same on both stores but for the table's name and the
placeholder (SQLite ``?``, psycopg ``%s``): an append-only table, read newest last."""

from __future__ import annotations

from typing import Any

from reconciler.state import Intent, JournalEntry, Scope, StateError

JOURNAL_COLUMNS = (
    "time, account, step_id, action, target, result, error, detail, idempotency_key,"
    " git_commit, actor, run_id, plan"
)
_COUNT = len(JOURNAL_COLUMNS.split(","))
#: what an intent keeps of its journal line-to-be (reconciler.state.Intent)
INTENT_ABOUT = ("account", "step_id", "action", "target", "actor", "git_commit", "plan")


def intent_about(about: JournalEntry | None) -> tuple[Any, ...]:
    """The values of :data:`INTENT_ABOUT` for an intent's row."""
    if about is None:
        return ("", "", "", "", "", None, "")
    return (about.account, about.step_id, about.action, about.target, about.actor,
            about.git_commit, about.plan)


class SqlJournal:
    """``record``, ``history`` and ``unjournaled`` for a store that has
    ``_execute(sql, args)`` (a cursor), ``_insert_and_mark`` (two statements at once) and
    ``_mutex`` (re-entrant: held across the fetch, as ``_execute`` takes it too)."""

    _journal_table: str
    _intents_table: str
    _param: str
    _mutex: Any

    def _execute(self, sql: str, args: Any = ()) -> Any:
        raise NotImplementedError

    def _insert_and_mark(self, insert: str, args: tuple[Any, ...], mark: str,
                         mark_args: tuple[Any, ...]) -> None:
        """Run the journal's ``insert`` and the intent's ``mark`` atomically."""
        raise NotImplementedError

    def record(self, entry: JournalEntry) -> None:
        p = self._param
        values = ", ".join([p] * _COUNT)
        insert = f"INSERT INTO {self._journal_table} ({JOURNAL_COLUMNS}) VALUES ({values})"
        args = (entry.time, entry.account, entry.step_id, entry.action, entry.target,
                entry.result, entry.error, entry.detail, entry.idempotency_key,
                entry.git_commit, entry.actor, entry.run_id, entry.plan)
        if not entry.idempotency_key:
            self._execute(insert, args)
            return
        # the write is in the journal now, and only once: its intent says so, atomically
        self._insert_and_mark(
            insert, args,
            f"UPDATE {self._intents_table} SET journaled = {p}"
            f" WHERE key = {p} AND journaled IS NULL",
            (entry.time, entry.idempotency_key),
        )

    def unjournaled_scopes(self) -> set[Scope]:
        with self._mutex:
            rows = self._execute(
                f"SELECT DISTINCT platform, external_id FROM {self._intents_table}"
                " WHERE journaled IS NULL"
            ).fetchall()
        return {Scope(platform, external_id) for platform, external_id in rows}

    def unjournaled(self, scope: Scope) -> list[Intent]:
        p = self._param
        with self._mutex:
            rows = self._execute(
                f"SELECT key, step, settled IS NOT NULL, run_id, {', '.join(INTENT_ABOUT)}"
                f" FROM {self._intents_table} WHERE platform = {p} AND external_id = {p}"
                " AND journaled IS NULL ORDER BY opened",
                (scope.platform, scope.external_id),
            ).fetchall()
        found = []
        for key, step, settled, run_id, account, step_id, action, target, actor, commit, \
                plan in rows:
            about = JournalEntry(time="", account=account, step_id=step_id, action=action,
                                 target=target, result="", idempotency_key=key,
                                 git_commit=commit, actor=actor, run_id=run_id, plan=plan)
            found.append(Intent(key, step, bool(settled), about))
        return found

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
