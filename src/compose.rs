//! The composition root: the only place that decides, per module, whether it runs here or
//! is reached over HTTP or gRPC (`grpc`), and how events travel between modules. It knows
//! the modules only through the binary's list.

mod grpc;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use runtime::bus::{self, Consumer, Consumes};
use runtime::db::Db;
use runtime::events::{consumer_path, consumer_router, EventHandler};
use runtime::internal;
use runtime::module::{Apis, Local, Module};
use runtime::outbox::{Relay, Subscriber};
use runtime::peer::Peer;

use crate::cli::{EventBus, ModuleArgs, ServeArgs, Transport};
use crate::dashboard::{self, Deployment, Site};
use crate::faults::Faults;
use crate::limits;
use crate::modules::MODULES;

/// Everything a process runs, before it starts serving.
pub struct Composition {
    /// The public API of local modules (and of remote ones, through the gateway), the
    /// internal event routes of local consumers whose producers run elsewhere, and health.
    pub router: Router,
    /// With `--transport grpc`, what the process serves to requests of type
    /// `application/grpc`: its modules' services, event delivery, health and reflection.
    pub grpc: Option<Router>,
    /// One relay per local module that publishes events.
    pub relays: Vec<Relay>,
    /// With a broker as the event bus, one task per local module that consumes events
    /// from another process.
    pub consumers: Vec<Box<dyn Consumer>>,
    /// The databases of local modules, closed at shutdown.
    pub dbs: Vec<Db>,
}

/// Where a module runs, as seen from this process: decided once, here.
enum Place {
    Local(Local),
    /// In another process; `None` when this process never calls it.
    Remote(Option<Peer>),
}

/// Applies the migrations of the modules in `args.role`; returns their names.
pub async fn migrate(args: &ModuleArgs) -> anyhow::Result<Vec<&'static str>> {
    let mut done = Vec::new();
    for module in MODULES.iter().filter(|m| args.role.runs(m.name)) {
        module.migrate(&args.location(module.name)).await?;
        done.push(module.name);
    }
    Ok(done)
}

