"""Checks of the contract test that schemathesis has no built-in for (see schemathesis.toml)."""

import json

import schemathesis

# The only reasons a schema-valid order may be refused: the state of other resources.
STATEFUL_REFUSALS = {"unknown-user", "idempotency-key-reused"}


@schemathesis.check
def valid_orders_are_placed(ctx, response, case):
    """`positive_data_acceptance` for POST /orders, less the refusals listed above."""
    if case.operation.label != "POST /orders":
        return None
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if 200 <= status < 300 or status >= 500:
        return None
    if status == 422:
        try:
            code = json.loads(response.content).get("code")
        except ValueError:
            code = None
        if code in STATEFUL_REFUSALS:
            return None
    raise AssertionError(
        f"a schema-valid order was refused with {status}: {response.content[:500]!r}"
    )
