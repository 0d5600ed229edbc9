//! `/healthz`: the process is alive. `/readyz`: every database it owns takes writes.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::db::Db;
use vocab::openapi::ServerProblems;
use vocab::problem::Problem;

/// The health routes for a process owning `dbs` (named by module).
pub fn router(dbs: Vec<(&'static str, Db)>) -> Router {
    Router::new()
        .route("/healthz", get(alive))
        .route("/readyz", get(ready))
        .with_state(dbs)
}

/// The health routes in the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(alive, ready), tags((name = "health", description = "Operating a process: liveness, readiness and metrics")))]
pub struct HealthDoc;

#[derive(Serialize, ToSchema)]
struct Alive {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
struct Ready {
    /// Always `ready`.
    #[schema(example = "ready")]
    status: &'static str,
    /// `ok` for each module whose database this process owns.
    #[schema(example = json!({"orders": "ok"}))]
    checks: BTreeMap<&'static str, &'static str>,
}

/// Whether the process runs.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "health",
    responses((status = 200, description = "The process runs", body = Alive)))]
async fn alive() -> Json<Alive> {
    Json(Alive { status: "ok" })
}

/// Whether every database this process owns takes writes.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "health",
    responses(
        (status = 200, description = "Every database of the process takes writes", body = Ready),
        ServerProblems,
    ))]
async fn ready(State(dbs): State<Vec<(&'static str, Db)>>) -> Result<Json<Ready>, Problem> {
    let checks = futures::future::join_all(dbs.iter().map(|(_, db)| db.ready())).await;
    let failing: Vec<String> = dbs
        .iter()
        .zip(&checks)
        .filter_map(|((module, _), check)| {
            check
                .as_ref()
                .err()
                .map(|why| format!("the {module} database does not take writes: {why}"))
        })
        .collect();
    if !failing.is_empty() {
        return Err(Problem::unavailable(failing.join("; ")));
    }
    Ok(Json(Ready {
        status: "ready",
        checks: dbs.iter().map(|(module, _)| (*module, "ok")).collect(),
    }))
}
