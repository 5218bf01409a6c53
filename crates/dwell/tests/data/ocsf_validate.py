"""Validates OCSF findings (JSON lines on standard input) against the official OCSF schema of
their version, with the profiles each declares, using the ocsf-json-schema package (PyPI) and
jsonschema. Prints one line per invalid finding and a count; exits 1 if any is invalid."""
import json
import sys

import jsonschema
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

schemas = {}
bad = 0
n = 0
for line in sys.stdin:
    if not line.strip():
        continue
    n += 1
    f = json.loads(line)
    version = f["metadata"]["version"]
    profiles = tuple(sorted(f["metadata"].get("profiles", [])))
    key = (version, f["class_uid"], profiles)
    if key not in schemas:
        ocsf = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
        name = ocsf.lookup_class_name_from_uid(class_uid=f["class_uid"])
        schema = ocsf.get_class_schema(class_name=name, profiles=list(profiles))
        schemas[key] = jsonschema.Draft202012Validator(schema)
    errors = list(schemas[key].iter_errors(f))
    if errors:
        bad += 1
        if bad <= 5:
            e = errors[0]
            print(f"finding {n}: {e.message} at {list(e.absolute_path)}")
print(f"{n} findings, {bad} invalid")
sys.exit(1 if bad or n == 0 else 0)
