//! The modules of this binary: the one list that roles, topologies, the composition of a
//! process, the event wiring, the OpenAPI document and the deployment files derive from.
//! A module comes after the modules it calls.

use runtime::module::Module;

pub static MODULES: &[&Module] = &[
    &users::MODULE,
    &orders::MODULE,
    &payments::MODULE,
    &shipping::MODULE,
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::MODULES;

    #[test]
    fn names_are_unique_and_not_the_gateway_nor_all() {
        let names: HashSet<&str> = MODULES.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), MODULES.len());
        for reserved in ["gateway", "all", "all-in-one"] {
            assert!(!names.contains(reserved), "{reserved} is a role of its own");
        }
    }

    #[test]
    fn a_module_comes_after_the_modules_it_calls() {
        for (i, module) in MODULES.iter().enumerate() {
            for callee in module.calls {
                let at = MODULES.iter().position(|m| m.name == *callee);
                assert!(
                    at.is_some_and(|at| at < i),
                    "{} calls {callee}, which must come before it",
                    module.name
                );
            }
        }
    }

    #[test]
    fn every_topic_consumed_is_published() {
        for consumer in MODULES {
            for topic in consumer.consumes {
                assert!(
                    MODULES.iter().any(|p| p.publishes.contains(topic)),
                    "{} consumes {topic}, which no module publishes",
                    consumer.name
                );
            }
        }
    }
}
