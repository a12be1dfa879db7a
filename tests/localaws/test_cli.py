"""``ecs-gitops local-aws`` as a user runs it: a subprocess that prints its endpoint and stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import boto3


def test_local_aws_serves_until_sigterm() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller",
            "local-aws",
            "--port",
            "0",
            "--fail-image",
            "*:broken",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("local-aws listening on http://127.0.0.1:"), line
        endpoint = line.rsplit(" ", 1)[1]
        ecs = boto3.client(
            "ecs",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        ecs.create_cluster(clusterName="demo")
        assert ecs.list_clusters()["clusterArns"] == [
            "arn:aws:ecs:us-east-1:123456789012:cluster/demo"
        ]

        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "'*:broken' will exit 1" in err


def test_local_aws_reports_a_busy_port_in_one_line() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "controller", "local-aws", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.startswith(f"ecs-gitops local-aws: listen on 127.0.0.1:{port}: "), (
        done.stderr
    )
    assert "Traceback" not in done.stderr
