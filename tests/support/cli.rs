//! Running the charter binary from a test, and writing the files a test needs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the crate's manifest directory).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes `content` to `dir/rel`, creating directories.
pub fn write(dir: &Path, rel: &str, content: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// Proxy variables a test must not pass on: every server a test talks to is on 127.0.0.1.
pub const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// A charter invocation being set up: never with the caller's `KUBECONFIG`.
pub struct Charter {
    cmd: Command,
    cluster: Option<PathBuf>,
    stdin: Option<String>,
}

/// Starts setting up a charter invocation.
pub fn charter() -> Charter {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_charter"));
    cmd.env_remove("KUBECONFIG");
    Charter {
        cmd,
        cluster: None,
        stdin: None,
    }
}

impl Charter {
    /// Runs in `dir`.
    pub fn cwd(mut self, dir: &Path) -> Charter {
        self.cmd.current_dir(dir);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Charter {
        self.cmd.env(key, value);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, key: &str) -> Charter {
        self.cmd.env_remove(key);
        self
    }

    /// Keeps charter's repository configuration and cache below `dir` (never the user's).
    pub fn xdg_in(self, dir: &Path) -> Charter {
        self.env("XDG_CONFIG_HOME", dir.join(".xdg-config"))
            .env("XDG_CACHE_HOME", dir.join(".xdg-cache"))
    }

    /// Keeps everything charter reads or writes for its user below `dir`: `HOME`, the XDG
    /// config and cache ([`Charter::xdg_in`]), Docker's config; no proxies, no `SSL_CERT_FILE`,
    /// no color.
    pub fn isolated_in(self, dir: &Path) -> Charter {
        let mut c = self
            .xdg_in(dir)
            .env("HOME", dir.join("home"))
            .env("DOCKER_CONFIG", dir.join("docker"))
            .env("NO_COLOR", "1")
            .env_remove("SSL_CERT_FILE");
        for v in PROXY_VARS {
            c = c.env_remove(v);
        }
        c
    }

    /// Talks to the test cluster of `kubeconfig` as its admin (`--kubeconfig`, `--kube-context`
    /// after the command's own arguments).
    pub fn cluster(mut self, kubeconfig: &Path) -> Charter {
        self.cluster = Some(kubeconfig.to_path_buf());
        self
    }

    /// Gives charter `input` on its standard input (otherwise it inherits the test's).
    pub fn stdin(mut self, input: &str) -> Charter {
        self.stdin = Some(input.to_string());
        self
    }

    /// Runs charter with `args`.
    pub fn run(mut self, args: &[&str]) -> Output {
        self.cmd.args(args);
        if let Some(kc) = &self.cluster {
            self.cmd
                .arg("--kubeconfig")
                .arg(kc)
                .arg("--kube-context")
                .arg(super::ADMIN_CONTEXT);
        }
        let Some(input) = self.stdin else {
            return self.cmd.output().expect("run charter");
        };
        use std::io::Write as _;
        use std::process::Stdio;
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run charter");
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(input.as_bytes())
                .expect("write charter's stdin");
        }
        child.wait_with_output().expect("wait for charter")
    }

    /// Runs charter, which must succeed; returns its stdout.
    pub fn ok(self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "charter {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs charter, which must fail with exit code 1 and not panic; returns its stderr.
    pub fn fails(self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "charter {args:?} should exit 1; stderr: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        err
    }
}
