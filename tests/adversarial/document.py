"""openapi.yaml, and whether a real answer matches it: status, headers, JSON body."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.helpers import ROOT, HttpAnswer

PATH = ROOT / "openapi.yaml"
URI = "urn:ecommerce-auth:openapi.yaml"


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(PATH.read_text())
    return loaded


@cache
def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry().with_resource(
        URI, Resource.from_contents(document(), default_specification=DRAFT202012)
    )
    return registry


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(*tokens: str) -> str:
    return "".join("/" + _escape(token) for token in tokens)


def _resolve(pointer: str) -> tuple[str, dict[str, Any]]:
    """The object at ``pointer``, following one local ``$ref``; and where it really lives."""
    node: Any = document()
    for token in pointer.lstrip("/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    if isinstance(node, dict) and "$ref" in node:
        reference = str(node["$ref"]).removeprefix("#")
        return _resolve(reference)
    return pointer, node


def operations() -> list[tuple[str, str]]:
    """Every (METHOD, path) the document describes."""
    return [
        (method.upper(), path)
        for path, item in document()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete", "options", "head")
    ]


def template_for(path: str) -> str:
    """The document's path template for a concrete path (``/api/v1/customers/7/``)."""
    for template in document()["paths"]:
        parts, wanted = template.strip("/").split("/"), path.strip("/").split("/")
        if len(parts) == len(wanted) and all(p == w or p.startswith("{") for p, w in zip(parts, wanted, strict=True)):
            return str(template)
    raise KeyError(path)


def _schema_errors(pointer: str, instance: Any) -> list[str]:
    validator = OAS31Validator({"$ref": f"{URI}#{pointer}"}, registry=_registry())
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<body>'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def answer_errors(method: str, path: str, answer: HttpAnswer) -> list[str]:
    """Every way ``answer`` (headers lower-cased) departs from the document; [] when it conforms."""
    template = template_for(path)
    operation = document()["paths"][template].get(method.lower())
    if operation is None:
        return [f"{method} {template} is not documented"]
    status = str(answer.status)
    if status not in operation["responses"]:
        return [f"{method} {template}: status {status} is not documented ({answer.raw_body[:200]})"]
    where, response = _resolve(_pointer("paths", template, method.lower(), "responses", status))
    errors = []
    for name in response.get("headers", {}):
        header_pointer, header = _resolve(f"{where}{_pointer('headers', name)}")
        value = answer.headers.get(name.lower())
        if value is None:
            if header.get("required"):
                errors.append(f"{status}: header {name} is missing")
            continue
        errors += [f"{status}: header {name}: {error}" for error in _schema_errors(f"{header_pointer}/schema", value)]
    if "content" in response:
        content_type = answer.headers.get("content-type", "")
        if not content_type.startswith("application/json"):
            errors.append(f"{status}: content type {content_type!r} is not application/json")
        errors += [
            f"{status}: {error}" for error in _schema_errors(f"{where}/content/application~1json/schema", answer.body)
        ]
    return errors
