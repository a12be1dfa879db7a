"""The table ``ecs-gitops status`` prints: one row per service, what needs attention first.

Rows are built here (``status_rows``) from the config repository, the status files and, with
``--live``, what ECS says (and, with ``--lease-table``, which controller holds each service's
lease), for ``ecs-gitops status`` and the status page alike; this module
sorts them and formats them as text (columns cut to the terminal's width, ANSI colours only
when asked), markdown or JSON.

Purely computational: the clock (``now``), the width and whether to colour come in as arguments.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from controller.core.leases import LeaseRecord
from controller.core.model import DesiredService, RepoState
from controller.core.outcome import Result

NO_STATUS = "NoStatus"
"""The result column of a service in git that has no status file yet (never synced)."""

# What needs attention first: failures, then what cannot be known, then work under way (a
# deployment waiting for an approval before one that moves on its own), then what differs.
_ORDER = {
    str(Result.FAILED): 0,
    str(Result.ROLLED_BACK): 1,
    str(Result.INVALID): 2,
    str(Result.UNKNOWN): 3,
    "paused": 4,
    str(Result.PROGRESSING): 5,
    str(Result.OUT_OF_SYNC): 6,
    NO_STATUS: 7,
    str(Result.SYNCED): 8,
}
_FAILING = {str(Result.FAILED), str(Result.ROLLED_BACK), str(Result.INVALID)}
_COLOURS = {
    str(Result.FAILED): "31",  # red
    str(Result.ROLLED_BACK): "31",
    str(Result.INVALID): "31",
    str(Result.UNKNOWN): "35",  # magenta
    str(Result.PROGRESSING): "36",  # cyan
    str(Result.OUT_OF_SYNC): "33",  # yellow
    NO_STATUS: "33",
    str(Result.SYNCED): "32",  # green
}


@dataclass(frozen=True)
class LiveCounts:
    """What ECS says right now (``--live``)."""

    running: int | None = None
    desired: int | None = None
    # the deployment in flight: rolloutState, or for strategy ecs the service deployment's
    # status and lifecycle stage; "absent" when the service does not exist
    deployment: str = ""
    error: str = ""  # why ECS could not be read for this service


@dataclass(frozen=True)
class StatusRow:
    env: str
    service: str
    result: str  # a Result's value, or NO_STATUS
    message: str = ""
    phase: str | None = None
    commit: str | None = None  # the full sha the status is about
    image: str | None = None  # the image git asks for
    updated_at: str | None = None  # RFC 3339, from the status file
    live: LiveCounts | None = None
    # with --lease-table: the lease of the service's unit (its environment, or the service
    # itself with --shard-by service); None when the table has none for it
    lease: LeaseRecord | None = None

    @property
    def key(self) -> str:
        return f"{self.env}/{self.service}"

    @property
    def needs_attention(self) -> bool:
        """Failed, RolledBack or Invalid: what makes ``status`` exit 1."""
        return self.result in _FAILING


class RecordedStatus(Protocol):
    """What a row reads of a status file (``controller.status.records.ServiceStatus``)."""

    @property
    def result(self) -> Result: ...
    @property
    def commit(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def updatedAt(self) -> str: ...  # camelCase: the status file's key
    @property
    def phase(self) -> str | None: ...


def selected_keys(state: RepoState, recorded: Collection[str], *, only: str | None) -> list[str]:
    """Services in git, and those whose folder is gone but whose status file (``recorded``,
    service keys) is still there, within an ``--only ENV[/SERVICE]`` selection."""
    keys = set(state.select(only))
    for key in recorded:
        env = key.split("/", 1)[0]
        if not only or only.strip("/") in (key, env):
            keys.add(key)
    return sorted(keys)


def status_rows(
    state: RepoState,
    statuses: Mapping[str, RecordedStatus],
    *,
    only: str | None,
    live: Mapping[str, LiveCounts] | None = None,
    leases: Mapping[str, LeaseRecord] | None = None,
) -> list[StatusRow]:
    """One row per selected service (``selected_keys``), in key order; ``leases`` by unit."""
    found = live or {}
    return [
        replace(
            service_row(key, state=state, status=statuses.get(key), live=found.get(key)),
            lease=lease_of(key, leases or {}),
        )
        for key in selected_keys(state, statuses.keys(), only=only)
    ]


def lease_of(key: str, leases: Mapping[str, LeaseRecord]) -> LeaseRecord | None:
    """The lease covering service ``key``: its own (``--shard-by service``), else its
    environment's. The table says which: no need to know how the controllers shard."""
    return leases.get(key) or leases.get(key.split("/", 1)[0])


