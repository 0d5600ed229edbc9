//! Topologies as a small language: how the modules of the binary are grouped into
//! processes.
//!
//! - `monolith` (or `all`): one process with every module and the gateway;
//! - `microservices`: the gateway, then one process per module;
//! - a grouping such as `users+orders,payments+shipping`: commas separate processes, `+`
//!   joins modules in one process, and the gateway rides with the first process.

use std::fmt;

use runtime::module::Module;

/// The modules of one process, and whether it carries the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub gateway: bool,
    /// In the order of the binary's list.
    pub modules: Vec<&'static str>,
}

impl Group {
    /// Whether the process runs `module`.
    pub fn runs(&self, module: &str) -> bool {
        self.modules.contains(&module)
    }

    /// Its names, the gateway first, joined by `separator`.
    fn names(&self, separator: &str) -> String {
        let gateway = self.gateway.then_some("gateway");
        gateway
            .into_iter()
            .chain(self.modules.iter().copied())
            .collect::<Vec<_>>()
            .join(separator)
    }
}

/// One way of splitting the modules into processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// What the user wrote, used as the topology's name in reports.
    pub name: String,
    /// The processes; the first one carries the gateway.
    pub processes: Vec<Group>,
    /// Every module of the binary, in the order of its list.
    every: Vec<&'static str>,
}

impl Topology {
    /// Reads `spec` against the modules of `registry`.
    pub fn parse(spec: &str, registry: &[&Module]) -> Result<Self, String> {
        Self::of(spec, registry.iter().map(|m| m.name).collect())
    }

    /// Reads `spec` against the modules named `every`.
    fn of(spec: &str, every: Vec<&'static str>) -> Result<Self, String> {
        let spec = spec.trim();
        let processes = match spec {
            "monolith" | "all" | "all-in-one" => vec![Group {
                gateway: true,
                modules: every.clone(),
            }],
            "microservices" => std::iter::once(Group {
                gateway: true,
                modules: Vec::new(),
            })
            .chain(every.iter().map(|&name| Group {
                gateway: false,
                modules: vec![name],
            }))
            .collect(),
            grouping => parse_grouping(grouping, &every)?,
        };
        Ok(Self {
            name: spec.to_owned(),
            processes,
            every,
        })
    }

    /// The `--role` of process `i`: `all` for the gateway with every module.
    pub fn role(&self, i: usize) -> String {
        let group = &self.processes[i];
        if group.gateway && group.modules.len() == self.every.len() {
            "all".to_owned()
        } else {
            group.names(",")
        }
    }

    /// Every module of the binary.
    pub fn modules(&self) -> &[&'static str] {
        &self.every
    }

    /// Which process hosts `module`.
    pub fn host_of(&self, module: &str) -> usize {
        self.processes
            .iter()
            .position(|group| group.runs(module))
            .expect("every topology places every module")
    }
}

fn parse_grouping(spec: &str, every: &[&'static str]) -> Result<Vec<Group>, String> {
    let mut processes: Vec<Group> = Vec::new();
    for (i, text) in spec.split(',').enumerate() {
        let mut group = Group {
            gateway: i == 0,
            modules: Vec::new(),
        };
        for name in text.split('+').map(str::trim) {
            match name {
                "gateway" if i == 0 => {}
                "gateway" => {
                    return Err(format!(
                        "{spec:?}: the gateway rides with the first process"
                    ))
                }
                "all" | "all-in-one" => group.modules = every.to_vec(),
                name => {
                    let Some(&module) = every.iter().find(|&&m| m == name) else {
                        return Err(format!(
                            "unknown module {name:?} in {spec:?}: expected gateway, {}",
                            every.join(", ")
                        ));
                    };
                    if processes.iter().any(|p| p.runs(module)) || group.runs(module) {
                        return Err(format!("{module} is in two processes of {spec:?}"));
                    }
                    group.modules.push(module);
                }
            }
        }
        processes.push(group);
    }
    let missing: Vec<&str> = every
        .iter()
        .copied()
        .filter(|m| !processes.iter().any(|p| p.runs(m)))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{spec:?} leaves out {}: every module must be in a process",
            missing.join(", ")
        ));
    }
    for group in &mut processes {
        group
            .modules
            .sort_by_key(|m| every.iter().position(|e| e == m));
    }
    Ok(processes)
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let processes: Vec<String> = self.processes.iter().map(|g| g.names("+")).collect();
        write!(f, "{} ({})", self.name, processes.join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: [&str; 4] = ["users", "orders", "payments", "shipping"];

    fn roles(spec: &str) -> Vec<String> {
        let topology = Topology::of(spec, EVERY.to_vec()).unwrap();
        (0..topology.processes.len())
            .map(|i| topology.role(i))
            .collect()
    }

    #[test]
    fn names_and_groupings() {
        assert_eq!(roles("monolith"), ["all"]);
        assert_eq!(roles("all"), ["all"]);
        assert_eq!(
            roles("microservices"),
            ["gateway", "users", "orders", "payments", "shipping"]
        );
        assert_eq!(
            roles("users+orders,payments+shipping"),
            ["gateway,users,orders", "payments,shipping"]
        );
        assert_eq!(
            roles("shipping+users,orders,payments"),
            ["gateway,users,shipping", "orders", "payments"]
        );
        assert_eq!(roles("users+orders+payments+shipping"), ["all"]);
        assert_eq!(
            roles("gateway,users,orders,payments,shipping"),
            ["gateway", "users", "orders", "payments", "shipping"]
        );
    }

    #[test]
    fn rejects_missing_doubled_and_unknown_modules() {
        for wrong in [
            "users,orders,payments",
            "users+orders,orders+payments+shipping",
            "users,billing",
            "users,gateway,orders+payments+shipping",
        ] {
            assert!(Topology::of(wrong, EVERY.to_vec()).is_err(), "{wrong}");
        }
    }
}
