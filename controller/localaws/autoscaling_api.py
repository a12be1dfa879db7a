"""moto handlers for Application Auto Scaling's paginated reads, paged as AWS pages them.

moto's DescribeScalableTargets answers every page after the first with the same NextToken, so
a paginated read of more than 100 targets never ends (botocore stops it: the same token twice),
and its DescribeScalingPolicies pages by 100 and matches ResourceId as a substring. Here both
keep moto's records and filters and page as the API reference says: DescribeScalableTargets
"MaxResults ... between 1 and 50. The default value is 50", DescribeScalingPolicies "between 1
and 10. The default value is 10"; NextToken is opaque to the caller. ``replacements`` gives
them as the methods they replace; ``controller.localaws.install`` puts them into moto. No I/O:
moto's in-memory backend only.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from moto.applicationautoscaling import responses as moto_responses
from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.core.exceptions import JsonRESTError

MAX_TARGETS = 50
MAX_POLICIES = 10


class _InvalidNextToken(JsonRESTError):
    def __init__(self) -> None:
        super().__init__("InvalidNextTokenException", "The NextToken value is invalid.")


def _token(index: int) -> str:
    """An opaque NextToken for the page starting at ``index``."""
    return base64.urlsafe_b64encode(json.dumps({"from": index}).encode()).decode()


def _start(token: str | None) -> int:
    if not token:
        return 0
    try:
        start = json.loads(base64.urlsafe_b64decode(token.encode()))["from"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise _InvalidNextToken() from None
    if not isinstance(start, int) or start < 0:
        raise _InvalidNextToken()
    return start


def _page(
    request: ApplicationAutoScalingResponse, items: Sequence[Any], *, most: int
) -> tuple[Sequence[Any], str | None]:
    """The page the request's NextToken and MaxResults ask for, and the next page's token."""
    size = request._get_int_param("MaxResults") or most
    if not 1 <= size <= most:
        raise AWSValidationException(
            f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value less than or equal to {most}"
        )
    start = _start(request._get_param("NextToken"))
    end = start + size
    return items[start:end], (_token(end) if end < len(items) else None)


def describe_scalable_targets(request: ApplicationAutoScalingResponse) -> str:
    request._validate_params()
    targets = request.applicationautoscaling_backend.describe_scalable_targets(
        request._get_param("ServiceNamespace"),
        request._get_param("ResourceIds"),
        request._get_param("ScalableDimension"),
    )
    page, token = _page(request, targets, most=MAX_TARGETS)
    answer: dict[str, Any] = {"ScalableTargets": [moto_responses._build_target(t) for t in page]}
    if token is not None:
        answer["NextToken"] = token
    return json.dumps(answer)


def describe_scaling_policies(request: ApplicationAutoScalingResponse) -> str:
    namespace = request._get_param("ServiceNamespace")
    resource_id = request._get_param("ResourceId")
    dimension = request._get_param("ScalableDimension")
    names = request._get_param("PolicyNames")
    policies = [
        p
        for p in request.applicationautoscaling_backend.policies.values()
        if p.service_namespace == namespace
        and (not resource_id or p.resource_id == resource_id)
        and (not dimension or p.scalable_dimension == dimension)
        and (not names or p.policy_name in names)
    ]
    page, token = _page(request, policies, most=MAX_POLICIES)
    answer: dict[str, Any] = {"ScalingPolicies": [moto_responses._build_policy(p) for p in page]}
    if token is not None:
        answer["NextToken"] = token
    return json.dumps(answer)


def replacements() -> dict[tuple[type, str], Any]:
    """What to set on moto's classes, by (class, attribute name)."""
    return {
        (ApplicationAutoScalingResponse, "describe_scalable_targets"): describe_scalable_targets,
        (ApplicationAutoScalingResponse, "describe_scaling_policies"): describe_scaling_policies,
    }
