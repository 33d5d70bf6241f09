#!/usr/bin/env python3
"""Validates a JSON document against a schema of this folder.

    validate.py SCHEMA.json DOCUMENT.json

The other schemas of the folder are registered under their `$id`, so that
CycloneDX's `$ref`s to its SPDX licence list and JSF resolve offline. Prints
each violation (at most 20) and exits 1 if there is any, 0 otherwise.
"""
import json
import sys
from pathlib import Path

from jsonschema import validators
from referencing import Registry, Resource


def main() -> int:
    schema_path, doc_path = Path(sys.argv[1]), Path(sys.argv[2])
    schema = json.loads(schema_path.read_text())
    registry = Registry()
    for other in schema_path.parent.glob("*.json"):
        contents = json.loads(other.read_text())
        if "$id" in contents:
            registry = registry.with_resource(contents["$id"], Resource.from_contents(contents))
    cls = validators.validator_for(schema)
    validator = cls(schema, registry=registry)
    errors = sorted(validator.iter_errors(json.loads(doc_path.read_text())), key=lambda e: list(e.path))
    for error in errors[:20]:
        print(f"{doc_path.name}: /{'/'.join(str(p) for p in error.path)}: {error.message[:300]}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
