//! What makes an order acceptable, checked once at the edge of the module.

use orders_api::{
    OrderItem, PlaceOrder, MAX_ITEMS, MAX_QUANTITY, MAX_SKU_CHARS, MAX_UNIT_PRICE_CENTS,
};
use sha2::{Digest, Sha256};
use vocab::FieldError;

const MAX_KEY_LEN: usize = 255;

/// An order that passed every rule, with its total computed.
#[derive(Debug, Clone)]
pub(crate) struct ValidOrder {
    pub(crate) order: PlaceOrder,
    pub(crate) total_cents: i64,
}

impl ValidOrder {
    /// Checks every field and reports all that are wrong at once.
    pub(crate) fn parse(order: PlaceOrder) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(order.currency.len() == 3 && order.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            errors.push(FieldError::new(
                "currency",
                "must be an ISO 4217 code of three capital letters, such as EUR",
            ));
        }
        if order.items.is_empty() || order.items.len() > MAX_ITEMS {
            errors.push(FieldError::new(
                "items",
                format!("must hold between 1 and {MAX_ITEMS} items"),
            ));
        }
        for (i, item) in order.items.iter().enumerate() {
            check_item(i, item, &mut errors);
        }
        let total = total_cents(&order.items);
        // The bounds above keep every valid total in range; should they ever be widened,
        // an overflow is still refused here rather than wrapped.
        if errors.is_empty() && total.is_none() {
            errors.push(FieldError::new(
                "items",
                "the total exceeds the largest amount that can be charged",
            ));
        }
        match total {
            Some(total_cents) if errors.is_empty() => Ok(Self { order, total_cents }),
            _ => Err(errors),
        }
    }
}

fn check_item(i: usize, item: &OrderItem, errors: &mut Vec<FieldError>) {
    let sku = item.sku.trim();
    if sku.is_empty()
        || sku.chars().count() > MAX_SKU_CHARS
        || sku.len() != item.sku.len()
        || sku.chars().any(char::is_control)
    {
        errors.push(FieldError::new(
            format!("items[{i}].sku"),
            format!("must be 1 to {MAX_SKU_CHARS} characters, without surrounding spaces"),
        ));
    }
    if !(1..=MAX_QUANTITY).contains(&item.quantity) {
        errors.push(FieldError::new(
            format!("items[{i}].quantity"),
            format!("must be between 1 and {MAX_QUANTITY}"),
        ));
    }
    if !(0..=MAX_UNIT_PRICE_CENTS).contains(&item.unit_price_cents) {
        errors.push(FieldError::new(
            format!("items[{i}].unit_price_cents"),
            format!("must be between 0 and {MAX_UNIT_PRICE_CENTS}"),
        ));
    }
}

/// The sum of quantity × unit price, or `None` if it overflows.
fn total_cents(items: &[OrderItem]) -> Option<i64> {
    items.iter().try_fold(0i64, |sum, item| {
        item.unit_price_cents
            .checked_mul(i64::from(item.quantity))
            .and_then(|line| sum.checked_add(line))
    })
}

/// Checks an `Idempotency-Key` header value.
pub(crate) fn check_key(key: &str) -> Result<(), FieldError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::new(
            orders_api::IDEMPOTENCY_KEY,
            format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        ));
    }
    Ok(())
}

/// A fingerprint of the request body, to tell a repeat from a different request that
/// reuses a key.
pub(crate) fn fingerprint(order: &PlaceOrder) -> String {
    let canonical = serde_json::to_vec(order).expect("orders serialize to JSON");
    let digest = Sha256::digest(canonical);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn order(items: Vec<OrderItem>) -> PlaceOrder {
        PlaceOrder {
            user_id: Uuid::now_v7(),
            currency: "EUR".into(),
            items,
        }
    }

    fn item(quantity: u32, unit_price_cents: i64) -> OrderItem {
        OrderItem {
            sku: "BOOK-1".into(),
            quantity,
            unit_price_cents,
        }
    }

    #[test]
    fn computes_the_total() {
        let valid = ValidOrder::parse(order(vec![item(2, 1999), item(1, 500)])).unwrap();
        assert_eq!(valid.total_cents, 4498);
    }

    #[test]
    fn names_each_field_at_fault() {
        let mut bad = order(vec![item(0, -1), item(10_001, 1)]);
        bad.currency = "eur".into();
        bad.items[1].sku = " ".into();
        let fields: Vec<String> = ValidOrder::parse(bad)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "currency",
                "items[0].quantity",
                "items[0].unit_price_cents",
                "items[1].sku",
                "items[1].quantity"
            ]
        );
    }

    #[test]
    fn rejects_empty_and_oversized_orders() {
        assert_eq!(
            ValidOrder::parse(order(vec![])).unwrap_err()[0].field,
            "items"
        );
        let many = vec![item(1, 1); MAX_ITEMS + 1];
        assert_eq!(
            ValidOrder::parse(order(many)).unwrap_err()[0].field,
            "items"
        );
    }

    #[test]
    fn the_largest_order_has_a_total_and_a_larger_price_is_refused() {
        let largest = vec![item(MAX_QUANTITY, MAX_UNIT_PRICE_CENTS); MAX_ITEMS];
        let valid = ValidOrder::parse(order(largest)).unwrap();
        assert_eq!(
            valid.total_cents,
            MAX_UNIT_PRICE_CENTS * i64::from(MAX_QUANTITY) * MAX_ITEMS as i64
        );
        let errors = ValidOrder::parse(order(vec![item(2, i64::MAX)])).unwrap_err();
        assert_eq!(errors[0].field, "items[0].unit_price_cents");
    }

    #[test]
    fn a_sku_is_measured_in_characters() {
        let mut accented = item(1, 1);
        accented.sku = "é".repeat(MAX_SKU_CHARS);
        assert!(ValidOrder::parse(order(vec![accented.clone()])).is_ok());
        accented.sku.push('é');
        assert!(ValidOrder::parse(order(vec![accented])).is_err());
    }

    /// The published schema states the same bounds as these rules.
    #[test]
    fn the_schema_states_the_rules_bounds() {
        let schema = |schema| serde_json::to_value(schema).unwrap();
        let item = schema(<OrderItem as utoipa::PartialSchema>::schema());
        let props = &item["properties"];
        assert_eq!(props["sku"]["maxLength"], MAX_SKU_CHARS);
        assert_eq!(props["quantity"]["maximum"], MAX_QUANTITY);
        assert_eq!(props["unit_price_cents"]["maximum"], MAX_UNIT_PRICE_CENTS);
        let order = schema(<PlaceOrder as utoipa::PartialSchema>::schema());
        assert_eq!(order["properties"]["items"]["maxItems"], MAX_ITEMS);
    }

    #[test]
    fn the_same_body_has_the_same_fingerprint() {
        let a = order(vec![item(2, 1999)]);
        let mut b = a.clone();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        b.items[0].quantity = 3;
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn keys_must_be_visible_ascii() {
        assert!(check_key("order-42").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key("with space").is_err());
        assert!(check_key(&"k".repeat(256)).is_err());
    }
}