def lease_text(lease: LeaseRecord | None, *, now: datetime) -> str:
    """``HOLDER (token 7, expires in 25s)``; ``released`` or ``expired 3s ago`` once not held."""
    if lease is None or lease.holder is None:
        return "-"
    if lease.expires_at_ms == 0:
        return f"{lease.holder} (token {lease.token}, released)"
    left = lease.expires_at_ms // 1000 - int(now.timestamp())
    when = f"expires in {left}s" if left >= 0 else f"expired {-left}s ago"
    return f"{lease.holder} (token {lease.token}, {when})"


def lease_json(lease: LeaseRecord | None) -> dict[str, Any] | None:
    """``{holder, token, expiresAt}`` (RFC 3339, UTC), or None when the unit has no lease."""
    if lease is None or lease.holder is None:
        return None
    expires = datetime.fromtimestamp(lease.expires_at_ms / 1000, tz=UTC)
    return {
        "holder": lease.holder,
        "token": lease.token,
        "expiresAt": expires.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def service_row(
    key: str, *, state: RepoState, status: RecordedStatus | None, live: LiveCounts | None
) -> StatusRow:
    """The row of service ``key``: invalid in git, its status file's word, or no status yet."""
    env, service = key.split("/", 1)
    desired = state.services.get(key)
    row = StatusRow(
        env=env,
        service=service,
        result=NO_STATUS,
        message="no status file yet",
        commit=status.commit if status else None,
        updated_at=status.updatedAt if status else None,
        image=desired_image(desired) if desired else None,
        live=live,
    )
    problems = state.invalid.get(key)
    if problems is not None:
        first = str(problems[0]) if problems else "invalid"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return replace(row, result=str(Result.INVALID), message=first + more)
    if status is None:
        return row
    message = status.message if desired else f"not in git any more: {status.message}"
    return replace(row, result=str(status.result), phase=status.phase, message=message)


def desired_image(desired: DesiredService) -> str | None:
    """The image git asks for: deploy.yaml's, else the first container's."""
    if desired.deploy.image:
        return desired.deploy.image
    for container in desired.task_definition.get("containerDefinitions") or ():
        if isinstance(container, dict) and container.get("image"):
            return str(container["image"])
    return None


def sort_rows(rows: Sequence[StatusRow]) -> list[StatusRow]:
    """What needs attention first, then by environment and service."""

    def rank(row: StatusRow) -> tuple[int, str, str]:
        kind = (
            "paused"
            if row.result == str(Result.PROGRESSING) and row.phase == "paused"
            else row.result
        )
        return (_ORDER.get(kind, len(_ORDER)), row.env, row.service)

    return sorted(rows, key=rank)


def image_tag(image: str | None) -> str | None:
    """The tag of an image reference (``nginx:1.27`` -> ``1.27``), or a short digest."""
    if not image:
        return None
    if "@" in image:
        digest = image.rsplit("@", 1)[1]
        algorithm, _, value = digest.partition(":")
        return f"{algorithm}:{value[:12]}" if value else digest
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else "latest"


def age(updated_at: str | None, *, now: datetime) -> str:
    """How long ago, in the largest whole unit: ``45s``, ``12m``, ``3h``, ``9d``."""
    seconds = age_seconds(updated_at, now=now)
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def age_seconds(updated_at: str | None, *, now: datetime) -> int | None:
    if not updated_at:
        return None
    try:
        then = datetime.fromisoformat(updated_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if then.tzinfo is None or now.tzinfo is None:
        return None
    return max(0, int((now - then).total_seconds()))


def exit_code(rows: Sequence[StatusRow]) -> int:
    """1 when any service is Failed, RolledBack or Invalid (a CI job gates on it), else 0."""
    return 1 if any(row.needs_attention for row in rows) else 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cells(row: StatusRow, *, now: datetime, live: bool, leases: bool = False) -> list[str]:
    cells = [
        row.env,
        row.service,
        row.result,
        row.phase or "-",
        (row.commit or "")[:7] or "-",
        image_tag(row.image) or "-",
        age(row.updated_at, now=now),
    ]
    if live:
        counts = row.live or LiveCounts()
        if counts.error:
            cells += ["?", "unreadable"]
        else:
            shown = (
                f"{counts.running}/{counts.desired}"
                if counts.running is not None and counts.desired is not None
                else "-"
            )
            cells += [shown, counts.deployment or "-"]
    if leases:
        cells.append(lease_text(row.lease, now=now))
    return cells


def _message(row: StatusRow) -> str:
    text = row.message
    if row.live is not None and row.live.error:
        text = f"{text} (live: {row.live.error})" if text else f"live: {row.live.error}"
    return _one_line(text)


def format_text(
    rows: Sequence[StatusRow],
    *,
    now: datetime,
    width: int | None = None,
    colour: bool = False,
    live: bool = False,
    leases: bool = False,
) -> str:
    """An aligned table; each line cut to ``width`` characters (the message gives way first).

    ``leases``: a HOLDER column (``--lease-table``), the lease of each service's unit."""
    header = ["ENV", "SERVICE", "RESULT", "PHASE", "COMMIT", "IMAGE", "AGE"]
    if live:
        header += ["RUNNING", "DEPLOYMENT"]
    if leases:
        header.append("HOLDER")
    header.append("MESSAGE")
    table = [
        [*_cells(row, now=now, live=live, leases=leases), _message(row)] for row in sort_rows(rows)
    ]
    widths = [max(len(line[i]) for line in [header, *table]) for i in range(len(header) - 1)]
    lines = []
    for index, line in enumerate([header, *table]):
        fixed = "  ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=False))
        text = f"{fixed}  {line[-1]}".rstrip()
        if width is not None and len(text) > width:
            text = text[: max(width - 1, 0)] + "…"
        if colour and index > 0:
            text = _coloured(text, result=line[2], start=sum(widths[:2]) + 4)
        lines.append(text)
    lines.append(summary(rows))
    return "\n".join(lines) + "\n"


def _coloured(text: str, *, result: str, start: int) -> str:
    """The line with its result cell coloured (the cell starts at ``start``)."""
    code = _COLOURS.get(result)
    end = start + len(result)
    if code is None or text[start:end] != result:
        return text
    return f"{text[:start]}\x1b[{code}m{result}\x1b[0m{text[end:]}"


def summary(rows: Sequence[StatusRow]) -> str:
    """``3 services: 1 RolledBack, 2 Synced`` in the table's order of attention."""
    counts = counts_of(rows)
    noun = "service" if len(rows) == 1 else "services"
    parts = ", ".join(f"{n} {result}" for result, n in counts.items())
    return f"{len(rows)} {noun}: {parts}" if parts else f"0 {noun}"


def format_markdown(
    rows: Sequence[StatusRow], *, now: datetime, live: bool = False, leases: bool = False
) -> str:
    header = ["Env", "Service", "Result", "Phase", "Commit", "Image", "Age"]
    if live:
        header += ["Running", "Deployment"]
    if leases:
        header.append("Holder")
    header.append("Message")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in sort_rows(rows):
        cells = [*_cells(row, now=now, live=live, leases=leases), _message(row)]
        cells[2] = f"**{cells[2]}**" if row.needs_attention else cells[2]
        lines.append("| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + f"\n\n{summary(rows)}\n"


def _markdown_cell(text: str) -> str:
    # a pipe would end the cell, and HTML in a message must stay text in a rendered comment
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("`", "\\`")
    )


def as_json(rows: Sequence[StatusRow], *, now: datetime, leases: bool = False) -> dict[str, Any]:
    """The rows as one JSON document: ``services`` in the table's order, ``summary`` counts;
    with ``leases``, each service's ``lease`` (``{holder, token, expiresAt}`` or null)."""
    services = []
    for row in sort_rows(rows):
        entry: dict[str, Any] = {
            "env": row.env,
            "service": row.service,
            "result": row.result,
            "phase": row.phase,
            "commit": row.commit,
            "image": row.image,
            "imageTag": image_tag(row.image),
            "updatedAt": row.updated_at,
            "ageSeconds": age_seconds(row.updated_at, now=now),
            "message": row.message,
        }
        if row.live is not None:
            entry["live"] = {
                "running": row.live.running,
                "desired": row.live.desired,
                "deployment": row.live.deployment or None,
                **({"error": row.live.error} if row.live.error else {}),
            }
        if leases:
            entry["lease"] = lease_json(row.lease)
        services.append(entry)
    return {
        "services": services,
        "summary": counts_of(rows),
        "needsAttention": any(row.needs_attention for row in rows),
    }


def format_json(rows: Sequence[StatusRow], *, now: datetime, leases: bool = False) -> str:
    return json.dumps(as_json(rows, now=now, leases=leases), indent=2) + "\n"


def counts_of(rows: Sequence[StatusRow]) -> dict[str, int]:
    """How many services have each result, in the table's order of attention."""
    counts: dict[str, int] = {}
    for row in sort_rows(rows):
        counts[row.result] = counts.get(row.result, 0) + 1
    return counts
