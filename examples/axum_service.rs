//! An axum 0.8 service with everything a service needs around its cache: cached reads and
//! invalidations, a rate limit per user and route, sessions, an OAuth provider's token, a
//! health check and Prometheus metrics.
//!
//! | route | what it shows |
//! | --- | --- |
//! | `POST /login` `{"user_id": 1}` | a session stored as JSON for 30 minutes (`set_json`); answers `{"session": "..."}` |
//! | `GET /me` | the session read back (`get_json`), and the user behind it |
//! | `GET /users/{id}` | `#[cached]`: the first read runs the query, the next ones are hits |
//! | `GET /users/{id}/orders` | `#[cached]` under the tag `user:{id}` |
//! | `PUT /users/{id}` `{"name": "..."}` | `#[invalidate]` of the user's key and tag: the next reads see the change at once |
//! | `GET /me/repos` | a provider token cached until 5 minutes before it expires (`ttl = \|t: &Token\| ...`), fetched once however many requests need it at once |
//! | `GET /health` | the cache's circuit breaker and health, as JSON |
//! | `GET /metrics` | Prometheus text: the `cache_aside_*` metrics (feature `metrics`) and the service's own |
//!
//! The routes under `/users` and `/me` need `Authorization: Bearer <session>`, and each allows
//! a user 30 requests a minute; past that it answers 429 with a `Retry-After` header.
//!
//! Without `SERVE`, it drives its own router a few times in-process, prints what it saw and
//! exits; with `SERVE=1`, it serves on `PORT` (or a free port) until Ctrl-C:
//!
//! ```sh
//! cargo run --example axum_service                               # process memory
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example axum_service
//! SERVE=1 PORT=3000 cargo run --example axum_service --features metrics
//!
//! SESSION=$(curl -s localhost:3000/login -H 'content-type: application/json' \
//!     -d '{"user_id": 1}' | sed 's/.*"session":"\([^"]*\)".*/\1/')
//! curl -s localhost:3000/users/1 -H "authorization: Bearer $SESSION"
//! curl -s localhost:3000/metrics | grep cache_aside_
//! ```
//!
//! Every cache is explicit: the [`App`] holds it and each attribute names `cache =
//! self.cache`, so a test builds an `App` on a cache of its own (`tests/axum_service.rs`
//! does, on `MemoryCache` and on Redis).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use cache_aside::prelude::*;
use cache_aside::{BreakerState, RateLimiter, SharedCache, cached, invalidate};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower::ServiceExt;

/// How long a session lives after its login.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 60);
/// Requests a user may make to one route in [`RATE_WINDOW`].
pub const RATE_LIMIT: u64 = 30;
/// The rate limit's sliding window.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// What `main` and the in-process [`Client`] fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------------------------------
// The data
// ---------------------------------------------------------------------------------------

/// A user, as the database has it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The user's id, in routes and keys.
    pub id: u64,
    /// What `PUT /users/{id}` changes.
    pub name: String,
}

/// An order; it carries the customer's name, so renaming a user changes the user's orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The order's number.
    pub id: u64,
    /// The name of the user who placed it.
    pub customer: String,
    /// What it cost.
    pub total_cents: u64,
}

/// What a session holds, stored as JSON under `session:{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Who logged in.
    pub user_id: u64,
}

/// An OAuth provider's access token, as its token endpoint returns it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Token {
    /// What the provider's API wants.
    pub access_token: String,
    /// Seconds from issue to expiry.
    pub expires_in: u64,
}

/// What can go wrong in a request, and the answer it makes.
#[derive(Clone, Debug)]
pub enum AppError {
    /// No such user.
    NotFound,
    /// No session, or one that expired.
    Unauthorized,
    /// A user changing another user.
    Forbidden,
    /// Past the rate limit.
    TooManyRequests {
        /// How long until the caller is allowed again.
        retry_after: Duration,
    },
    /// The cache, which holds the sessions, failed: unlike a cached read, a session cannot
    /// be had without it.
    Unavailable(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "not found".to_owned()),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "log in first".to_owned()),
            AppError::Forbidden => (StatusCode::FORBIDDEN, "not yours".to_owned()),
            AppError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "slow down".to_owned())
            }
            AppError::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, why.clone()),
        };
        let mut response = (status, Json(json!({ "error": message }))).into_response();
        if let AppError::TooManyRequests { retry_after } = self {
            // Whole seconds, rounded up: a client that waits that long is allowed again.
            let seconds = retry_after.as_millis().div_ceil(1000).max(1);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds as u64));
        }
        response
    }
}

