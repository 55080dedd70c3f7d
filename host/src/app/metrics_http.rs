//! The Prometheus endpoint (`--metrics-addr`): a small HTTP server on its
//! own thread serving `/metrics` while the run goes on.

use crate::report::prometheus::{self, PromState};
use anyhow::{Context as _, anyhow};
use std::sync::{Arc, Mutex};

/// A running endpoint.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Updated by the interval sink.
    pub state: Arc<Mutex<PromState>>,
}

impl MetricsServer {
    /// Listens on `addr` (e.g. `127.0.0.1:9187`).
    pub fn start(addr: &str, state: PromState) -> anyhow::Result<MetricsServer> {
        let server = tiny_http::Server::http(addr)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("--metrics-addr {addr}: cannot listen"))?;
        let server = Arc::new(server);
        let state = Arc::new(Mutex::new(state));
        let (srv, st) = (server.clone(), state.clone());
        let thread = std::thread::Builder::new()
            .name("stormdb-metrics".into())
            .spawn(move || {
                for req in srv.incoming_requests() {
                    let resp = if req.url() == "/metrics" {
                        let body = st
                            .lock()
                            .map(|s| prometheus::render(&s))
                            .unwrap_or_default();
                        let mut r = tiny_http::Response::from_string(body);
                        if let Ok(h) = tiny_http::Header::from_bytes(
                            &b"Content-Type"[..],
                            &b"text/plain; version=0.0.4"[..],
                        ) {
                            r.add_header(h);
                        }
                        r
                    } else {
                        tiny_http::Response::from_string("see /metrics\n").with_status_code(404)
                    };
                    let _ = req.respond(resp);
                }
            })
            .context("starting the metrics thread")?;
        Ok(MetricsServer {
            server,
            thread: Some(thread),
            state,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> String {
        self.server
            .server_addr()
            .to_ip()
            .map_or_else(String::new, |a| a.to_string())
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
