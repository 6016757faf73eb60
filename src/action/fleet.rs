//! Many targets at once, for `plan` and `apply`: a deploy tree resolved and checked before
//! anything runs, and a bounded pool of threads that works through targets in the tree's
//! order, at most so many in all and so many per cluster.
//!
//! Against remote clusters a target's diff or deploy waits on round trips, not on the CPU, so
//! many go at once ([`DEFAULT_PARALLEL`]); the bound per cluster ([`DEFAULT_PER_CLUSTER`])
//! keeps one API server from taking all of them. Each target runs on a pool thread: its chart
//! is loaded there (a download blocks) and its render (CPU) runs beside the others'; its cluster
//! requests run on the shared async runtime. The pool has at most `parallel` threads, and a
//! target's objects are dropped when it is done, so memory grows with the bound, not with the
//! size of the tree.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Condvar, Mutex};

use super::{Error, Globals, leaves};
use crate::deploy::{self, Destination, Rollout, Target};

/// Targets in flight at once, by default.
pub const DEFAULT_PARALLEL: usize = 32;
/// Targets in flight at once on one cluster, by default.
pub const DEFAULT_PER_CLUSTER: usize = 8;

/// How many targets run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// In all (`--parallel`).
    pub parallel: usize,
    /// On one cluster (`--per-cluster`).
    pub per_cluster: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            parallel: DEFAULT_PARALLEL,
            per_cluster: DEFAULT_PER_CLUSTER,
        }
    }
}

/// Resolves every target below `dir` and orders them into waves. Bad input is refused here,
/// before any cluster is contacted: a malformed charter.yaml, an `after:` naming no level, a
/// wave cycle, two targets deploying the same release.
pub fn rollout(globals: &Globals, dir: &Path) -> Result<Rollout, Error> {
    let targets = leaves(dir)?
        .iter()
        .map(|l| deploy::resolve(l))
        .collect::<Result<Vec<_>, _>>()?;
    let rollout = Rollout::plan(targets)?;
    refuse_shared_releases(globals, rollout.targets().map(|(_, t)| t))?;
    Ok(rollout)
}

/// Refuses targets that would deploy one release (see [`deploy::refuse_shared_releases`]).
pub fn refuse_shared_releases<'a>(
    globals: &Globals,
    targets: impl Iterator<Item = &'a Target>,
) -> Result<(), Error> {
    Ok(deploy::refuse_shared_releases(
        targets.map(|t| (t, destination(globals, t))),
    )?)
}

/// Where a target deploys, with the command line's overrides: the cluster by its API server URL
/// when the kubeconfig names one (read from the file; nothing is contacted).
pub fn destination(globals: &Globals, t: &Target) -> Destination {
    let kubeconfig = globals.kubeconfig.as_deref().or(t.kubeconfig.as_deref());
    let context = globals
        .kube_context
        .as_deref()
        .or(t.kube_context.as_deref());
    let cluster = crate::cluster::server_url(kubeconfig, context).unwrap_or_else(|| {
        let file = kubeconfig.map_or("the default kubeconfig".into(), |k| k.display().to_string());
        match context {
            Some(c) => format!("context `{c}` of {file}"),
            None => format!("the current context of {file}"),
        }
    });
    Destination {
        cluster,
        namespace: globals
            .namespace
            .clone()
            .or_else(|| t.namespace.clone())
            .unwrap_or_else(|| "default".into()),
        release: t.release.clone(),
    }
}

/// Runs `work` on every item, in the items' order as far as the bounds allow: at most
/// `limits.parallel` at once, and at most `limits.per_cluster` of the items with the same
/// cluster key. Returns the results in the items' order.
pub fn run_each<T: Sync, R: Send>(
    limits: Limits,
    items: &[(String, T)],
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    struct Board {
        /// The next item not yet started, per position: `true` once taken.
        taken: Vec<bool>,
        running: HashMap<String, usize>,
        left: usize,
    }
    let board = Mutex::new(Board {
        taken: vec![false; items.len()],
        running: HashMap::new(),
        left: items.len(),
    });
    let changed = Condvar::new();
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let per_cluster = limits.per_cluster.max(1);
    let workers = limits.parallel.max(1).min(items.len());
    // Takes the first item not started whose cluster has room; `None` when all are started.
    let next = || -> Option<usize> {
        let mut b = board.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if b.left == 0 {
                return None;
            }
            let free = (0..items.len()).find(|&i| {
                !b.taken[i] && b.running.get(&items[i].0).copied().unwrap_or(0) < per_cluster
            });
            if let Some(i) = free {
                b.taken[i] = true;
                b.left -= 1;
                *b.running.entry(items[i].0.clone()).or_default() += 1;
                return Some(i);
            }
            b = changed.wait(b).unwrap_or_else(|e| e.into_inner());
        }
    };
    let done = |i: usize| {
        let mut b = board.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = b.running.get_mut(&items[i].0) {
            *n -= 1;
        }
        changed.notify_all();
    };
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(i) = next() {
                    let r = work(&items[i].1);
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                    done(i);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| unreachable!("every item is run before the scope ends"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn the_bounds_hold_in_all_and_per_cluster_and_results_keep_their_order() {
        let items: Vec<(String, usize)> = (0..24).map(|i| (format!("c{}", i % 3), i)).collect();
        let running = Mutex::new(HashMap::<String, usize>::new());
        let (now, max_all) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let max_per = Mutex::new(0usize);
        let limits = Limits {
            parallel: 5,
            per_cluster: 2,
        };
        let out = run_each(limits, &items, |i| {
            let key = format!("c{}", i % 3);
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            max_all.fetch_max(n, Ordering::SeqCst);
            {
                let mut r = running.lock().unwrap();
                let c = r.entry(key.clone()).or_default();
                *c += 1;
                let mut m = max_per.lock().unwrap();
                *m = (*m).max(*c);
            }
            std::thread::sleep(Duration::from_millis(20));
            *running.lock().unwrap().get_mut(&key).unwrap() -= 1;
            now.fetch_sub(1, Ordering::SeqCst);
            i * 10
        });
        assert_eq!(out, (0..24).map(|i| i * 10).collect::<Vec<_>>());
        // 3 clusters × 2 would allow 6; the total bound is 5, and it is reached.
        assert_eq!(max_all.load(Ordering::SeqCst), 5);
        assert_eq!(*max_per.lock().unwrap(), 2);
    }

    #[test]
    fn one_busy_cluster_does_not_hold_up_the_others() {
        // Six items on cluster a first, then one on b: with 1 per cluster and 2 threads, b's
        // item starts at once beside a's first instead of after all of a's.
        let mut items: Vec<(String, usize)> = (0..6).map(|i| ("a".to_string(), i)).collect();
        items.push(("b".to_string(), 6));
        let order = Mutex::new(Vec::new());
        run_each(
            Limits {
                parallel: 2,
                per_cluster: 1,
            },
            &items,
            |i| {
                order.lock().unwrap().push(*i);
                std::thread::sleep(Duration::from_millis(10));
            },
        );
        let order = order.into_inner().unwrap();
        let b = order.iter().position(|&i| i == 6).unwrap();
        assert!(b <= 1, "{order:?}");
    }
}