// ---------------------------------------------------------------------------------------
// Stand-ins for a database and an OAuth provider, slow enough to tell a hit from a load
// ---------------------------------------------------------------------------------------

/// The service's database: users in memory, each query counted and a few milliseconds slow.
pub struct Database {
    users: Mutex<HashMap<u64, String>>,
    queries: AtomicU64,
}

impl Database {
    const LATENCY: Duration = Duration::from_millis(20);

    fn new() -> Database {
        let users =
            [(1, "Ada"), (2, "Grace"), (3, "Barbara")].map(|(id, name)| (id, name.to_owned()));
        Database {
            users: Mutex::new(HashMap::from(users)),
            queries: AtomicU64::new(0),
        }
    }

    /// How many queries have run.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    async fn name(&self, id: u64) -> Result<String, AppError> {
        self.query().await;
        self.users()?.get(&id).cloned().ok_or(AppError::NotFound)
    }

    async fn rename(&self, id: u64, name: &str) -> Result<(), AppError> {
        self.query().await;
        let mut users = self.users()?;
        let stored = users.get_mut(&id).ok_or(AppError::NotFound)?;
        name.clone_into(stored);
        Ok(())
    }

    async fn query(&self) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Self::LATENCY).await;
    }

    fn users(&self) -> Result<std::sync::MutexGuard<'_, HashMap<u64, String>>, AppError> {
        self.users
            .lock()
            .map_err(|_| AppError::Unavailable("the database is poisoned".into()))
    }
}

/// An OAuth provider: a token endpoint (counted, and slow) and an API that wants its token.
pub struct Provider {
    token_requests: AtomicU64,
}

impl Provider {
    const LATENCY: Duration = Duration::from_millis(50);

    /// How many tokens the provider has issued.
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// The token endpoint: a token good for an hour.
    async fn issue_token(&self, user: u64) -> Token {
        let issued = self.token_requests.fetch_add(1, Ordering::Relaxed) + 1;
        tokio::time::sleep(Self::LATENCY).await;
        Token {
            access_token: format!("token-{user}-{issued}"),
            expires_in: 3600,
        }
    }

    /// An API call made with the user's token.
    async fn repositories(&self, token: &Token) -> Vec<String> {
        let user = token.access_token.split('-').nth(1).unwrap_or("?");
        vec![
            format!("user-{user}/dotfiles"),
            format!("user-{user}/notes"),
        ]
    }
}

// ---------------------------------------------------------------------------------------
// The application: its cache, and the cached operations
// ---------------------------------------------------------------------------------------

/// Everything the routes share. The cache is any cache: process memory, Redis, or the one a
/// test made.
pub struct App {
    /// Where the entries, the sessions and the rate limits are.
    pub cache: SharedCache,
    /// The users, each query counted.
    pub database: Database,
    /// The OAuth provider, each token counted.
    pub provider: Provider,
    limiter: RateLimiter,
    metrics: PrometheusHandle,
}

impl App {
    /// An application on `cache`, with a fresh database and provider.
    pub fn new(cache: SharedCache, metrics: PrometheusHandle) -> App {
        App {
            limiter: RateLimiter::new(cache.clone(), RATE_LIMIT, RATE_WINDOW),
            cache,
            database: Database::new(),
            provider: Provider {
                token_requests: AtomicU64::new(0),
            },
            metrics,
        }
    }

    /// A user, read through the cache. A `NotFound` is returned, never stored.
    #[cached(key = "user:{id}", ttl = "10m", cache = self.cache)]
    async fn user(&self, id: u64) -> Result<User, AppError> {
        let name = self.database.name(id).await?;
        Ok(User { id, name })
    }

