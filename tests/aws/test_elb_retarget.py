"""A blue-green swap changes only where a listener or rule forwards, never its other actions."""

from __future__ import annotations

from controller.aws.elb import retarget

NEW = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2"
OLD = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1"
AUTHENTICATE = {
    "Type": "authenticate-cognito",
    "Order": 1,
    "AuthenticateCognitoConfig": {
        "UserPoolArn": "arn:pool",
        "UserPoolClientId": "c",
        "UserPoolDomain": "d",
    },
}


def test_an_authenticating_rule_keeps_authenticating_after_the_swap() -> None:
    actions = [{"Type": "forward", "Order": 2, "TargetGroupArn": OLD}, AUTHENTICATE]
    assert retarget(actions, NEW) == [
        AUTHENTICATE,
        {"Type": "forward", "Order": 2, "TargetGroupArn": NEW},
    ]


def test_a_weighted_forward_becomes_a_forward_to_the_new_group() -> None:
    weighted = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": OLD, "Weight": 90},
                {"TargetGroupArn": NEW, "Weight": 10},
            ]
        },
    }
    assert retarget([weighted], NEW) == [{"Type": "forward", "TargetGroupArn": NEW}]


def test_a_fixed_response_is_replaced_by_the_forward() -> None:
    fixed = {"Type": "fixed-response", "Order": 2, "FixedResponseConfig": {"StatusCode": "404"}}
    assert retarget([AUTHENTICATE, fixed], NEW) == [
        AUTHENTICATE,
        {"Type": "forward", "TargetGroupArn": NEW},
    ]
