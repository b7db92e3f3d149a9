//! e2e: the environment's cached `kubectl` and `helm` as child processes, with the
//! environment's kubeconfig, their output captured and shown in full when a step fails.

use super::env::env;
use std::path::Path;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// What a tool printed and how it exited.
#[derive(Debug)]
pub struct ToolOutput {
    /// The command line, for messages.
    pub command: String,
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl ToolOutput {
    /// Panics with the command line and both streams unless it exited 0.
    pub fn expect_success(self) -> ToolOutput {
        assert_eq!(
            self.code,
            Some(0),
            "`{}` failed:\n{}",
            self.command,
            self.transcript()
        );
        self
    }

    /// Both streams, labelled.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `program args…` with `stdin` fed in, `KUBECONFIG` from the environment.
pub async fn run_tool(program: &Path, args: &[&str], stdin: Option<&str>) -> ToolOutput {
    let command = format!("{} {}", program.display(), args.join(" "));
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .env("KUBECONFIG", &env().kubeconfig)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(text.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("`{command}`: cannot write stdin: {e}"));
        drop(pipe); // EOF
    }
    let output = child
        .wait_with_output()
        .await
        .unwrap_or_else(|e| panic!("`{command}`: {e}"));
    ToolOutput {
        command,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The environment's kubectl.
pub async fn kubectl(args: &[&str], stdin: Option<&str>) -> ToolOutput {
    run_tool(&env().kubectl, args, stdin).await
}

/// The environment's helm.
pub async fn helm(args: &[&str]) -> ToolOutput {
    run_tool(&env().helm, args, None).await
}