    /// A user's orders, recorded under the tag `user:{id}` with everything else derived
    /// from the user.
    #[cached(key = "user:{id}:orders", ttl = "5m", tags = ["user:{id}"], cache = self.cache)]
    async fn orders(&self, id: u64) -> Result<Vec<Order>, AppError> {
        let customer = self.database.name(id).await?;
        Ok((1..=2)
            .map(|n| Order {
                id: id * 100 + n,
                customer: customer.clone(),
                total_cents: 1250 * n,
            })
            .collect())
    }

    /// Renames a user; once the write succeeded, deletes the user's entry and every entry
    /// under the user's tag (the orders).
    #[invalidate(key = "user:{id}", tags = ["user:{id}"], cache = self.cache)]
    async fn rename(&self, id: u64, name: &str) -> Result<(), AppError> {
        self.database.rename(id, name).await
    }

    /// The user's token at `provider`, cached until five minutes before it expires, so that
    /// it is never used in its last minutes. Concurrent misses share one request to the
    /// provider (across processes too, on Redis).
    #[cached(
        key = "provider:token:{provider}:{user}",
        ttl = |t: &Token| Duration::from_secs(t.expires_in.saturating_sub(300)),
        cache = self.cache,
    )]
    async fn provider_token(&self, provider: &str, user: u64) -> Result<Token, AppError> {
        let _ = provider; // one provider in this example
        Ok(self.provider.issue_token(user).await)
    }

    /// Opens a session for `user_id`: its JSON under `session:{id}`, for [`SESSION_TTL`].
    async fn open_session(&self, user_id: u64) -> Result<String, AppError> {
        let id = new_session_id();
        self.cache
            .set_json(&session_key(&id), &Session { user_id }, Some(SESSION_TTL))
            .await
            .map_err(|error| AppError::Unavailable(format!("session store: {error}")))?;
        Ok(id)
    }

    /// The session named by the request's `Authorization: Bearer <id>`.
    async fn session(&self, headers: &HeaderMap) -> Result<Session, AppError> {
        let id = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(AppError::Unauthorized)?;
        self.cache
            .get_json::<Session>(&session_key(id))
            .await
            .map_err(|error| AppError::Unavailable(format!("session store: {error}")))?
            .ok_or(AppError::Unauthorized)
    }
}

fn session_key(id: &str) -> String {
    format!("session:{id}")
}

/// 128 bits from the standard library's randomly keyed hasher: enough for an example. A
/// real service draws session ids from a CSPRNG (the `rand` or `uuid` crates).
fn new_session_id() -> String {
    let state = RandomState::new();
    format!("{:016x}{:016x}", state.hash_one(1u8), state.hash_one(2u8))
}

// ---------------------------------------------------------------------------------------
// The routes
// ---------------------------------------------------------------------------------------

/// The service's router: see the module's docs for the routes.
pub fn router(app: Arc<App>) -> Router {
    // Routes for a logged-in user, each with its own rate limit.
    let signed_in = Router::new()
        .route("/me", get(me))
        .route("/me/repos", get(repositories))
        .route("/users/{id}", get(user).put(rename))
        .route("/users/{id}/orders", get(orders))
        .route_layer(middleware::from_fn_with_state(
            app.clone(),
            sign_in_and_limit,
        ));
    Router::new()
        .route("/login", post(login))
        .route("/health", get(health))
        .route("/metrics", get(prometheus_text))
        .merge(signed_in)
        .with_state(app)
}

