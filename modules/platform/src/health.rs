//! `/healthz`: the process is alive. `/readyz`: every database it owns answers.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::db::Db;
use crate::openapi::ServerProblems;
use crate::problem::Problem;

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

/// Whether every database this process owns answers a query.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "health",
    responses(
        (status = 200, description = "Every database of the process answers", body = Ready),
        ServerProblems,
    ))]
async fn ready(State(dbs): State<Vec<(&'static str, Db)>>) -> Result<Json<Ready>, Problem> {
    let mut checks = BTreeMap::new();
    for (module, db) in &dbs {
        if let Err(err) = db.ping().await {
            return Err(Problem::unavailable(format!(
                "the {module} database does not answer: {err}"
            )));
        }
        checks.insert(*module, "ok");
    }
    Ok(Json(Ready {
        status: "ready",
        checks,
    }))
}
