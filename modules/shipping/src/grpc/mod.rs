//! The shipping contract over gRPC: the messages of `shipping-api/proto/shipping.proto`,
//! and the conversions between them and the contract's types. `server` serves any
//! implementation of the contract; `client` is the contract over a peer.
//!
//! The tests round-trip every type and every error variant of the contract through its
//! message, so the `.proto` file and the contract cannot drift apart.

pub(crate) mod client;
pub(crate) mod server;

use runtime::grpc::vocab::{self as wire, id, id_in, time, timestamp, Undecodable};
use shipping_api::{Shipment, ShipmentFilter, ShippingError};
use vocab::page::{Page, PageRequest};
use vocab::Problem;

#[allow(clippy::all, clippy::pedantic, unreachable_pub)]
pub(crate) mod proto {
    tonic::include_proto!("cleave.shipping.v1");
}

/// The service's full name.
pub(crate) const SERVICE: &str = "cleave.shipping.v1.Shipping";
/// `shipping.proto` compiled, with what it imports.
pub(crate) const DESCRIPTOR: &[u8] = tonic::include_file_descriptor_set!("shipping");

impl From<Shipment> for proto::Shipment {
    fn from(shipment: Shipment) -> Self {
        Self {
            id: shipment.id.to_string(),
            order_id: shipment.order_id.to_string(),
            created_at: Some(timestamp(shipment.created_at)),
        }
    }
}

fn shipment(shipment: proto::Shipment) -> Result<Shipment, Undecodable> {
    Ok(Shipment {
        id: id(&shipment.id)?,
        order_id: id(&shipment.order_id)?,
        created_at: time(shipment.created_at)?,
    })
}

impl From<Page<Shipment>> for proto::ShipmentPage {
    fn from(page: Page<Shipment>) -> Self {
        Self {
            data: page.data.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

fn page(page: proto::ShipmentPage) -> Result<Page<Shipment>, Undecodable> {
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(shipment)
            .collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    })
}

fn list_shipments(filter: ShipmentFilter, page: PageRequest) -> proto::ListShipments {
    proto::ListShipments {
        page: Some(page.into()),
        order_id: filter.order_id.map(|id| id.to_string()),
    }
}

/// The filter and page a client asked for, checked as the HTTP API checks its query.
fn filter_and_page(
    list: proto::ListShipments,
) -> Result<(ShipmentFilter, PageRequest), ShippingError> {
    let order_id = list
        .order_id
        .map(|order| id_in("order_id", &order))
        .transpose()
        .map_err(|field| ShippingError::Invalid(vec![field]))?;
    let page = wire::page(list.page).map_err(ShippingError::from)?;
    Ok((ShipmentFilter { order_id }, page))
}

impl From<ShippingError> for proto::ShippingError {
    fn from(err: ShippingError) -> Self {
        use proto::shipping_error::Kind;
        let kind = match err {
            ShippingError::NotFound => Kind::NotFound(wire::Empty {}),
            ShippingError::Invalid(errors) => Kind::Invalid(wire::invalid(errors)),
            ShippingError::Other(problem) => Kind::Other(problem.into()),
        };
        Self { kind: Some(kind) }
    }
}

fn error(err: proto::ShippingError) -> Result<ShippingError, Undecodable> {
    use proto::shipping_error::Kind;
    Ok(match err.kind {
        Some(Kind::NotFound(_)) => ShippingError::NotFound,
        Some(Kind::Invalid(invalid)) => ShippingError::Invalid(invalid.into()),
        Some(Kind::Other(problem)) => ShippingError::Other(Problem::from(problem)),
        None => return Err(Undecodable("an error of no kind".into())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use prost::Message;
    use uuid::Uuid;
    use vocab::FieldError;

    /// `message` encoded and decoded, as it crosses the wire.
    fn wire<M: Message + Default>(message: M) -> M {
        M::decode(message.encode_to_vec().as_slice()).unwrap()
    }

    fn a_shipment() -> Shipment {
        Shipment {
            id: Uuid::now_v7(),
            order_id: Uuid::now_v7(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn shipments_their_pages_and_queries_survive_the_wire() {
        let sent = a_shipment();
        assert_eq!(
            shipment(wire(proto::Shipment::from(sent.clone()))).unwrap(),
            sent
        );
        let sent = Page {
            data: vec![a_shipment(), a_shipment()],
            next_cursor: None,
        };
        let back = page(wire(proto::ShipmentPage::from(sent.clone()))).unwrap();
        assert_eq!((back.data, back.next_cursor), (sent.data, sent.next_cursor));
        let filter = ShipmentFilter {
            order_id: Some(Uuid::now_v7()),
        };
        let asked = PageRequest {
            limit: 500,
            after: Some(Uuid::now_v7()),
        };
        let back = filter_and_page(wire(list_shipments(filter, asked))).unwrap();
        assert_eq!(back, (filter, asked));
        let broken = proto::Shipment {
            created_at: None,
            ..a_shipment().into()
        };
        assert!(shipment(broken).is_err());
    }

    #[test]
    fn every_error_variant_survives_the_wire() {
        let errors = [
            ShippingError::NotFound,
            ShippingError::Invalid(vec![FieldError::new("limit", "must be between 1 and 500")]),
            ShippingError::Other(Problem::unavailable(
                "the shipping module cannot be reached",
            )),
        ];
        for sent in errors {
            let back = error(wire(proto::ShippingError::from(sent.clone()))).unwrap();
            // Each variant maps to one problem, so equal problems mean equal variants.
            assert_eq!(
                serde_json::to_value(Problem::from(back.clone())).unwrap(),
                serde_json::to_value(Problem::from(sent.clone())).unwrap(),
                "{sent:?} came back as {back:?}"
            );
            assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&sent));
        }
        assert!(error(proto::ShippingError::default()).is_err());
    }
}
