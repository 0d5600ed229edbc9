//! The orders module: what was bought, and whether it was paid.
//!
//! Its contract is the `orders-api` crate. It knows the users module only through
//! `UsersApi`, and the payments module only through the events of `payments-api`.
//! Inside: the rules ([`rules`]), the SQL (`store`), the local implementation
//! (`service`), the handler of payment events (`events`), the router and the client, the
//! contract over gRPC (`grpc`: its messages, server and client); all
//! the binary sees of it is [`MODULE`].

mod client;
mod events;
mod grpc;
mod router;
mod rules;
mod service;
mod store;

use std::sync::Arc;

use orders_api::{OrderPlaced, OrdersApi};
use payments_api::{PaymentAuthorized, PaymentDeclined};
use runtime::db::Migrations;
use runtime::module::{no_flags, Api, Grpc, Module, Opened};
use users_api::UsersApi;
use utoipa::OpenApi;
use vocab::events::Event;

/// The orders module.
pub static MODULE: Module = Module {
    name: orders_api::NAME,
    about: "what was bought, and whether it was paid",
    migrations: Migrations {
        sqlite: &sqlx::migrate!("../../migrations/orders/sqlite"),
        postgres: &sqlx::migrate!("../../migrations/orders/postgres"),
    },
    calls: &[users_api::NAME],
    publishes: &[OrderPlaced::TOPIC],
    consumes: &[PaymentAuthorized::TOPIC, PaymentDeclined::TOPIC],
    open: |opening| {
        let users = opening.apis.get::<dyn UsersApi>(users_api::NAME);
        let api: Arc<dyn OrdersApi> =
            Arc::new(service::LocalOrders::new(opening.db.clone(), users));
        Ok(Opened {
            api: Api::new(api),
            events: Some(Arc::new(events::PaymentEvents::new(opening.db))),
        })
    },
    client: |peer| Api::new::<dyn OrdersApi>(Arc::new(client::OrdersClient::new(peer))),
    grpc: Grpc {
        service: grpc::SERVICE,
        descriptor: grpc::DESCRIPTOR,
        client: |peer| {
            Api::new::<dyn OrdersApi>(Arc::new(grpc::client::GrpcOrdersClient::new(peer)))
        },
        serve: |api, routes| {
            routes.add_service(grpc::server::server(api.get::<dyn OrdersApi>()));
        },
    },
    router: |api| router::router(api.get::<dyn OrdersApi>()),
    openapi: router::OrdersDoc::openapi,
    flags: no_flags,
};
