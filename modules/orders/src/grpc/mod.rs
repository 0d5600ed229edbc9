//! The orders contract over gRPC: the messages of `orders-api/proto/orders.proto`, and the
//! conversions between them and the contract's types. `server` serves any implementation
//! of the contract; `client` is the contract over a peer.
//!
//! The tests round-trip every type and every error variant of the contract through its
//! message, so the `.proto` file and the contract cannot drift apart.

pub(crate) mod client;
pub(crate) mod server;

use orders_api::{Order, OrderFilter, OrderItem, OrderStatus, OrdersError, PlaceOrder};
use runtime::grpc::vocab::{self as wire, id, id_in, time, timestamp, Undecodable};
use vocab::page::{Page, PageRequest};
use vocab::{FieldError, Problem};

#[allow(clippy::all, clippy::pedantic, unreachable_pub)]
pub(crate) mod proto {
    tonic::include_proto!("cleave.orders.v1");
}

/// The service's full name.
pub(crate) const SERVICE: &str = "cleave.orders.v1.Orders";
/// `orders.proto` compiled, with what it imports.
pub(crate) const DESCRIPTOR: &[u8] = tonic::include_file_descriptor_set!("orders");

impl From<OrderItem> for proto::OrderItem {
    fn from(item: OrderItem) -> Self {
        Self {
            sku: item.sku,
            quantity: item.quantity,
            unit_price_cents: item.unit_price_cents,
        }
    }
}

impl From<proto::OrderItem> for OrderItem {
    fn from(item: proto::OrderItem) -> Self {
        Self {
            sku: item.sku,
            quantity: item.quantity,
            unit_price_cents: item.unit_price_cents,
        }
    }
}

impl From<PlaceOrder> for proto::PlaceOrder {
    fn from(order: PlaceOrder) -> Self {
        Self {
            user_id: order.user_id.to_string(),
            currency: order.currency,
            items: order.items.into_iter().map(Into::into).collect(),
        }
    }
}

/// An order a client sent; the field at fault if its buyer's id is not a UUID.
fn place_order(order: proto::PlaceOrder) -> Result<PlaceOrder, FieldError> {
    Ok(PlaceOrder {
        user_id: id_in("user_id", &order.user_id)?,
        currency: order.currency,
        items: order.items.into_iter().map(Into::into).collect(),
    })
}

fn status(status: OrderStatus) -> proto::OrderStatus {
    match status {
        OrderStatus::Pending => proto::OrderStatus::Pending,
        OrderStatus::Paid => proto::OrderStatus::Paid,
        OrderStatus::PaymentFailed => proto::OrderStatus::PaymentFailed,
    }
}

fn status_of(value: i32) -> Result<OrderStatus, Undecodable> {
    match proto::OrderStatus::try_from(value) {
        Ok(proto::OrderStatus::Pending) => Ok(OrderStatus::Pending),
        Ok(proto::OrderStatus::Paid) => Ok(OrderStatus::Paid),
        Ok(proto::OrderStatus::PaymentFailed) => Ok(OrderStatus::PaymentFailed),
        _ => Err(Undecodable(format!("{value} is not an order status"))),
    }
}

impl From<Order> for proto::Order {
    fn from(order: Order) -> Self {
        Self {
            id: order.id.to_string(),
            user_id: order.user_id.to_string(),
            currency: order.currency,
            items: order.items.into_iter().map(Into::into).collect(),
            total_cents: order.total_cents,
            status: status(order.status).into(),
            created_at: Some(timestamp(order.created_at)),
            updated_at: Some(timestamp(order.updated_at)),
        }
    }
}

fn order(order: proto::Order) -> Result<Order, Undecodable> {
    Ok(Order {
        id: id(&order.id)?,
        user_id: id(&order.user_id)?,
        currency: order.currency,
        items: order.items.into_iter().map(Into::into).collect(),
        total_cents: order.total_cents,
        status: status_of(order.status)?,
        created_at: time(order.created_at)?,
        updated_at: time(order.updated_at)?,
    })
}

