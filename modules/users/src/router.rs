//! `/users` over HTTP: serves any implementation of the contract, local or remote.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use http::{header, StatusCode};
use platform::extract::{Json, PathId, Query};
use platform::page::{Page, PageRequest};
use platform::Problem;
use serde::Deserialize;
use users_api::{user_path, NewUser, User, UsersApi, PATH};

type Api = State<Arc<dyn UsersApi>>;

pub fn router(api: Arc<dyn UsersApi>) -> Router {
    Router::new()
        .route(PATH, post(create).get(list))
        .route(&format!("{PATH}/{{id}}"), get(get_one))
        .with_state(api)
}

async fn create(
    State(api): Api,
    Json(new): Json<NewUser>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        axum::Json<User>,
    ),
    Problem,
> {
    let user = api.create(new).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, user_path(user.id))],
        axum::Json(user),
    ))
}

async fn get_one(State(api): Api, PathId(id): PathId) -> Result<axum::Json<User>, Problem> {
    Ok(axum::Json(api.get(id).await?))
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list(
    State(api): Api,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Page<User>>, Problem> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    Ok(axum::Json(api.list(page).await?))
}
