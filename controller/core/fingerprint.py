"""The fingerprint of a service's whole desired state, as rendered from one commit.

A rollback marker remembers the fingerprint of the state that failed, so the controller
does not try that same state again; any change to the rendered requests (a fix, a revert)
gives a new fingerprint. Purely computational.
"""

from __future__ import annotations

import hashlib
import json

from controller.core.model import DesiredService


def desired_state_fingerprint(desired: DesiredService) -> str:
    """``sha256:<hex>`` over every request the service renders to, and its deploy.yaml."""
    document = {
        "deploy": dict(desired.deploy.raw),
        "taskDefinition": desired.task_definition,
        "service": desired.service,
        "scalableTarget": desired.scalable_target,
        "scalingPolicies": list(desired.scaling_policies),
        "runTask": desired.run_task,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
