//! The web layer end to end: `examples/saas.rs`'s router served on 127.0.0.1 by axum, and
//! called over HTTP with reqwest, with the tenant in the `Host` header.
//!
//! The scenarios run on SQLite, PostgreSQL and MariaDB (a fresh database each, holding
//! the isolation seed beside the example's own tables); the directory, resolver and
//! tracing tests run on SQLite.
//!
//! Run: `cargo test --all-features --test web` (servers as for `tests/isolation.rs`).

#[macro_use]
mod common;

#[allow(dead_code)]
#[path = "../examples/saas.rs"]
mod saas;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use reqwest::header::HOST;
use sea_orm::{
    ColumnTrait, ConnectOptions, Database, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use sea_orm_tenancy::web::{
    Header, JsonFile, ResolveTenant, StaticMap, TenancyLayer, TenantDirectory, TenantRef,
    TenantRejection,
};
use sea_orm_tenancy::{DataKey, TenancyError, TenantConnection};
use serde_json::{Value, json};

use common::Captured;
use saas::invoice;

/// The example's router, served on an ephemeral port of 127.0.0.1.
struct Server {
    base: String,
    client: reqwest::Client,
    saas_directory: TenantDirectory,
    admin: sea_orm_tenancy::lifecycle::TenantAdmin,
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    format!("http://{addr}")
}

async fn start(pool: &DatabaseConnection) -> Server {
    let saas = saas::setup(pool.clone()).await.expect("set the example up");
    Server {
        base: serve(saas.router).await,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
        saas_directory: saas.directory,
        admin: saas.admin,
    }
}

impl Server {
    fn request(&self, method: reqwest::Method, host: &str, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header(HOST, format!("{host}:3000"))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        host: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, host, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("json body ({e}): {text}"))
        };
        (status, value)
    }

    async fn list(&self, host: &str) -> Vec<invoice::Model> {
        let (status, body) = self
            .call(reqwest::Method::GET, host, "/invoices", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("invoices")
    }

    async fn create(&self, host: &str, number: &str) -> invoice::Model {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                host,
                "/invoices",
                Some(json!({"number": number, "customer": "Wile E.", "amount_cents": 1200})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        serde_json::from_value(body).expect("invoice")
    }
}

fn key_of(server: &Server, slug: &str) -> String {
    server
        .saas_directory
        .lookup(slug)
        .unwrap_or_else(|| panic!("{slug} is served"))
        .to_string()
}

fn numbers(invoices: &[invoice::Model]) -> Vec<&str> {
    invoices.iter().map(|i| i.number.as_str()).collect()
}

/// The body of a refusal: exactly `{"error": code, "message": …}`, naming no key or table.
fn assert_refusal(body: &Value, code: &str) {
    assert_eq!(body["error"], code, "{body}");
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 2, "only error and message: {body}");
    let text = body.to_string();
    for detail in ["100.", "101.", "invoices", "data_key", "tenant `"] {
        assert!(!text.contains(detail), "{detail} leaked: {text}");
    }
}

