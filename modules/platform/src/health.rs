//! `/healthz`: the process is alive. `/readyz`: every database it owns answers.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::db::Db;
use crate::problem::Problem;

/// The health routes for a process owning `dbs` (named by module).
pub fn router(dbs: Vec<(&'static str, Db)>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(ready))
        .with_state(dbs)
}

async fn ready(State(dbs): State<Vec<(&'static str, Db)>>) -> Result<Json<Value>, Problem> {
    let mut checks = serde_json::Map::new();
    for (module, db) in &dbs {
        if let Err(err) = db.ping().await {
            return Err(Problem::unavailable(format!(
                "the {module} database does not answer: {err}"
            )));
        }
        checks.insert((*module).to_owned(), json!("ok"));
    }
    Ok(Json(json!({"status": "ready", "checks": checks})))
}
