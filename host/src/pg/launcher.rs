//! The embedded default: a throwaway PostgreSQL cluster started from the
//! installed server binaries and removed afterwards.
//!
//! The server runs as a child process in its own process group (so a
//! terminal's Ctrl-C reaches StormDB, which then stops it in order), as an
//! unprivileged user when StormDB runs as root, listening only on a Unix
//! socket inside its temporary directory. If StormDB itself is killed, the
//! kernel stops the server (parent-death signal) and the next start removes
//! the directory it left behind.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DIR_PREFIX: &str = "stormdb-pg-";
const OWNER_FILE: &str = "stormdb.pid";
const SUPERUSER: &str = "stormdb";
const PORT: u16 = 5432;

/// Why the throwaway server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// No `initdb`/`postgres` binaries were found.
    #[error(
        "no PostgreSQL server binaries found (looked for initdb and postgres in $STORMDB_PG_BIN \
         when it is set, else on PATH and in /usr/lib/postgresql/*/bin). Install them (Debian/Ubuntu: `apt-get install postgresql`) \
         or point StormDB at a server with --db postgres://user@host/dbname"
    )]
    NoBinaries,
    /// Running as root, but no unprivileged user exists to run the server.
    #[error(
        "running as root and no unprivileged user ('postgres' or 'nobody') to run PostgreSQL as"
    )]
    NoUser,
    /// A step of the set-up failed; the text says which and why.
    #[error("{0}")]
    Failed(String),
}

/// Options for [`LocalServer::start`].
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// `max_connections` for the server.
    pub max_connections: u32,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            max_connections: 200,
        }
    }
}

/// A running throwaway cluster. Dropping it stops the server and deletes
/// the directory.
pub struct LocalServer {
    dir: PathBuf,
    child: Option<Child>,
    version: String,
}

struct RunAs {
    uid: libc::uid_t,
    gid: libc::gid_t,
}

fn failed(what: &str, e: impl std::fmt::Display) -> LaunchError {
    LaunchError::Failed(format!("{what}: {e}"))
}

/// The directory holding `initdb` and `postgres`: `$STORMDB_PG_BIN` when it
/// is set (and then only there: an explicit choice is not second-guessed),
/// else PATH, else the newest `/usr/lib/postgresql/N/bin`.
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("STORMDB_PG_BIN").map(PathBuf::from) {
        return has_both(&dir).then_some(dir);
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|d| has_both(d))
    {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn run_as_user() -> Result<Option<RunAs>, LaunchError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    for name in [c"postgres", c"nobody"] {
        // SAFETY: getpwnam takes a NUL-terminated name and returns a pointer
        // to static storage or NULL; the fields are read at once, before any
        // other passwd call could overwrite them.
        let pw = unsafe { libc::getpwnam(name.as_ptr()) };
        if !pw.is_null() {
            // SAFETY: pw is non-null and points to a valid passwd record.
            let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
            if uid != 0 {
                return Ok(Some(RunAs { uid, gid }));
            }
        }
    }
    Err(LaunchError::NoUser)
}

/// A command for a server binary: clean environment, dropped privileges
/// when needed, and the parent-death signal so the server never outlives
/// StormDB.
fn server_command(bin: &Path, run_as: Option<&RunAs>, die_with_parent: bool) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .process_group(0);
    let ids = run_as.map(|r| (r.uid, r.gid));
    // SAFETY: the closure runs in the forked child before exec and only
    // makes async-signal-safe system calls (setgroups, setgid, setuid,
    // prctl, getppid); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if let Some((uid, gid)) = ids
                && (libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0)
            {
                return Err(std::io::Error::last_os_error());
            }
            // Set after the credential change, which would clear it.
            if die_with_parent {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() == 1 {
                    return Err(std::io::Error::other("parent already exited"));
                }
            }
            Ok(())
        });
    }
    cmd
}

