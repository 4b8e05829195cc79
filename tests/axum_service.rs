//! The axum service of `examples/axum_service.rs`, driven in-process through its router
//! (`tower::ServiceExt::oneshot`, no socket), on `MemoryCache`, on a `RedisCache` over a
//! `redis-server` of its own, and on the same with its first tier: each test builds its own
//! `App` on its own cache.

#[path = "support/mod.rs"]
mod support;

// The example's items that only its `main` uses are unused here.
#[allow(dead_code)]
#[path = "../examples/axum_service.rs"]
mod service;

support::matrix::matrix! {
    cases::a_read_is_a_hit_after_a_miss,
    cases::past_the_limit_is_429_with_retry_after,
    cases::an_update_is_visible_at_once,
    cases::the_token_is_loaded_once_for_20_concurrent_requests,
    cases::a_session_is_json_for_30_minutes,
    cases::health_and_metrics_answer,
}

mod cases {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::http::{StatusCode, header};
    use cache_aside::prelude::*;
    use serde_json::Value;

    use crate::service::{self, App, Client, RATE_LIMIT, SESSION_TTL, Session};
    use crate::support::backend::Backend;

    /// The service on this test's cache, and a client for its router.
    fn service(backend: &Backend) -> (Arc<App>, Client) {
        let metrics = service::prometheus().expect("a Prometheus recorder");
        let app = Arc::new(App::new(backend.cache.clone(), metrics));
        (app.clone(), Client(service::router(app)))
    }

    fn json(body: &str) -> Value {
        serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {body}"))
    }

