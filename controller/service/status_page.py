"""The read-only status page ``run`` serves at ``/``: the ``status`` table as HTML, kept live.

The page is rendered on the server from the same JSON document ``/api/status`` returns (the
document of ``ecs-gitops status --format json``, plus each service's recent ECS events), so
it reads the same with JavaScript off. A few lines of inline JavaScript poll ``/api/status``
and rebuild the table's rows with ``textContent`` (never ``innerHTML``): manifest content and
status messages are untrusted, and every value is escaped on the server too. No external
assets (inline CSS and JavaScript, allowed by their hashes in the Content-Security-Policy),
so it works offline. Purely computational: the document comes in as a value.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from controller.core.status_table import StatusRow, age, as_json, summary

# How often the page asks for the document again; with JavaScript off, the page reloads.
POLL_SECONDS = 3
NOSCRIPT_REFRESH_SECONDS = 10
# Recent ECS service events shown per service (a status file's details.events, newest first).
EVENTS_SHOWN = 5
# An event's message is cut to this many characters: a hand-edited status file is untrusted.
EVENT_CHARACTERS = 300

_COLUMNS = ("Env", "Service", "Result", "Phase", "Commit", "Image", "Age", "Message", "Events")

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1f2328;background:#fff}
h1{font-size:1.3em;margin:0 0 .3em}
#summary{margin:0 0 1em;color:#57606a}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.35em .6em;border-bottom:1px solid #d0d7de}
th{background:#f6f8fa;font-weight:600}
td.message{max-width:40em;overflow-wrap:anywhere}
td.events ul{margin:0;padding-left:1.1em;font-size:.9em;color:#57606a}
td.events li{overflow-wrap:anywhere}
.result{font-weight:600}
.r-Failed,.r-RolledBack,.r-Invalid{color:#cf222e}
.r-Unknown{color:#8250df}
.r-Progressing{color:#0969da}
.r-OutOfSync,.r-NoStatus{color:#9a6700}
.r-Synced{color:#1a7f37}
code{font-size:.95em}
"""

# Rebuilds the rows from /api/status. Every value goes in through textContent, never as HTML.
_SCRIPT = """
(function () {
  "use strict";
  var columns = ["env", "service", "result", "phase", "commit", "imageTag", "age", "message"];
  var etag = null;
  var fetchedAt = Date.now();
  var last = null;
  function age(seconds) {
    if (seconds === null || seconds === undefined) { return "-"; }
    var units = [["d", 86400], ["h", 3600], ["m", 60]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][1]) { return Math.floor(seconds / units[i][1]) + units[i][0]; }
    }
    return Math.floor(seconds) + "s";
  }
  function cell(row, className, text) {
    var td = document.createElement("td");
    td.className = className;
    td.textContent = text;
    row.appendChild(td);
    return td;
  }
  function value(service, column, elapsed) {
    if (column === "commit") { return (service.commit || "").slice(0, 7) || "-"; }
    if (column === "age") {
      var at = service.ageSeconds;
      return age(at === null || at === undefined ? null : at + elapsed);
    }
    var v = service[column];
    return v === null || v === undefined || v === "" ? "-" : String(v);
  }
  function render(doc) {
    var elapsed = (Date.now() - fetchedAt) / 1000;
    var body = document.createElement("tbody");
    body.id = "services";
    var events = doc.events || {};
    (doc.services || []).forEach(function (service) {
      var key = service.env + "/" + service.service;
      var row = document.createElement("tr");
      row.setAttribute("data-key", key);
      columns.forEach(function (column) {
        var td = cell(row, column, value(service, column, elapsed));
        if (column === "result") { td.className = "result r-" + String(service.result); }
      });
      var td = cell(row, "events", "");
      var list = events[key] || [];
      if (list.length) {
        var ul = document.createElement("ul");
        list.forEach(function (event) {
          var li = document.createElement("li");
          li.textContent = (event.at ? event.at + " " : "") + event.message;
          ul.appendChild(li);
        });
        td.appendChild(ul);
      }
      body.appendChild(row);
    });
    var old = document.getElementById("services");
    old.parentNode.replaceChild(body, old);
    document.getElementById("summary").textContent = doc.summaryLine || "";
    document.getElementById("updated").textContent = doc.generatedAt || "";
    document.body.setAttribute("data-refreshes", String(
      Number(document.body.getAttribute("data-refreshes") || "0") + 1));
  }
  function poll() {
    var headers = etag ? {"If-None-Match": etag} : {};
    fetch("api/status", {headers: headers, cache: "no-store"}).then(function (answer) {
      if (answer.status === 304 && last) { render(last); return null; }
      if (!answer.ok) { throw new Error("HTTP " + answer.status); }
      etag = answer.headers.get("ETag");
      return answer.json().then(function (doc) {
        fetchedAt = Date.now();
        last = doc;
        render(doc);
      });
    }).then(function () {
      document.getElementById("stale").textContent = "";
    }, function (error) {
      document.getElementById("stale").textContent =
        "(cannot reach the controller: " + error.message + ")";
    }).then(function () { window.setTimeout(poll, POLL_MS); });
  }
  window.setTimeout(poll, POLL_MS);
})();
""".replace("POLL_MS", str(POLL_SECONDS * 1000))


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        # the inline script and style by their hashes: a script injected into the page by a
        # failure to escape would still not run
        f"script-src {_digest(_SCRIPT)}",
        f"style-src {_digest(_STYLE)}",
        "connect-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