fn chown(path: &Path, run_as: Option<&RunAs>) -> Result<(), LaunchError> {
    if let Some(r) = run_as {
        std::os::unix::fs::chown(path, Some(r.uid), Some(r.gid))
            .map_err(|e| failed(&format!("giving {} to the server user", path.display()), e))?;
    }
    Ok(())
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Removes clusters left by StormDB processes that were killed before they
/// could clean up (their server died with them).
fn remove_stale_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let dir = entry.path();
        let owner = read_pid(&dir.join(OWNER_FILE));
        let postmaster = read_pid(&dir.join("data").join("postmaster.pid"));
        if owner.is_some_and(|p| !pid_alive(p)) && !postmaster.is_some_and(pid_alive) {
            tracing::info!(
                "removing a throwaway cluster left behind: {}",
                dir.display()
            );
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

impl LocalServer {
    /// Initialises and starts a throwaway cluster, waiting until it accepts
    /// connections.
    pub fn start(opts: &LaunchOptions) -> Result<LocalServer, LaunchError> {
        let bin = find_bin_dir().ok_or(LaunchError::NoBinaries)?;
        let run_as = run_as_user()?;
        remove_stale_dirs();

        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir()
            .map_err(|e| failed("creating a temporary directory", e))?
            .keep();
        // From here on, `server` removes the directory on every exit path.
        let mut server = LocalServer {
            dir,
            child: None,
            version: String::new(),
        };
        fs::write(server.dir.join(OWNER_FILE), std::process::id().to_string())
            .map_err(|e| failed("writing the owner file", e))?;
        fs::set_permissions(&server.dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| failed("securing the temporary directory", e))?;
        chown(&server.dir, run_as.as_ref())?;

        let data = server.dir.join("data");
        let log_path = server.dir.join("server.log");
        let out = server_command(&bin.join("initdb"), run_as.as_ref(), false)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .map_err(|e| failed("running initdb", e))?;
        if !out.status.success() {
            return Err(LaunchError::Failed(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        server.version = fs::read_to_string(data.join("PG_VERSION"))
            .unwrap_or_default()
            .trim()
            .to_string();

        // pg_stat_statements gives the report server-side per-statement
        // figures; preload it when this installation ships it.
        // (Resolving links: PATH may hold links into the real bin directory.)
        let pss = fs::canonicalize(bin.join("postgres"))
            .ok()
            .and_then(|p| {
                Some(
                    p.parent()?
                        .parent()?
                        .join("lib")
                        .join("pg_stat_statements.so"),
                )
            })
            .is_some_and(|p| p.is_file());
        let log = fs::File::create(&log_path).map_err(|e| failed("creating the server log", e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| failed("creating the server log", e))?;
        let child = server_command(&bin.join("postgres"), run_as.as_ref(), true)
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&server.dir)
            .arg("-p")
            .arg(PORT.to_string())
            .args(["-c", "listen_addresses="])
            .args(["-c", &format!("max_connections={}", opts.max_connections)])
            .args(if pss {
                &["-c", "shared_preload_libraries=pg_stat_statements"][..]
            } else {
                &[][..]
            })
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| failed("starting postgres", e))?;
        server.child = Some(child);
        server.wait_ready(&data, &log_path)?;
        tracing::debug!(
            "pg_stat_statements available: {pss} (binaries in {})",
            bin.display()
        );
        if pss {
            server.create_extension("pg_stat_statements");
        }
        tracing::info!(
            "started a throwaway PostgreSQL {} in {}",
            server.version,
            server.dir.display()
        );
        Ok(server)
    }

    /// Waits for postmaster.pid to say "ready" (PostgreSQL 10+ writes the
    /// server status on its last line).
    fn wait_ready(&mut self, data: &Path, log_path: &Path) -> Result<(), LaunchError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let mut log = String::new();
                let _ = fs::File::open(log_path).and_then(|mut f| f.read_to_string(&mut log));
                return Err(LaunchError::Failed(format!(
                    "postgres exited during start-up ({status}): {}",
                    log.trim()
                )));
            }
            if let Ok(pid_file) = fs::read_to_string(data.join("postmaster.pid"))
                && pid_file.lines().nth(7).is_some_and(|l| l.trim() == "ready")
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(LaunchError::Failed(
                    "postgres did not become ready within 60 s".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Best effort: the statistics section says when the extension is
    /// missing, so a failure here only costs that section.
    fn create_extension(&self, name: &str) {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        let config = self.config();
        rt.block_on(async {
            let connected = config.connect(tokio_postgres::NoTls).await;
            if let Err(e) = &connected {
                tracing::debug!("connecting to create {name}: {e}");
            }
            if let Ok((client, conn)) = connected {
                let task = tokio::spawn(conn);
                if let Err(e) = client
                    .batch_execute(&format!("CREATE EXTENSION IF NOT EXISTS {name}"))
                    .await
                {
                    tracing::debug!("CREATE EXTENSION {name}: {e}");
                }
                drop(client);
                let _ = task.await;
            }
        });
    }

    /// The directory of the Unix socket (also the cluster's temporary root).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// Server major version, e.g. `15`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Connection settings for the cluster's superuser and `postgres` database.
    pub fn config(&self) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host_path(&self.dir)
            .port(PORT)
            .user(SUPERUSER)
            .dbname("postgres")
            .application_name("stormdb");
        c
    }

    /// A libpq-style connection string others (psql, pgbench) can use.
    pub fn conninfo(&self) -> String {
        format!(
            "host={} port={PORT} user={SUPERUSER} dbname=postgres",
            self.dir.display()
        )
    }

    /// Stops the server (fast shutdown, then SIGKILL after 30 s) and removes
    /// the directory.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: signalling our own child process.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        if self.dir.exists()
            && let Err(e) = fs::remove_dir_all(&self.dir)
        {
            tracing::warn!("could not remove {}: {e}", self.dir.display());
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
    }
}
