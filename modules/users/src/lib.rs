//! The users module: who may buy.
//!
//! Its contract is the `users-api` crate. This crate adds the rules ([`rules`]), the SQL
//! (`store`), the local implementation (`service`), the HTTP router serving the contract
//! (`router`) and the HTTP client implementing it for other processes (`client`); all
//! the binary sees of it is [`MODULE`].

mod client;
mod grpc;
mod router;
mod rules;
mod service;
mod store;

use std::sync::Arc;

use runtime::db::Migrations;
use runtime::module::{no_flags, Api, Grpc, Module, Opened};
use users_api::UsersApi;
use utoipa::OpenApi;

/// The users module.
pub static MODULE: Module = Module {
    name: users_api::NAME,
    about: "who may buy",
    migrations: Migrations {
        sqlite: &sqlx::migrate!("../../migrations/users/sqlite"),
        postgres: &sqlx::migrate!("../../migrations/users/postgres"),
    },
    calls: &[],
    publishes: &[],
    consumes: &[],
    open: |opening| {
        let api: Arc<dyn UsersApi> = Arc::new(service::LocalUsers::new(opening.db));
        Ok(Opened {
            api: Api::new(api),
            events: None,
        })
    },
    client: |peer| Api::new::<dyn UsersApi>(Arc::new(client::UsersClient::new(peer))),
    grpc: Grpc {
        service: grpc::SERVICE,
        descriptor: grpc::DESCRIPTOR,
        client: |peer| Api::new::<dyn UsersApi>(Arc::new(grpc::client::GrpcUsersClient::new(peer))),
        serve: |api, routes| {
            routes.add_service(grpc::server::server(api.get::<dyn UsersApi>()));
        },
    },
    router: |api| router::router(api.get::<dyn UsersApi>()),
    openapi: router::UsersDoc::openapi,
    flags: no_flags,
};
