"""The OpenAPI document (``service/openapi.json``): generated, never edited by hand.

The request bodies' schemas come from the pydantic models in ``service.schemas`` (the same models
that validate the requests); everything else (paths, operations, descriptions, examples, error
responses, headers, response bodies) comes from the template beside this module,
``openapi.template.json``. This module merges the two into OpenAPI 3.0.3: pydantic writes
JSON Schema 2020-12, so ``null`` alternatives become ``nullable``, ``examples`` an ``example``, and
the names pydantic gives become the document's. ``python -m service.openapi`` writes the document;
``--check`` only says whether the committed one is current (tests/test_openapi.py runs that check).
The app serves the committed file as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from service import schemas

TEMPLATE_FILE = Path(__file__).with_name("openapi.template.json")
DOCUMENT_FILE = Path(__file__).with_name("openapi.json")
REF = "#/components/schemas/{model}"


class _InDeclaredOrder(GenerateJsonSchema):
    """Pydantic's JSON Schema with keys in the order they are declared (pydantic sorts them)."""

    def sort(self, value, parent_key=None):
        return value


def _openapi_30(node):
    """A JSON Schema 2020-12 node as OpenAPI 3.0 says it: ``nullable``, one ``example``, no
    titles pydantic made up from field names, no ``default: null``."""
    if isinstance(node, list):
        return [_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    alternatives = node.get("anyOf")
    if alternatives and {"type": "null"} in alternatives and len(alternatives) == 2:
        node.pop("anyOf")
        (other,) = [alternative for alternative in alternatives if alternative != {"type": "null"}]
        node = {**({"allOf": [other]} if "$ref" in other else other), **node, "nullable": True}
    if "examples" in node and isinstance(node["examples"], list):
        node["example"] = node.pop("examples")[0]
    if node.get("default", 0) is None:
        del node["default"]
    if isinstance(node.get("description"), str):
        node["description"] = " ".join(node["description"].split())  # docstrings wrap their lines
    converted = {}
    for key, value in node.items():
        if key == "properties":
            converted[key] = {name: _untitled(_openapi_30(schema)) for name, schema in value.items()}
        elif key in ("example", "default", "enum", "required"):
            converted[key] = value
        else:
            converted[key] = _openapi_30(value)
    return converted


def _untitled(schema: dict) -> dict:
    return {key: value for key, value in schema.items() if key != "title"}


def _inline(node, definitions: dict):
    """``node`` with every reference to one of ``definitions`` replaced by the definition itself."""
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in definitions:
            definition = dict(definitions[name])
            if definition.get("title") == name:
                del definition["title"]  # pydantic's title from the class name, not one the model chose
            rest = {key: value for key, value in node.items() if key != "$ref"}
            return _inline({**definition, **rest}, definitions)
    return {key: value if key in ("example", "default") else _inline(value, definitions) for key, value in node.items()}


def _refer(node, named: dict):
    """``node`` with every schema equal to one of ``named`` replaced by a reference to it."""
    if isinstance(node, list):
        return [_refer(item, named) for item in node]
    if not isinstance(node, dict):
        return node
    for name, schema in named.items():
        if node == schema:
            return {"$ref": REF.format(model=name)}
    return {key: value if key in ("example", "default") else _refer(value, named) for key, value in node.items()}


def body_schemas() -> dict:
    """``{component name: schema}`` for the request bodies and the types they share, from the models."""
    named = {name: _untitled(_openapi_30(TypeAdapter(kind).json_schema(schema_generator=_InDeclaredOrder)))
             for name, kind in schemas.NAMED_TYPES.items()}
    components, definitions = {}, {}
    for name, model in schemas.DOCUMENTED.items():
        schema = model.model_json_schema(ref_template=REF, schema_generator=_InDeclaredOrder)
        definitions.update(schema.pop("$defs", {}))
        components[name] = schema
    kept = {name: definitions.pop(name) for name in list(definitions) if name in schemas.NAMED_MODELS}
    components = {**components, **kept}
    out = {}
    for name, schema in {**named, **components}.items():
        schema = _openapi_30(_inline(schema, definitions))
        if name not in named:
            schema = {key: value for key, value in _refer(schema, named).items() if key != "title"}
        out[name] = schema
    return out


def build() -> dict:
    """The whole document: the template, with the bodies' schemas from the models."""
    document = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    generated = body_schemas()
    clash = sorted(set(generated) & set(document["components"]["schemas"]))
    if clash:
        raise ValueError(f"{TEMPLATE_FILE.name} declares {', '.join(clash)}, which the models generate")
    document["components"]["schemas"].update(generated)
    return document


def render(document: dict) -> str:
    """The document as the committed file holds it."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the document (or, with ``--check``, exit 1 if the committed one is not current)."""
    parser = argparse.ArgumentParser(prog="python -m service.openapi", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DOCUMENT_FILE, help="where to write it (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="only compare with --output; exit 1 if it differs")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is not the generated document: run python -m service.openapi", file=sys.stderr)
            return 1
        return 0
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=args.output.parent, delete=False,
                                     prefix=f".{args.output.name}.", suffix=".tmp") as temporary:
        temporary.write(text)
    os.replace(temporary.name, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
