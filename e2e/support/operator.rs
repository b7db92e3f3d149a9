//! e2e: `sg-tightener run` as a child process against the test environment. [`Operator`] is a
//! guard: started once `/readyz` answers 200 (or `/healthz`, see `standby`), stopped (SIGTERM, then
//! SIGKILL) when dropped, its log printed when the test panicked. The child gets SIGKILL if the
//! test process dies.

use super::binary::operator_binary;
use super::env::{env, TestEnv};
use super::http::http_get;
use sg_tightener::config::ControllerConfig;
use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long the operator may take to list every kind and report ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a SIGTERM may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Log lines shown when a test fails.
const TAIL_LINES: usize = 60;

/// How to start an operator; see [`Operator::builder`].
#[derive(Debug, Clone)]
pub struct OperatorBuilder {
    label: String,
    config: ControllerConfig,
    env: Vec<(String, String)>,
    /// What `start` waits for: `/readyz`, or `/healthz` for a standby.
    ready_path: &'static str,
    /// Where the chart's ServiceAccount and leader-election Role go (a scenario's namespace).
    release_namespace: Option<String>,
    /// Whether the operator acts as the chart's ServiceAccount (else as the admin).
    as_service_account: bool,
    /// The ServiceAccount user it acts as, once installed.
    service_account: Option<String>,
}

impl OperatorBuilder {
    /// Watches only `namespace`, and acts as the Helm chart's ServiceAccount released there
    /// (`Scenario::operator_with` starts from this): an operator of one scenario never sees
    /// another's resources, and can do only what the chart grants.
    pub fn in_namespace(mut self, namespace: &str) -> Self {
        self.config.watch_namespaces = vec![namespace.to_owned()];
        self.release_namespace = Some(namespace.to_owned());
        self.as_service_account = true;
        self
    }

    /// Acts with the environment's admin credentials instead of the chart's ServiceAccount.
    pub fn with_admin_credentials(mut self) -> Self {
        self.as_service_account = false;
        self
    }

    /// Whether it watches every namespace (no `watchNamespaces`).
    pub fn watches_all_namespaces(&self) -> bool {
        self.config.watch_namespaces.is_empty()
    }

    /// Changes the controller configuration (already pointed at moto, leader election off).
    pub fn config(mut self, change: impl FnOnce(&mut ControllerConfig)) -> Self {
        change(&mut self.config);
        self
    }

    /// Turns leader election on with the Lease `namespace/lease` (make both unique per test).
    pub fn leader_election(self, namespace: &str, lease: &str) -> Self {
        self.config(|c| {
            c.leader_election.enabled = true;
            c.leader_election.namespace = namespace.to_owned();
            c.leader_election.lease_name = lease.to_owned();
        })
    }

    /// `start` waits for `/healthz` only. (A standby replica is ready too — readiness means able
    /// to take over — so this is only for a replica that cannot reach its Lease.)
    pub fn standby(mut self) -> Self {
        self.ready_path = "/healthz";
        self
    }

    /// Sets an environment variable of the process (e.g. `RUST_LOG`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Starts the process and waits until `/readyz` (a standby: `/healthz`) answers 200. A port
    /// taken between choosing and binding it is retried with another port.
    pub async fn start(mut self) -> Operator {
        if self.as_service_account {
            self.use_chart_service_account().await;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut operator = self.spawn();
            match operator.wait_ready(self.ready_path).await {
                Ok(()) => return operator,
                Err(why) if attempt < 3 && operator.log().contains("failed to bind") => {
                    eprintln!("operator {}: {why}; retrying on another port", self.label);
                }
                Err(why) => panic!(
                    "operator {} did not become ready: {why}\n{}",
                    self.label,
                    operator.log_tail()
                ),
            }
        }
    }

    /// Installs the chart's ServiceAccount and RBAC for this configuration and points the
    /// process at a kubeconfig that impersonates it.
    async fn use_chart_service_account(&mut self) {
        let namespace = self
            .release_namespace
            .clone()
            .expect("the chart's ServiceAccount needs a release namespace (in_namespace)");
        let release = super::names::unique_name("op");
        let dir = env().scratch_dir(&format!("rbac-{release}"));
        let user = super::chart_rbac::install(&release, &namespace, &self.config, &dir).await;
        let kubeconfig = super::chart_rbac::impersonating_kubeconfig(&user, &dir);
        self.env
            .push(("KUBECONFIG".to_owned(), kubeconfig.display().to_string()));
        // As the chart's Deployment does: the operator's own namespace (its group claims).
        self.env.push(("POD_NAMESPACE".to_owned(), namespace));
        self.service_account = Some(user);
    }