    pub async fn a_read_is_a_hit_after_a_miss(backend: Backend) {
        let (app, client) = service(&backend);
        let session = client.login(1).await.unwrap();

        let (status, first) = client.get("/users/2", Some(&session)).await.unwrap();
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!(json(&first)["name"], "Grace");
        let queries = app.database.queries();
        assert!(backend.stored("user:2").await.is_some(), "stored");

        let (status, second) = client.get("/users/2", Some(&session)).await.unwrap();
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_eq!(second, first);
        assert_eq!(app.database.queries(), queries, "the second read is a hit");

        let (status, _) = client.get("/users/99", Some(&session)).await.unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND);
        // (On Redis, the load's lease marker may linger a moment: `stored` reads past it.)
        assert_eq!(
            backend.stored("user:99").await,
            None,
            "an Err is not stored"
        );
    }

    pub async fn past_the_limit_is_429_with_retry_after(backend: Backend) {
        let (_app, client) = service(&backend);
        let ada = client.login(1).await.unwrap();
        for request in 1..=RATE_LIMIT {
            let response = client
                .request("GET", "/users/2", Some(&ada), "")
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "request {request}");
            let remaining = &response.headers()["x-ratelimit-remaining"];
            assert_eq!(
                remaining.to_str().unwrap(),
                (RATE_LIMIT - request).to_string()
            );
        }

        // Another user id in the path: the same route, so the same limit.
        let refused = client
            .request("GET", "/users/3", Some(&ada), "")
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after = refused.headers()[header::RETRY_AFTER].to_str().unwrap();
        let retry_after: u64 = retry_after.parse().unwrap();
        assert!(
            (1..=60).contains(&retry_after),
            "Retry-After: {retry_after}"
        );

        // Another route, and another user on the same route, have limits of their own.
        let (status, _) = client.get("/users/2/orders", Some(&ada)).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        let grace = client.login(2).await.unwrap();
        let (status, _) = client.get("/users/2", Some(&grace)).await.unwrap();
        assert_eq!(status, StatusCode::OK);
    }

    pub async fn an_update_is_visible_at_once(backend: Backend) {
        let (_app, client) = service(&backend);
        let ada = client.login(1).await.unwrap();
        for path in ["/users/1", "/users/1/orders"] {
            let (status, body) = client.get(path, Some(&ada)).await.unwrap();
            assert_eq!(status, StatusCode::OK);
            assert!(body.contains(r#""Ada""#), "{path}: {body}");
        }

        let rename = r#"{"name": "Ada Lovelace"}"#;
        let (status, body) = client
            .send("PUT", "/users/1", Some(&ada), rename)
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");

        let (_, user) = client.get("/users/1", Some(&ada)).await.unwrap();
        assert_eq!(
            json(&user)["name"],
            "Ada Lovelace",
            "the key was invalidated"
        );
        let (_, orders) = client.get("/users/1/orders", Some(&ada)).await.unwrap();
        let orders = json(&orders);
        let orders = orders.as_array().unwrap();
        assert_eq!(orders.len(), 2);
        for order in orders {
            assert_eq!(order["customer"], "Ada Lovelace", "the tag was invalidated");
        }

        // Only oneself.
        let (status, _) = client
            .send("PUT", "/users/2", Some(&ada), rename)
            .await
            .unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    pub async fn the_token_is_loaded_once_for_20_concurrent_requests(backend: Backend) {
        let (app, client) = service(&backend);
        let ada = client.login(1).await.unwrap();
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (client, ada) = (client.clone(), ada.clone());
            requests.spawn(async move { client.get("/me/repos", Some(&ada)).await.unwrap() });
        }
        while let Some(answer) = requests.join_next().await {
            let (status, body) = answer.unwrap();
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(body.contains("user-1/dotfiles"), "{body}");
        }
        assert_eq!(app.provider.token_requests(), 1);

        // Stored for the token's hour, less five minutes.
        let ttl = backend.cache.ttl("provider:token:github:1").await.unwrap();
        let ttl = ttl.expect("the token is stored with a TTL");
        let expected = Duration::from_secs(3600 - 300);
        assert!(
            ttl <= expected && ttl > expected - Duration::from_secs(30),
            "{ttl:?}"
        );
    }

    pub async fn a_session_is_json_for_30_minutes(backend: Backend) {
        let (_app, client) = service(&backend);
        let session = client.login(2).await.unwrap();

        let key = format!("session:{session}");
        let stored: Option<Session> = backend.cache.get_json(&key).await.unwrap();
        assert_eq!(stored, Some(Session { user_id: 2 }));
        let ttl = backend.cache.ttl(&key).await.unwrap().expect("a TTL");
        assert!(
            ttl <= SESSION_TTL && ttl > SESSION_TTL - Duration::from_secs(30),
            "{ttl:?}"
        );

        let (status, me) = client.get("/me", Some(&session)).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json(&me)["name"], "Grace");

        for session in [None, Some("not-a-session")] {
            let (status, _) = client.get("/me", session).await.unwrap();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{session:?}");
        }
        backend.cache.delete(&key).await.unwrap(); // as when the TTL ends
        let (status, _) = client.get("/me", Some(&session)).await.unwrap();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    pub async fn health_and_metrics_answer(backend: Backend) {
        let (_app, client) = service(&backend);
        let ada = client.login(1).await.unwrap();
        for _ in 0..2 {
            client.get("/users/1", Some(&ada)).await.unwrap(); // a miss, then a hit
        }

        let (status, health) = client.get("/health", None).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        let health = json(&health);
        assert_eq!(health["status"], "ok");
        assert_eq!(health["breaker"], "closed");
        assert_eq!(health["cache"]["pending_invalidations"], 0);

        let response = client.request("GET", "/metrics", None, "").await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = &response.headers()[header::CONTENT_TYPE];
        assert!(content_type.to_str().unwrap().starts_with("text/plain"));
        let (_, text) = client.get("/metrics", None).await.unwrap();
        // The cache's own metrics go through the facade only with the feature `metrics`
        // (`scripts/test` runs with `--all-features`).
        if cfg!(feature = "metrics") {
            let hits = text.lines().find(|line| {
                line.starts_with("cache_aside_hits_total") && line.contains("App::user")
            });
            assert!(hits.is_some(), "no hits of App::user in:\n{text}");
        }
    }
}
