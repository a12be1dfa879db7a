"""The status table: order of attention, ages, image tags, text/markdown/JSON, exit code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from controller.core.layout import load_repo
from controller.core.outcome import Result
from controller.core.status_table import (
    NO_STATUS,
    LiveCounts,
    StatusRow,
    age,
    as_json,
    exit_code,
    format_markdown,
    format_text,
    image_tag,
    selected_keys,
    sort_rows,
    status_rows,
    summary,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"


def _row(service: str, result: str, **extra: object) -> StatusRow:
    return StatusRow(env="staging", service=service, result=result, **extra)  # type: ignore[arg-type]


EVERY_KIND = [
    _row("synced", "Synced"),
    _row("new", NO_STATUS),
    _row("drift", "OutOfSync"),
    _row("moving", "Progressing", phase="rolling/wait"),
    _row("waiting", "Progressing", phase="paused"),
    _row("unknown", "Unknown"),
    _row("broken", "Invalid"),
    _row("rolled", "RolledBack"),
    _row("failed", "Failed"),
]


def test_what_needs_attention_comes_first() -> None:
    shuffled = EVERY_KIND[::2] + EVERY_KIND[1::2]
    order = [row.service for row in sort_rows(shuffled)]
    assert order == [
        "failed", "rolled", "broken", "unknown", "waiting", "moving", "drift", "new", "synced",
    ]  # fmt: skip


def test_same_result_sorted_by_environment_then_service() -> None:
    rows = [
        StatusRow(env="staging", service="b", result="Synced"),
        StatusRow(env="production", service="z", result="Synced"),
        StatusRow(env="staging", service="a", result="Synced"),
    ]
    assert [r.key for r in sort_rows(rows)] == ["production/z", "staging/a", "staging/b"]


@pytest.mark.parametrize(
    ("results", "code"),
    [
        (["Synced", "OutOfSync", "Progressing", "Unknown", NO_STATUS], 0),
        (["Synced", "Failed"], 1),
        (["RolledBack"], 1),
        (["Invalid", "Synced"], 1),
        ([], 0),
    ],
)
def test_exit_code_is_1_for_failed_rolled_back_or_invalid(results: list[str], code: int) -> None:
    assert exit_code([_row(f"s{i}", r) for i, r in enumerate(results)]) == code


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("nginx:1.27", "1.27"),
        ("public.ecr.aws/nginx/nginx:1.28", "1.28"),
        ("registry.example:5000/team/web:2024-01", "2024-01"),
        ("registry.example:5000/team/web", "latest"),
        ("nginx", "latest"),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:" + "ab" * 32,
            "sha256:abababababab",
        ),
        (None, None),
        ("", None),
    ],
)
def test_image_tag(image: str | None, tag: str | None) -> None:
    assert image_tag(image) == tag


@pytest.mark.parametrize(
    ("updated", "shown"),
    [
        ("2026-03-01T11:59:15Z", "45s"),
        ("2026-03-01T11:48:00+00:00", "12m"),
        ("2026-03-01T09:00:00Z", "3h"),
        ("2026-02-20T12:00:00Z", "9d"),
        ("2026-03-01T12:00:05Z", "0s"),  # a clock a little ahead is not a negative age
        (None, "-"),
        ("yesterday", "-"),
        ("2026-03-01T11:00:00", "-"),  # no zone: unknown, not a guess
    ],
)
def test_age(updated: str | None, shown: str) -> None:
    assert age(updated, now=NOW) == shown


def test_text_table_columns_and_summary() -> None:
    rows = [
        _row("web", "RolledBack", commit=SHA, image="nginx:broken",
             updated_at="2026-03-01T11:58:00Z", message="ECS rolled back: tasks stopped"),
        _row("api", "Synced", commit=SHA, image="httpd:2.4", updated_at="2026-03-01T10:00:00Z",
             message="deployed"),
    ]  # fmt: skip
    lines = format_text(rows, now=NOW).splitlines()
    assert lines[0].split() == [
        "ENV", "SERVICE", "RESULT", "PHASE", "COMMIT", "IMAGE", "AGE", "MESSAGE",
    ]  # fmt: skip
    assert lines[1].split()[:7] == ["staging", "web", "RolledBack", "-", "0123456", "broken", "2m"]
    assert lines[1].endswith("ECS rolled back: tasks stopped")
    assert lines[2].split()[:7] == ["staging", "api", "Synced", "-", "0123456", "2.4", "2h"]
    assert lines[-1] == "2 services: 1 RolledBack, 1 Synced"
    # columns line up
    assert lines[1].index("RolledBack") == lines[2].index("Synced") == lines[0].index("RESULT")
    assert "\x1b[" not in "\n".join(lines)


def test_text_lines_are_cut_to_the_width_message_first() -> None:
    long = "x" * 500
    text = format_text([_row("web", "Failed", message=long)], now=NOW, width=60)
    for line in text.splitlines()[:-1]:
        assert len(line) <= 60
    assert text.splitlines()[1].endswith("…")
    assert "web" in text.splitlines()[1]


def test_a_multiline_message_stays_on_its_row() -> None:
    text = format_text([_row("web", "Invalid", message="a\nb\r\nc")], now=NOW)
    assert len(text.splitlines()) == 3 and text.splitlines()[1].endswith("a b c")


def test_colour_only_on_the_result_cell_when_asked() -> None:
    rows = [_row("web", "Failed"), _row("api", "Synced"), _row("new", NO_STATUS)]
    plain = format_text(rows, now=NOW)
    coloured = format_text(rows, now=NOW, colour=True)
    assert "\x1b[31mFailed\x1b[0m" in coloured
    assert "\x1b[32mSynced\x1b[0m" in coloured
    assert "\x1b[33mNoStatus\x1b[0m" in coloured
    assert coloured.splitlines()[0] == plain.splitlines()[0]  # the header is not coloured
    assert (
        coloured.replace("\x1b[31m", "")
        .replace("\x1b[32m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[0m", "")
        == plain
    )


def test_live_columns() -> None:
    rows = [
        _row("web", "Progressing", live=LiveCounts(running=1, desired=2, deployment="IN_PROGRESS")),
        _row("api", "Synced", live=LiveCounts(deployment="absent")),
        _row("job", "Synced"),
        _row("far", "Unknown", message="old", live=LiveCounts(error="AccessDenied: no")),
    ]
    lines = format_text(rows, now=NOW, live=True).splitlines()
    assert lines[0].split()[7:9] == ["RUNNING", "DEPLOYMENT"]
    by_service = {line.split()[1]: line.split() for line in lines[1:-1]}
    assert by_service["web"][7:9] == ["1/2", "IN_PROGRESS"]
    assert by_service["api"][7:9] == ["-", "absent"]
    assert by_service["job"][7:9] == ["-", "-"]
    assert by_service["far"][7:9] == ["?", "unreadable"]
    assert lines[1].endswith("old (live: AccessDenied: no)")


def test_markdown_escapes_and_bolds_what_needs_attention() -> None:
    rows = [_row("web", "Failed", message="a | b <script>alert(1)</script> `x`"),
            _row("api", "Synced")]  # fmt: skip
    text = format_markdown(rows, now=NOW)
    lines = text.splitlines()
    assert lines[0] == "| Env | Service | Result | Phase | Commit | Image | Age | Message |"
    assert lines[1] == "|---|---|---|---|---|---|---|---|"
    assert "| **Failed** |" in lines[2]
    assert "a \\| b &lt;script&gt;alert(1)&lt;/script&gt; \\`x\\`" in lines[2]
    assert "<script>" not in text
    assert "| Synced |" in lines[3]
    assert lines[-1] == "2 services: 1 Failed, 1 Synced"


def test_json_document() -> None:
    rows = [
        _row("api", "Synced", commit=SHA, image="httpd:2.4", updated_at="2026-03-01T11:00:00Z"),
        _row("web", "Progressing", phase="paused", live=LiveCounts(running=2, desired=2,
             deployment="IN_PROGRESS BAKE_TIME")),
        _row("bad", "Invalid", message="staging/bad/deploy.yaml:1: unknown key"),
    ]  # fmt: skip
    document = as_json(rows, now=NOW)
    json.dumps(document)  # serialisable
    assert [s["service"] for s in document["services"]] == ["bad", "web", "api"]
    api = document["services"][2]
    assert api == {
        "env": "staging", "service": "api", "result": "Synced", "phase": None, "commit": SHA,
        "image": "httpd:2.4", "imageTag": "2.4", "updatedAt": "2026-03-01T11:00:00Z",
        "ageSeconds": 3600, "message": "",
    }  # fmt: skip
    assert document["services"][1]["live"] == {
        "running": 2, "desired": 2, "deployment": "IN_PROGRESS BAKE_TIME",
    }  # fmt: skip
    assert document["summary"] == {"Invalid": 1, "Progressing": 1, "Synced": 1}
    assert document["needsAttention"] is True


def test_summary_of_nothing_and_of_one() -> None:
    assert summary([]) == "0 services"
    assert summary([_row("web", "Synced")]) == "1 service: 1 Synced"


# ---- rows from the repository and the status files (what `status` and the page share) ---------

REPO_FILES = {
    "staging/environment.yaml": "cluster: staging\n",
    "staging/web/deploy.yaml": "strategy: rolling\nimage: nginx:1.27\n",
    "staging/web/task-definition.yaml": (
        "family: web\nmemory: '512'\ncontainerDefinitions:\n  - name: web\n    image: ${image}\n"
    ),
    "staging/web/service.yaml": "desiredCount: 1\n",
    "staging/broken/deploy.yaml": "strategy: rolling\nimage: nginx:1.27\nbogus: 1\n",
    "staging/broken/task-definition.yaml": "family: broken\ncontainerDefinitions: []\n",
    "staging/broken/service.yaml": "desiredCount: 1\n",
    "production/environment.yaml": "cluster: production\n",
    "production/api/deploy.yaml": "strategy: rolling\n",
    "production/api/task-definition.yaml": (
        "family: api\nmemory: '512'\ncontainerDefinitions:\n  - name: api\n    image: api:2.0\n"
    ),
    "production/api/service.yaml": "desiredCount: 1\n",
}


@dataclass(frozen=True)
class Recorded:
    result: Result
    commit: str = SHA
    message: str = "deployed"
    updatedAt: str = "2026-03-01T11:00:00Z"  # camelCase: the status file's key
    phase: str | None = None


def test_status_rows_from_git_and_status_files() -> None:
    state = load_repo(REPO_FILES)
    statuses = {
        "staging/web": Recorded(Result.SYNCED),
        "staging/gone": Recorded(Result.SYNCED, message="was here"),
        "production/api": Recorded(Result.PROGRESSING, phase="rolling/wait"),
    }
    live = {"staging/web": LiveCounts(running=1, desired=1, deployment="COMPLETED")}

    rows = {row.key: row for row in status_rows(state, statuses, only=None, live=live)}

    assert sorted(rows) == ["production/api", "staging/broken", "staging/gone", "staging/web"]
    assert rows["staging/web"] == StatusRow(
        env="staging",
        service="web",
        result="Synced",
        message="deployed",
        commit=SHA,
        image="nginx:1.27",
        updated_at="2026-03-01T11:00:00Z",
        live=live["staging/web"],
    )
    assert rows["staging/broken"].result == "Invalid" and rows["staging/broken"].message
    assert rows["staging/gone"].message == "not in git any more: was here"
    assert rows["production/api"].phase == "rolling/wait"
    assert rows["production/api"].image == "api:2.0"  # no deploy.yaml image: the container's


@pytest.mark.parametrize(
    ("only", "keys"),
    [
        ("staging", ["staging/broken", "staging/gone", "staging/web"]),
        ("staging/gone", ["staging/gone"]),
        ("production/api/", ["production/api"]),
        ("qa", []),
    ],
)
def test_selected_keys_include_services_only_a_status_file_knows(
    only: str, keys: list[str]
) -> None:
    state = load_repo(REPO_FILES)
    assert selected_keys(state, ["staging/gone"], only=only) == keys
    no_status = status_rows(state, {}, only=only)
    assert all(row.result in (NO_STATUS, "Invalid") for row in no_status)
