"""``ecs-gitops status --live --lease-table NAME``: which controller holds which environment.

Leases are written into local-aws's DynamoDB as the lease keeper writes them (its own
``LeaseTable.take``); the CLI runs as a subprocess and reads them back.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime
from pathlib import Path

from controller.localaws import LocalAws
from controller.service.leases import LeaseTable
from tests.e2e.support import DATA, run_cli


def _checkout(tmp_path: Path) -> Path:
    """sync-repo's staging (api, web, worker), and a production copy of it."""
    root = tmp_path / "config"
    shutil.copytree(DATA / "sync-repo", root)
    shutil.copytree(root / "staging", root / "production")
    environment = root / "production/environment.yaml"
    environment.write_text(environment.read_text().replace("cluster: staging", "cluster: prod"))
    return root


def test_status_shows_the_holder_token_and_expiry_of_each_lease(
    tmp_path: Path, local_aws: LocalAws
) -> None:
    root = _checkout(tmp_path)
    table = LeaseTable("leases", lease_seconds=30)
    table.ensure()
    now_ms = int(time.time() * 1000)
    # staging by environment; production/api alone, as a controller with --shard-by service
    assert table.take("staging", "ctl-a", now_ms=now_ms, expires_ms=now_ms + 30_000) == 1
    assert table.take("staging", "ctl-b", now_ms=now_ms + 31_000, expires_ms=now_ms + 61_000) == 2
    assert table.take("production/api", "ctl-c", now_ms=now_ms, expires_ms=now_ms + 30_000) == 1
    table.heartbeat("ctl-b", expires_ms=now_ms + 61_000)  # a member item is no lease

    done = run_cli("status", str(root), "--live", "--lease-table", "leases", "--format", "json")

    assert done.returncode == 0, done.stderr
    leases = {f"{s['env']}/{s['service']}": s["lease"] for s in json.loads(done.stdout)["services"]}
    assert set(leases) == {
        f"{env}/{svc}" for env in ("production", "staging") for svc in ("api", "web", "worker")
    }
    for service in ("api", "web", "worker"):
        lease = leases[f"staging/{service}"]
        assert (lease["holder"], lease["token"]) == ("ctl-b", 2)
        expires = datetime.fromisoformat(lease["expiresAt"].replace("Z", "+00:00"))
        assert int(expires.timestamp() * 1000) == now_ms + 61_000
    assert leases["production/api"]["holder"] == "ctl-c"
    assert leases["production/web"] is None
    assert leases["production/worker"] is None

    text = run_cli("status", str(root), "--live", "--lease-table", "leases")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split()[7:11] == ["RUNNING", "DEPLOYMENT", "HOLDER", "MESSAGE"]
    staging_web = next(line for line in lines if line.split()[:2] == ["staging", "web"])
    assert "ctl-b (token 2, expires in " in staging_web
    production_web = next(line for line in lines if line.split()[:2] == ["production", "web"])
    assert production_web.split()[9] == "-"

    markdown = run_cli(
        "status", str(root), "--live", "--lease-table", "leases", "--format", "markdown"
    )
    assert "| Holder | Message |" in markdown.stdout
    assert "ctl-c (token 1, expires in " in markdown.stdout


def test_a_missing_lease_table_is_one_line_and_exit_2(tmp_path: Path, local_aws: LocalAws) -> None:
    root = _checkout(tmp_path)
    for args in (
        ["status", str(root), "--live", "--lease-table", "nowhere"],
        ["status", str(root), "--lease-table", "leases"],  # the table is a live read
    ):
        done = run_cli(*args)

        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("ecs-gitops status: "), done.stderr
        assert "Traceback" not in done.stderr
    missing = run_cli("status", str(root), "--live", "--lease-table", "nowhere")
    assert "read lease table nowhere: it does not exist" in missing.stderr