/// Finds the caller's session and checks its rate limit, keyed by user, method and route
/// (the route's pattern, `/users/{id}`, so that one user's reads of many users share a
/// limit).
async fn sign_in_and_limit(
    State(app): State<Arc<App>>,
    route: MatchedPath,
    mut request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let session = app.session(request.headers()).await?;
    let key = format!(
        "rate_limit:{}:{}:{}",
        session.user_id,
        request.method(),
        route.as_str()
    );
    let decision = app.limiter.check(&key).await;
    if !decision.allowed {
        metrics::counter!("app_rate_limited_total", "route" => route.as_str().to_owned())
            .increment(1);
        return Err(AppError::TooManyRequests {
            retry_after: decision.retry_after.unwrap_or(RATE_WINDOW),
        });
    }
    request.extensions_mut().insert(session);
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct Login {
    user_id: u64,
}

/// Logs a user in (this example checks no password) and answers the session's id.
async fn login(
    State(app): State<Arc<App>>,
    Json(login): Json<Login>,
) -> Result<Json<serde_json::Value>, AppError> {
    app.user(login.user_id).await?; // only known users
    let session = app.open_session(login.user_id).await?;
    Ok(Json(json!({ "session": session })))
}

async fn me(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
) -> Result<Json<User>, AppError> {
    app.user(session.user_id).await.map(Json)
}

async fn user(State(app): State<Arc<App>>, Path(id): Path<u64>) -> Result<Json<User>, AppError> {
    app.user(id).await.map(Json)
}

async fn orders(
    State(app): State<Arc<App>>,
    Path(id): Path<u64>,
) -> Result<Json<Vec<Order>>, AppError> {
    app.orders(id).await.map(Json)
}

#[derive(Deserialize)]
struct Rename {
    name: String,
}

/// Renames the caller; the answer is the user as the next read will see it.
async fn rename(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path(id): Path<u64>,
    Json(rename): Json<Rename>,
) -> Result<Json<User>, AppError> {
    if session.user_id != id {
        return Err(AppError::Forbidden);
    }
    app.rename(id, &rename.name).await?;
    app.user(id).await.map(Json)
}

async fn repositories(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
) -> Result<Json<Vec<String>>, AppError> {
    let token = app.provider_token("github", session.user_id).await?;
    Ok(Json(app.provider.repositories(&token).await))
}

/// The cache's health. A breaker that is not closed means the cache is being skipped:
/// reads go to the database and sessions are out of reach, so the service says `degraded`,
/// with 200 still, since it answers.
async fn health(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    let health = app.cache.health();
    let status = match health.state {
        BreakerState::Closed => "ok",
        _ => "degraded",
    };
    Json(json!({ "status": status, "breaker": health.state, "cache": health }))
}

async fn prometheus_text(State(app): State<Arc<App>>) -> Response {
    let text = app.metrics.render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The process's Prometheus recorder, installed at the first call (before any cached
/// call: each function registers its metrics at its first call).
pub fn prometheus() -> Result<PrometheusHandle, String> {
    static HANDLE: LazyLock<Result<PrometheusHandle, String>> = LazyLock::new(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .map_err(|error| error.to_string())
    });
    HANDLE.clone()
}

// ---------------------------------------------------------------------------------------
// Running it
// ---------------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let metrics = prometheus()?;
    // Redis when REDIS_URL is set, process memory when not.
    let app = Arc::new(App::new(cache_aside::from_env()?, metrics.clone()));
    if std::env::var("SERVE").is_ok_and(|serve| serve == "1") {
        serve(app, metrics).await
    } else {
        self_check(app).await
    }
}

/// Serves on `PORT` (or a free port) until Ctrl-C.
async fn serve(app: Arc<App>, metrics: PrometheusHandle) -> Result<(), BoxError> {
    let port: u16 = std::env::var("PORT").map_or(Ok(0), |port| port.parse())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("serving on http://{}", listener.local_addr()?);
    // The recorder drains its histograms on upkeep, which a served process must run.
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            metrics.run_upkeep();
        }
    });
    axum::serve(listener, router(app))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Drives the router in-process, as a client would, and prints what each route answered.