impl From<Page<Order>> for proto::OrderPage {
    fn from(page: Page<Order>) -> Self {
        Self {
            data: page.data.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

fn page(page: proto::OrderPage) -> Result<Page<Order>, Undecodable> {
    Ok(Page {
        data: page.data.into_iter().map(order).collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    })
}

fn list_orders(filter: OrderFilter, page: PageRequest) -> proto::ListOrders {
    proto::ListOrders {
        page: Some(page.into()),
        user_id: filter.user_id.map(|id| id.to_string()),
    }
}

/// The filter and page a client asked for, checked as the HTTP API checks its query.
fn filter_and_page(list: proto::ListOrders) -> Result<(OrderFilter, PageRequest), OrdersError> {
    let user_id = list
        .user_id
        .map(|user| id_in("user_id", &user))
        .transpose()
        .map_err(|field| OrdersError::Invalid(vec![field]))?;
    let page = wire::page(list.page).map_err(OrdersError::from)?;
    Ok((OrderFilter { user_id }, page))
}

impl From<OrdersError> for proto::OrdersError {
    fn from(err: OrdersError) -> Self {
        use proto::orders_error::Kind;
        let kind = match err {
            OrdersError::NotFound => Kind::NotFound(wire::Empty {}),
            OrdersError::UnknownUser => Kind::UnknownUser(wire::Empty {}),
            OrdersError::IdempotencyKeyReused => Kind::IdempotencyKeyReused(wire::Empty {}),
            OrdersError::Invalid(errors) => Kind::Invalid(wire::invalid(errors)),
            OrdersError::Other(problem) => Kind::Other(problem.into()),
        };
        Self { kind: Some(kind) }
    }
}

fn error(err: proto::OrdersError) -> Result<OrdersError, Undecodable> {
    use proto::orders_error::Kind;
    Ok(match err.kind {
        Some(Kind::NotFound(_)) => OrdersError::NotFound,
        Some(Kind::UnknownUser(_)) => OrdersError::UnknownUser,
        Some(Kind::IdempotencyKeyReused(_)) => OrdersError::IdempotencyKeyReused,
        Some(Kind::Invalid(invalid)) => OrdersError::Invalid(invalid.into()),
        Some(Kind::Other(problem)) => OrdersError::Other(Problem::from(problem)),
        None => return Err(Undecodable("an error of no kind".into())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use prost::Message;
    use uuid::Uuid;

    /// `message` encoded and decoded, as it crosses the wire.
    fn wire<M: Message + Default>(message: M) -> M {
        M::decode(message.encode_to_vec().as_slice()).unwrap()
    }

    fn an_order(status: OrderStatus) -> Order {
        Order {
            id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            currency: "EUR".into(),
            items: vec![
                OrderItem {
                    sku: "BOOK-1".into(),
                    quantity: 2,
                    unit_price_cents: 1999,
                },
                OrderItem {
                    sku: "PEN".into(),
                    quantity: 10_000,
                    unit_price_cents: orders_api::MAX_UNIT_PRICE_CENTS,
                },
            ],
            total_cents: 3998,
            status,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn every_order_status_survives_the_wire() {
        for status in [
            OrderStatus::Pending,
            OrderStatus::Paid,
            OrderStatus::PaymentFailed,
        ] {
            let sent = an_order(status);
            assert_eq!(order(wire(proto::Order::from(sent.clone()))).unwrap(), sent);
        }
        let unknown = proto::Order {
            status: 0,
            ..an_order(OrderStatus::Paid).into()
        };
        assert!(order(unknown).is_err());
    }

    #[test]
    fn an_order_to_place_survives_the_wire() {
        let sent = PlaceOrder {
            user_id: Uuid::now_v7(),
            currency: "EUR".into(),
            items: an_order(OrderStatus::Pending).items,
        };
        let back = place_order(wire(proto::PlaceOrder::from(sent.clone()))).unwrap();
        assert_eq!(back, sent);
        let bad = proto::PlaceOrder {
            user_id: "someone".into(),
            ..sent.into()
        };
        assert_eq!(place_order(bad).unwrap_err().field, "user_id");
    }

    #[test]
    fn a_page_and_its_query_survive_the_wire() {
        let sent = Page {
            data: vec![an_order(OrderStatus::Paid), an_order(OrderStatus::Pending)],
            next_cursor: Some(Uuid::now_v7().to_string()),
        };
        let back = page(wire(proto::OrderPage::from(sent.clone()))).unwrap();
        assert_eq!((back.data, back.next_cursor), (sent.data, sent.next_cursor));

        let filter = OrderFilter {
            user_id: Some(Uuid::now_v7()),
        };
        let asked = PageRequest {
            limit: 3,
            after: Some(Uuid::now_v7()),
        };
        let (f, p) = filter_and_page(wire(list_orders(filter, asked))).unwrap();
        assert_eq!((f, p), (filter, asked));
        let bad = proto::ListOrders {
            user_id: Some("nobody".into()),
            page: None,
        };
        assert!(
            matches!(filter_and_page(bad), Err(OrdersError::Invalid(e)) if e[0].field == "user_id")
        );
    }

    #[test]
    fn every_error_variant_survives_the_wire() {
        let errors = [
            OrdersError::NotFound,
            OrdersError::UnknownUser,
            OrdersError::IdempotencyKeyReused,
            OrdersError::Invalid(vec![FieldError::new("items[0].quantity", "too many")]),
            OrdersError::Other(Problem::unavailable("the users module cannot be reached")),
        ];
        for sent in errors {
            let back = error(wire(proto::OrdersError::from(sent.clone()))).unwrap();
            // Each variant maps to one problem, so equal problems mean equal variants.
            assert_eq!(
                serde_json::to_value(Problem::from(back.clone())).unwrap(),
                serde_json::to_value(Problem::from(sent.clone())).unwrap(),
                "{sent:?} came back as {back:?}"
            );
            assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&sent));
        }
        assert!(error(proto::OrdersError::default()).is_err());
    }
}
