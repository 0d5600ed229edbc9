//! The tools around the product: they start processes of the `cleave` binary and talk to
//! them over their public API, and know the modules only by the binary's list and their
//! contracts, never by their implementations.
//!
//! # Layout
//! - [`topology`]: the topology language (`monolith`, `microservices`, `users+orders,…`).
//! - [`launch`]: a topology as child processes that stop when their parent's pipe closes.
//! - [`up`]: `cleave up`, a topology on this machine with prefixed logs.
//! - [`compare`]: `cleave compare`, the measured comparison of topologies.
//! - [`manifests`]: `cleave manifests`, the deployment files (Compose, Kubernetes) that
//!   follow the list of modules.

pub mod compare;
pub mod launch;
pub mod manifests;
pub mod topology;
pub mod up;
