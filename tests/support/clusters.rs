//! More test clusters than the one `scripts/test` starts: a second cluster for a two-cluster
//! plan, one per region for the fleet tests, optionally behind the latency proxy
//! (`scripts/test-cluster up --latency`, docs/testcluster.md) so they behave like remote ones.
//!
//! Each is started with `--owner-pid` of the test process, so it goes down when the process
//! ends even if nothing drops it (a cluster shared through a `static` is never dropped).

use std::path::PathBuf;
use std::process::Command;

/// A test cluster this test process started.
pub struct ExtraCluster {
    /// Its name for `scripts/test-cluster`.
    pub name: String,
    /// Its kubeconfig: through the latency proxy when it has one. For charter.
    pub kubeconfig: PathBuf,
    /// Its kubeconfig straight to the API server: for test setup and checks that should not
    /// pay the latency.
    pub direct: PathBuf,
}

fn script() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test-cluster"))
}

impl ExtraCluster {
    /// Starts cluster `name`, with `latency` (e.g. `50ms`) in front of its API server.
    pub fn up(name: &str, latency: Option<&str>) -> Result<ExtraCluster, String> {
        let mut cmd = Command::new(script());
        cmd.args(["up", "--name", name, "--owner-pid"])
            .arg(std::process::id().to_string());
        if let Some(l) = latency {
            cmd.args(["--latency", l]);
        }
        let out = cmd
            .output()
            .map_err(|e| format!("scripts/test-cluster up --name {name}: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "scripts/test-cluster up --name {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let kubeconfig = stdout
            .lines()
            .find_map(|l| l.strip_prefix("export KUBECONFIG="))
            .map(|p| PathBuf::from(p.trim_matches(['\'', '"'])))
            .ok_or_else(|| format!("no KUBECONFIG in: {stdout}"))?;
        let direct = kubeconfig.with_file_name("kubeconfig-direct");
        Ok(ExtraCluster {
            name: name.to_string(),
            direct: if direct.is_file() {
                direct
            } else {
                kubeconfig.clone()
            },
            kubeconfig,
        })
    }

    /// Starts several clusters at once (each `up` takes 10-45 s, mostly CPU-bound start-up).
    pub fn up_many(names: &[String], latency: Option<&str>) -> Result<Vec<ExtraCluster>, String> {
        let started: Vec<Result<ExtraCluster, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = names
                .iter()
                .map(|n| s.spawn(move || ExtraCluster::up(n, latency)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("up panicked".into())))
                .collect()
        });
        // On an error the clusters that did start are dropped, and so taken down.
        started.into_iter().collect()
    }
}

impl Drop for ExtraCluster {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["down", "--name", &self.name])
            .output();
    }
}
