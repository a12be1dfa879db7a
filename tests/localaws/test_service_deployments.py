"""local-aws answers the service deployments API for rolling deployments, observed through boto3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.localaws.support import Network, describe, register, steady, wait_for

BREAKER = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}


def _create(
    ecs: Any, cluster: str, network: Network, *, desired: int = 2, **extra: Any
) -> dict[str, Any]:
    service: dict[str, Any] = ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=register(ecs, "web", "registry.example/web:1"),
        desiredCount=desired,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        **extra,
    )["service"]
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="the first rollout complete")
    return service


def _deployments(ecs: Any, cluster: str, **filters: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ecs.list_service_deployments(
        cluster=cluster, service="web", **filters
    )["serviceDeployments"]
    return found


def _deployment(ecs: Any, arn: str) -> dict[str, Any]:
    [found] = ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    return dict(found)


def _newest(ecs: Any, cluster: str) -> dict[str, Any]:
    return _deployment(ecs, _deployments(ecs, cluster)[0]["serviceDeploymentArn"])


def test_create_service_records_a_deployment_that_ends_successful(
    ecs: Any, cluster: str, network: Network
) -> None:
    created = _create(ecs, cluster, network)

    [brief] = _deployments(ecs, cluster)
    arn = brief["serviceDeploymentArn"]
    assert arn.startswith("arn:aws:ecs:") and ":service-deployment/staging/web/" in arn
    assert brief["serviceArn"] == created["serviceArn"]
    assert brief["status"] == "SUCCESSFUL"
    assert (
        brief["targetServiceRevisionArn"].split(":")[-1].startswith("service-revision/staging/web/")
    )
    deployment = _deployment(ecs, arn)
    assert deployment["status"] == "SUCCESSFUL"
    assert deployment["createdAt"] <= deployment["startedAt"] <= deployment["finishedAt"]
    assert deployment["sourceServiceRevisions"] == []
    assert deployment["targetServiceRevision"] == {
        "arn": brief["targetServiceRevisionArn"],
        "requestedTaskCount": 2,
        "runningTaskCount": 2,
        "pendingTaskCount": 0,
    }
    assert deployment["deploymentCircuitBreaker"]["status"] == "DISABLED"
    assert deployment["deploymentConfiguration"]["maximumPercent"] == 200


def test_rolling_update_goes_in_progress_then_successful_from_the_old_revision(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network)
    [first] = _deployments(ecs, cluster)
    v2 = register(ecs, "web", "registry.example/web:2")

    ecs.update_service(cluster=cluster, service="web", taskDefinition=v2)

    started = _newest(ecs, cluster)
    assert started["serviceDeploymentArn"] != first["serviceDeploymentArn"]
    assert started["status"] in ("PENDING", "IN_PROGRESS")
    assert [r["arn"] for r in started["sourceServiceRevisions"]] == [
        first["targetServiceRevisionArn"]
    ]
    done = wait_for(
        lambda: _deployment(ecs, started["serviceDeploymentArn"]),
        lambda d: d["status"] == "SUCCESSFUL",
        what="the v2 deployment SUCCESSFUL",
    )
    assert done["targetServiceRevision"]["runningTaskCount"] == 2
    assert done["sourceServiceRevisions"][0]["runningTaskCount"] == 0
    [revision] = ecs.describe_service_revisions(
        serviceRevisionArns=[done["targetServiceRevision"]["arn"]]
    )["serviceRevisions"]
    assert revision["taskDefinition"] == v2
    # the first deployment ended before, and stays SUCCESSFUL
    assert _deployment(ecs, first["serviceDeploymentArn"])["status"] == "SUCCESSFUL"


def test_in_progress_deployment_is_observed(ecs: Any, cluster: str, network: Network) -> None:
    _create(ecs, cluster, network)
    ecs.update_service(
        cluster=cluster,
        service="web",
        taskDefinition=register(ecs, "web", "registry.example/web:stuck"),
    )

    seen = wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: (
            d["status"] == "IN_PROGRESS" and d["targetServiceRevision"]["pendingTaskCount"] > 0
        ),
        what="the stuck deployment IN_PROGRESS with pending tasks",
    )
    assert seen["targetServiceRevision"]["requestedTaskCount"] == 2
    assert seen["sourceServiceRevisions"][0]["runningTaskCount"] == 2
    assert "finishedAt" not in seen


def test_describe_service_revisions_reports_what_the_revision_runs(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network)
    [brief] = _deployments(ecs, cluster)

    [revision] = ecs.describe_service_revisions(
        serviceRevisionArns=[brief["targetServiceRevisionArn"]]
    )["serviceRevisions"]

    service = describe(ecs, cluster, "web")
    assert revision["serviceRevisionArn"] == brief["targetServiceRevisionArn"]
    assert revision["serviceArn"] == service["serviceArn"]
    assert revision["clusterArn"] == service["clusterArn"]
    assert revision["taskDefinition"] == service["taskDefinition"]
    assert revision["launchType"] == "FARGATE"
    assert revision["platformVersion"] == "LATEST"
    assert revision["networkConfiguration"] == service["networkConfiguration"]
    [image] = revision["containerImages"]
    assert image["containerName"] == "app" and image["image"] == "registry.example/web:1"
    assert image["imageDigest"].startswith("sha256:")
    assert revision["createdAt"]


def test_describe_services_shows_the_current_deployment_and_revisions(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network)
    [brief] = _deployments(ecs, cluster)

    service = describe(ecs, cluster, "web")

    assert service["currentServiceDeployment"] == brief["serviceDeploymentArn"]
    assert service["currentServiceRevisions"] == [
        {
            "arn": brief["targetServiceRevisionArn"],
            "requestedTaskCount": 2,
            "runningTaskCount": 2,
            "pendingTaskCount": 0,
        }
    ]


def test_circuit_breaker_rolls_the_deployment_back(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network, deploymentConfiguration=BREAKER)
    [first] = _deployments(ecs, cluster)
    broken = register(ecs, "web", "registry.example/web:broken")

    ecs.update_service(cluster=cluster, service="web", taskDefinition=broken)

    arn = _deployments(ecs, cluster)[0]["serviceDeploymentArn"]
    rolling_back = wait_for(
        lambda: _deployment(ecs, arn),
        lambda d: d["status"] in ("ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"),
        what="the broken deployment rolling back",
    )
    assert rolling_back["rollback"]["serviceRevisionArn"] == first["targetServiceRevisionArn"]
    assert "circuit breaker" in rolling_back["rollback"]["reason"]
    assert rolling_back["rollback"]["startedAt"]
    done = wait_for(
        lambda: _deployment(ecs, arn),
        lambda d: d["status"] == "ROLLBACK_SUCCESSFUL",
        what="the rollback SUCCESSFUL",
    )
    breaker = done["deploymentCircuitBreaker"]
    assert breaker["status"] == "TRIGGERED"
    assert breaker["threshold"] == 3 and breaker["failureCount"] >= 3
    assert describe(ecs, cluster, "web")["taskDefinition"] != broken
    # the rollback is the same service deployment, not a new one
    assert len(_deployments(ecs, cluster)) == 2


def test_circuit_breaker_without_rollback_stops_the_deployment(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(
        ecs,
        cluster,
        network,
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": False}},
    )
    ecs.update_service(
        cluster=cluster,
        service="web",
        taskDefinition=register(ecs, "web", "registry.example/web:broken"),
    )

    done = wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "STOPPED",
        what="the broken deployment STOPPED",
    )
    assert done["statusReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert "rollback" not in done


def test_stop_service_deployment_rollback_returns_to_the_previous_revision(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network)
    [first] = _deployments(ecs, cluster)
    v1 = describe(ecs, cluster, "web")["taskDefinition"]
    ecs.update_service(
        cluster=cluster,
        service="web",
        taskDefinition=register(ecs, "web", "registry.example/web:stuck"),
    )
    arn = _deployments(ecs, cluster)[0]["serviceDeploymentArn"]

    answer = ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")

    assert answer["serviceDeploymentArn"] == arn
    assert _deployment(ecs, arn)["status"] == "ROLLBACK_IN_PROGRESS"
    done = wait_for(
        lambda: _deployment(ecs, arn),
        lambda d: d["status"] == "ROLLBACK_SUCCESSFUL",
        what="the stopped deployment ROLLBACK_SUCCESSFUL",
    )
    assert done["rollback"]["serviceRevisionArn"] == first["targetServiceRevisionArn"]
    service = wait_for(lambda: describe(ecs, cluster, "web"), steady, what="v1 steady again")
    assert service["taskDefinition"] == v1
    assert service["deployments"][0]["taskDefinition"] == v1


def test_stop_service_deployment_abort_stops_it_where_it_is(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network)
    ecs.update_service(
        cluster=cluster,
        service="web",
        taskDefinition=register(ecs, "web", "registry.example/web:stuck"),
    )
    arn = _deployments(ecs, cluster)[0]["serviceDeploymentArn"]

    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")

    stopped = _deployment(ecs, arn)
    assert stopped["status"] == "STOPPED"
    assert stopped["statusReason"] and stopped["stoppedAt"]
    assert "rollback" not in stopped


def test_stop_of_a_finished_deployment_is_a_conflict(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network)
    [first] = _deployments(ecs, cluster)

    with pytest.raises(ClientError) as refused:
        ecs.stop_service_deployment(
            serviceDeploymentArn=first["serviceDeploymentArn"], stopType="ROLLBACK"
        )

    assert refused.value.response["Error"]["Code"] == "ConflictException"


def test_unknown_arns_answer_as_ecs_does(ecs: Any, cluster: str, network: Network) -> None:
    created = _create(ecs, cluster, network)
    unknown = created["serviceArn"].replace(":service/", ":service-deployment/") + "/nope"

    described = ecs.describe_service_deployments(serviceDeploymentArns=[unknown])
    revisions = ecs.describe_service_revisions(
        serviceRevisionArns=[unknown.replace("service-deployment", "service-revision")]
    )
    with pytest.raises(ClientError) as refused:
        ecs.stop_service_deployment(serviceDeploymentArn=unknown, stopType="ROLLBACK")

    assert described["serviceDeployments"] == []
    assert described["failures"] == [{"arn": unknown, "reason": "MISSING"}]
    assert revisions["failures"][0]["reason"] == "MISSING"
    assert refused.value.response["Error"]["Code"] == "ServiceDeploymentNotFoundException"
    with pytest.raises(ClientError) as missing:
        ecs.list_service_deployments(cluster=cluster, service="nope")
    assert missing.value.response["Error"]["Code"] == "ServiceNotFoundException"


def test_list_filters_by_status_and_created_at_and_pages(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network, desired=1)
    for _ in range(2):
        ecs.update_service(cluster=cluster, service="web", forceNewDeployment=True)
        wait_for(
            lambda: _newest(ecs, cluster),
            lambda d: d["status"] == "SUCCESSFUL",
            what="the forced deployment SUCCESSFUL",
        )
    every = _deployments(ecs, cluster)
    assert len(every) == 3
    created = [d["createdAt"] for d in every]
    assert created == sorted(created, reverse=True)  # newest first

    first_page = ecs.list_service_deployments(cluster=cluster, service="web", maxResults=2)
    second_page = ecs.list_service_deployments(
        cluster=cluster, service="web", maxResults=2, nextToken=first_page["nextToken"]
    )
    paged = first_page["serviceDeployments"] + second_page["serviceDeployments"]
    assert [d["serviceDeploymentArn"] for d in paged] == [d["serviceDeploymentArn"] for d in every]
    assert "nextToken" not in second_page
    assert _deployments(ecs, cluster, status=["STOPPED"]) == []
    assert len(_deployments(ecs, cluster, status=["SUCCESSFUL"])) == 3
    future = datetime.now(UTC) + timedelta(hours=1)
    assert _deployments(ecs, cluster, createdAt={"after": future}) == []
    assert len(_deployments(ecs, cluster, createdAt={"before": future})) == 3


def test_a_newer_deployment_stops_the_unfinished_one(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network)
    ecs.update_service(
        cluster=cluster,
        service="web",
        taskDefinition=register(ecs, "web", "registry.example/web:stuck"),
    )
    stuck = _deployments(ecs, cluster)[0]["serviceDeploymentArn"]

    ecs.update_service(
        cluster=cluster,
        service="web",
        taskDefinition=register(ecs, "web", "registry.example/web:3"),
    )

    superseded = _deployment(ecs, stuck)
    assert superseded["status"] == "STOPPED"
    newest = _deployments(ecs, cluster)[0]["serviceDeploymentArn"]
    assert newest in superseded["statusReason"]
    wait_for(
        lambda: _deployment(ecs, newest),
        lambda d: d["status"] == "SUCCESSFUL",
        what="the v3 deployment SUCCESSFUL",
    )