"""Only the page's own inline script and style, and requests back to the controller."""


def page_title(url: str, branch: str) -> str:
    """``ecs-gitops: config (main)``: the repository's name, not its whole URL or path."""
    name = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = name.removesuffix(".git") or url
    return f"ecs-gitops: {name} ({branch})"


def recent_events(details: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """A status file's ``details.events`` as ``{at, message}``, newest first, at most a few.

    The file may be hand-edited: anything that is not an event is left out, text is cut short.
    """
    found = (details or {}).get("events")
    if not isinstance(found, list):
        return []
    events = []
    for event in found[:EVENTS_SHOWN]:
        if isinstance(event, Mapping):
            at, message = event.get("at"), event.get("message")
        else:
            at, message = None, event
        if message is None or isinstance(message, (Mapping, list)):
            continue
        events.append(
            {"at": "" if at is None else str(at)[:40], "message": str(message)[:EVENT_CHARACTERS]}
        )
    return events


def page_document(
    rows: Sequence[StatusRow],
    *,
    events: Mapping[str, list[dict[str, str]]],
    now: datetime,
    generated_at: str | None,
    note: str = "",
) -> dict[str, Any]:
    """``/api/status``: the document of ``status --format json``, plus what the page shows.

    Added: ``events`` (service key -> recent ECS events), ``summaryLine``, ``generatedAt``
    (when the rows were read from git) and ``note`` (why there are none yet).
    """
    document = as_json(rows, now=now)
    keys = {row.key for row in rows}
    document["events"] = {key: list(found) for key, found in events.items() if key in keys}
    document["summaryLine"] = _summary_line(rows, note=note)
    document["generatedAt"] = generated_at
    document["note"] = note
    return document


def _summary_line(rows: Sequence[StatusRow], *, note: str) -> str:
    return note if not rows and note else summary(rows)


def _text(value: Any) -> str:
    return html.escape("-" if value is None or value == "" else str(value), quote=True)


def _row_html(
    service: Mapping[str, Any], events: Sequence[Mapping[str, str]], *, now: datetime
) -> str:
    key = f"{service.get('env')}/{service.get('service')}"
    result = str(service.get("result") or "")
    # the class names only letters: a result is our own enum, but the document is data
    result_class = "r-" + "".join(ch for ch in result if ch.isalnum())
    cells = [
        f'<td class="env">{_text(service.get("env"))}</td>',
        f'<td class="service">{_text(service.get("service"))}</td>',
        f'<td class="result {result_class}">{_text(result)}</td>',
        f'<td class="phase">{_text(service.get("phase"))}</td>',
        f'<td class="commit">{_text(str(service.get("commit") or "")[:7])}</td>',
        f'<td class="imageTag">{_text(service.get("imageTag"))}</td>',
        f'<td class="age">{_text(age(service.get("updatedAt"), now=now))}</td>',
        f'<td class="message">{_text(service.get("message"))}</td>',
    ]
    items = "".join(
        f"<li>{_text((event.get('at', '') + ' ' if event.get('at') else '') + event['message'])}</li>"
        for event in events
    )
    cells.append(f'<td class="events">{f"<ul>{items}</ul>" if items else ""}</td>')
    return f'<tr data-key="{_text(key)}">{"".join(cells)}</tr>'


def render_page(document: Mapping[str, Any], *, title: str, now: datetime) -> str:
    """The whole page, server-rendered from ``page_document``'s document; every value escaped."""
    events = document.get("events") or {}
    rows = "\n".join(
        _row_html(
            service, events.get(f"{service.get('env')}/{service.get('service')}", []), now=now
        )
        for service in document.get("services") or ()
    )
    header = "".join(f"<th>{_text(column)}</th>" for column in _COLUMNS)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_text(title)}</title>
<noscript><meta http-equiv="refresh" content="{NOSCRIPT_REFRESH_SECONDS}"></noscript>
<style>{_STYLE}</style>
</head>
<body data-refreshes="0">
<h1>{_text(title)}</h1>
<p id="summary">{_text(document.get("summaryLine"))}</p>
<table>
<thead><tr>{header}</tr></thead>
<tbody id="services">
{rows}
</tbody>
</table>
<p><small>Read from git at <span id="updated">{_text(document.get("generatedAt"))}</span>
<span id="stale"></span> &middot; JSON: <a href="api/status">api/status</a></small></p>
<script>{_SCRIPT}</script>
</body>
</html>
"""
