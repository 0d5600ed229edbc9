//! `cleave.users.v1.Users`: serves any implementation of the contract, local or remote.

use std::sync::Arc;

use runtime::grpc::vocab::{id_in, page};
use tonic::{Request, Response, Status};
use users_api::{UsersApi, UsersError};
use vocab::Problem;

use super::proto::users_server::{Users, UsersServer};
use super::proto::{self, GetUser, ListUsers, NewUser, UserPage};

pub(crate) fn server(api: Arc<dyn UsersApi>) -> UsersServer<GrpcUsers> {
    UsersServer::new(GrpcUsers(api))
}

pub(crate) struct GrpcUsers(Arc<dyn UsersApi>);

/// The status of a call that failed with `err`.
fn failed(err: UsersError) -> Status {
    runtime::grpc::status::of(&Problem::from(err.clone()), &proto::UsersError::from(err))
}

#[tonic::async_trait]
impl Users for GrpcUsers {
    async fn create(&self, request: Request<NewUser>) -> Result<Response<proto::User>, Status> {
        let created = self
            .0
            .create(request.into_inner().into())
            .await
            .map_err(failed)?;
        Ok(Response::new(created.into()))
    }

    async fn get(&self, request: Request<GetUser>) -> Result<Response<proto::User>, Status> {
        let id = id_in("id", &request.into_inner().id)
            .map_err(|field| failed(UsersError::Invalid(vec![field])))?;
        Ok(Response::new(self.0.get(id).await.map_err(failed)?.into()))
    }

    async fn list(&self, request: Request<ListUsers>) -> Result<Response<UserPage>, Status> {
        let asked = page(request.into_inner().page).map_err(|p| failed(p.into()))?;
        Ok(Response::new(
            self.0.list(asked).await.map_err(failed)?.into(),
        ))
    }
}
