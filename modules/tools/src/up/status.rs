//! The status table `cleave up` prints: every module's readiness as the gateway reaches
//! it (`GET /health/deployment`), once the topology is ready and again on each change.

use std::fmt::Write;
use std::time::Duration;

use serde::Deserialize;

/// How often the gateway is asked.
const EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Health {
    status: String,
    modules: Vec<ModuleHealth>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct ModuleHealth {
    module: String,
    process: String,
    ready: bool,
    latency_ms: f64,
    #[serde(default)]
    reason: Option<String>,
}

impl Health {
    /// What a change is: readiness and reasons, not latency.
    fn shape(&self) -> Vec<(&str, bool, Option<&str>)> {
        self.modules
            .iter()
            .map(|m| (m.module.as_str(), m.ready, m.reason.as_deref()))
            .collect()
    }
}

/// Asks the gateway at `base` until the task is aborted; prints a table whenever what it
/// says changes, starting with the first answer.
pub(super) async fn watch(base: String) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("the TLS-less client builds");
    let mut shown: Option<Health> = None;
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        ticks.tick().await;
        let Ok(response) = http.get(format!("{base}/health/deployment")).send().await else {
            continue;
        };
        let Ok(health) = response.json::<Health>().await else {
            continue;
        };
        if shown.as_ref().map(Health::shape) != Some(health.shape()) {
            println!("{}", table(&health, &base));
            shown = Some(health);
        }
    }
}

fn table(health: &Health, base: &str) -> String {
    let width = |f: fn(&ModuleHealth) -> usize, title: &str| {
        health
            .modules
            .iter()
            .map(f)
            .max()
            .unwrap_or(0)
            .max(title.len())
    };
    let module_w = width(|m| m.module.len(), "module");
    let process_w = width(|m| m.process.len(), "process");
    let mut out = format!(
        "\ndeployment {} (dashboard: {base}/dashboard)\n  {:module_w$}  {:process_w$}  {:9}  {:>8}  reason\n",
        health.status, "module", "process", "ready", "latency"
    );
    for m in &health.modules {
        let line = format!(
            "  {:module_w$}  {:process_w$}  {:9}  {:>5.1} ms  {}",
            m.module,
            m.process,
            if m.ready { "ready" } else { "NOT READY" },
            m.latency_ms,
            m.reason.as_deref().unwrap_or("")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_each_module_and_why_one_is_not_ready() {
        let health: Health = serde_json::from_value(serde_json::json!({
            "status": "degraded",
            "modules": [
                {"module": "users", "process": "gateway,users", "ready": true, "latency_ms": 0.4},
                {"module": "payments", "process": "http://127.0.0.1:9", "ready": false,
                 "latency_ms": 1.5, "reason": "cannot reach http://127.0.0.1:9"},
            ],
        }))
        .unwrap();
        let table = table(&health, "http://127.0.0.1:8080");
        assert!(table.contains("deployment degraded"), "{table}");
        assert!(table.contains("http://127.0.0.1:8080/dashboard"), "{table}");
        let payments = table.lines().find(|l| l.contains("payments")).unwrap();
        assert!(
            payments.contains("NOT READY") && payments.contains("cannot reach"),
            "{table}"
        );
        let mut faster = health.clone();
        faster.modules[0].latency_ms = 9.0;
        assert_eq!(faster.shape(), health.shape(), "latency alone is no change");
    }
}
