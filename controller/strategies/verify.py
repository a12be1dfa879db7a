"""Verification between steps: CloudWatch alarms and http probes, watched over a window.

deploy.yaml ``verify:`` runs after the new version is up and before it is promoted or declared
Synced, in every strategy. It is a phase of the rollout's state machine, not a sleep: each
``verify_step`` makes one observation (DescribeAlarms, one GET per probe with a short timeout)
and the phase ends when the window has passed with every check good, or at the first failing
observation. Does I/O: CloudWatch through ``AlarmsApi``, http through urllib.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from controller.aws.cloudwatch import AlarmsApi
from controller.core.expressions import Scope, resolve
from controller.core.model import DesiredService
from controller.core.render import duration_seconds
from controller.strategies.base import Progress, RolloutContext

# A window long enough for an alarm on one-minute metrics to notice the new version.
DEFAULT_WINDOW_SECONDS = 60.0
# One probe must not hold the rollout up: a slow answer counts as no answer.
HTTP_TIMEOUT_SECONDS = 5.0
# The window's end is kept in the progress record (``RolloutState.verify_until``), so that a
# resumed rollout keeps its window.


@dataclass(frozen=True)
class HttpProbe:
    """One ``verify.http`` entry, its url resolved (``problem`` set when it could not be)."""

    url: str
    expect_status: int = 200
    problem: str | None = None


@dataclass(frozen=True)
class VerifySpec:
    """deploy.yaml ``verify``, read."""

    alarms: tuple[str, ...] = ()
    http: tuple[HttpProbe, ...] = ()
    window_seconds: float = DEFAULT_WINDOW_SECONDS

    @property
    def has_checks(self) -> bool:
        return bool(self.alarms or self.http)

    def describe(self) -> str:
        parts = []
        if self.alarms:
            parts.append(f"{len(self.alarms)} alarm{'s' if len(self.alarms) > 1 else ''}")
        if self.http:
            parts.append(f"{len(self.http)} http probe{'s' if len(self.http) > 1 else ''}")
        return " and ".join(parts)


def verify_spec(desired: DesiredService) -> VerifySpec:
    """Read ``verify`` from deploy.yaml, resolving ``${variables}`` in the probe urls."""
    block = desired.deploy.block("verify")
    scope = Scope(
        variables={**desired.env.variables, **desired.deploy.variables},
        image=desired.deploy.image,
    )
    probes: list[HttpProbe] = []
    for index, entry in enumerate(block.get("http") or ()):
        if not isinstance(entry, Mapping):
            continue  # the schema has already rejected it
        resolution = resolve(str(entry.get("url", "")), scope)
        problem = "; ".join(message for _, message in resolution.problems) or None
        probes.append(
            HttpProbe(
                url=str(resolution.value),
                expect_status=int(entry.get("expectStatus", 200)),
                problem=f"verify.http[{index}].url: {problem}" if problem else None,
            )
        )
    duration = block.get("duration")
    seconds = duration_seconds(duration) if isinstance(duration, str) else None
    return VerifySpec(
        alarms=tuple(str(a) for a in block.get("alarms") or ()),
        http=tuple(probes),
        window_seconds=DEFAULT_WINDOW_SECONDS if seconds is None else seconds,
    )


class Verdict(StrEnum):
    RUNNING = "running"  # every check good so far; the window is still open
    PASSED = "passed"  # the window has passed with every check good (or there are no checks)
    FAILED = "failed"  # one observation failed: ``message`` names the check


@dataclass(frozen=True)
class Verification:
    verdict: Verdict
    message: str


# GET url -> (status, None), or (None, why there was no answer)
Fetch = Callable[[str], tuple[int | None, str | None]]


def verify_step(
    ctx: RolloutContext, progress: Progress, *, fetch: Fetch | None = None
) -> Verification:
    """One observation of the verify window; the window opens at the first call."""
    spec = verify_spec(ctx.desired)
    if not spec.has_checks:
        return Verification(Verdict.PASSED, "nothing to verify")
    now = ctx.clock()
    state = progress.extra
    if state.verify_until is None:
        state.verify_until = now + spec.window_seconds
        ctx.report(f"verifying {spec.describe()} for {spec.window_seconds:g}s")
    failure = _first_failure(ctx, spec, fetch or http_get)
    if failure is not None:
        state.verify_until = None
        ctx.report(f"verification failed: {failure}")
        return Verification(Verdict.FAILED, failure)
    if now >= state.verify_until:
        state.verify_until = None
        message = f"verified {spec.describe()} for {spec.window_seconds:g}s"
        ctx.report(message)
        return Verification(Verdict.PASSED, message)
    return Verification(Verdict.RUNNING, "verifying")


def _first_failure(ctx: RolloutContext, spec: VerifySpec, fetch: Fetch) -> str | None:
    """The first failing check of one observation, described for the status and marker."""
    if spec.alarms:
        states = AlarmsApi.for_environment(ctx.desired.env).alarm_states(spec.alarms)
        for name in spec.alarms:
            alarm = states.get(name)
            if alarm is None:
                # a misspelt alarm would otherwise pass every verification unnoticed
                return f"alarm {name} does not exist"
            if alarm.state == "ALARM":
                reason = f" ({alarm.reason})" if alarm.reason else ""
                return f"alarm {name} is in ALARM{reason}"
    for probe in spec.http:
        if probe.problem is not None:
            return probe.problem
        status, error = fetch(probe.url)
        shown = shown_url(probe.url)
        if status is None:
            return f"http {shown} did not answer: {error}"
        if status != probe.expect_status:
            return f"http {shown} answered {status}, expected {probe.expect_status}"
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # a probe checks the very answer of its url: expectStatus 302 must be able to see a 302
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def http_get(url: str) -> tuple[int | None, str | None]:
    """GET ``url`` once: (status, None), or (None, why there was no answer)."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        return None, "only http and https urls can be probed"
    request = urllib.request.Request(url, headers={"User-Agent": "ecs-gitops-verify"})
    try:
        with _OPENER.open(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return int(response.status), None
    except urllib.error.HTTPError as e:
        return int(e.code), None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        return None, str(reason)


def shown_url(url: str) -> str:
    """The url without user:password@, which must never reach a log or a status file."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=host))
