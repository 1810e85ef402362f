"""The shared state store: a PostgreSQL database every CI runner and laptop points at
(``state: {url: postgresql://...}`` in reconciler.yaml, or ``RECONCILER_STATE_URL``).

Built for a transaction pooler (PgBouncer in transaction mode) in front of the server:
autocommit, one statement per lease operation, no session advisory locks, no server-side
prepared statements; the one multi-statement transaction (migrations) serialises on a
*transaction*-scoped advisory lock, released at its COMMIT. Lease times come from the
server's clock, so runners whose clocks disagree still agree on when a lease expires.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from reconciler.state import (
    LEASE_SECONDS,
    JournalEntry,
    LockInfo,
    Scope,
    StateError,
    StateStore,
    iso,
)
from reconciler.stores.journal import INTENT_ABOUT, SqlJournal, intent_about, newer_schema
from reconciler.stores.pgurl import parse_state_url

if TYPE_CHECKING:
    import psycopg

#: versioned migrations, applied in order in one transaction; reconciler_schema records them
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "leases and the journal",
        """
        CREATE TABLE reconciler_locks (
            platform    text NOT NULL,
            external_id text NOT NULL,
            account    text NOT NULL,
            owner      text NOT NULL,
            pid        integer NOT NULL,
            host       text NOT NULL,
            run_url    text NOT NULL DEFAULT '',
            git_commit text NOT NULL DEFAULT '',
            acquired   timestamptz NOT NULL,
            heartbeat  timestamptz NOT NULL,
            expires    timestamptz NOT NULL,
            token      text NOT NULL,
            PRIMARY KEY (platform, external_id)
        );
        CREATE TABLE reconciler_intents (
            key         text PRIMARY KEY,
            platform    text NOT NULL,
            external_id text NOT NULL,
            step        text NOT NULL,
            run_id      text NOT NULL,
            opened      timestamptz NOT NULL DEFAULT clock_timestamp(),
            settled     timestamptz
        );
        CREATE INDEX reconciler_open_intents ON reconciler_intents
            (platform, external_id, step, opened) WHERE settled IS NULL;
        CREATE TABLE reconciler_journal (
            id              bigserial PRIMARY KEY,
            recorded        timestamptz NOT NULL DEFAULT clock_timestamp(),
            time            text NOT NULL,
            run_id          text NOT NULL,
            account         text NOT NULL,
            step_id         text NOT NULL,
            action          text NOT NULL,
            target          text NOT NULL,
            result          text NOT NULL,
            error           text NOT NULL DEFAULT '',
            detail          text NOT NULL DEFAULT '',
            idempotency_key text NOT NULL DEFAULT '',
            git_commit      text,
            actor           text NOT NULL
        );
        CREATE INDEX reconciler_journal_by_account ON reconciler_journal (account, id);
        CREATE FUNCTION reconciler_journal_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the journal is append-only'; END $$;
        CREATE TRIGGER reconciler_journal_append_only
            BEFORE UPDATE OR DELETE OR TRUNCATE ON reconciler_journal
            FOR EACH STATEMENT EXECUTE FUNCTION reconciler_journal_append_only();
        """,
    ),
    (
        2,
        "the saved plan each journaled step came from",
        """
        ALTER TABLE reconciler_journal ADD COLUMN plan text NOT NULL DEFAULT '';
        """,
    ),
    (
        3,
        # intents from before kept nothing to journal them with: journaled (assumed)
        "what each intent's journal line will say, and whether it has one",
        """
        ALTER TABLE reconciler_intents ADD COLUMN account text NOT NULL DEFAULT '',
            ADD COLUMN step_id text NOT NULL DEFAULT '',
            ADD COLUMN action text NOT NULL DEFAULT '',
            ADD COLUMN target text NOT NULL DEFAULT '',
            ADD COLUMN actor text NOT NULL DEFAULT '',
            ADD COLUMN git_commit text,
            ADD COLUMN plan text NOT NULL DEFAULT '',
            ADD COLUMN journaled text;
        UPDATE reconciler_intents SET journaled = opened::text;
        CREATE INDEX reconciler_unjournaled_intents ON reconciler_intents
            (platform, external_id, opened) WHERE journaled IS NULL;
        """,
    ),
)
LATEST = MIGRATIONS[-1][0]
#: a connection whose server or network went silent fails within about half a minute
#: instead of hanging the heartbeat (TCP keepalives and TCP_USER_TIMEOUT; client-side
#: socket options, fine behind a pooler) (assumed)
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
               "keepalives_count": 3, "tcp_user_timeout": 30_000}
#: any fixed number: the key of the transaction-scoped advisory lock migrations take
_MIGRATION_LOCK = 0x7265636F6E

_LOCK_SELECT = (
    "platform, external_id, account, owner, pid, host,"
    " to_char(acquired AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), token,"
    " run_url, git_commit,"
    " to_char(expires AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    " to_char(heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
)


class PostgresStateStore(SqlJournal, StateStore):
    _journal_table = "reconciler_journal"
    _intents_table = "reconciler_intents"
    _param = "%s"
    kind = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        lock_timeout: float = 0.0,
        lease_seconds: float = LEASE_SECONDS,
        connect_timeout: int = 10,
        migrate: bool = True,
        source: str = "the state store URL",
    ) -> None:
        """``url``: a ``postgresql://`` URL, which may hold a password (taken out before
        the driver sees it, see :mod:`reconciler.stores.pgurl`); ``password`` (from
        ``state.password_env``) is used when the URL has none. ``source`` names where the
        URL came from, for the error a malformed one gets."""
        super().__init__(lock_timeout=lock_timeout, lease_seconds=lease_seconds)
        import psycopg

        parsed = parse_state_url(url, source)
        self.url = parsed.url
        self._password = parsed.password if parsed.password is not None else password
        self._where = parsed.shown
        self._psycopg = psycopg
        self._connect_timeout = connect_timeout
        self._conn = self._connect("cannot open the state store")
        self.opened_at_version = self.schema_version()
        if self.opened_at_version > LATEST:
            self._conn.close()
            raise newer_schema(self._where, self.opened_at_version, LATEST)
        if migrate and self.opened_at_version < LATEST:
            # the version found under the migration lock: another process may have
            # migrated meanwhile, and then this one did nothing
            self.opened_at_version, _ = self.migrate()

    def _connect(self, failed: str) -> psycopg.Connection[Any]:
        psycopg = self._psycopg
        try:
            return psycopg.connect(
                self.url,
                password=self._password,
                autocommit=True,
                # server-side prepared statements do not survive a transaction pooler
                prepare_threshold=None,
                connect_timeout=self._connect_timeout,
                application_name="reconciler",
                **_KEEPALIVES,
            )
        except psycopg.Error as e:
            raise StateError(f"{failed} {self._where}: {self._clean(e)}") from e

    def _live(self) -> psycopg.Connection[Any]:
        """The connection, made again when the last one was lost (the server restarted,
        a pooler or the network dropped it): the heartbeat must outlive a blip. Only a
        statement *after* the loss goes to the new connection; the one that failed is
        reported, never sent twice."""
        if self._conn.closed:
            self._conn = self._connect("cannot reach the state store")
        return self._conn

    def describe(self) -> str:
        return self._where

    def _close(self) -> None:
        self._conn.close()

    def now(self) -> str:
        row = self._one("SELECT clock_timestamp()")
        assert row is not None
        return iso(row[0])

    def _clean(self, e: BaseException) -> str:
        """The driver's message on one line. The driver never had the password in a URL
        and never prints one; still, a password of a few characters or more is masked."""
        text = " ".join(str(e).split())
        if self._password and len(self._password) >= 3:
            text = text.replace(self._password, "***")
        return text.replace(self.url, self._where)

    def _execute(self, sql: str, args: Any = ()) -> psycopg.Cursor[Any]:
        with self._mutex:
            try:
                return self._live().execute(sql, args)
            except self._psycopg.Error as e:
                raise StateError(f"state store {self._where}: {self._clean(e)}") from e

    def _insert_and_mark(self, insert: str, args: tuple[Any, ...], mark: str,
                         mark_args: tuple[Any, ...]) -> None:
        # one statement: atomic, one round trip, nothing spanning a pooled connection
        self._execute(f"WITH journaled AS ({insert}) {mark}", (*args, *mark_args))

    def _one(self, sql: str, args: Any = ()) -> tuple[Any, ...] | None:
        with self._mutex:
            return self._execute(sql, args).fetchone()

    # ------------------------------------------------------------- migrations

    def schema_version(self) -> int:
        with self._mutex:
            exists = self._one("SELECT to_regclass('reconciler_schema') IS NOT NULL")
            if not (exists and exists[0]):
                return 0
            row = self._one("SELECT coalesce(max(version), 0) FROM reconciler_schema")
        return int(row[0]) if row else 0

    def migrate(self) -> tuple[int, int]:
        psycopg = self._psycopg
        with self._mutex:
            self._live()
            try:
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                    self._conn.execute(
                        "CREATE TABLE IF NOT EXISTS reconciler_schema ("
                        " version integer PRIMARY KEY, description text NOT NULL,"
                        " applied timestamptz NOT NULL DEFAULT clock_timestamp())"
                    )
                    before = self.schema_version()
                    if before > LATEST:
                        raise newer_schema(self._where, before, LATEST)
                    for version, description, script in MIGRATIONS:
                        if version > before:
                            self._conn.execute(script.encode())
                            self._conn.execute(
                                "INSERT INTO reconciler_schema (version, description)"
                                " VALUES (%s, %s)",
                                (version, description),
                            )
            except psycopg.Error as e:
                raise StateError(
                    f"cannot migrate the state store {self._where}: {self._clean(e)}"
                ) from e
        return before, max(before, LATEST)

    # ------------------------------------------------------------------ locks

    def _interval(self) -> str:
        return f"{self.lease_seconds} seconds"

    def _insert(self, lock: LockInfo) -> LockInfo | None:
        row = self._one(
            "INSERT INTO reconciler_locks (platform, external_id, account, owner, pid, host,"
            " run_url, git_commit, acquired, heartbeat, expires, token) VALUES (%s, %s, %s, %s,"
            " %s, %s, %s, %s, clock_timestamp(), clock_timestamp(),"
            " clock_timestamp() + %s::interval, %s)"
            f" ON CONFLICT (platform, external_id) DO NOTHING RETURNING {_LOCK_SELECT}",
            (lock.scope.platform, lock.scope.external_id, lock.account, lock.owner, lock.pid,
             lock.host, lock.run_url, lock.git_commit, self._interval(), lock.token),
        )
        return _lock(row) if row else None

    def _read(self, scope: Scope) -> tuple[LockInfo, bool] | None:
        row = self._one(
            f"SELECT {_LOCK_SELECT}, expires <= clock_timestamp() FROM reconciler_locks"
            " WHERE platform = %s AND external_id = %s",
            (scope.platform, scope.external_id),
        )
        return (_lock(row[:-1]), bool(row[-1])) if row else None

    def holders(self) -> list[LockInfo]:
        with self._mutex:
            rows = self._execute(
                f"SELECT {_LOCK_SELECT} FROM reconciler_locks ORDER BY platform, external_id"
            ).fetchall()
        return [_lock(row) for row in rows]

    def _swap(self, old_token: str, lock: LockInfo) -> LockInfo | None:
        row = self._one(
            "UPDATE reconciler_locks SET account = %s, owner = %s, pid = %s, host = %s,"
            " run_url = %s, git_commit = %s, acquired = clock_timestamp(),"
            " heartbeat = clock_timestamp(), expires = clock_timestamp() + %s::interval,"
            " token = %s WHERE platform = %s AND external_id = %s AND token = %s"
            f" RETURNING {_LOCK_SELECT}",
            (lock.account, lock.owner, lock.pid, lock.host, lock.run_url, lock.git_commit,
             self._interval(), lock.token, lock.scope.platform, lock.scope.external_id,
             old_token),
        )
        return _lock(row) if row else None

    def _delete(self, scope: Scope, token: str) -> bool:
        cur = self._execute(
            "DELETE FROM reconciler_locks WHERE platform = %s AND external_id = %s"
            " AND token = %s",
            (scope.platform, scope.external_id, token),
        )
        return cur.rowcount == 1

    def _renew(self, lock: LockInfo) -> bool:
        cur = self._execute(
            "UPDATE reconciler_locks SET heartbeat = clock_timestamp(),"
            " expires = clock_timestamp() + %s::interval"
            " WHERE platform = %s AND external_id = %s AND token = %s",
            (self._interval(), lock.scope.platform, lock.scope.external_id, lock.token),
        )
        return cur.rowcount == 1

    # ------------------------------------------------------- idempotency keys
    # The caller holds the platform account's lease, so no other run writes these rows:
    # one statement each is enough, and nothing spans a pooled connection.

    def intent_key(self, scope: Scope, step: str, fresh: str, run_id: str, *,
                   about: JournalEntry | None = None) -> str:
        row = self._one(
            "WITH open AS (SELECT key FROM reconciler_intents WHERE platform = %s"
            " AND external_id = %s AND step = %s AND settled IS NULL ORDER BY opened LIMIT 1),"
            " made AS (INSERT INTO reconciler_intents (key, platform, external_id, step, run_id,"
            f" {', '.join(INTENT_ABOUT)})"
            " SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s"
            " WHERE NOT EXISTS (SELECT 1 FROM open) RETURNING key)"
            " SELECT key FROM open UNION ALL SELECT key FROM made",
            (scope.platform, scope.external_id, step, fresh, scope.platform, scope.external_id,
             step, run_id, *intent_about(about)),
        )
        assert row is not None
        return str(row[0])

    def settle(self, key: str) -> None:
        self._execute(
            "UPDATE reconciler_intents SET settled = clock_timestamp()"
            " WHERE key = %s AND settled IS NULL",
            (key,),
        )

    def settle_all_but(self, scope: Scope, steps: Iterable[str]) -> None:
        self._execute(
            "UPDATE reconciler_intents SET settled = clock_timestamp()"
            " WHERE platform = %s AND external_id = %s AND settled IS NULL"
            " AND NOT (step = ANY(%s))",
            (scope.platform, scope.external_id, list(steps)),
        )



def _lock(row: Any) -> LockInfo:
    platform, external_id, *rest = row
    return LockInfo(Scope(platform, external_id), *rest)
