//! The users table.

use chrono::{DateTime, Utc};
use runtime::db::{Db, Tx};
use runtime::{on_db, on_tx};
use sqlx::FromRow;
use users_api::User;
use uuid::Uuid;
use vocab::page::PageRequest;

use crate::rules::{Email, Name};

#[derive(FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    name: String,
    created_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            email: row.email,
            name: row.name,
            created_at: row.created_at,
        }
    }
}

/// Inserts a user; fails with a unique violation when the email is taken.
pub(crate) async fn insert(db: &Db, email: &Email, name: &Name) -> sqlx::Result<User> {
    let user = User {
        id: vocab::new_id(),
        email: email.as_str().to_owned(),
        name: name.as_str().to_owned(),
        created_at: Utc::now(),
    };
    let email_key = email.key();
    db.write(move |tx: &mut Tx<'_>| {
        Box::pin(async move {
            on_tx!(tx, |conn| sqlx::query(
                "INSERT INTO users (id, email, email_key, name, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(user.id)
            .bind(&user.email)
            .bind(&email_key)
            .bind(&user.name)
            .bind(user.created_at)
            .execute(conn)
            .await
            .map(drop))?;
            Ok(user)
        })
    })
    .await
}

pub(crate) async fn find(db: &Db, id: Uuid) -> sqlx::Result<Option<User>> {
    let row: Option<UserRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, email, name, created_at FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(User::from))
}

pub(crate) async fn list(db: &Db, page: PageRequest) -> sqlx::Result<Vec<User>> {
    let rows: Vec<UserRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, email, name, created_at FROM users WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(page.after_or_start())
    .bind(page.fetch())
    .fetch_all(pool)
    .await)?;
    Ok(rows.into_iter().map(User::from).collect())
}
