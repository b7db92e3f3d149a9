//! e2e: the test environment's coordinates (scripts/testenv.sh's env file), read once per
//! process. No environment is a hard failure that says how to get one — never a silent skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// How to get an environment, repeated in every "no environment" failure.
const HOW_TO_RUN: &str = "the e2e tests need a running test environment: run through `make e2e` \
     (or `scripts/with-testenv.sh cargo test --test e2e`, or `make testenv-up` then \
     `SGT_TESTENV_DIR=<its dir> cargo test --test e2e`); see docs/testing.md";

/// Where the servers of one environment are and how to reach them.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// The environment's state directory (`SGT_TESTENV_DIR`); per-test logs go under `e2e/`.
    pub dir: PathBuf,
    /// Admin kubeconfig (`system:masters`).
    pub kubeconfig: PathBuf,
    /// `http://127.0.0.1:<port>` of moto_server.
    pub moto_url: String,
    /// The AWS region every test uses (`af-south-1`).
    pub region: String,
    /// The cached kubectl of the server's minor version.
    pub kubectl: PathBuf,
    /// The cached helm.
    pub helm: PathBuf,
    /// Every `KEY=VALUE` line of the env file, for child processes.
    pub vars: BTreeMap<String, String>,
}

impl TestEnv {
    /// A variable of the env file; panics naming the file when it is missing.
    pub fn var(&self, key: &str) -> &str {
        self.vars.get(key).map(String::as_str).unwrap_or_else(|| {
            panic!(
                "{key} missing from {}/env (scripts/testenv.sh writes it)",
                self.dir.display()
            )
        })
    }

    /// The variables a process talking to this environment needs (kubeconfig, AWS test
    /// credentials and region, loopback proxy bypass) — not the endpoint: callers choose.
    pub fn child_vars(&self) -> Vec<(String, String)> {
        const KEYS: [&str; 9] = [
            "KUBECONFIG",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_EC2_METADATA_DISABLED",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "NO_PROXY",
        ];
        KEYS.iter()
            .map(|k| (k.to_string(), self.var(k).to_owned()))
            .collect()
    }

    /// A directory for one test's files (operator config and log), kept with the servers' logs
    /// when a private environment's run fails.
    pub fn scratch_dir(&self, id: &str) -> PathBuf {
        let dir = self.dir.join("e2e").join(id);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        dir
    }
}

/// The environment, read on first use: `$SGT_TESTENV_FILE`, else `$SGT_TESTENV_DIR/env`.
pub fn env() -> &'static TestEnv {
    static ENV: OnceLock<TestEnv> = OnceLock::new();
    ENV.get_or_init(|| {
        let file = env_file().unwrap_or_else(|| panic!("SGT_TESTENV_FILE is unset: {HOW_TO_RUN}"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!(
                "cannot read {} ({e}); is that environment up? {HOW_TO_RUN}",
                file.display()
            )
        });
        let env = parse(&text, &file);
        super::binary::check_test_executable();
        env
    })
}

fn env_file() -> Option<PathBuf> {
    let set = |key| std::env::var_os(key).filter(|v| !v.is_empty());
    set("SGT_TESTENV_FILE")
        .map(PathBuf::from)
        .or_else(|| set("SGT_TESTENV_DIR").map(|dir| Path::new(&dir).join("env")))
}

fn parse(text: &str, file: &Path) -> TestEnv {
    let vars: BTreeMap<String, String> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{}: not KEY=VALUE: {line:?}", file.display()));
            (key.to_owned(), value.to_owned())
        })
        .collect();
    let get = |key: &str| {
        vars.get(key)
            .cloned()
            .unwrap_or_else(|| panic!("{}: {key} missing; {HOW_TO_RUN}", file.display()))
    };
    let env = TestEnv {
        dir: PathBuf::from(get("SGT_TESTENV_DIR")),
        kubeconfig: PathBuf::from(get("KUBECONFIG")),
        moto_url: get("SGT_MOTO_URL"),
        region: get("AWS_REGION"),
        kubectl: PathBuf::from(get("KUBECTL")),
        helm: PathBuf::from(get("HELM")),
        vars: vars.clone(),
    };
    for url in [&env.moto_url, &get("SGT_KUBE_APISERVER_URL")] {
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
            "{}: {url} is not on 127.0.0.1; the e2e tests talk to loopback only",
            file.display()
        );
    }
    env
}
