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
    fn names_are_unique_and_not_a_role_topology_or_service_of_their_own() {
        let names: HashSet<&str> = MODULES.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), MODULES.len());
        // Roles, topologies (`cleave up`), and compose.yaml's all-in-one service.
        for reserved in ["gateway", "all", "all-in-one", "monolith", "microservices"] {
            assert!(!names.contains(reserved), "{reserved} names something else");
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
