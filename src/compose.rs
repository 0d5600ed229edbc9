//! The composition root: the only place that decides, per module, whether it runs here or
//! is reached over HTTP, and how events travel between modules.

use std::sync::Arc;

use axum::Router;
use orders::OrdersModule;
use orders_api::OrdersApi;
use payments::processor::Processor;
use payments::PaymentsModule;
use payments_api::PaymentsApi;
use runtime::db::Db;
use runtime::events::{consumer_path, consumer_router, EventHandler, RemoteConsumer};
use runtime::internal;
use runtime::nats::{self, Consumes, NatsConsumer};
use runtime::outbox::{Relay, Subscriber};
use runtime::peer::{self, Peer};
use users::UsersModule;
use users_api::UsersApi;

use crate::cli::{EventBus, ModuleArgs, ServeArgs};
use crate::limits;

/// Everything a process runs, before it starts serving.
pub struct Composition {
    /// The public API of local modules (and of remote ones, through the gateway), the
    /// internal event routes of local consumers whose producers run elsewhere, and health.
    pub router: Router,
    /// One relay per local module that publishes events.
    pub relays: Vec<Relay>,
    /// With a NATS event bus, one task per local module that consumes events from
    /// another process.
    pub consumers: Vec<NatsConsumer>,
    /// The databases of local modules, closed at shutdown.
    pub dbs: Vec<Db>,
}

/// The local modules of a role set, opened (which applies their migrations).
struct Local {
    users: Option<UsersModule>,
    orders: Option<OrdersModule>,
    payments: Option<PaymentsModule>,
}

impl Local {
    fn dbs(&self) -> Vec<(&'static str, Db)> {
        let mut dbs = Vec::new();
        if let Some(m) = &self.users {
            dbs.push((users::NAME, m.db().clone()));
        }
        if let Some(m) = &self.orders {
            dbs.push((orders::NAME, m.db().clone()));
        }
        if let Some(m) = &self.payments {
            dbs.push((payments::NAME, m.db().clone()));
        }
        dbs
    }
}

/// Applies the migrations of the modules in `roles`; returns their names.
pub async fn migrate(args: &ModuleArgs) -> anyhow::Result<Vec<&'static str>> {
    let roles = args.role;
    let mut done = Vec::new();
    if roles.users {
        users::migrate(&args.location(users::NAME)).await?;
        done.push(users::NAME);
    }
    if roles.orders {
        orders::migrate(&args.location(orders::NAME)).await?;
        done.push(orders::NAME);
    }
    if roles.payments {
        payments::migrate(&args.location(payments::NAME)).await?;
        done.push(payments::NAME);
    }
    Ok(done)
}

/// Opens the modules of `roles`; orders checks buyers with the local users module, or with
/// `remote_users` when users runs elsewhere.
async fn open(
    args: &ModuleArgs,
    remote_users: Arc<dyn UsersApi>,
    processor: Processor,
) -> anyhow::Result<Local> {
    let roles = args.role;
    let users = match roles.users {
        true => Some(UsersModule::open(&args.location(users::NAME)).await?),
        false => None,
    };
    let users_api = users.as_ref().map_or(remote_users, UsersModule::api);
    let orders = match roles.orders {
        true => Some(OrdersModule::open(&args.location(orders::NAME), users_api).await?),
        false => None,
    };
    let payments = match roles.payments {
        true => Some(PaymentsModule::open(&args.location(payments::NAME), processor).await?),
        false => None,
    };
    Ok(Local {
        users,
        orders,
        payments,
    })
}

