//! Gates between the waves of a rollout: a level's `gate:` runs once its targets are applied,
//! before the next wave starts. `readyFor` first waits until every object of the level's
//! targets is ready and then requires them to stay ready that long (a Pod that restarts during
//! the soak fails it); `command` runs with `sh -c` in the level's directory and passes when it
//! exits 0. Both within the gate's `timeout`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::{Globals, connect};
use crate::deploy::{LevelGate, Target};
use crate::object::ObjectRef;
use crate::release::session::deployed;
use crate::release::wait::{Until, pending};
use crate::release::{ReleaseStore, SecretStore};

/// How often a soak reads the objects again.
const SOAK_POLL: Duration = Duration::from_secs(1);

/// What a gate reports as it runs.
pub enum GateProgress<'a> {
    /// Waiting for the objects to be ready, or soaking: how many are not ready, one example.
    Soaking {
        /// Objects not ready now.
        pending: usize,
        /// Objects checked.
        total: usize,
        /// How long they have been ready without a break.
        ready_for: Duration,
    },
    /// A line the command printed (stdout or stderr).
    Output(&'a str),
}

/// Runs `gate` over `targets` (the rollout's targets below its level). `Err` says why it did
/// not pass, naming the object, the command's exit status, or the timeout.
pub async fn run(
    globals: &Globals,
    gate: &LevelGate,
    targets: &[&Target],
    wave: u32,
    progress: &(dyn Fn(GateProgress<'_>) + Sync),
) -> Result<(), String> {
    let deadline = Instant::now() + gate.gate.timeout;
    if let Some(ready_for) = gate.gate.ready_for {
        soak(globals, targets, ready_for, deadline, progress).await?;
    }
    if let Some(command) = &gate.gate.command {
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        let env = [
            ("CHARTER_WAVE", wave.to_string()),
            ("CHARTER_GATE_LEVEL", gate.level.clone()),
            ("CHARTER_TARGETS", names.join(" ")),
        ];
        run_command(command, &gate.dir(), &env, deadline, progress).await?;
    }
    Ok(())
}

/// One target's release and the objects its deployed revision holds.
struct Objects {
    cluster: crate::cluster::Cluster,
    release: String,
    items: Vec<ObjectRef>,
}

async fn soak(
    globals: &Globals,
    targets: &[&Target],
    ready_for: Duration,
    deadline: Instant,
    progress: &(dyn Fn(GateProgress<'_>) + Sync),
) -> Result<(), String> {
    let mut all = Vec::new();
    for t in targets {
        let cluster = connect(globals, Some(t))
            .await
            .map_err(|e| format!("target {}: {e}", t.name))?;
        let namespace = globals
            .namespace
            .clone()
            .or_else(|| t.namespace.clone())
            .unwrap_or_else(|| "default".into());
        let history = SecretStore::new(&cluster)
            .history(&namespace, &t.release)
            .await
            .map_err(|e| format!("target {}: {e}", t.name))?;
        let Some(record) = deployed(&history) else {
            return Err(format!(
                "target {}: release {namespace}/{} has no deployed revision to check",
                t.name, t.release
            ));
        };
        all.push(Objects {
            items: record.inventory.clone(),
            cluster,
            release: record.name.clone(),
        });
    }
    let total: usize = all.iter().map(|o| o.items.len()).sum();
    let mut ready_since: Option<Instant> = None;
    loop {
        let mut not_ready = Vec::new();
        for o in &all {
            let items: Vec<&ObjectRef> = o.items.iter().collect();
            let p = pending(&o.cluster, &o.release, &items, Until::Ready)
                .await
                .map_err(|e| e.to_string())?;
            not_ready.extend(p.into_iter().map(|p| format!("{}: {p}", o.release)));
        }
        let now = Instant::now();
        progress(GateProgress::Soaking {
            pending: not_ready.len(),
            total,
            ready_for: ready_since.map_or(Duration::ZERO, |s| now - s),
        });
        match (not_ready.first(), ready_since) {
            (None, None) => ready_since = Some(now),
            (None, Some(since)) if now - since >= ready_for => return Ok(()),
            (None, Some(_)) => {}
            (Some(first), Some(since)) => {
                return Err(format!(
                    "{first} stopped being ready {:.0}s into the {}s it had to stay ready",
                    (now - since).as_secs_f64(),
                    ready_for.as_secs()
                ));
            }
            (Some(first), None) if now >= deadline => {
                return Err(format!(
                    "{} of {total} objects were still not ready when the gate's time ran out, e.g. {first}",
                    not_ready.len()
                ));
            }
            (Some(_), None) => {}
        }
        if now >= deadline {
            return Err(format!(
                "the objects had been ready for only {:.0}s of {}s when the gate's time ran out",
                ready_since.map_or(0.0, |s| (now - s).as_secs_f64()),
                ready_for.as_secs()
            ));
        }
        tokio::time::sleep(SOAK_POLL.min(deadline - now)).await;
    }
}

/// Runs `command` with `sh -c` in `dir`, its output passed on line by line; killed (its whole
/// process group) when `deadline` passes.
async fn run_command(
    command: &str,
    dir: &Path,
    env: &[(&str, String)],
    deadline: Instant,
    progress: &(dyn Fn(GateProgress<'_>) + Sync),
) -> Result<(), String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run `{command}` in {}: {e}", dir.display()))?;
    let out = lines(child.stdout.take());
    let err = lines(child.stderr.take());
    let finished = async {
        let mut merged = futures::stream::select(out, err);
        while let Some(line) = merged.next().await {
            progress(GateProgress::Output(&line));
        }
        child.wait().await
    };
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, finished).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("`{command}` failed ({status})")),
        Ok(Err(e)) => Err(format!("`{command}`: {e}")),
        Err(_) => {
            if let Some(pid) = child.id() {
                kill_group(pid);
            }
            let _ = child.kill().await;
            Err(format!(
                "`{command}` was still running when the gate's time ran out; it was stopped"
            ))
        }
    }
}

/// The lines of a child's output, as they come.
fn lines(
    pipe: Option<impl AsyncRead + Unpin + Send + 'static>,
) -> futures::stream::BoxStream<'static, String> {
    let Some(pipe) = pipe else {
        return futures::stream::empty().boxed();
    };
    futures::stream::unfold(BufReader::new(pipe).lines(), |mut lines| async move {
        lines.next_line().await.ok().flatten().map(|l| (l, lines))
    })
    .boxed()
}

/// Sends SIGKILL to the process group `pgid` (the gate command's, which it leads): whatever
/// the command started goes too. Through the shell's `kill`, as the crate links no libc.
fn kill_group(pgid: u32) {
    let _ = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("kill -s KILL -- -{pgid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::Gate;
    use std::sync::Mutex;

    fn gate(dir: &Path, command: &str, timeout: Duration) -> LevelGate {
        LevelGate {
            root: dir.to_path_buf(),
            level: String::new(),
            gate: Gate {
                command: Some(command.into()),
                ready_for: None,
                timeout,
            },
            file: dir.join("charter.yaml"),
            line: 1,
        }
    }

    fn run_gate(g: &LevelGate) -> (Result<(), String>, Vec<String>, Duration) {
        let lines = Mutex::new(Vec::new());
        let rt = tokio::runtime::Runtime::new().unwrap();
        let start = Instant::now();
        let r = rt.block_on(run(&Globals::default(), g, &[], 3, &|p| {
            if let GateProgress::Output(l) = p {
                lines.lock().unwrap().push(l.to_string());
            }
        }));
        (r, lines.into_inner().unwrap(), start.elapsed())
    }

    #[test]
    fn a_command_gate_passes_on_exit_0_with_its_output_and_environment() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("marker"), "here\n").unwrap();
        let g = gate(
            tmp.path(),
            "cat marker; echo \"wave $CHARTER_WAVE\" >&2",
            Duration::from_secs(20),
        );
        let (r, lines, _) = run_gate(&g);
        assert_eq!(r, Ok(()));
        let mut lines = lines;
        lines.sort();
        assert_eq!(lines, ["here", "wave 3"]);
    }

    #[test]
    fn a_failing_command_fails_the_gate_with_its_status() {
        let tmp = tempfile::tempdir().unwrap();
        let (r, _, _) = run_gate(&gate(tmp.path(), "exit 3", Duration::from_secs(20)));
        let err = r.unwrap_err();
        assert!(
            err.contains("`exit 3` failed") && err.contains('3'),
            "{err}"
        );
    }

    #[test]
    fn a_command_past_its_timeout_is_stopped_with_what_it_started() {
        let tmp = tempfile::tempdir().unwrap();
        let pidfile = tmp.path().join("child.pid");
        let cmd = format!("sleep 60 & echo $! > {}; wait", pidfile.display());
        let (r, _, took) = run_gate(&gate(tmp.path(), &cmd, Duration::from_secs(1)));
        assert!(r.unwrap_err().contains("time ran out"));
        assert!(took < Duration::from_secs(10), "{took:?}");
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        // The background sleep was in the gate's process group: gone (or a zombie) now.
        std::thread::sleep(Duration::from_millis(200));
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
        assert!(
            stat.as_ref().map_or(true, |s| s.contains(") Z ")),
            "sleep still runs: {stat:?}"
        );
    }
}
