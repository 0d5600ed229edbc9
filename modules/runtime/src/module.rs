//! A module as the binary sees it: one value, exported by the module's crate, that says
//! everything the rest needs to run it in this process or reach it in another, to serve
//! it, to document it and to carry its events. The binary keeps one list of them; roles,
//! topologies, the composition of a process, the event wiring, the OpenAPI document and
//! the deployment files all derive from that list.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use tonic::service::RoutesBuilder;

use crate::db::{Db, Location, Migrations};
use crate::events::EventHandler;
use crate::peer::Peer;

/// What a module is, and how to run it.
pub struct Module {
    /// Its role (`--role=orders`), its database (file or schema), the host of its default
    /// URL (`http://orders:8080`), the cursor of its events at each producer.
    pub name: &'static str,
    /// What it does, in a few words: the help of its flags, the deployment files.
    pub about: &'static str,
    /// The tables it owns, on each engine.
    pub migrations: Migrations,
    /// The modules it calls through their contracts; each comes before it in the list.
    pub calls: &'static [&'static str],
    /// The topics of the events it publishes.
    pub publishes: &'static [&'static str],
    /// The topics it consumes, with the handler [`Module::open`] gives.
    pub consumes: &'static [&'static str],
    /// The module in this process, on its database, with the contracts of the modules it
    /// calls (local or remote, it cannot tell).
    pub open: fn(Opening<'_>) -> anyhow::Result<Opened>,
    /// Its contract over HTTP, for a process where it is not local.
    pub client: fn(Peer) -> Api,
    /// Its contract over gRPC, beside HTTP (`--transport grpc`).
    pub grpc: Grpc,
    /// Its public routes, serving any implementation of its contract: the local one, or
    /// the client at a gateway.
    pub router: fn(&Api) -> Router,
    /// Its operations in the OpenAPI document.
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    /// Flags of its own (such as payments' `--payment-limit-cents`), read back by `open`.
    pub flags: fn() -> Vec<clap::Arg>,
}

/// A module's contract over gRPC: generated from the `.proto` file beside its contract
/// crate, and checked against the contract's types by a test of the module's.
pub struct Grpc {
    /// Its service's full name (`cleave.orders.v1.Orders`), as health checks and
    /// reflection list it.
    pub service: &'static str,
    /// Its `.proto` files compiled, with those they import (a `FileDescriptorSet`): what
    /// server reflection tells generic clients.
    pub descriptor: &'static [u8],
    /// Its contract over gRPC, for a process where it is not local.
    pub client: fn(Peer) -> Api,
    /// Adds its service, serving any implementation of its contract, to a process's.
    pub serve: fn(&Api, &mut RoutesBuilder),
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Module {
    /// Opens the module in this process: its database at `location` (migrated), then the
    /// module on it.
    pub async fn open_at(
        &'static self,
        location: &Location,
        apis: &Apis,
        flags: &clap::ArgMatches,
    ) -> anyhow::Result<Local> {
        let db = Db::open_module(location, self.name, &self.migrations).await?;
        let opened = (self.open)(Opening {
            db: db.clone(),
            apis,
            flags,
        })?;
        if opened.events.is_some() {
            crate::metrics::consumer_at_zero(self.name);
        }
        Ok(Local {
            module: self,
            db,
            api: opened.api,
            events: opened.events,
        })
    }

    /// Applies the module's migrations to its database at `location`.
    pub async fn migrate(&self, location: &Location) -> anyhow::Result<()> {
        Db::open_module(location, self.name, &self.migrations)
            .await?
            .close()
            .await;
        Ok(())
    }

    /// The topics of `self` that `consumer` consumes.
    pub fn topics_for(&self, consumer: &Module) -> Vec<&'static str> {
        self.publishes
            .iter()
            .copied()
            .filter(|topic| consumer.consumes.contains(topic))
            .collect()
    }

    /// Its flags as `args` set them, the rest at their defaults (or their variables):
    /// for a module opened outside the command line, in tests and benchmarks.
    ///
    /// # Panics
    /// If `args` are not flags of the module's.
    pub fn flags_from(&self, args: &[&str]) -> clap::ArgMatches {
        clap::Command::new(self.name)
            .no_binary_name(true)
            .args((self.flags)())
            .get_matches_from(args)
    }
}

/// No flags of its own.
pub fn no_flags() -> Vec<clap::Arg> {
    Vec::new()
}

/// A module open in this process, on its database.
#[derive(Clone)]
pub struct Local {
    pub module: &'static Module,
    pub db: Db,
    pub api: Api,
    pub events: Option<Arc<dyn EventHandler>>,
}

/// What a module gets to open in this process.
pub struct Opening<'a> {
    /// Its own database, migrated, with its outbox.
    pub db: Db,
    /// The contracts of the modules it calls.
    pub apis: &'a Apis,
    /// The command line, holding its own flags.
    pub flags: &'a clap::ArgMatches,
}

/// A module open in this process.
pub struct Opened {
    /// Its contract, implemented here.
    pub api: Api,
    /// What applies the events it consumes; `None` for a module that consumes none.
    pub events: Option<Arc<dyn EventHandler>>,
}

/// A module's contract, whatever its trait: an `Arc<dyn UsersApi>`, say, local or remote.
#[derive(Clone)]
pub struct Api(Arc<dyn Any + Send + Sync>);

impl Api {
    /// Wraps the implementation of a contract trait `T`.
    pub fn new<T: ?Sized + Send + Sync + 'static>(api: Arc<T>) -> Self {
        Self(Arc::new(api))
    }

    /// The contract as the trait `T` it was made from.
    ///
    /// # Panics
    /// If it was made from another trait: a module's router or a caller asking for the
    /// wrong contract, which no deployment can fix.
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Arc<T> {
        self.0
            .downcast_ref::<Arc<T>>()
            .unwrap_or_else(|| panic!("not a {}", std::any::type_name::<T>()))
            .clone()
    }
}

/// The contracts of a process's modules, by module name.
#[derive(Clone, Default)]
pub struct Apis(BTreeMap<&'static str, Api>);

impl Apis {
    pub fn insert(&mut self, module: &'static str, api: Api) {
        self.0.insert(module, api);
    }

    /// The contract of `module`, erased; `None` when this process does not call it.
    pub fn contract(&self, module: &str) -> Option<&Api> {
        self.0.get(module)
    }

    /// The contract of `module`, as the trait `T`.
    ///
    /// # Panics
    /// If `module` is not in the list, or comes after the module asking for it.
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self, module: &str) -> Arc<T> {
        self.0
            .get(module)
            .unwrap_or_else(|| panic!("no contract of {module}: list it before its callers"))
            .get()
    }
}
