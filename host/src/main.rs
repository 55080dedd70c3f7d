//! The `stormdb` binary: parse arguments, set up logging, dispatch, map the
//! outcome to an exit code.

use clap::Parser;
use stormdb::app;
use stormdb::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "warn,stormdb=info,plugin=info",
        (false, 1) => "info,stormdb=debug,plugin=debug",
        _ => "debug,stormdb=trace,plugin=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
}

fn main() {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run(_) | Command::LocalPg(_)) {
        // Listing commands behave like other Unix tools when their reader
        // goes away (`stormdb plugin list | head`): they stop quietly.
        // A run ignores it instead, so its report files are still written.
        // SAFETY: restoring the default disposition of a signal at start-up,
        // before any other thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    init_logging(cli.verbose, cli.quiet);
    let result = match &cli.command {
        Command::Run(args) => app::run(args),
        Command::Workloads => app::workloads(),
        Command::LocalPg(args) => app::local_pg(args),
        Command::Plugin(cmd) => app::plugin(cmd),
        Command::Compare(args) => app::compare_reports(args),
        Command::Html(args) => app::html_report(args),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            // One line: the error and its causes.
            eprintln!("stormdb: error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}
