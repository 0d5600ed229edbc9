//! Which modules a process runs: `--role=users,orders`, `--role=all`.

use std::fmt;
use std::str::FromStr;

/// The set of roles of one process. `gateway` serves the public API of the modules that
/// are not local by calling them over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Roles {
    pub gateway: bool,
    pub users: bool,
    pub orders: bool,
    pub payments: bool,
}

impl Roles {
    pub const ALL: Self = Self {
        gateway: true,
        users: true,
        orders: true,
        payments: true,
    };

    pub fn union(self, other: Self) -> Self {
        Self {
            gateway: self.gateway || other.gateway,
            users: self.users || other.users,
            orders: self.orders || other.orders,
            payments: self.payments || other.payments,
        }
    }
}

impl FromStr for Roles {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, String> {
        let mut roles = Self::default();
        for name in list.split(',').map(str::trim) {
            match name {
                "all" | "all-in-one" => roles = Self::ALL,
                "gateway" => roles.gateway = true,
                "users" => roles.users = true,
                "orders" => roles.orders = true,
                "payments" => roles.payments = true,
                other => {
                    return Err(format!(
                        "unknown role {other:?}: expected all, all-in-one, gateway, users, orders or payments"
                    ))
                }
            }
        }
        Ok(roles)
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::ALL {
            return f.write_str("all");
        }
        let names = [
            (self.gateway, "gateway"),
            (self.users, "users"),
            (self.orders, "orders"),
            (self.payments, "payments"),
        ];
        let list: Vec<&str> = names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
        f.write_str(&list.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_aliases() {
        assert_eq!("all".parse::<Roles>().unwrap(), Roles::ALL);
        assert_eq!("all-in-one".parse::<Roles>().unwrap(), Roles::ALL);
        let split: Roles = "users, orders".parse().unwrap();
        assert!(split.users && split.orders && !split.payments && !split.gateway);
        assert_eq!(split.to_string(), "users,orders");
        assert!("billing".parse::<Roles>().is_err());
        assert!("".parse::<Roles>().is_err());
    }
}
