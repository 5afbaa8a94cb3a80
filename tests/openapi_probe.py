"""Requests that try to make a documented /v1 operation fail in every way a client can: no or a
wrong key, unknown ids, ids of a running job (and its slide and batch), parameters and bodies
of the wrong shape, and uploads that are empty, too large, of the wrong kind or damaged. They
are built from the operation's OpenAPI entry alone, so a route added later is probed too."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TIFF_MAGIC = b"II*\x00"


@dataclass(frozen=True)
class Probe:
    why: str
    headers: dict[str, str]
    path_ids: str  # "unknown" or "running"
    query: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


@dataclass(frozen=True)
class Objects:
    """Ids of one lab's slide, its running job and a batch of that job."""

    slide: str
    job: str
    batch: str

    def for_name(self, name: str) -> str:
        for kind in ("slide", "job", "batch"):
            if name.startswith(kind):
                return str(getattr(self, kind))
        return "unknown-object"


def fill_path(path: str, params: list[dict[str, Any]], objects: Objects | None) -> str:
    for param in params:
        if param["in"] == "path":
            integer = param["schema"].get("type") == "integer"
            value = "1" if integer else (objects.for_name(param["name"]) if objects
                                         else "no-such-object")
            path = path.replace("{" + param["name"] + "}", value)
    return path


def _valid(schema: dict[str, Any]) -> str:
    kinds = {s.get("type") for s in schema.get("anyOf", [schema])}
    return "1" if kinds & {"integer", "number"} else ("true" if "boolean" in kinds else "x")


def _id_bodies(schema: dict[str, Any], objects: Objects | None) -> Iterator[dict[str, Any]]:
    """Bodies naming objects: every required field that ends in _id, and then each optional
    one that ends in _ids as well."""
    def value(name: str) -> str:
        return objects.for_name(name) if objects else "no-such-object"

    base = {n: value(n) for n in schema.get("required", []) if n.endswith("_id")}
    yield base
    for name in schema.get("properties", {}):
        if name.endswith("_ids"):
            yield {**base, name: [value(name)]}


def _another_option(schema: dict[str, Any]) -> dict[str, Any]:
    """The body's first optional number set within its bounds: the same request, but not the
    same body (for reusing an Idempotency-Key)."""
    for name, prop in schema.get("properties", {}).items():
        for kind in prop.get("anyOf", [prop]):
            if name not in schema.get("required", []) and kind.get("type") == "number":
                return {name: (kind.get("minimum", 0) + kind.get("maximum", 2)) / 2}
    return {}


def probes(operation: dict[str, Any], key: str, body_schema: dict[str, Any] | None,
           objects: Objects, max_upload: int) -> Iterator[Probe]:
    params = operation.get("parameters", [])
    query = {p["name"]: _valid(p["schema"]) for p in params
             if p["in"] == "query" and p.get("required")}
    auth = {"X-API-Key": key}
    body = operation.get("requestBody", {}).get("content", {})
    binary = [media for media in body if media != "application/json"]
    named = {**auth, "X-Filename": "case.tiff"}
    upload = {**named, "Content-Type": binary[0]} if binary else auth
    yield Probe("no key", {}, "running", query)
    yield Probe("wrong key", {"X-API-Key": "tps_nope_secret"}, "running", query)
    for ids in ("unknown", "running"):
        yield Probe(f"{ids} ids", upload, ids, query)
    for p in params:
        if p["in"] == "query":
            if _valid(p["schema"]) == "1":
                yield Probe(f"{p['name']} not a number", auth, "running",
                            {**query, p["name"]: "many"})
            if p.get("required"):
                yield Probe(f"no {p['name']}", auth, "running",
                            {k: v for k, v in query.items() if k != p["name"]})
        if p["in"] == "header" and "maxLength" in p["schema"]:
            yield Probe(f"{p['name']} too long", {**auth, p["name"]: "k" * 10_000}, "running",
                        query)
    if "application/json" in body:
        json_headers = {**auth, "Content-Type": "application/json"}
        yield Probe("broken JSON", json_headers, "running", query, b"{")
        yield Probe("unknown field", json_headers, "running", query, b'{"bogus": 1}')
        for ids, named_objects in (("unknown", None), ("running", objects)):
            for doc in _id_bodies(body_schema or {}, named_objects):
                yield Probe(f"body with {ids} ids", json_headers, ids, query,
                            json.dumps(doc).encode())
        if any(p["name"].lower() == "idempotency-key" for p in params):
            first = next(_id_bodies(body_schema or {}, objects))
            for doc in (first, {**first, **_another_option(body_schema or {})}):
                yield Probe("an Idempotency-Key again, another body",
                            {**json_headers, "Idempotency-Key": "probe"}, "running", query,
                            json.dumps(doc).encode())
    for media in binary:
        typed = {**named, "Content-Type": media}
        yield Probe("a text body", {**named, "Content-Type": "text/plain"}, "running", query,
                    b"hello")
        yield Probe("no file name", {**auth, "Content-Type": media}, "running", query,
                    TIFF_MAGIC + bytes(100))
        yield Probe("not a slide", typed, "running", query, b"hello, not a slide")
        yield Probe("empty", typed, "running", query, b"")
        yield Probe("damaged", typed, "running", query, TIFF_MAGIC + bytes(4000))
        yield Probe("too large", typed, "running", query, TIFF_MAGIC + bytes(max_upload))
