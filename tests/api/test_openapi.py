"""The OpenAPI 3.1 document and the interactive docs, served from our own static files."""

import re

from django.contrib.staticfiles import finders
from django.test import Client

OPERATIONS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document, ref):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_openapi_document_is_openapi_3_1(client: Client):
    """No validator package is installed, so the structure that OpenAPI 3.1 requires is
    checked here: the version, info, paths whose operations have unique ids and responses,
    path parameters declared, security schemes, and every $ref resolving."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert document["info"]["title"] and document["info"]["version"]
    assert set(document["paths"]) >= {"/api/v1/patients/", "/api/v1/patients/{pk}"}
    ids = []
    for route, item in document["paths"].items():
        assert route.startswith("/")
        for method, operation in item.items():
            assert method in OPERATIONS, (route, method)
            ids.append(operation["operationId"])
            assert operation["responses"], (route, method)
            for status in operation["responses"]:
                assert re.fullmatch(r"[1-5]\d\d|default", status), status
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", route)), (route, method)
            assert operation["security"], (route, method)
    assert len(ids) == len(set(ids))
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {"type": "http", "scheme": "bearer"}
    for ref in set(refs(document)):
        assert isinstance(resolve(document, ref), dict), ref
    patients = document["paths"]["/api/v1/patients/"]
    assert set(patients) == {"get", "post"}
    for status in ("401", "403", "422"):
        assert status in patients["get"]["responses"]
    assert "409" in patients["post"]["responses"]


def test_the_docs_page_loads_nothing_from_elsewhere(client: Client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "cdn" not in page.lower()
    addresses = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert addresses, page
    for address in addresses:
        assert address.startswith("/static/"), address
        assert finders.find(address.removeprefix("/static/")), address
    # Swagger UI's settings turn off its call to the outside validator.
    assert '"validatorUrl": null' in page
    assert "'self'" in response["Content-Security-Policy"]
    assert "http" not in response["Content-Security-Policy"]


def test_an_unknown_api_address_is_a_json_404(client: Client):
    response = client.get("/api/v1/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
