"""``reconciler provider check``: the protocol's contract, run against any bridge.

On a scratch account (created through the optional ``POST .../accounts``, or given with
``--account``) the kit plans, with the platform's own planner, one new user — and, where
the platform has pools, one more licence — then performs those steps over the wire and
removes them again. Along the way it checks: the schema of every answer; 401 without or
with a wrong token; 404 for an unknown account; two reads of an unchanged account agree;
each step sent twice with one key has one effect and the same answer; one key with another
body is 409; a pending order is listed and confirmed; a refusal is a permanent 4xx with an
Error body, not a 5xx; every 429/503 has Retry-After (the kit waits it, then repeats the
request with the same key, as apply does). Each violation is one line.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.errors import ReconcilerError
from reconciler.model import ActualAccount
from reconciler.plan import Step
from reconciler.protocol import wire
from reconciler.protocol.client import _text, retry_after

#: requests repeated after a transient answer before the kit gives up on one
ATTEMPTS = 8
#: the longest Retry-After the kit waits (a slower bridge is waited this long)
MAX_WAIT = 10.0


@dataclass
class Answer:
    status: int
    data: Any
    retry_after: str | None


@dataclass
class Report:
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: int = 0
    transient_seen: int = 0
    #: why the kit stopped before the end (the bridge unreachable, no account...)
    stopped: str = ""

    def check(self, ok: bool, message: str) -> bool:
        self.checks += 1
        if not ok:
            self.violations.append(message)
        return ok


class Unchecked(ReconcilerError):
    """The kit could not go on (no scratch account, the bridge unreachable...)."""


class Kit:
    def __init__(self, platform: str, url: str, token: str, *, account: str | None = None,
                 wait_seconds: float = 30.0, timeout: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.platform = platform
        self.url = url.rstrip("/")
        self.token = token
        self.account = account
        self.wait_seconds = wait_seconds
        self.sleep = sleep
        self.report = Report()
        self.http = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False,
                                 follow_redirects=False)
        self.base = f"{wire.API}/platforms/{quote(platform, safe='')}/accounts"

    # ------------------------------------------------------------------ one request

    def request(self, method: str, path: str, component: str, *, body: Any = None,
                key: str | None = None, token: str | None = None) -> Answer:
        """One request, repeated (same key) after a transient answer or a lost connection;
        the answer's body checked against ``component`` (success) or Error (failure)."""
        token = self.token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        what = f"{method} {path}"
        for _ in range(ATTEMPTS):
            try:
                got = self.http.request(method, path, json=body, headers=headers)
            except httpx.ConnectError as e:
                raise Unchecked(f"cannot reach {self.url} ({_text(e)})") from e
            except httpx.TransportError:
                self.report.notes.append(f"{what}: connection lost; repeated with the same key")
                continue
            try:
                data = got.json()
            except ValueError:
                data = None
                self.report.check(False, f"{what}: HTTP {got.status_code} answer is not JSON")
            if got.status_code == 429 or got.status_code >= 500:
                self.report.transient_seen += 1
                after = got.headers.get("retry-after")
                self.report.check(
                    retry_after(after) is not None,
                    f"{what}: HTTP {got.status_code} without a valid Retry-After header")
                self._schema(what, got.status_code, "Error", data)
                self.sleep(min(retry_after(after) or 1.0, MAX_WAIT))
                continue
            ok = got.status_code in (200, 201)
            self._schema(what, got.status_code, component if ok else "Error", data)
            return Answer(got.status_code, data, got.headers.get("retry-after"))
        raise Unchecked(f"{what}: still transient after {ATTEMPTS} attempts")

    def _schema(self, what: str, status: int, component: str, data: Any) -> None:
        if data is None:
            return
        problem = wire.schema_error(component, data)
        self.report.check(problem is None,
                          f"{what}: HTTP {status} answer does not match {_text(problem)}")

    def read(self, external_id: str) -> ActualAccount | None:
        path = f"{self.base}/{quote(external_id, safe='')}"
        got = self.request("GET", path, "Account")
        if not self.report.check(got.status == 200,
                                 f"GET {path}: HTTP {got.status}, expected 200"):
            return None
        if wire.schema_error("Account", got.data) is not None:
            return None
        return wire.account_from_wire(got.data)

    # ------------------------------------------------------------------ the contract

    def run(self) -> Report:
        try:
            self._auth()
            external_id = self._scratch()
            start = self.read(external_id)
            if start is None:
                raise Unchecked(f"cannot read account {external_id}; nothing more checked")
            again = self.read(external_id)
            self.report.check(again == start, f"GET {self.base}/{external_id}: two reads of "
                                              "an unchanged account differ")
            unknown = f"{self.base}/reconciler-check-missing-{uuid.uuid4().hex[:8]}"
            got = self.request("GET", unknown, "Account")
            self.report.check(got.status == 404,
                              f"GET {unknown}: HTTP {got.status} for an unknown account, "
                              "expected 404")
            self._round_trip(start)
        except Unchecked as e:
            self.report.stopped = str(e)
        finally:
            self.http.close()
        if not self.report.transient_seen:
            self.report.notes.append("no 429 or 503 seen: Retry-After was not exercised")
        return self.report

    def _auth(self) -> None:
        for token, how in (("", "without a token"), ("reconciler-check-wrong", "with a wrong "
                                                                                "token")):
            got = self.request("GET", self.base, "AccountList", token=token)
            self.report.check(got.status == 401,
                              f"GET {self.base} {how}: HTTP {got.status}, expected 401")
        got = self.request("GET", self.base, "AccountList")
        self.report.check(got.status == 200, f"GET {self.base}: HTTP {got.status}, expected 200")

    def _scratch(self) -> str:
        if self.account:
            return self.account
        external_id = f"reconciler-check-{uuid.uuid4().hex[:8]}"
        body = {"external_id": external_id, "name": "reconciler provider check",
                "sites": [{"name": "Check", "first": 100, "last": 299}]}
        got = self.request("POST", self.base, "Account", body=body)
        if got.status in (404, 405, 501):
            raise Unchecked(f"the bridge cannot create a scratch account (HTTP {got.status}): "
                            "give a test account with --account")
        if not self.report.check(got.status == 201, f"POST {self.base}: HTTP {got.status}, "
                                                    "expected 201"):
            raise Unchecked("no scratch account; nothing more checked")
        self.report.notes.append(f"scratch account {external_id} created")
        return external_id

    def _round_trip(self, start: ActualAccount) -> None:
        from reconciler.protocol.probe import probe_plans

        add, remove = probe_plans(start)
        grown = self._perform(start.external_id, add, "add", twice=True)
        if grown is None:
            return
        probe = next(s for s in add if s.action == "create_user")
        self._conflict(start.external_id, probe)
        self._refusal(start.external_id, probe, grown)
        after = self._perform(start.external_id, remove(grown), "remove", twice=False)
        if after is not None:
            self.report.check(
                (after.users, after.licences) == (start.users, start.licences),
                f"account {start.external_id}: users or licences differ from the start after "
                "the probe was removed")

    def _perform(self, external_id: str, steps: list[Step], phase: str, *,
                 twice: bool) -> ActualAccount | None:
        """Each step (twice with one key when ``twice``); the account read afterwards."""
        path = f"{self.base}/{quote(external_id, safe='')}/steps"
        outcomes: dict[str, Mapping[str, Any]] = {}
        for step in steps:
            step = self._with_order(step, outcomes)
            if step.action == "confirm_order" and not self._approved(external_id, step):
                return None
            key = f"reconciler-check-{phase}-{step.id}-{uuid.uuid4().hex[:12]}"
            body = wire.step_to_wire(step)
            first = self.request("POST", path, "StepOutcome", body=body, key=key)
            if not self.report.check(first.status == 200,
                                     f"POST {path} ({step.action}): HTTP {first.status} "
                                     f"{_message(first)}, expected 200"):
                return None
            outcomes[step.id] = first.data
            if first.data.get("status") == "pending":
                self._pending(external_id, step, first.data)
            if twice:
                again = self.request("POST", path, "StepOutcome", body={**body, "id": "s99"},
                                     key=key)
                self.report.check(
                    again.status == 200 and _same(again.data, first.data),
                    f"POST {path} ({step.action}) again with the same Idempotency-Key: "
                    f"HTTP {again.status}, a different answer from the first")
        account = self.read(external_id)
        if account is not None and twice:
            self._one_effect(account, steps)
        return account

    def _with_order(self, step: Step, outcomes: Mapping[str, Mapping[str, Any]]) -> Step:
        if step.action != "confirm_order" or step.params.get("order_id"):
            return step
        order_id = next((outcomes[d].get("order_id") for d in step.depends_on
                         if d in outcomes and outcomes[d].get("order_id")), None)
        return replace(step, params={**step.params, "order_id": str(order_id)})

    def _pending(self, external_id: str, step: Step, outcome: Mapping[str, Any]) -> None:
        order_id = outcome.get("order_id")
        if not self.report.check(bool(order_id), f"{step.action}: a pending answer "
                                                 "without an order_id"):
            return
        account = self.read(external_id)
        if account is not None:
            listed = [o for o in account.orders if o.order_id == order_id]
            self.report.check(
                len(listed) == 1 and listed[0].pending,
                f"{step.action}: pending order {_text(order_id)} is not listed as submitted or "
                "approved in the account")

    def _approved(self, external_id: str, step: Step) -> bool:
        order_id = str(step.params.get("order_id"))
        deadline = time.monotonic() + self.wait_seconds
        while True:
            account = self.read(external_id)
            order = next((o for o in account.orders if o.order_id == order_id),
                         None) if account else None
            if order is not None and order.state == "approved":
                return True
            if order is None or order.state != "submitted" or time.monotonic() > deadline:
                state = order.state if order else "missing"
                self.report.notes.append(f"order {_text(order_id)} is {state} after "
                                         f"{self.wait_seconds:g}s: confirm not checked; "
                                         "the probe is left on the account")
                return False
            self.sleep(1.0)

    def _one_effect(self, account: ActualAccount, steps: list[Step]) -> None:
        """The add phase, every step sent twice, made one user and one more licence."""
        probe = next(s for s in steps if s.action == "create_user")
        users = [u for u in account.users if u.extension == probe.user]
        self.report.check(len(users) == 1,
                          f"same Idempotency-Key twice: {len(users)} users at extension "
                          f"{probe.user} after one create_user, expected 1")
        for step in steps:
            if step.action == "order_licences" and step.licence:
                want = (step.after or {}).get("quantity")
                lic = account.licence(step.licence)
                got = lic.quantity if lic else 0
                self.report.check(got == want,
                                  f"same Idempotency-Key twice: {step.licence} quantity is "
                                  f"{got}, expected {want}")
        orders = [o for o in account.orders if o.pending]
        self.report.check(not orders, f"same Idempotency-Key twice: {len(orders)} change "
                                      "order(s) still pending after their confirm")

    def _conflict(self, external_id: str, probe: Step) -> None:
        path = f"{self.base}/{quote(external_id, safe='')}/steps"
        key = f"reconciler-check-conflict-{uuid.uuid4().hex[:12]}"
        rename = Step(id="s1", action="update_user", user=probe.user,
                      before={"name": (probe.after or {}).get("name")},
                      after={"name": "reconciler check renamed"})
        first = self.request("POST", path, "StepOutcome", body=wire.step_to_wire(rename),
                             key=key)
        other = replace(rename, after={"name": "reconciler check other"})
        got = self.request("POST", path, "StepOutcome", body=wire.step_to_wire(other), key=key)
        self.report.check(
            got.status == 409,
            f"POST {path}: the same Idempotency-Key with another body got HTTP {got.status} "
            f"(first answer HTTP {first.status}), expected 409")

    def _refusal(self, external_id: str, probe: Step, before: ActualAccount) -> None:
        """The probe's create_user once more, new key: the extension is taken."""
        path = f"{self.base}/{quote(external_id, safe='')}/steps"
        key = f"reconciler-check-refusal-{uuid.uuid4().hex[:12]}"
        got = self.request("POST", path, "StepOutcome", body=wire.step_to_wire(probe), key=key)
        self.report.check(
            400 <= got.status < 500 and got.status not in (401, 409, 429),
            f"POST {path}: creating extension {probe.user} again (new key) got HTTP "
            f"{got.status}, expected a permanent refusal (400, 403, 404 or 422)")
        account = self.read(external_id)
        if account is not None:
            count = sum(1 for u in account.users if u.extension == probe.user)
            self.report.check(count == 1, f"a refused create_user changed the account "
                                          f"({count} users at extension {probe.user})")


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, dict) and isinstance(b, dict) and all(
        a.get(k) == b.get(k) for k in ("status", "order_id"))


def _message(answer: Answer) -> str:
    if isinstance(answer.data, dict) and isinstance(answer.data.get("message"), str):
        return f"({_text(answer.data['message'])})"
    return ""

