"""Places an order through a client that openapi-python-client generated from cleave's
OpenAPI document, and reads it back, as a user of the generated client would.

Usage: python3 place_order.py <base URL>   (the generated package `cleave_client` on
PYTHONPATH). Exits non-zero, saying why, when anything is not as the document promises.
"""

import sys
import uuid

from cleave_client import Client
from cleave_client.api.orders import get_order, list_orders, place_order
from cleave_client.api.users import create_user
from cleave_client.models import NewUser, Order, OrderItem, PageOrder, PlaceOrder, User


def expect(value, kind):
    if not isinstance(value, kind):
        sys.exit(f"expected a {kind.__name__}, got {value!r}")
    return value


def main(base_url):
    client = Client(base_url=base_url, raise_on_unexpected_status=True)
    email = f"client-{uuid.uuid4().hex}@example.com"
    user = expect(create_user.sync(client=client, body=NewUser(email=email, name="Ada")), User)
    placed = place_order.sync_detailed(
        client=client,
        body=PlaceOrder(
            user_id=user.id,
            currency="EUR",
            items=[OrderItem(sku="BOOK-1", quantity=2, unit_price_cents=1999)],
        ),
    )
    if placed.status_code != 201:
        sys.exit(f"placing the order answered {placed.status_code}: {placed.content!r}")
    order = expect(placed.parsed, Order)
    if order.total_cents != 3998:
        sys.exit(f"the order's total is {order.total_cents}, not 3998")
    if not placed.headers.get("x-request-id"):
        sys.exit("the answer has no x-request-id")

    again = expect(get_order.sync(client=client, id=order.id), Order)
    if again.id != order.id:
        sys.exit(f"read back {again.id}, placed {order.id}")

    page = expect(list_orders.sync(client=client, user_id=user.id), PageOrder)
    for item in page.data:
        expect(item, Order)
    if [item.id for item in page.data] != [order.id]:
        sys.exit(f"the buyer's orders are {[item.id for item in page.data]}, not [{order.id}]")
    print(f"placed and read back order {order.id} as {type(again).__name__} objects")


if __name__ == "__main__":
    main(sys.argv[1])
