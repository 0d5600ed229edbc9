//! The contract over HTTP, for processes where the users module is not local.

use async_trait::async_trait;
use runtime::peer::Peer;
use users_api::{user_path, ListUsers, NewUser, User, UsersApi, UsersError, PATH};
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

pub(crate) struct UsersClient {
    peer: Peer,
}

impl UsersClient {
    pub(crate) fn new(peer: Peer) -> Self {
        Self { peer }
    }
}

#[async_trait]
impl UsersApi for UsersClient {
    async fn create(&self, new: NewUser) -> Result<User, UsersError> {
        let request = self.peer.post(PATH).json(&new);
        Ok(self.peer.call(request).await?)
    }

    async fn get(&self, id: Uuid) -> Result<User, UsersError> {
        Ok(self.peer.call(self.peer.get(&user_path(id))).await?)
    }

    async fn list(&self, page: PageRequest) -> Result<Page<User>, UsersError> {
        let query = ListUsers::new(page);
        Ok(self.peer.call(self.peer.get(PATH).query(&query)).await?)
    }
}
