//! A simulated card processor: it authorizes any amount up to a limit.

use clap::{value_parser, Arg};
use payments_api::PaymentStatus;

/// The flag of the limit, `--payment-limit-cents`.
const LIMIT: &str = "payment-limit-cents";

/// The module's flags: the limit, 1 000.00 unless told.
pub(crate) fn flags() -> Vec<Arg> {
    vec![Arg::new(LIMIT)
        .long(LIMIT)
        .env("CLEAVE_PAYMENT_LIMIT_CENTS")
        .value_name("CENTS")
        .value_parser(value_parser!(i64).range(0..))
        .default_value("100000")
        .help("Largest order total, in minor units (cents), that the simulated processor authorizes; larger orders are declined")]
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Processor {
    /// The largest amount, in minor units, that is authorized.
    pub(crate) limit_cents: i64,
}

impl Processor {
    /// The processor the flags describe.
    pub(crate) fn from_flags(flags: &clap::ArgMatches) -> Self {
        Self {
            limit_cents: *flags
                .get_one::<i64>(LIMIT)
                .expect("the limit has a default"),
        }
    }

    pub(crate) fn decide(&self, amount_cents: i64) -> PaymentStatus {
        if amount_cents <= self.limit_cents {
            PaymentStatus::Authorized
        } else {
            PaymentStatus::Declined
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorizes_up_to_the_limit_inclusive() {
        let processor = Processor { limit_cents: 100 };
        assert_eq!(processor.decide(0), PaymentStatus::Authorized);
        assert_eq!(processor.decide(100), PaymentStatus::Authorized);
        assert_eq!(processor.decide(101), PaymentStatus::Declined);
    }
}
