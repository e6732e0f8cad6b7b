"""JSON Schema engines on the seed's SaveWebhook body: time per validation, and agreement with openapi-core.

    python bench/engines.py          (fastjsonschema is measured when installed: pip install fastjsonschema)

openapi-core validates the whole request (the reference, as the seam called it); the others
validate the body against the contract's Webhook schema: openapi-schema-validator's OAS31Validator
(openapi-core's own JSON Schema validator), jsonschema-rs as ``mockserver.fastpath`` compiles it,
and fastjsonschema (draft-07: it knows no 2020-12, and it rewrites ``$`` to ``\\Z``). Then a few
bodies where the engines' regex dialects and OpenAPI's int32 format can part ways. Not a test.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from typing import Any

import _paths  # noqa: F401  the root and tests/ on sys.path, for docpages

# isort: split
import docpages
from contracts.spec import load
from contracts.wire import encode_json
from mockserver.fastpath import FastPath
from mockserver.seam import _Request


def per_call_us(call: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=3)) / number * 1e6


def main() -> int:
    contract = load()
    seed = docpages.sample_request(docpages.SEED)
    body = seed.json
    fast = FastPath(contract).operations["SaveWebhook"].bodies["application/json"]
    reference = fast.compiler.reference(fast.pointer)

    def openapi_core_verdict(value: Any) -> bool:
        request = _Request(seed.path, "POST", [], seed.headers, {}, encode_json(value))
        return not list(contract.openapi.iter_request_errors(request))

    engines: dict[str, Callable[[Any], bool]] = {
        "openapi-core (request)": openapi_core_verdict,
        "OAS31Validator (jsonschema)": lambda value: not list(reference.iter_errors(value)),
        "jsonschema-rs (fastpath)": lambda value: fast.fast_verdict(value) is True,
    }
    try:
        import fastjsonschema

        root = {"$ref": "#/components/schemas/Webhook", "components": contract.document["components"]}
        compiled = fastjsonschema.compile(root, formats={"int32": lambda _: True})

        def fastjsonschema_verdict(value: Any) -> bool:
            try:
                compiled(value)
            except fastjsonschema.JsonSchemaValueException:
                return False
            return True

        engines["fastjsonschema (draft-07)"] = fastjsonschema_verdict
    except ImportError:
        print("fastjsonschema is not installed: pip install fastjsonschema to compare it", file=sys.stderr)

    print(f"{'engine':<30}{'us per validation':>18}")
    for name, verdict in engines.items():
        assert verdict(body), name
        number = 200 if "core" in name else 5000
        print(f"{name:<30}{per_call_us(lambda verdict=verdict: verdict(body), number):>18.1f}")

    associate = body["RegisteredAssociate"]
    cases = {
        "Registered ends in a newline": {**body, "Registered": body["Registered"] + "\n"},
        "AssociateId 3000000000": {
            **body,
            "RegisteredAssociate": {**associate, "AssociateId": 3_000_000_000},
        },
        "AssociateId 3e9 (a float)": {**body, "RegisteredAssociate": {**associate, "AssociateId": 3e9}},
        "WebhookId 7.0": {**body, "WebhookId": 7.0},
    }
    print(f"\n{'body':<32}" + "".join(f"{name.split(' ')[0]:>16}" for name in engines))
    for case, value in cases.items():
        print(
            f"{case:<32}"
            + "".join(f"{'valid' if verdict(value) else 'invalid':>16}" for verdict in engines.values())
        )
    print("\n(jsonschema-rs's own verdict; where it says invalid the fast path asks OAS31Validator, so its")
    print(" final verdict is openapi-core's in every row: tests/test_fastpath.py)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
