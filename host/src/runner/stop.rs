//! Graceful stop: the first Ctrl-C (or SIGTERM) lets running steps finish
//! and the report be written; a second one abandons the steps in flight.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::sync::watch;

/// Shared stop state, checked by every worker between steps.
#[derive(Clone)]
pub struct StopSignal {
    stop: Arc<AtomicBool>,
    /// When the first stop (or abort) was requested.
    stopped_at: Arc<OnceLock<Instant>>,
    /// 0 running, 1 stop requested, 2 abort requested.
    state_tx: Arc<watch::Sender<u8>>,
    state_rx: watch::Receiver<u8>,
}

impl Default for StopSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl StopSignal {
    /// A signal nobody has raised.
    pub fn new() -> Self {
        let (tx, rx) = watch::channel(0);
        StopSignal {
            stop: Arc::new(AtomicBool::new(false)),
            stopped_at: Arc::new(OnceLock::new()),
            state_tx: Arc::new(tx),
            state_rx: rx,
        }
    }

    /// Asks workers to stop after their current step.
    pub fn request_stop(&self) {
        let _ = self.stopped_at.set(Instant::now());
        self.stop.store(true, Ordering::Relaxed);
        self.state_tx.send_if_modified(|s| {
            let changed = *s < 1;
            *s = (*s).max(1);
            changed
        });
    }

    /// Asks workers to abandon their current step too.
    pub fn request_abort(&self) {
        let _ = self.stopped_at.set(Instant::now());
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.state_tx.send(2);
    }

    /// True once a stop was requested.
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// When the first stop or abort was requested, if one was.
    pub fn stopped_at(&self) -> Option<Instant> {
        self.stopped_at.get().copied()
    }

    /// True once an abort was requested.
    pub fn abort_requested(&self) -> bool {
        *self.state_rx.borrow() >= 2
    }

    /// Resolves when an abort is requested.
    pub async fn aborted(&self) {
        let mut rx = self.state_rx.clone();
        let _ = rx.wait_for(|s| *s >= 2).await;
    }

    /// Resolves when a stop (or abort) is requested.
    pub async fn stopped(&self) {
        let mut rx = self.state_rx.clone();
        let _ = rx.wait_for(|s| *s >= 1).await;
    }

    /// Listens for SIGINT and SIGTERM on a thread of its own: the first
    /// requests a stop, the second an abort.
    pub fn listen_for_signals(&self) -> std::io::Result<()> {
        let me = self.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("stormdb-signals".into())
            .spawn(move || {
                rt.block_on(async move {
                    use tokio::signal::unix::{SignalKind, signal};
                    let (Ok(mut int), Ok(mut term)) = (
                        signal(SignalKind::interrupt()),
                        signal(SignalKind::terminate()),
                    ) else {
                        return;
                    };
                    let mut seen = 0;
                    loop {
                        tokio::select! {
                            _ = int.recv() => {}
                            _ = term.recv() => {}
                        }
                        seen += 1;
                        if seen == 1 {
                            eprintln!(
                                "stormdb: stopping after the steps in flight (interrupt again to abandon them)"
                            );
                            me.request_stop();
                        } else {
                            eprintln!("stormdb: abandoning the steps in flight");
                            me.request_abort();
                        }
                    }
                })
            })?;
        Ok(())
    }
}
