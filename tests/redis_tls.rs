//! `rediss://` against a real `redis-server` speaking TLS with a self-signed certificate.
#![cfg(feature = "tls")]

mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use cache_aside::RedisCache;
use cache_aside::prelude::*;
use support::RedisServer;

/// A certificate for 127.0.0.1, written where the server can read it; removed on drop.
struct Certificate {
    dir: PathBuf,
    pem: String,
}

impl Certificate {
    fn new() -> Self {
        let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let dir = std::env::temp_dir().join(format!("cache-aside-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = generated.cert.pem();
        std::fs::write(dir.join("cert.pem"), &pem).unwrap();
        std::fs::write(dir.join("key.pem"), generated.signing_key.serialize_pem()).unwrap();
        Self { dir, pem }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for Certificate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn rediss_urls_speak_tls_and_verify_the_server() {
    let certificate = Certificate::new();
    let tls_port = free_port().to_string();
    let (cert, key) = (certificate.path("cert.pem"), certificate.path("key.pem"));
    let _server = RedisServer::start_with_args(&[
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-auth-clients",
        "no",
    ]);
    let url = format!("rediss://127.0.0.1:{tls_port}/0");

    let trusted = RedisCache::builder(url.as_str())
        .tls_root_certificate(certificate.pem.as_bytes())
        .op_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    trusted.set("k", "over TLS", None).await.unwrap();
    assert_eq!(trusted.get("k").await.unwrap().as_deref(), Some("over TLS"));

    // The same server is not trusted against the public roots: no silent downgrade.
    let untrusted = RedisCache::builder(url.as_str())
        .op_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert!(untrusted.get("k").await.is_err());
}
