//! The users module's implementation of its contract, on its own database.

use async_trait::async_trait;
use runtime::db::{fault, Db};
use users_api::{NewUser, User, UsersApi, UsersError};
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

use crate::rules::{Email, Name};
use crate::store;

pub(crate) struct LocalUsers {
    db: Db,
}

impl LocalUsers {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }
}

/// A database error as the contract's error: 503 for a storage fault, else 500.
fn db_error(err: sqlx::Error) -> UsersError {
    UsersError::Other(fault::problem(users_api::NAME, &err))
}

#[async_trait]
impl UsersApi for LocalUsers {
    async fn create(&self, new: NewUser) -> Result<User, UsersError> {
        let (email, name) = match (Email::parse(&new.email), Name::parse(&new.name)) {
            (Ok(email), Ok(name)) => (email, name),
            (email, name) => {
                let errors = [email.err(), name.err()].into_iter().flatten().collect();
                return Err(UsersError::Invalid(errors));
            }
        };
        store::insert(&self.db, &email, &name)
            .await
            .map_err(|err| match err.as_database_error() {
                Some(db) if db.is_unique_violation() => UsersError::DuplicateEmail,
                _ => db_error(err),
            })
    }

    async fn get(&self, id: Uuid) -> Result<User, UsersError> {
        store::find(&self.db, id)
            .await
            .map_err(db_error)?
            .ok_or(UsersError::NotFound)
    }

    async fn list(&self, page: PageRequest) -> Result<Page<User>, UsersError> {
        let rows = store::list(&self.db, page).await.map_err(db_error)?;
        Ok(Page::from_rows(rows, page, |user| user.id))
    }
}