/// Builds the process for `args`.
pub async fn build(args: &ServeArgs) -> anyhow::Result<Composition> {
    let roles = args.modules.role;
    let token = args.internal_token()?;
    let http = peer::http_client(args.peer_timeout());
    let policy = args.call_policy();
    let peer = |name: &'static str, url: &str| {
        Peer::with_policy(name, url, http.clone(), &policy).with_internal_token(token.clone())
    };
    let users_peer = peer(users::NAME, &args.users_url);
    let orders_peer = peer(orders::NAME, &args.orders_url);
    let payments_peer = peer(payments::NAME, &args.payments_url);

    let processor = Processor {
        limit_cents: args.payment_limit_cents,
    };
    let local = open(&args.modules, users::client(users_peer.clone()), processor).await?;

    let mut api = Router::new();
    let mut relays = Vec::new();

    let users_api: Option<Arc<dyn UsersApi>> = match &local.users {
        Some(m) => Some(m.api()),
        None => roles.gateway.then(|| users::client(users_peer)),
    };
    if let Some(users) = users_api {
        api = api.merge(users::router(users));
    }

    let orders_api: Option<Arc<dyn OrdersApi>> = match &local.orders {
        Some(m) => Some(m.api()),
        None => roles.gateway.then(|| orders::client(orders_peer.clone())),
    };
    if let Some(orders) = orders_api {
        api = api.merge(orders::router(orders));
    }

    let payments_api: Option<Arc<dyn PaymentsApi>> = match &local.payments {
        Some(m) => Some(m.api()),
        None => roles
            .gateway
            .then(|| payments::client(payments_peer.clone())),
    };
    if let Some(payments) = payments_api {
        api = api.merge(payments::router(payments));
    }

    // Events: orders → payments (OrderPlaced), payments → orders (payment outcomes).
    // In memory when both ends are here; when the consumer is elsewhere, over HTTP or
    // through the NATS stream.
    let orders_handler = local.orders.as_ref().map(OrdersModule::event_handler);
    let payments_handler = local.payments.as_ref().map(PaymentsModule::event_handler);
    // Only a process that holds one of the two event partners without the other sends or
    // receives events across processes, and so needs the bus.
    let events_cross = local.orders.is_some() != local.payments.is_some();
    let bus = match &args.event_bus {
        EventBus::Nats(url) if events_cross => {
            Some(nats::Bus::connect(url, &format!("cleave {roles}"), every_consumer()).await?)
        }
        _ => None,
    };
    let consumer = |local: Option<Arc<dyn EventHandler>>, peer: Peer, module: &'static str| {
        local.unwrap_or_else(|| match &bus {
            Some(bus) => bus.publisher(),
            None => Arc::new(RemoteConsumer::new(peer, module)),
        })
    };
    if let Some(m) = &local.orders {
        let handler = consumer(payments_handler.clone(), payments_peer, payments::NAME);
        relays.push(m.relay(vec![Subscriber {
            name: payments::NAME,
            topics: payments::CONSUMES,
            handler,
        }]));
    }
    if let Some(m) = &local.payments {
        let handler = consumer(orders_handler.clone(), orders_peer, orders::NAME);
        relays.push(m.relay(vec![Subscriber {
            name: orders::NAME,
            topics: orders::CONSUMES,
            handler,
        }]));
    }
    // A consumer's route (or, with NATS, its consumer task) exists only where a producer
    // it consumes from runs in another process: in one process events never leave it,
    // and a route that is not there cannot be called from outside.
    let mut internal = Router::new();
    let mut internal_paths = Vec::new();
    let mut consumers = Vec::new();
    let mut receive = |handler: Arc<dyn EventHandler>, consumes: Consumes| match &bus {
        Some(bus) => consumers.push(bus.consumer(consumes, handler)),
        None => {
            internal =
                std::mem::take(&mut internal).merge(consumer_router(consumes.module, handler));
            internal_paths.push(consumer_path(consumes.module));
        }
    };
    if let Some(handler) = orders_handler.filter(|_| local.payments.is_none()) {
        receive(handler, ORDERS_CONSUME);
    }
    if let Some(handler) = payments_handler.filter(|_| local.orders.is_none()) {
        receive(handler, PAYMENTS_CONSUME);
    }
    if token.is_none() && !internal_paths.is_empty() {
        tracing::warn!(
            routes = ?internal_paths,
            "internal routes are open to anyone who reaches this port: set --internal-token or --internal-token-file"
        );
    }

    // The contract is the product's, not a module's: every process serves the same one.
    let router = runtime::health::router(local.dbs())
        .merge(crate::openapi::router())
        .merge(limits::public(api, args.limits(), roles.gateway))
        .merge(internal::guard(internal, token));
    Ok(Composition {
        router,
        relays,
        consumers,
        dbs: local.dbs().into_iter().map(|(_, db)| db).collect(),
    })
}

const ORDERS_CONSUME: Consumes = Consumes {
    module: orders::NAME,
    topics: orders::CONSUMES,
};
const PAYMENTS_CONSUME: Consumes = Consumes {
    module: payments::NAME,
    topics: payments::CONSUMES,
};

/// Every consuming module of the deployment, wherever it runs: each process that uses the
/// bus makes sure all their consumers exist before it publishes.
fn every_consumer() -> Vec<Consumes> {
    vec![ORDERS_CONSUME, PAYMENTS_CONSUME]
}
