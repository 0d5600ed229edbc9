//! `cleave.payments.v1.Payments`: serves any implementation of the contract, local or
//! remote.

use std::sync::Arc;

use payments_api::{PaymentsApi, PaymentsError};
use runtime::grpc::vocab::id_in;
use tonic::{Request, Response, Status};
use vocab::Problem;

use super::filter_and_page;
use super::proto::payments_server::{Payments, PaymentsServer};
use super::proto::{self, GetPayment, ListPayments, PaymentPage};

pub(crate) fn server(api: Arc<dyn PaymentsApi>) -> PaymentsServer<GrpcPayments> {
    PaymentsServer::new(GrpcPayments(api))
}

pub(crate) struct GrpcPayments(Arc<dyn PaymentsApi>);

/// The status of a call that failed with `err`.
fn failed(err: PaymentsError) -> Status {
    runtime::grpc::status::of(
        &Problem::from(err.clone()),
        &proto::PaymentsError::from(err),
    )
}

#[tonic::async_trait]
impl Payments for GrpcPayments {
    async fn get(&self, request: Request<GetPayment>) -> Result<Response<proto::Payment>, Status> {
        let id = id_in("id", &request.into_inner().id)
            .map_err(|field| failed(PaymentsError::Invalid(vec![field])))?;
        Ok(Response::new(self.0.get(id).await.map_err(failed)?.into()))
    }

    async fn list(&self, request: Request<ListPayments>) -> Result<Response<PaymentPage>, Status> {
        let (filter, page) = filter_and_page(request.into_inner()).map_err(failed)?;
        let found = self.0.list(filter, page).await.map_err(failed)?;
        Ok(Response::new(found.into()))
    }
}
