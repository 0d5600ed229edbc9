//! The contract over gRPC, for processes where the users module is not local.

use async_trait::async_trait;
use runtime::grpc::channel::{idempotent, Channel};
use runtime::grpc::vocab::Undecodable;
use runtime::peer::Peer;
use tonic::Status;
use users_api::{NewUser, User, UsersApi, UsersError};
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

use super::proto::users_client::UsersClient;
use super::proto::{self, GetUser, ListUsers};
use super::{error, page, user};

pub(crate) struct GrpcUsersClient {
    client: UsersClient<Channel>,
}

impl GrpcUsersClient {
    pub(crate) fn new(peer: Peer) -> Self {
        Self {
            client: UsersClient::new(Channel::new(peer)),
        }
    }
}

/// The contract's error a failed call carries.
fn failed(status: Status) -> UsersError {
    match runtime::grpc::status::error::<proto::UsersError>(&status) {
        Ok(sent) => error(sent).unwrap_or_else(|err| undecodable(&err)),
        Err(problem) => UsersError::Other(problem),
    }
}

fn undecodable(err: &Undecodable) -> UsersError {
    UsersError::Other(err.problem(users_api::NAME))
}

#[async_trait]
impl UsersApi for GrpcUsersClient {
    async fn create(&self, new: NewUser) -> Result<User, UsersError> {
        let request = proto::NewUser::from(new);
        let created = self.client.clone().create(request).await.map_err(failed)?;
        user(created.into_inner()).map_err(|err| undecodable(&err))
    }

    async fn get(&self, id: Uuid) -> Result<User, UsersError> {
        let request = idempotent(GetUser { id: id.to_string() });
        let found = self.client.clone().get(request).await.map_err(failed)?;
        user(found.into_inner()).map_err(|err| undecodable(&err))
    }

    async fn list(&self, asked: PageRequest) -> Result<Page<User>, UsersError> {
        let request = idempotent(ListUsers {
            page: Some(asked.into()),
        });
        let found = self.client.clone().list(request).await.map_err(failed)?;
        page(found.into_inner()).map_err(|err| undecodable(&err))
    }
}
