//! Which modules a process runs: `--role=users,orders`, `--role=all`.

use std::fmt;
use std::str::FromStr;

use crate::modules::MODULES;

/// The set of roles of one process. `gateway` serves the public API of the modules that
/// are not local by calling them over HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles {
    pub gateway: bool,
    /// The local modules, in the order of the binary's list.
    modules: Vec<&'static str>,
}

impl Roles {
    /// The gateway and every module.
    pub fn all() -> Self {
        Self {
            gateway: true,
            modules: MODULES.iter().map(|m| m.name).collect(),
        }
    }

    /// Whether `module` runs in this process.
    pub fn runs(&self, module: &str) -> bool {
        self.modules.contains(&module)
    }
}

impl FromStr for Roles {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, String> {
        let mut roles = Self::default();
        for name in list.split(',').map(str::trim) {
            match name {
                "all" | "all-in-one" => roles = Self::all(),
                "gateway" => roles.gateway = true,
                name => match MODULES.iter().find(|m| m.name == name) {
                    Some(module) if !roles.runs(module.name) => roles.modules.push(module.name),
                    Some(_) => {}
                    None => {
                        let known: Vec<&str> = MODULES.iter().map(|m| m.name).collect();
                        return Err(format!(
                            "unknown role {name:?}: expected all, all-in-one, gateway, {}",
                            known.join(", ")
                        ));
                    }
                },
            }
        }
        roles
            .modules
            .sort_by_key(|name| MODULES.iter().position(|m| m.name == *name));
        Ok(roles)
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::all() {
            return f.write_str("all");
        }
        let gateway = self.gateway.then_some("gateway");
        let list: Vec<&str> = gateway
            .into_iter()
            .chain(self.modules.iter().copied())
            .collect();
        f.write_str(&list.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_aliases() {
        assert_eq!("all".parse::<Roles>().unwrap(), Roles::all());
        assert_eq!("all-in-one".parse::<Roles>().unwrap(), Roles::all());
        let split: Roles = "orders, users".parse().unwrap();
        assert!(split.runs("users") && split.runs("orders") && !split.runs("payments"));
        assert!(!split.gateway);
        assert_eq!(split.to_string(), "users,orders");
        assert!("billing".parse::<Roles>().is_err());
        assert!("".parse::<Roles>().is_err());
    }
}
