//! A plugin's stdout and stderr: lines into its log sink (rate-limited),
//! never onto the terminal directly. A panicking Rust guest's message
//! arrives this way.

use crate::bindings::stormdb::workload::log::Level;
use crate::capability::log::LogSink;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Bytes buffered waiting for a newline before the line is emitted anyway.
const MAX_PENDING: usize = 4096;

/// stdout or stderr of one instance.
pub struct PluginOutput {
    sink: LogSink,
    level: Level,
}

impl PluginOutput {
    /// Output emitted at `level` into `sink`.
    pub fn new(sink: LogSink, level: Level) -> Self {
        PluginOutput { sink, level }
    }
}

impl IsTerminal for PluginOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for PluginOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            sink: self.sink.clone(),
            level: self.level,
            pending: Vec::new(),
        })
    }
}

struct LineWriter {
    sink: LogSink,
    level: Level,
    pending: Vec<u8>,
}

impl LineWriter {
    fn flush_line(&mut self) {
        if !self.pending.is_empty() {
            let line = String::from_utf8_lossy(&self.pending).into_owned();
            if self.level == Level::Warn {
                self.sink.record_stderr(line.trim_end());
            }
            self.sink.emit(self.level, line.trim_end());
            self.pending.clear();
        }
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        for &b in buf {
            if b == b'\n' {
                self.flush_line();
            } else {
                self.pending.push(b);
                if self.pending.len() >= MAX_PENDING {
                    self.flush_line();
                }
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.flush_line();
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.flush_line();
    }
}