/// Builds the process for `args`.
pub async fn build(args: &ServeArgs) -> anyhow::Result<Composition> {
    let roles = &args.modules.role;
    let token = args.internal_token()?;
    let http = grpc::client(args.transport, args.peer_timeout());
    let policy = args.call_policy();
    let bus_wanted = matches!(args.event_bus, EventBus::Broker(_));

    // A module elsewhere gets a peer only if this process calls it: to serve its API at the
    // gateway, for a local module that calls it, or to post its events over HTTP.
    let called = |module: &Module| {
        roles.gateway
            || MODULES.iter().any(|m| {
                roles.runs(m.name)
                    && (m.calls.contains(&module.name)
                        || (!bus_wanted && !m.topics_for(module).is_empty()))
            })
    };
    let faults = Faults::default();
    let mut apis = Apis::default();
    let mut places = Vec::with_capacity(MODULES.len());
    for module in MODULES {
        let place = if roles.runs(module.name) {
            let mut local = module
                .open_at(
                    &args.modules.location(module.name),
                    &apis,
                    args.module_flags.matches(),
                )
                .await?;
            local.events = local
                .events
                .map(|handler| faults.guard_events(module.name, handler));
            apis.insert(module.name, local.api.clone());
            Place::Local(local)
        } else {
            let peer = called(module).then(|| {
                Peer::with_policy(
                    module.name,
                    args.peers.of(module.name),
                    http.clone(),
                    &policy,
                )
                .with_internal_token(token.clone())
                .with_deadline(args.peer_timeout())
            });
            if let Some(peer) = &peer {
                apis.insert(
                    module.name,
                    grpc::contract(args.transport, module, peer.clone()),
                );
            }
            Place::Remote(peer)
        };
        places.push((*module, place));
    }

    // The public routes: each local module's, and, at the gateway, each remote module's
    // over its client, so that validation and errors are the same code in every topology.
    let mut api = Router::new();
    for (module, place) in &places {
        match place {
            Place::Local(local) => {
                api = api.merge(faults.guard_routes(module.name, (module.router)(&local.api)));
            }
            Place::Remote(_) if roles.gateway => {
                if let Some(contract) = apis.contract(module.name) {
                    api = api.merge((module.router)(contract));
                }
            }
            Place::Remote(_) => {}
        }
    }

    // Events: a relay per local producer with a subscriber per consuming module, wherever
    // it runs: in memory when it is here, over HTTP or through the bus when it is not. Only
    // a process with an event partner elsewhere needs the bus.
    let crosses = places.iter().any(|(module, place)| {
        matches!(place, Place::Local(_))
            && places.iter().any(|(other, there)| {
                matches!(there, Place::Remote(_))
                    && !(module.topics_for(other).is_empty() && other.topics_for(module).is_empty())
            })
    });
    let bus = match &args.event_bus {
        EventBus::Broker(url) if crosses => {
            Some(bus::connect(url, &format!("cleave {roles}"), every_consumer()).await?)
        }
        _ => None,
    };
    let mut relays = Vec::new();
    for (producer, place) in &places {
        let Place::Local(local) = place else { continue };
        let subscribers: Vec<Subscriber> = places
            .iter()
            .filter_map(|(consumer, there)| {
                let topics = producer.topics_for(consumer);
                if topics.is_empty() {
                    return None;
                }
                let handler: Arc<dyn EventHandler> = match (there, &bus) {
                    (Place::Local(local), _) => local.events.clone()?,
                    (Place::Remote(_), Some(bus)) => bus.publisher(producer.name, consumer.name),
                    (Place::Remote(peer), None) => {
                        grpc::consumer(args.transport, peer.clone()?, consumer.name)
                    }
                };
                Some(Subscriber {
                    name: consumer.name,
                    topics,
                    handler,
                })
            })
            .collect();
        if !subscribers.is_empty() {
            relays.push(Relay::new(local.db.clone(), subscribers));
        }
    }

    // A consumer's route (or, with the bus, its consumer task) exists only where a
    // producer it consumes from runs in another process: in one process events never
    // leave it, and a route that is not there cannot be called from outside.
    let mut internal = Router::new();
    let mut internal_paths = Vec::new();
    let mut consumers = Vec::new();
    let mut grpc_consumers = BTreeMap::new();
    for (consumer, place) in &places {
        let Place::Local(Local {
            events: Some(handler),
            db,
            ..
        }) = place
        else {
            continue;
        };
        let from_elsewhere = places.iter().any(|(producer, there)| {
            matches!(there, Place::Remote(_)) && !producer.topics_for(consumer).is_empty()
        });
        if !from_elsewhere {
            continue;
        }
        match &bus {
            Some(bus) => {
                consumers.push(bus.consumer(consumes(consumer), handler.clone(), db.clone()))
            }
            None if args.transport == Transport::Grpc => {
                grpc_consumers.insert(consumer.name, handler.clone());
            }
            None => {
                internal = internal.merge(consumer_router(consumer.name, handler.clone()));
                internal_paths.push(consumer_path(consumer.name));
            }
        }
    }
    // The gateway reads the spans of every process to draw traces across them; it reads its
    // own in memory.
    if !roles.gateway {
        internal = internal.merge(runtime::spans::router());
    }
    // A switch that takes a module down must not be open to anyone: without a token to
    // guard it, it does not exist.
    if token.is_some() {
        let local = places
            .iter()
            .filter(|(_, place)| matches!(place, Place::Local(_)))
            .map(|(module, _)| module.name)
            .collect();
        internal = internal.merge(faults.router(local));
    }
    if args.transport == Transport::Grpc {
        internal_paths.push("gRPC services".to_owned());
    }
    if token.is_none() && !internal_paths.is_empty() {
        tracing::warn!(
            routes = ?internal_paths,
            "internal routes are open to anyone who reaches this port: set --internal-token or --internal-token-file"
        );
    }

    let dbs: Vec<(&'static str, Db)> = places
        .iter()
        .filter_map(|(module, place)| match place {
            Place::Local(local) => Some((module.name, local.db.clone())),
            Place::Remote(_) => None,
        })
        .collect();
    let deployment = roles.gateway.then(|| {
        let sites = places
            .iter()
            .map(|(module, place)| {
                let site = match place {
                    Place::Local(local) => Site::Local(local.db.clone()),
                    Place::Remote(_) => Site::Remote(first_url(args.peers.of(module.name))),
                };
                (module.name, site)
            })
            .collect();
        Deployment::new(roles.to_string(), sites, token.clone())
    });
    let grpc = match args.transport {
        Transport::Http => None,
        Transport::Grpc => {
            let locals: Vec<_> = places
                .iter()
                .filter_map(|(module, place)| match place {
                    Place::Local(local) => Some((*module, local.api.clone())),
                    Place::Remote(_) => None,
                })
                .collect();
            let services = locals
                .iter()
                .map(|(module, _)| (module.name, module.grpc.service))
                .collect();
            let router = grpc::router(locals, grpc_consumers, token.clone()).await?;
            Some(faults.guard_grpc(services, router))
        }
    };
    // The contract is the product's, not a module's: every process serves the same one.
    let router = runtime::health::router(dbs.clone())
        .merge(deployment.map(dashboard::router).unwrap_or_default())
        .merge(crate::openapi::router())
        .merge(limits::public(api, args.limits(), roles.gateway))
        .merge(internal::guard(internal, token));
    Ok(Composition {
        router,
        grpc,
        relays,
        consumers,
        dbs: dbs.into_iter().map(|(_, db)| db).collect(),
    })
}

/// The first of a peer's comma-separated URLs, without a trailing slash.
fn first_url(urls: &str) -> String {
    urls.split(',')
        .next()
        .unwrap_or_default()
        .trim()
        .trim_end_matches('/')
        .to_owned()
}

fn consumes(module: &'static Module) -> Consumes {
    Consumes {
        module: module.name,
        topics: module.consumes,
        producers: MODULES
            .iter()
            .filter(|producer| !producer.topics_for(module).is_empty())
            .map(|producer| producer.name)
            .collect(),
    }
}

/// Every consuming module of the deployment, wherever it runs: each process that uses the
/// bus makes sure all their consumers exist before it publishes.
fn every_consumer() -> Vec<Consumes> {
    MODULES
        .iter()
        .filter(|module| !module.consumes.is_empty())
        .map(|module| consumes(module))
        .collect()
}
