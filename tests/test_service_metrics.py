"""/metrics: request latency by route template (never the raw path), and the process's own
figures."""
from __future__ import annotations

import re

from tests.api_client import Api


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    found = []
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match:
            found.append((dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or "")),
                          float(match.group(2))))
    return found


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample, 0 when absent; its labels in any order."""
    return next((value for got, value in _samples(text, name) if got == labels), 0.0)


def test_a_request_is_timed_under_its_route_template(api: Api) -> None:
    for job_id in ("first-unknown-job", "second-unknown-job"):
        assert api.client.get(f"/v1/jobs/{job_id}", headers=api.a()).status_code == 404
    assert api.client.get("/v1/me", headers=api.a()).status_code == 200
    assert api.client.get("/no/such/path").status_code == 404
    text = api.client.get("/metrics").text

    name = "tps_http_request_duration_seconds"
    job = {"method": "GET", "route": "/v1/jobs/{job_id}", "status": "404"}
    assert _sample(text, f"{name}_count", **job) == 2.0
    assert _sample(text, f"{name}_bucket", **job, le="+Inf") == 2.0
    # Each bucket counts the requests at most that long: never decreasing up to +Inf.
    buckets = [value for labels, value in _samples(text, f"{name}_bucket")
               if labels.pop("le") and labels == job]
    assert len(buckets) > 5 and buckets == sorted(buckets) and buckets[-1] == 2.0
    assert 0.0 < _sample(text, f"{name}_sum", **job) < 10.0
    assert _sample(text, f"{name}_count", method="GET", route="/v1/me", status="200") == 1.0
    # No id ever becomes a label; an unknown path is one series, whatever the path.
    assert "first-unknown-job" not in text and "/no/such/path" not in text
    assert _sample(text, f"{name}_count", method="GET", route="unmatched", status="404") == 1.0


def test_process_figures_are_the_servers_own(api: Api) -> None:
    text = api.client.get("/metrics").text
    assert _sample(text, "process_resident_memory_bytes") > 10e6
    assert _sample(text, "process_cpu_seconds_total") > 0
    assert _sample(text, "process_open_fds") > 0
    assert 'python_info{' in text and "python_gc_collections_total" in text
