//! What a process serves over gRPC: the services of its modules (each serving whatever
//! implements the module's contract here), event delivery to its consumers, the standard
//! health service (`grpc.health.v1`, what Kubernetes' gRPC probes call) and server
//! reflection (v1, and v1alpha for the clients that only know it), so that generic clients
//! such as `grpcurl` or Python's `grpcio-reflection` can list and call the services.
//!
//! Every service but health and reflection is for the deployment's own modules: with an
//! internal token, a call without it is refused `UNAUTHENTICATED`.

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use http::header;
use tonic::service::RoutesBuilder;
use tonic::Status;
use tonic_health::ServingStatus;

use crate::internal::InternalToken;

/// The standard health service.
const HEALTH: &str = "grpc.health.v1.Health";
/// The reflection services, listed by themselves.
const REFLECTION: [&str; 2] = [
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// The path prefixes of the services open to anyone who reaches the port.
const OPEN: [&str; 2] = ["/grpc.health.v1.", "/grpc.reflection."];

/// The gRPC side of a process, as it is put together.
pub struct Server {
    routes: RoutesBuilder,
    services: Vec<&'static str>,
    descriptors: Vec<&'static [u8]>,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            routes: RoutesBuilder::default(),
            services: Vec::new(),
            descriptors: vec![crate::grpc::vocab::DESCRIPTOR],
        }
    }
}

impl Server {
    /// Where services are added.
    pub fn routes(&mut self) -> &mut RoutesBuilder {
        &mut self.routes
    }

    /// Lists the service `name` in health checks and reflection, described by the
    /// compiled `.proto` files `descriptor` (a `FileDescriptorSet`).
    pub fn describe(&mut self, name: &'static str, descriptor: &'static [u8]) {
        self.services.push(name);
        self.descriptors.push(descriptor);
    }

    /// The routes to serve on the process's port for requests of type `application/grpc`.
    pub async fn router(mut self, token: Option<InternalToken>) -> anyhow::Result<Router> {
        let (health, health_service) = tonic_health::server::health_reporter();
        for name in &self.services {
            health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        self.describe(HEALTH, tonic_health::pb::FILE_DESCRIPTOR_SET);
        let mut v1 = tonic_reflection::server::Builder::configure();
        let mut v1alpha = tonic_reflection::server::Builder::configure();
        for descriptor in &self.descriptors {
            v1 = v1.register_encoded_file_descriptor_set(descriptor);
            v1alpha = v1alpha.register_encoded_file_descriptor_set(descriptor);
        }
        // Only the services served here: a `.proto` file may hold others.
        for name in self.services.iter().chain(&REFLECTION) {
            v1 = v1.with_service_name(*name);
            v1alpha = v1alpha.with_service_name(*name);
        }
        self.routes
            .add_service(health_service)
            .add_service(v1.build_v1()?)
            .add_service(v1alpha.build_v1alpha()?);
        let router = self.routes.routes().prepare().into_axum_router();
        let router = match token {
            Some(token) => router.layer(middleware::from_fn_with_state(token, require)),
            None => router,
        };
        Ok(crate::request_id::layer(router))
    }
}

async fn require(
    axum::extract::State(token): axum::extract::State<InternalToken>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if OPEN.iter().any(|open| path.starts_with(open))
        || token.admits(request.headers().get(header::AUTHORIZATION))
    {
        return next.run(request).await;
    }
    Status::unauthenticated(
        "this service is for cleave's own modules and needs the deployment's internal token",
    )
    .into_http()
}