    fn spawn(&self) -> Operator {
        let env: &TestEnv = env();
        let id = super::names::unique_name(&format!("operator-{}", self.label));
        let dir = env.scratch_dir(&id);
        let address = free_local_address();
        let mut config = self.config.clone();
        config.http.address = address.to_string();
        let config_path = dir.join("controller.yaml");
        let yaml = serde_yaml::to_string(&config).expect("the controller config serialises");
        std::fs::write(&config_path, yaml).expect("write the operator config");
        let log_path = dir.join("operator.log");
        let log = File::create(&log_path).expect("create the operator log");
        let mut command = Command::new(operator_binary());
        command
            .args(["run", "--config"])
            .arg(&config_path)
            .env_clear()
            .envs(env.child_vars())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOSTNAME", &id)
            .env("SG_TIGHTENER_LOG_FORMAT", "text")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info,sg_tightener=debug")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log);
        die_with_parent(&mut command);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", operator_binary().display()));
        Operator {
            child: Some(child),
            address,
            identity: id,
            log_path,
            service_account: self.service_account.clone(),
        }
    }
}

/// A running `sg-tightener run`; stopped on drop.
#[derive(Debug)]
pub struct Operator {
    child: Option<Child>,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub address: SocketAddr,
    /// Its `HOSTNAME`; the Lease holder identity is `<identity>-<pid>`.
    pub identity: String,
    /// Its stdout + stderr.
    pub log_path: PathBuf,
    /// The user it acts as (`system:serviceaccount:…`); `None` = the environment's admin.
    pub service_account: Option<String>,
}

impl Operator {
    /// An operator for the test environment: `aws.endpointUrl` = moto, 3 AWS attempts, leader
    /// election off, `http.address` on a free 127.0.0.1 port, every namespace, the admin's
    /// credentials (`in_namespace` confines it). `label` names its log directory.
    pub fn builder(label: &str) -> OperatorBuilder {
        let mut config = ControllerConfig::default();
        config.aws.endpoint_url = env().moto_url.clone();
        config.aws.max_attempts = 3;
        config.leader_election.enabled = false;
        OperatorBuilder {
            label: label.to_owned(),
            config,
            env: Vec::new(),
            ready_path: "/readyz",
            release_namespace: None,
            as_service_account: false,
            service_account: None,
        }
    }

    /// [`Operator::builder`] with the defaults, started.
    pub async fn start(label: &str) -> Operator {
        Operator::builder(label).start().await
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .map(Child::id)
            .expect("operator still running")
    }

    /// `GET path` on its HTTP address: `(status code, body)`.
    pub async fn get(&self, path: &str) -> (u16, String) {
        http_get(self.address, path).await.unwrap_or_else(|e| {
            panic!(
                "GET {path} on the operator failed: {e}\n{}",
                self.log_tail()
            )
        })
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The last lines of its log, framed for a failure message.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
        format!(
            "----- last lines of {} -----\n{tail}\n-----",
            self.log_path.display()
        )
    }

    /// Sends `signal` (`libc::SIGSTOP` freezes it, `libc::SIGCONT` thaws it).
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.pid()).expect("pid fits in pid_t");
        // SAFETY: kill(2) on our own unreaped child: the pid cannot have been reused.
        unsafe { libc::kill(pid, signal) };
    }

    /// Waits up to `timeout` for the process to exit by itself; `None` if it still runs.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The value of the first `/metrics` sample line named exactly `name` (labels included).
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// Its Lease holder identity (`HOSTNAME-pid`).
    pub fn lease_identity(&self) -> String {
        format!("{}-{}", self.identity, self.pid())
    }

    /// SIGTERM (graceful shutdown), SIGKILL after [`STOP_TIMEOUT`]; returns how it exited.
    /// Waits for the process, so no zombie and no orphan remain.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("operator already stopped");
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        let pid = i32::try_from(child.id()).expect("pid fits in pid_t");
        // SAFETY: kill(2) on our own unreaped child: the pid cannot have been reused. SIGCONT
        // too, so a frozen (SIGSTOPped) process can handle the SIGTERM.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
            libc::kill(pid, libc::SIGCONT);
        };
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            // Bounded poll of a process exit (no event to wait on in std without blocking).
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("operator {pid} ignored SIGTERM for {STOP_TIMEOUT:?}; killing it");
        let _ = child.kill();
        child.wait().expect("wait for the killed operator")
    }

    async fn wait_ready(&mut self, path: &str) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let child = self.child.as_mut().expect("operator running");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(format!(
                    "it exited with {status} before {path} answered 200"
                ));
            }
            if let Ok((200, _)) = http_get(self.address, path).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{path} did not answer 200 within {READY_TIMEOUT:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if self.child.is_none() {
            return;
        }
        if std::thread::panicking() {
            eprintln!(
                "operator {} (test failed):\n{}",
                self.identity,
                self.log_tail()
            );
        }
        self.stop();
    }
}

/// A 127.0.0.1 port free right now (the operator binds it a moment later; see `start`).
fn free_local_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address")
}

/// Asks the kernel to SIGKILL the child when the thread that started it ends (the test, or the
/// whole test process if it is killed), so an aborted run leaves no operator behind. SIGKILL,
/// not SIGTERM: an operator still listing its kinds does not stop on SIGTERM (kube-runtime's
/// applier waits for a store that never fills once its watch is shut down).
fn die_with_parent(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(1); // the parent died before prctl took effect
            }
            Ok(())
        });
    }
}