async fn different_hosts_see_different_data(pool: &DatabaseConnection) {
    let s = start(pool).await;
    let a1 = s.create("acme.localhost", "A-1").await;
    let g1 = s.create("globex.localhost", "G-1").await;
    assert_eq!(a1.data_key, key_of(&s, "acme"));
    assert_eq!(g1.data_key, key_of(&s, "globex"));

    assert_eq!(numbers(&s.list("acme.localhost").await), ["A-1"]);
    assert_eq!(numbers(&s.list("globex.localhost").await), ["G-1"]);
    // Case and the `example.com` base domain name the same tenant.
    assert_eq!(numbers(&s.list("ACME.example.com").await), ["A-1"]);

    // Another tenant's id is not found, for reading, changing and deleting alike.
    let other = format!("/invoices/{}", g1.id);
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let (status, body) = s.call(method, "acme.localhost", &other, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_refusal(&body, "not_found");
    }
    let change = json!({"number": "stolen", "customer": "x", "amount_cents": 1});
    let (status, _) = s
        .call(reqwest::Method::PUT, "acme.localhost", &other, Some(change))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(numbers(&s.list("globex.localhost").await), ["G-1"]);

    // Its own rows: read, changed, deleted.
    let own = format!("/invoices/{}", a1.id);
    let (status, body) = s
        .call(reqwest::Method::GET, "acme.localhost", &own, None)
        .await;
    assert_eq!(
        (status, body["number"].clone()),
        (StatusCode::OK, json!("A-1"))
    );
    let change = json!({"number": "A-1b", "customer": "Road Runner", "amount_cents": 1});
    let (status, body) = s
        .call(reqwest::Method::PUT, "acme.localhost", &own, Some(change))
        .await;
    assert_eq!(
        (status, body["number"].clone()),
        (StatusCode::OK, json!("A-1b"))
    );
    let (status, _) = s
        .call(reqwest::Method::DELETE, "acme.localhost", &own, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(s.list("acme.localhost").await.is_empty());

    // The layer's tenant and the task-local context agree.
    let (status, who) = s
        .call(reqwest::Method::GET, "globex.localhost", "/whoami", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        who,
        json!({"slug": "globex", "data_key": key_of(&s, "globex"), "context": key_of(&s, "globex")})
    );
}

async fn a_forged_data_key_in_the_body_is_refused_with_403(pool: &DatabaseConnection) {
    let s = start(pool).await;
    let a1 = s.create("acme.localhost", "A-1").await;
    let globex = key_of(&s, "globex");

    // Create a row under globex's key from acme's host.
    let forged = json!({"number": "A-2", "customer": "x", "amount_cents": 1, "data_key": globex});
    let (status, body) = s
        .call(
            reqwest::Method::POST,
            "acme.localhost",
            "/invoices",
            Some(forged),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_refusal(&body, "forbidden");

    // Move acme's own row to globex.
    let moved = json!({"number": "A-1", "customer": "x", "amount_cents": 1, "data_key": globex});
    let (status, body) = s
        .call(
            reqwest::Method::PUT,
            "acme.localhost",
            &format!("/invoices/{}", a1.id),
            Some(moved),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_refusal(&body, "forbidden");

    // A malformed key is refused the same way.
    let malformed = json!({"number": "A-3", "customer": "x", "amount_cents": 1, "data_key": "100"});
    let (status, body) = s
        .call(
            reqwest::Method::POST,
            "acme.localhost",
            "/invoices",
            Some(malformed),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Nothing was written: one invoice, acme's, unchanged.
    let rows = invoice::Entity::find().all(pool).await.expect("raw read");
    assert_eq!(rows, vec![a1]);
}

async fn an_unknown_host_gets_404(pool: &DatabaseConnection) {
    let s = start(pool).await;
    for host in [
        "initech.localhost",
        "a.acme.localhost",
        "acme.evil.test",
        "evil.test",
        "acmelocalhost",
    ] {
        let (status, body) = s.call(reqwest::Method::GET, host, "/invoices", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{host}: {body}");
        assert_refusal(&body, "unknown_tenant");
    }
    // The apex and the development host name no tenant: 400.
    for host in ["localhost", "example.com", "127.0.0.1"] {
        let (status, body) = s.call(reqwest::Method::GET, host, "/invoices", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{host}: {body}");
        assert_refusal(&body, "missing_tenant");
    }
    assert_eq!(invoice::Entity::find().count(pool).await.expect("count"), 0);
}

async fn concurrent_requests_across_tenants_never_cross(pool: &DatabaseConnection) {
    let s = Arc::new(start(pool).await);
    let tenants = [
        ("acme", key_of(&s, "acme")),
        ("globex", key_of(&s, "globex")),
    ];
    let mut requests = Vec::new();
    for i in 0..500 {
        let s = s.clone();
        let (slug, key) = tenants[i % 2].clone();
        requests.push(tokio::spawn(async move {
            let host = format!("{slug}.localhost");
            let seen = if i % 5 == 0 {
                vec![s.create(&host, &format!("{slug}-{i}")).await]
            } else {
                s.list(&host).await
            };
            for invoice in &seen {
                assert_eq!(
                    invoice.data_key, key,
                    "request {i} for {slug} saw {invoice:?}"
                );
                assert!(
                    invoice.number.starts_with(&format!("{slug}-")),
                    "request {i} for {slug} saw {invoice:?}"
                );
            }
            seen.len()
        }));
    }
    let mut rows_seen = 0;
    for request in requests {
        rows_seen += request.await.expect("request task");
    }
    assert!(rows_seen > 100, "the lists saw rows: {rows_seen}");
    for (slug, key) in &tenants {
        let listed = s.list(&format!("{slug}.localhost")).await;
        assert_eq!(listed.len(), 50, "{slug}");
        let stored = invoice::Entity::find()
            .filter(invoice::Column::DataKey.eq(key.as_str()))
            .count(pool)
            .await
            .expect("count");
        assert_eq!(stored, 50, "{slug}");
    }
}

async fn a_directory_reload_adds_a_tenant_without_restarting(pool: &DatabaseConnection) {
    let s = start(pool).await;
    let initech = s.admin.create("initech", None).await.expect("create");
    let (status, _) = s
        .call(reqwest::Method::GET, "initech.localhost", "/invoices", None)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "not served before the reload"
    );

    assert_eq!(s.saas_directory.reload().await.expect("reload"), 3);
    assert!(s.list("initech.localhost").await.is_empty());
    let i1 = s.create("initech.localhost", "initech-1").await;
    assert_eq!(i1.data_key, initech.data_key);
    assert!(s.list("acme.localhost").await.is_empty());
}

scenarios! {
    different_hosts_see_different_data,
    a_forged_data_key_in_the_body_is_refused_with_403,
    an_unknown_host_gets_404,
    concurrent_requests_across_tenants_never_cross,
    a_directory_reload_adds_a_tenant_without_restarting,
}

fn tenants_file(test: &str, content: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("tenants-{test}-{}.json", std::process::id()));
    std::fs::write(&path, content).expect("write the tenants file");
    path
}

fn key(text: &str) -> DataKey {
    DataKey::new(text).expect("key")
}

#[tokio::test]
async fn a_failed_reload_keeps_the_old_map_and_says_why() {
    let path = tenants_file("failed", r#"{"acme": "100."}"#);
    let directory = TenantDirectory::load(JsonFile::new(&path))
        .await
        .expect("load");
    for (content, why) in [
        ("{ not json", "not valid json"),
        (r#"{"acme": "100"}"#, "must end with"),
        (
            r#"{"acme": "100.", "ACME": "101."}"#,
            "slug `acme` appears twice",
        ),
        (r#"{"a.b": "100."}"#, "only letters, digits and `-`"),
        (r#"{"acme": 100}"#, "is not a string"),
        (r#"["acme"]"#, "one json object"),
    ] {
        std::fs::write(&path, content).expect("write");
        let err = directory.reload().await.expect_err(content);
        assert!(
            matches!(&err, TenancyError::DirectoryNotLoaded { source_name, .. } if source_name.ends_with(".json")),
            "{err:?}"
        );
        assert!(err.to_string().contains(why), "{content}: {err}");
        assert_eq!(directory.lookup("acme"), Some(key("100.")), "{content}");
        assert_eq!(directory.len(), 1);
    }
    std::fs::remove_file(&path).expect("write");
    assert!(directory.reload().await.is_err(), "a missing file");
    assert_eq!(directory.lookup("acme"), Some(key("100.")));
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_the_directory() {
    let path = tenants_file("sighup", r#"{"acme": "100."}"#);
    let directory = TenantDirectory::load(JsonFile::new(&path))
        .await
        .expect("load");
    let reloader = directory.reload_on_sighup().expect("install the handler");
    std::fs::write(&path, r#"{"acme": "100.", "globex": "101."}"#).expect("write");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    let mut waited = Duration::ZERO;
    while directory.lookup("globex").is_none() {
        assert!(waited < Duration::from_secs(10), "no reload after SIGHUP");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    assert_eq!(directory.lookup("globex"), Some(key("101.")));
    reloader.abort();
    let _ = std::fs::remove_file(&path);
}

/// A token's claim, as an authentication layer would leave it: here the bearer token is
/// the DataKey itself, which a real app would verify and decode first.
#[derive(Debug)]
struct BearerKey;

#[async_trait::async_trait]
impl ResolveTenant for BearerKey {
    async fn resolve(
        &self,
        parts: &axum::http::request::Parts,
    ) -> Result<Option<TenantRef>, TenantRejection> {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(TenantRejection::Unauthenticated)?;
        let key = DataKey::new(token).map_err(|_| TenantRejection::Unauthenticated)?;
        Ok(Some(TenantRef::Key(key)))
    }
}

async fn whose(db: TenantConnection) -> String {
    db.key().to_string()
}

async fn whose_if_any(db: Option<TenantConnection>) -> String {
    db.map_or_else(|| "nobody".to_owned(), |db| db.key().to_string())
}

async fn memory_pool() -> DatabaseConnection {
    let mut options = ConnectOptions::new("sqlite::memory:");
    options.max_connections(1).sqlx_logging(false);
    Database::connect(options).await.expect("sqlite")
}

async fn get_text(url: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("send");
    (response.status(), response.text().await.expect("text"))
}

#[tokio::test]
async fn a_claim_resolver_a_header_and_an_optional_layer_each_find_the_tenant_or_refuse() {
    let pool = memory_pool().await;
    let directory = TenantDirectory::load(StaticMap::new([("acme", key("100."))]))
        .await
        .expect("load");

    let by_claim = serve(
        Router::new()
            .route("/", get(whose))
            .layer(TenancyLayer::new(pool.clone(), BearerKey)),
    )
    .await;
    assert_eq!(
        get_text(&by_claim, &[("authorization", "Bearer 1.4.")]).await,
        (StatusCode::OK, "1.4.".to_owned())
    );
    let (status, body) = get_text(&by_claim, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_refusal(
        &serde_json::from_str(&body).expect("json"),
        "unauthenticated",
    );
    let (status, _) = get_text(&by_claim, &[("authorization", "Bearer 1.4")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let by_header = serve(
        Router::new().route("/", get(whose)).layer(
            TenancyLayer::new(
                pool.clone(),
                Header::new(axum::http::HeaderName::from_static("x-tenant")),
            )
            .with_directory(directory.clone()),
        ),
    )
    .await;
    assert_eq!(
        get_text(&by_header, &[("x-tenant", "acme")]).await,
        (StatusCode::OK, "100.".to_owned())
    );
    assert_eq!(
        get_text(&by_header, &[("x-tenant", "globex")]).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get_text(&by_header, &[]).await.0, StatusCode::BAD_REQUEST);

    // Optional: no tenant passes without a connection; a handler that needs one says 400.
    let optional = serve(
        Router::new()
            .route("/maybe", get(whose_if_any))
            .route("/must", get(whose))
            .layer(
                TenancyLayer::new(
                    pool.clone(),
                    Header::new(axum::http::HeaderName::from_static("x-tenant")),
                )
                .with_directory(directory.clone())
                .optional(),
            ),
    )
    .await;
    assert_eq!(
        get_text(&format!("{optional}/maybe"), &[]).await,
        (StatusCode::OK, "nobody".to_owned())
    );
    assert_eq!(
        get_text(&format!("{optional}/maybe"), &[("x-tenant", "acme")]).await,
        (StatusCode::OK, "100.".to_owned())
    );
    assert_eq!(
        get_text(&format!("{optional}/must"), &[]).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get_text(&format!("{optional}/maybe"), &[("x-tenant", "initech")])
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // A route without the layer never hands out a connection.
    let bare = serve(Router::new().route("/", get(whose))).await;
    let (status, body) = get_text(&bare, &[]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_refusal(&serde_json::from_str(&body).expect("json"), "internal");
}

/// Spans of the web layer, from every test of this binary: a process-wide subscriber,
/// since the server's tasks and the other tests' threads all report to it (a scoped one
/// misses spans whose callsite another test's thread registered first).
fn web_spans() -> &'static Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;

        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                    .with_writer(move || writer.clone()),
            )
            .with(
                tracing_subscriber::filter::Targets::new()
                    .with_target("sea_orm_tenancy::web", tracing::Level::INFO),
            );
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        captured
    })
}

#[tokio::test]
async fn each_request_runs_in_a_span_that_carries_the_tenant() {
    let captured = web_spans();
    let directory = TenantDirectory::load(StaticMap::new([
        ("acme", key("100.")),
        ("globex", key("101.")),
    ]))
    .await
    .expect("load");
    let base = serve(
        Router::new()
            .route("/traced", get(whose).post(whose))
            .layer(
                TenancyLayer::new(
                    memory_pool().await,
                    sea_orm_tenancy::web::Subdomain::new(["localhost"]),
                )
                .with_directory(directory),
            ),
    )
    .await;
    let client = reqwest::Client::new();
    let url = format!("{base}/traced");
    for (method, host, status) in [
        (reqwest::Method::POST, "acme.localhost", StatusCode::OK),
        (reqwest::Method::GET, "globex.localhost", StatusCode::OK),
        (
            reqwest::Method::GET,
            "initech.localhost",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let response = client
            .request(method, &url)
            .header(HOST, host)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), status, "{host}");
    }

    let text = captured.text();
    let spans: BTreeSet<&str> = text
        .lines()
        .filter(|l| {
            l.contains("tenant_request{") && l.contains("path=/traced") && l.contains("close")
        })
        .map(|l| {
            let start = l.find("tenant_request{").expect("span");
            let end = l[start..].find('}').expect("end") + start + 1;
            &l[start..end]
        })
        .collect();
    let expected: BTreeSet<&str> = [
        "tenant_request{method=POST path=/traced tenant=100. slug=acme}",
        "tenant_request{method=GET path=/traced tenant=101. slug=globex}",
        "tenant_request{method=GET path=/traced}",
    ]
    .into();
    assert_eq!(spans, expected, "{text}");
}
