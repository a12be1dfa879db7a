"""What a pass asks of the leases of several controllers sharing one repository.

``run --lease-table`` gives the pass a ``LeaseGuard`` (``controller.service.leases``
implements it): the pass looks only at the services whose unit this controller holds, each
rollout's stop event also fires when that lease is lost or runs out, AWS writes made for a
service are refused once its lease is no longer valid, and the rollout record goes where the
next holder reads it. Without leases (``sync``, a single ``run``) none of this exists. No I/O
here: a protocol only.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from controller.status.journal import SharedJournal


class LeaseGuard(Protocol):
    """The leases of one controller, as a pass and its rollouts use them."""

    @property
    def journal(self) -> SharedJournal:
        """Where rollout records are kept for whichever controller holds their unit next."""
        ...

    def offer(self, keys: Sequence[str]) -> None:
        """Every service key of the repository at this pass (the units to share out)."""
        ...

    def holds(self, key: str) -> bool:
        """Whether this controller may act on ``key`` now (its unit's lease is valid)."""
        ...

    def stop_for(self, key: str, stop: threading.Event) -> threading.Event:
        """An event set when ``stop`` is, or when the lease of ``key``'s unit is lost or ends;
        then its ``reason`` says which (a paused rollout's message names it)."""
        ...

    def admit(self, changes: Mapping[str, str | None]) -> tuple[dict[str, str | None], list[str]]:
        """The status changes whose units' leases are still this controller's (checked in
        the table), and the commit's trailer lines naming their tokens (``StatusFence``)."""
        ...

    def acting(self, key: str, clients: Any) -> AbstractContextManager[None]:
        """While inside, every AWS write this thread sends through ``clients`` (an
        ``AwsClients``) is refused unless ``key``'s lease is valid."""
        ...
