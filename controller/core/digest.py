"""The digest of a task definition: one stable name for "the same content".

The controller tags every revision it registers with ``DIGEST_TAG`` = the digest of the
desired document, so equivalent manifests (reordered lists, defaults written out or left
out, "0.25 vCPU" or "256") give the same digest. Purely computational.
"""

from __future__ import annotations

import hashlib

from controller.core.model import JsonDict
from controller.core.normalize import DIGEST_TAG, canonical_json, normalize_task_definition

__all__ = ["DIGEST_TAG", "task_definition_digest"]


def task_definition_digest(task_definition: JsonDict) -> str:
    """``sha256:<hex>`` of the canonical JSON of the normalised task definition.

    The digest tag itself is not content, so a revision's digest does not depend on it.
    """
    text = canonical_json(normalize_task_definition(task_definition))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
