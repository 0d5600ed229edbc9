//! The payments module: charges each placed order once.
//!
//! Its contract is the `payments-api` crate. It hears of orders only through the
//! `OrderPlaced` event of `orders-api`. Inside: the simulated processor (`processor`),
//! the SQL (`store`), the local implementation (`service`), the handler of order events
//! (`events`), the router and the client; all the binary sees of it is [`MODULE`].

mod client;
mod events;
mod grpc;
mod processor;
mod router;
mod service;
mod store;

use std::sync::Arc;

use orders_api::OrderPlaced;
use payments_api::{PaymentAuthorized, PaymentDeclined, PaymentsApi};
use runtime::db::Migrations;
use runtime::module::{Api, Grpc, Module, Opened};
use utoipa::OpenApi;
use vocab::events::Event;

/// The payments module.
pub static MODULE: Module = Module {
    name: payments_api::NAME,
    about: "charges each placed order once",
    migrations: Migrations {
        sqlite: &sqlx::migrate!("../../migrations/payments/sqlite"),
        postgres: &sqlx::migrate!("../../migrations/payments/postgres"),
    },
    calls: &[],
    publishes: &[PaymentAuthorized::TOPIC, PaymentDeclined::TOPIC],
    consumes: &[OrderPlaced::TOPIC],
    open: |opening| {
        let processor = processor::Processor::from_flags(opening.flags);
        let api: Arc<dyn PaymentsApi> = Arc::new(service::LocalPayments::new(opening.db.clone()));
        Ok(Opened {
            api: Api::new(api),
            events: Some(Arc::new(events::OrderEvents::new(opening.db, processor))),
        })
    },
    client: |peer| Api::new::<dyn PaymentsApi>(Arc::new(client::PaymentsClient::new(peer))),
    grpc: Grpc {
        service: grpc::SERVICE,
        descriptor: grpc::DESCRIPTOR,
        client: |peer| {
            Api::new::<dyn PaymentsApi>(Arc::new(grpc::client::GrpcPaymentsClient::new(peer)))
        },
        serve: |api, routes| {
            routes.add_service(grpc::server::server(api.get::<dyn PaymentsApi>()));
        },
    },
    router: |api| router::router(api.get::<dyn PaymentsApi>()),
    openapi: router::PaymentsDoc::openapi,
    flags: processor::flags,
};
