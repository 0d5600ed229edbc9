//! The shipping module: ships each paid order, once.
//!
//! Its contract is the `shipping-api` crate. It hears of payments only through the
//! `PaymentAuthorized` event of `payments-api`. Inside: the SQL (`store`), the local
//! implementation (`service`), the handler of payment events (`events`), the router and
//! the client; all the binary sees of it is [`MODULE`].

mod client;
mod events;
mod grpc;
mod router;
mod service;
mod store;

use std::sync::Arc;

use payments_api::PaymentAuthorized;
use runtime::db::Migrations;
use runtime::module::{no_flags, Api, Grpc, Module, Opened};
use shipping_api::ShippingApi;
use utoipa::OpenApi;
use vocab::events::Event;

/// The shipping module.
pub static MODULE: Module = Module {
    name: shipping_api::NAME,
    about: "ships each paid order once",
    migrations: Migrations {
        sqlite: &sqlx::migrate!("../../migrations/shipping/sqlite"),
        postgres: &sqlx::migrate!("../../migrations/shipping/postgres"),
    },
    calls: &[],
    publishes: &[],
    consumes: &[PaymentAuthorized::TOPIC],
    open: |opening| {
        let api: Arc<dyn ShippingApi> = Arc::new(service::LocalShipping::new(opening.db.clone()));
        Ok(Opened {
            api: Api::new(api),
            events: Some(Arc::new(events::PaymentEvents::new(opening.db))),
        })
    },
    client: |peer| Api::new::<dyn ShippingApi>(Arc::new(client::ShippingClient::new(peer))),
    grpc: Grpc {
        service: grpc::SERVICE,
        descriptor: grpc::DESCRIPTOR,
        client: |peer| {
            Api::new::<dyn ShippingApi>(Arc::new(grpc::client::GrpcShippingClient::new(peer)))
        },
        serve: |api, routes| {
            routes.add_service(grpc::server::server(api.get::<dyn ShippingApi>()));
        },
    },
    router: |api| router::router(api.get::<dyn ShippingApi>()),
    openapi: router::ShippingDoc::openapi,
    flags: no_flags,
};
