//! A plugin that reaches for the filesystem and the network through WASI.
//! StormDB links those interfaces inert (nothing to open) or, with
//! `--strict-wasi`, refuses the component at load.

use stormdb_sdk::{Context, Info, Outcome, StepError, StepResultExt, Workload, WorkloadError};

struct Reach {
    mode: String,
}

impl Workload for Reach {
    fn describe() -> Info {
        stormdb_sdk::info("hostile-wasi", "0.1.0", "Reach for files and sockets")
            .mode("fs", "read /etc/passwd")
            .mode("net", "connect to 127.0.0.1:5432")
            .build()
    }

    fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
        Ok(Reach {
            mode: ctx.mode.clone(),
        })
    }

    fn step(&mut self) -> Result<Outcome, StepError> {
        let op = self.mode.clone();
        let result = match op.as_str() {
            "fs" => std::fs::read_to_string("/etc/passwd").map(|s| s.len()),
            "net" => std::net::TcpStream::connect("127.0.0.1:5432").map(|_| 0),
            other => return Err(WorkloadError::failed(format!("unknown mode {other}"))).op(other),
        };
        match result {
            // Reaching anything would be a sandbox escape: fail loudly.
            Ok(_) => Err(WorkloadError::failed("ESCAPED: the sandbox let me in")).op(&op),
            Err(e) => Err(WorkloadError::failed(format!(
                "refused by the sandbox: {e}"
            )))
            .op(&op),
        }
    }
}

stormdb_sdk::export_workload!(Reach);