/// On a Redis that kept the entries of an earlier run, the first read may already be a hit
/// and the rate limit already partly used: it says what it saw rather than insisting.
async fn self_check(app: Arc<App>) -> Result<(), BoxError> {
    let client = Client(router(app.clone()));

    let session = client.login(1).await?;
    println!("POST /login: session {session}, kept for {SESSION_TTL:?}");
    let auth = Some(session.as_str());

    let (_, me) = client.get("/me", auth).await?;
    println!("GET /me: {me}");

    for read in 1..=2 {
        let before = app.database.queries();
        let (status, body) = client.get("/users/2", auth).await?;
        let queries = app.database.queries() - before;
        println!("GET /users/2 ({read}): {status} {body}, {queries} database queries");
    }

    client.get("/users/1/orders", auth).await?;
    let (status, body) = client
        .send("PUT", "/users/1", auth, r#"{"name": "Ada Lovelace"}"#)
        .await?;
    println!("PUT /users/1: {status} {body}");
    let (_, orders) = client.get("/users/1/orders", auth).await?;
    println!("GET /users/1/orders after it: {orders}");
    if !orders.contains("Ada Lovelace") {
        return Err("the rename is not visible in the orders".into());
    }

    let before = app.provider.token_requests();
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (client, session) = (client.clone(), session.clone());
        requests.spawn(async move { client.get("/me/repos", Some(&session)).await });
    }
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    while let Some(answer) = requests.join_next().await {
        *statuses.entry(answer??.0.as_u16()).or_default() += 1;
    }
    let tokens = app.provider.token_requests() - before;
    println!("20 concurrent GET /me/repos: {statuses:?} (status: count), {tokens} token requests");
    if tokens > 1 {
        return Err("the token was fetched more than once".into());
    }

    // Another user, whose limit on `GET /users/{id}` is untouched so far.
    let other = client.login(3).await?;
    let other = Some(other.as_str());
    let mut allowed = 0;
    let refused = loop {
        let response = client.request("GET", "/users/1", other, "").await?;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            break response;
        }
        allowed += 1;
        if allowed > RATE_LIMIT {
            return Err("no 429 past the limit".into());
        }
    };
    let retry_after = refused.headers().get(header::RETRY_AFTER);
    let retry_after = retry_after
        .and_then(|value| value.to_str().ok())
        .unwrap_or("none");
    println!("GET /users/1 as user 3: {allowed} allowed, then 429, Retry-After: {retry_after}");

    let (status, health) = client.get("/health", None).await?;
    println!("GET /health: {status} {health}");
    let (status, metrics) = client.get("/metrics", None).await?;
    let cache_lines = metrics
        .lines()
        .filter(|line| line.starts_with("cache_aside_"))
        .count();
    println!("GET /metrics: {status}, {cache_lines} cache_aside_* samples");
    if cache_lines == 0 {
        println!("  (build with --features metrics for the cache's own metrics)");
    }

    for stats in cache_aside::stats() {
        println!("stats: {stats}");
    }
    Ok(())
}

/// Sends requests to a router in-process (`tower::ServiceExt::oneshot`): no socket.
#[derive(Clone)]
pub struct Client(pub Router);

impl Client {
    /// `POST /login` as `user_id`: the session's id.
    pub async fn login(&self, user_id: u64) -> Result<String, BoxError> {
        let login = json!({ "user_id": user_id }).to_string();
        let (status, body) = self.send("POST", "/login", None, &login).await?;
        if status != StatusCode::OK {
            return Err(format!("POST /login: {status} {body}").into());
        }
        let body: serde_json::Value = serde_json::from_str(&body)?;
        let session = body["session"].as_str().ok_or("POST /login: no session")?;
        Ok(session.to_owned())
    }

    /// `GET path`, with a session if given: the status and the body as text.
    pub async fn get(
        &self,
        path: &str,
        session: Option<&str>,
    ) -> Result<(StatusCode, String), BoxError> {
        self.send("GET", path, session, "").await
    }

    /// `method path` with a JSON body (or none, when empty): the status and the body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        session: Option<&str>,
        json: &str,
    ) -> Result<(StatusCode, String), BoxError> {
        let response = self.request(method, path, session, json).await?;
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        Ok((status, String::from_utf8(body.to_vec())?))
    }

    /// The whole response, headers included.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        session: Option<&str>,
        json: &str,
    ) -> Result<Response, BoxError> {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(session) = session {
            request = request.header(header::AUTHORIZATION, format!("Bearer {session}"));
        }
        if !json.is_empty() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request.body(Body::from(json.to_owned()))?;
        Ok(self.0.clone().oneshot(request).await?)
    }
}
