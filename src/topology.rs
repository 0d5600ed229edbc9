//! Topologies as a small language: how modules are grouped into processes.
//!
//! - `monolith` (or `all`): one process with every module and the gateway;
//! - `microservices`: gateway | users | orders | payments, four processes;
//! - a grouping such as `users+orders,payments`: commas separate processes, `+` joins
//!   modules in one process, and the gateway rides with the first process.

use std::fmt;
use std::str::FromStr;

use crate::roles::Roles;

/// One way of splitting the modules into processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// What the user wrote, used as the topology's name in reports.
    pub name: String,
    /// The roles of each process; the first one carries the gateway.
    pub processes: Vec<Roles>,
}

impl Topology {
    pub fn monolith() -> Self {
        "monolith".parse().expect("a built-in topology")
    }

    pub fn microservices() -> Self {
        "microservices".parse().expect("a built-in topology")
    }

    /// Which process hosts a module, by the module's role.
    pub fn host_of(&self, wants: impl Fn(&Roles) -> bool) -> usize {
        self.processes
            .iter()
            .position(wants)
            .expect("every topology places every module")
    }
}

impl FromStr for Topology {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let spec = spec.trim();
        let processes = match spec {
            "monolith" | "all" | "all-in-one" => vec![Roles::ALL],
            "microservices" => ["gateway", "users", "orders", "payments"]
                .iter()
                .map(|r| r.parse().expect("known roles"))
                .collect(),
            grouping => parse_grouping(grouping)?,
        };
        Ok(Self {
            name: spec.to_owned(),
            processes,
        })
    }
}

fn parse_grouping(spec: &str) -> Result<Vec<Roles>, String> {
    let mut processes = Vec::new();
    let mut placed = Roles::default();
    for (i, group) in spec.split(',').enumerate() {
        let roles: Roles = group.replace('+', ",").parse()?;
        if roles.gateway && i > 0 {
            return Err(format!(
                "{spec:?}: the gateway rides with the first process"
            ));
        }
        for (name, twice) in [
            ("users", roles.users && placed.users),
            ("orders", roles.orders && placed.orders),
            ("payments", roles.payments && placed.payments),
        ] {
            if twice {
                return Err(format!("{name} is in two processes of {spec:?}"));
            }
        }
        placed = placed.union(roles);
        processes.push(roles);
    }
    if !(placed.users && placed.orders && placed.payments) {
        return Err(format!(
            "{spec:?} leaves a module out: every one of users, orders and payments must be in a process"
        ));
    }
    processes[0].gateway = true;
    Ok(processes)
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let processes: Vec<String> = self.processes.iter().map(Roles::to_string).collect();
        write!(f, "{} ({})", self.name, processes.join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(topology: &str) -> Vec<String> {
        let t: Topology = topology.parse().unwrap();
        t.processes.iter().map(Roles::to_string).collect()
    }

    #[test]
    fn names_and_groupings() {
        assert_eq!(roles("monolith"), ["all"]);
        assert_eq!(roles("all"), ["all"]);
        assert_eq!(
            roles("microservices"),
            ["gateway", "users", "orders", "payments"]
        );
        assert_eq!(
            roles("users+orders,payments"),
            ["gateway,users,orders", "payments"]
        );
        assert_eq!(
            roles("users,orders,payments"),
            ["gateway,users", "orders", "payments"]
        );
        assert_eq!(roles("users+orders+payments"), ["all"]);
        assert_eq!(
            roles("gateway,users,orders,payments"),
            ["gateway", "users", "orders", "payments"]
        );
    }

    #[test]
    fn rejects_missing_and_doubled_modules() {
        assert!("users,orders".parse::<Topology>().is_err());
        assert!("users+orders,orders+payments".parse::<Topology>().is_err());
        assert!("users,billing".parse::<Topology>().is_err());
        assert!("users,gateway,orders+payments".parse::<Topology>().is_err());
    }
}
