//! A client's mistakes: each one is an `application/problem+json` answer with the right
//! status, naming the field at fault, never a 5xx, and it changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{order_body, Shape, Topology};

/// The default `--max-body-bytes`.
const MAX_BODY_BYTES: usize = 256 * 1024;

enum Body {
    Empty,
    Json(Value),
    /// Sent as `application/json`, whatever it holds.
    Text(String),
    /// JSON sent without a content type.
    Untyped(Value),
}

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    body: Body,
    /// Headers sent besides the body's, each as often as listed.
    headers: Vec<(&'static str, &'static str)>,
    status: StatusCode,
    field: Option<&'static str>,
    code: Option<&'static str>,
}

impl Case {
    fn new(what: &'static str, method: Method, path: &str, body: Body) -> Self {
        Self {
            what,
            method,
            path: path.to_owned(),
            body,
            headers: Vec::new(),
            status: StatusCode::OK,
            field: None,
            code: None,
        }
    }

    fn get(what: &'static str, path: &str) -> Self {
        Self::new(what, Method::GET, path, Body::Empty)
    }

    fn post(what: &'static str, path: &str, body: Value) -> Self {
        Self::new(what, Method::POST, path, Body::Json(body))
    }

    fn post_text(what: &'static str, path: &str, text: &str) -> Self {
        Self::new(what, Method::POST, path, Body::Text(text.to_owned()))
    }

    fn post_untyped(what: &'static str, path: &str, body: Value) -> Self {
        Self::new(what, Method::POST, path, Body::Untyped(body))
    }

