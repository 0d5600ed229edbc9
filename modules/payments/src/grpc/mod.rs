//! The payments contract over gRPC: the messages of `payments-api/proto/payments.proto`,
//! and the conversions between them and the contract's types. `server` serves any
//! implementation of the contract; `client` is the contract over a peer.
//!
//! The tests round-trip every type and every error variant of the contract through its
//! message, so the `.proto` file and the contract cannot drift apart.

pub(crate) mod client;
pub(crate) mod server;

use payments_api::{Payment, PaymentFilter, PaymentStatus, PaymentsError};
use runtime::grpc::vocab::{self as wire, id, id_in, time, timestamp, Undecodable};
use vocab::page::{Page, PageRequest};
use vocab::Problem;

#[allow(clippy::all, clippy::pedantic, unreachable_pub)]
pub(crate) mod proto {
    tonic::include_proto!("cleave.payments.v1");
}

/// The service's full name.
pub(crate) const SERVICE: &str = "cleave.payments.v1.Payments";
/// `payments.proto` compiled, with what it imports.
pub(crate) const DESCRIPTOR: &[u8] = tonic::include_file_descriptor_set!("payments");

fn status(status: PaymentStatus) -> proto::PaymentStatus {
    match status {
        PaymentStatus::Authorized => proto::PaymentStatus::Authorized,
        PaymentStatus::Declined => proto::PaymentStatus::Declined,
    }
}

fn status_of(value: i32) -> Result<PaymentStatus, Undecodable> {
    match proto::PaymentStatus::try_from(value) {
        Ok(proto::PaymentStatus::Authorized) => Ok(PaymentStatus::Authorized),
        Ok(proto::PaymentStatus::Declined) => Ok(PaymentStatus::Declined),
        _ => Err(Undecodable(format!("{value} is not a payment status"))),
    }
}

impl From<Payment> for proto::Payment {
    fn from(payment: Payment) -> Self {
        Self {
            id: payment.id.to_string(),
            order_id: payment.order_id.to_string(),
            amount_cents: payment.amount_cents,
            currency: payment.currency,
            status: status(payment.status).into(),
            created_at: Some(timestamp(payment.created_at)),
        }
    }
}

fn payment(payment: proto::Payment) -> Result<Payment, Undecodable> {
    Ok(Payment {
        id: id(&payment.id)?,
        order_id: id(&payment.order_id)?,
        amount_cents: payment.amount_cents,
        currency: payment.currency,
        status: status_of(payment.status)?,
        created_at: time(payment.created_at)?,
    })
}

impl From<Page<Payment>> for proto::PaymentPage {
    fn from(page: Page<Payment>) -> Self {
        Self {
            data: page.data.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

fn page(page: proto::PaymentPage) -> Result<Page<Payment>, Undecodable> {
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(payment)
            .collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    })
}

fn list_payments(filter: PaymentFilter, page: PageRequest) -> proto::ListPayments {
    proto::ListPayments {
        page: Some(page.into()),
        order_id: filter.order_id.map(|id| id.to_string()),
    }
}

/// The filter and page a client asked for, checked as the HTTP API checks its query.
fn filter_and_page(
    list: proto::ListPayments,
) -> Result<(PaymentFilter, PageRequest), PaymentsError> {
    let order_id = list
        .order_id
        .map(|order| id_in("order_id", &order))
        .transpose()
        .map_err(|field| PaymentsError::Invalid(vec![field]))?;
    let page = wire::page(list.page).map_err(PaymentsError::from)?;
    Ok((PaymentFilter { order_id }, page))
}

impl From<PaymentsError> for proto::PaymentsError {
    fn from(err: PaymentsError) -> Self {
        use proto::payments_error::Kind;
        let kind = match err {
            PaymentsError::NotFound => Kind::NotFound(wire::Empty {}),
            PaymentsError::Invalid(errors) => Kind::Invalid(wire::invalid(errors)),
            PaymentsError::Other(problem) => Kind::Other(problem.into()),
        };
        Self { kind: Some(kind) }
    }
}

fn error(err: proto::PaymentsError) -> Result<PaymentsError, Undecodable> {
    use proto::payments_error::Kind;
    Ok(match err.kind {
        Some(Kind::NotFound(_)) => PaymentsError::NotFound,
        Some(Kind::Invalid(invalid)) => PaymentsError::Invalid(invalid.into()),
        Some(Kind::Other(problem)) => PaymentsError::Other(Problem::from(problem)),
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

    fn a_payment(status: PaymentStatus) -> Payment {
        Payment {
            id: Uuid::now_v7(),
            order_id: Uuid::now_v7(),
            amount_cents: 3998,
            currency: "EUR".into(),
            status,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn payments_their_pages_and_queries_survive_the_wire() {
        for status in [PaymentStatus::Authorized, PaymentStatus::Declined] {
            let sent = a_payment(status);
            assert_eq!(
                payment(wire(proto::Payment::from(sent.clone()))).unwrap(),
                sent
            );
        }
        let sent = Page {
            data: vec![a_payment(PaymentStatus::Declined)],
            next_cursor: Some(Uuid::now_v7().to_string()),
        };
        let back = page(wire(proto::PaymentPage::from(sent.clone()))).unwrap();
        assert_eq!((back.data, back.next_cursor), (sent.data, sent.next_cursor));
        let filter = PaymentFilter {
            order_id: Some(Uuid::now_v7()),
        };
        let asked = PageRequest {
            limit: 9,
            after: None,
        };
        let back = filter_and_page(wire(list_payments(filter, asked))).unwrap();
        assert_eq!(back, (filter, asked));
        let unknown = proto::Payment {
            status: 0,
            ..a_payment(PaymentStatus::Authorized).into()
        };
        assert!(payment(unknown).is_err());
    }

    #[test]
    fn every_error_variant_survives_the_wire() {
        let errors = [
            PaymentsError::NotFound,
            PaymentsError::Invalid(vec![FieldError::new("order_id", "must be a UUID")]),
            PaymentsError::Other(Problem::unavailable(
                "the payments module cannot be reached",
            )),
        ];
        for sent in errors {
            let back = error(wire(proto::PaymentsError::from(sent.clone()))).unwrap();
            // Each variant maps to one problem, so equal problems mean equal variants.
            assert_eq!(
                serde_json::to_value(Problem::from(back.clone())).unwrap(),
                serde_json::to_value(Problem::from(sent.clone())).unwrap(),
                "{sent:?} came back as {back:?}"
            );
            assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&sent));
        }
        assert!(error(proto::PaymentsError::default()).is_err());
    }
}
