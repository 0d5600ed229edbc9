//! `/users` over HTTP: serves any implementation of the contract, local or remote.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use http::{header, StatusCode};
use runtime::extract::{Json, PathId, Query};
use users_api::{user_path, ListUsers, NewUser, User, UsersApi, ITEM_ROUTE, PATH};
use utoipa::OpenApi;
use vocab::openapi::{InvalidId, InvalidList, JsonBodyProblems, NotFound, ServerProblems};
use vocab::page::Page;
use vocab::Problem;

type Api = State<Arc<dyn UsersApi>>;

pub(crate) fn router(api: Arc<dyn UsersApi>) -> Router {
    Router::new()
        .route(PATH, post(create).get(list))
        .route(ITEM_ROUTE, get(get_one))
        .with_state(api)
}

/// The operations of [`router`] in the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(create, get_one, list),
    tags((name = "users", description = "Who may buy"))
)]
pub(crate) struct UsersDoc;

/// Registers a user.
#[utoipa::path(post, path = "/users", operation_id = "create_user", tag = "users",
    request_body = NewUser,
    responses(
        (status = 201, description = "The user, registered", body = User,
            headers(("location" = String, description = "The user's path, `/users/{id}`")),
            links(
                ("GetUser" = (operation_id = "get_user",
                    parameters(("id" = "$response.body#/id")))),
                ("ListOrdersOfUser" = (operation_id = "list_orders",
                    parameters(("user_id" = "$response.body#/id")))),
                ("PlaceOrderForUser" = (operation_id = "place_order",
                    request_body = json!({"user_id": "$response.body#/id"}))),
            )),
        (status = 409, description = "Another user has this email, in any case \
            (`duplicate-email`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing, unknown or invalid \
            (`invalid-request`; `errors` names each)", body = Problem,
            content_type = "application/problem+json"),
        JsonBodyProblems,
        ServerProblems,
    ))]
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

/// One user.
#[utoipa::path(get, path = "/users/{id}", operation_id = "get_user", tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = User),
        NotFound,
        InvalidId,
        ServerProblems,
    ))]
async fn get_one(State(api): Api, PathId(id): PathId) -> Result<axum::Json<User>, Problem> {
    Ok(axum::Json(api.get(id).await?))
}

/// Users in the order they registered, a page at a time.
#[utoipa::path(get, path = "/users", operation_id = "list_users", tag = "users",
    params(ListUsers),
    responses(
        (status = 200, description = "A page of users", body = Page<User>),
        InvalidList,
        ServerProblems,
    ))]
async fn list(
    State(api): Api,
    Query(query): Query<ListUsers>,
) -> Result<axum::Json<Page<User>>, Problem> {
    let page = query.parse()?;
    Ok(axum::Json(api.list(page).await?))
}