    /// The status of the problem expected.
    fn fails(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The field the problem must name.
    fn naming(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// A 422 naming `field`.
    fn invalid(self, field: &'static str) -> Self {
        self.fails(StatusCode::UNPROCESSABLE_ENTITY).naming(field)
    }

    fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Sends the request; returns what is wrong with the answer, if anything.
    async fn check(self, app: &Topology) -> Option<String> {
        let mut request = app.request(self.method.clone(), &self.path);
        for (name, value) in &self.headers {
            request = request.header(*name, *value);
        }
        let request = match self.body {
            Body::Empty => request,
            Body::Json(value) => request.json(&value),
            Body::Text(text) => request
                .header("content-type", "application/json")
                .body(text),
            Body::Untyped(value) => request.body(value.to_string()),
        };
        let reply = app.send(request).await;
        let mut wrong: Vec<String> = reply
            .problem_mismatch(self.status, self.field)
            .into_iter()
            .collect();
        if let Some(code) = self.code.filter(|code| reply.body["code"] != *code) {
            wrong.push(format!("code is not {code}: {reply}"));
        }
        if reply.status.is_server_error() {
            wrong.push("a client's mistake answered with a 5xx".to_owned());
        }
        let context = format!("{} ({} {})", self.what, self.method, self.path);
        (!wrong.is_empty()).then(|| format!("{context}: {}", wrong.join("; ")))
    }
}

/// `body` with the value at `pointer` replaced by `value`.
fn with(body: &Value, pointer: &str, value: Value) -> Value {
    let mut body = body.clone();
    *body
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} is not in the body")) = value;
    body
}

/// `body` without the member `key` of the object at `pointer`.
fn without(body: &Value, pointer: &str, key: &str) -> Value {
    let mut body = body.clone();
    body.pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .and_then(|object| object.remove(key))
        .unwrap_or_else(|| panic!("{pointer}/{key} is not in the body"));
    body
}

/// `body` as JSON text padded with whitespace (still valid JSON) to exactly `len` bytes.
fn padded(body: &Value, len: usize) -> String {
    let text = body.to_string();
    let padding = len.checked_sub(text.len()).expect("the body fits");
    text + &" ".repeat(padding)
}

/// Runs every case, then fails listing all the answers that were not as expected.
async fn check_all(app: &Topology, cases: Vec<Case>) {
    let mut wrong = Vec::new();
    for case in cases {
        wrong.extend(case.check(app).await);
    }
    assert!(
        wrong.is_empty(),
        "unexpected answers:\n{}",
        wrong.join("\n")
    );
}

pub(crate) async fn bad_inputs_are_problems(shape: Shape) {
    use StatusCode as S;
    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;
    let good = order_body(ada, &[("BOOK-1", 2, 1999)]);
    let with_quantity = |quantity: Value| with(&good, "/items/0/quantity", quantity);
    let with_price = |price: Value| with(&good, "/items/0/unit_price_cents", price);
    let beyond_u64 = good.to_string().replace(
        r#""unit_price_cents":1999"#,
        r#""unit_price_cents":100000000000000000000"#,
    );
    let unknown = Uuid::now_v7();
    let user = json!({"email": "trail@example.com", "name": "Trail"});

    // One line per case: the table reads as the list of mistakes it covers.
    #[rustfmt::skip]
    let cases = vec![
        Case::post_text("malformed JSON", "/orders", r#"{"user_id": "#).fails(S::BAD_REQUEST),
        Case::post_text("data after the document", "/users", &format!("{user} garbage")).fails(S::BAD_REQUEST).with_code("malformed-json"),
        Case::post_text("two documents", "/orders", &format!("{good}{good}")).fails(S::BAD_REQUEST).with_code("malformed-json"),
        Case::post("a user written as an array", "/users", json!(["trail@example.com", "Trail"])).invalid("body"),
        Case::post("an order written as an array", "/orders", json!([ada, "EUR", good["items"]])).invalid("body"),
        Case::post("an item written as an array", "/orders", with(&good, "/items/0", json!(["BOOK-1", 2, 1999]))).invalid("items[0]"),
        Case::post("two Idempotency-Keys", "/orders", good.clone()).with_header("idempotency-key", "k-1").with_header("idempotency-key", "k-2").fails(S::BAD_REQUEST).naming("idempotency-key").with_code("duplicate-header"),
        Case::post("quantity of the wrong type", "/orders", with_quantity(json!("two"))).invalid("items[0].quantity"),
        Case::post("user_id not a UUID", "/orders", with(&good, "/user_id", json!("ada"))).invalid("user_id"),
        Case::post("unknown user", "/orders", with(&good, "/user_id", json!(unknown))).invalid("user_id").with_code("unknown-user"),
        Case::post("no items", "/orders", with(&good, "/items", json!([]))).invalid("items"),
        Case::post("101 items", "/orders", with(&good, "/items", json!(vec![&good["items"][0]; 101]))).invalid("items"),
        Case::post("quantity 0", "/orders", with_quantity(json!(0))).invalid("items[0].quantity"),
        Case::post("quantity -1", "/orders", with_quantity(json!(-1))).invalid("items[0].quantity"),
        Case::post("quantity 10001", "/orders", with_quantity(json!(10_001))).invalid("items[0].quantity"),
        Case::post("negative unit price", "/orders", with_price(json!(-1))).invalid("items[0].unit_price_cents"),
        Case::post("unit price above the largest", "/orders", with_price(json!(9_223_372_036_855_i64))).invalid("items[0].unit_price_cents"),
        Case::post("unit price beyond i64", "/orders", with_price(json!(i64::MAX as u64 + 1))).invalid("items[0].unit_price_cents"),
        Case::post_text("unit price beyond u64", "/orders", &beyond_u64).invalid("items[0].unit_price_cents"),
        Case::post("lowercase currency", "/orders", with(&good, "/currency", json!("eur"))).invalid("currency"),
        Case::post("invalid email", "/users", json!({"email": "ada.example.com", "name": "Ada"})).invalid("email"),
        Case::post("email taken, in other case", "/users", json!({"email": "ADA@Example.COM", "name": "Ada"})).fails(S::CONFLICT).naming("email").with_code("duplicate-email"),
        Case::get("order id not a UUID", "/orders/not-a-uuid").invalid("id"),
        Case::get("user id not a UUID", "/users/not-a-uuid").invalid("id"),
        Case::get("payment id not a UUID", "/payments/not-a-uuid").invalid("id"),
        Case::get("unknown order", &format!("/orders/{unknown}")).fails(S::NOT_FOUND),
        Case::get("unknown user id", &format!("/users/{unknown}")).fails(S::NOT_FOUND),
        Case::get("unknown payment", &format!("/payments/{unknown}")).fails(S::NOT_FOUND),
        Case::get("limit 0", "/users?limit=0").invalid("limit"),
        Case::get("limit 501", "/users?limit=501").invalid("limit"),
        Case::get("garbage cursor", "/users?cursor=garbage").invalid("cursor"),
        Case::get("orders of a non-UUID user", "/orders?user_id=ada").invalid("user_id"),
        Case::get("payments of a non-UUID order", "/payments?order_id=x").invalid("order_id"),
        Case::post_text("body over the limit", "/orders", &padded(&good, MAX_BODY_BYTES + 1)).fails(S::PAYLOAD_TOO_LARGE),
        Case::post_untyped("no content type", "/users", json!({"email": "bob@example.com", "name": "Bob"})).fails(S::UNSUPPORTED_MEDIA_TYPE),
        Case::get("unknown route", "/nope").fails(S::NOT_FOUND),
        Case::new("wrong method", Method::DELETE, "/users", Body::Empty).fails(S::METHOD_NOT_ALLOWED),
    ];
    check_all(&app, cases).await;

    assert!(
        app.orders_of(ada).await.is_empty(),
        "a rejected order was kept"
    );
    let users = app.get("/users").await;
    assert_eq!(
        users.body["data"].as_array().map(Vec::len),
        Some(1),
        "{users}"
    );

    // The limit itself is allowed: only a larger body is refused.
    let at_limit = app
        .request(Method::POST, "/orders")
        .header("content-type", "application/json")
        .body(padded(&good, MAX_BODY_BYTES));
    app.send(at_limit).await.assert_status(StatusCode::CREATED);
}

/// A missing member is named where it is missing, like any other field at fault.
pub(crate) async fn missing_fields_are_named(shape: Shape) {
    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;
    let good = order_body(ada, &[("BOOK-1", 2, 1999)]);

    #[rustfmt::skip]
    let cases = vec![
        Case::post("no currency", "/orders", without(&good, "", "currency")).invalid("currency"),
        Case::post("an item without sku", "/orders", without(&good, "/items/0", "sku")).invalid("items[0].sku"),
        Case::post("a user without name", "/users", json!({"email": "bob@example.com"})).invalid("name"),
    ];
    check_all(&app, cases).await;
}
