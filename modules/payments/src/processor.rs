//! A simulated card processor: it authorizes any amount up to a limit.

use payments_api::PaymentStatus;

/// The default limit: orders above 1 000.00 are declined.
pub const DEFAULT_LIMIT_CENTS: i64 = 100_000;

#[derive(Debug, Clone, Copy)]
pub struct Processor {
    /// The largest amount, in minor units, that is authorized.
    pub limit_cents: i64,
}

impl Default for Processor {
    fn default() -> Self {
        Self {
            limit_cents: DEFAULT_LIMIT_CENTS,
        }
    }
}

impl Processor {
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
