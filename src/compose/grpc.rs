//! The transport between processes, as the composition root picks it: each remote
//! module's contract and each remote consumer of events over HTTP/JSON or over gRPC, and
//! with gRPC, what the process serves to its peers.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use runtime::events::{EventHandler, RemoteConsumer};
use runtime::grpc::events::GrpcConsumer;
use runtime::grpc::server::Server;
use runtime::internal::InternalToken;
use runtime::module::{Api, Module};
use runtime::peer::{self, Peer};

use crate::cli::Transport;

/// The client every peer of the process shares, bounded by `timeout`.
pub(super) fn client(transport: Transport, timeout: std::time::Duration) -> reqwest::Client {
    match transport {
        Transport::Http => peer::http_client(timeout),
        Transport::Grpc => peer::grpc_client(timeout),
    }
}

/// `module`'s contract, at `peer`.
pub(super) fn contract(transport: Transport, module: &Module, peer: Peer) -> Api {
    match transport {
        Transport::Http => (module.client)(peer),
        Transport::Grpc => (module.grpc.client)(peer),
    }
}

/// The module `consumer`'s events handler, at `peer`.
pub(super) fn consumer(transport: Transport, peer: Peer, consumer: &str) -> Arc<dyn EventHandler> {
    match transport {
        Transport::Http => Arc::new(RemoteConsumer::new(peer, consumer)),
        Transport::Grpc => Arc::new(GrpcConsumer::new(peer, consumer)),
    }
}

/// What the process serves over gRPC: the service of each local module (`locals`), event
/// delivery to `consumers` (the local ones whose producers run elsewhere), health and
/// reflection.
pub(super) async fn router(
    locals: Vec<(&'static Module, Api)>,
    consumers: BTreeMap<&'static str, Arc<dyn EventHandler>>,
    token: Option<InternalToken>,
) -> anyhow::Result<Router> {
    let mut server = Server::default();
    for (module, api) in &locals {
        (module.grpc.serve)(api, server.routes());
        server.describe(module.grpc.service, module.grpc.descriptor);
    }
    if !consumers.is_empty() {
        server
            .routes()
            .add_service(runtime::grpc::events::service(consumers));
        server.describe(
            runtime::grpc::events::SERVICE,
            runtime::grpc::vocab::DESCRIPTOR,
        );
    }
    server.router(token).await
}
