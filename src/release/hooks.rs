//! Running hooks with Helm's semantics: the hooks of one event (`pre-install`, `test`…) run one
//! after another, lowest weight first (then by kind in install order, then by name). Each is
//! created, after its previous copy was deleted when its delete policy says
//! `before-hook-creation` (also the policy of a hook that names none), and waited for until it
//! completes: a Job complete, a Pod succeeded, anything else ready ([`Until::Complete`]). A
//! hook that fails or times out stops the hooks after it and fails the operation, with the
//! Events of the hook and its Pods; `hook-failed` deletes it then. `hook-succeeded` hooks are
//! deleted once every hook of the event succeeded, last first (a Job may need the
//! ServiceAccount hook before it).
//!
//! Hook objects carry the release's ownership marks like its other objects, but never enter
//! its inventory: pruning and uninstall leave them to their delete policy, as Helm does. Each
//! run is recorded in the revision's [`Hook::last_run`].

use std::time::Duration;

use serde_json::Value;

use super::desired::{OwnerMarks, prepare_desired};
use super::error::{OpError, Progress, Report};
use super::events;
use super::record::{Hook, HookRun};
use super::session::Session;
use super::wait::Until;
use crate::cluster::ApplyOptions;
use crate::manifest::Manifest;
use crate::object::{ObjectRef, install_rank};

/// When hooks run: the event names Helm gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEvent {
    /// Before an install's objects are applied.
    PreInstall,
    /// After an install's objects are applied (and waited for with `--wait`).
    PostInstall,
    /// Before an upgrade's objects are applied.
    PreUpgrade,
    /// After an upgrade's objects are applied.
    PostUpgrade,
    /// Before a rollback's objects are applied.
    PreRollback,
    /// After a rollback's objects are applied.
    PostRollback,
    /// Before an uninstall deletes the release's objects.
    PreDelete,
    /// After an uninstall deleted them.
    PostDelete,
    /// `charter test` (also Helm 2's `test-success`).
    Test,
}

impl HookEvent {
    /// Helm's name of the event.
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PreInstall => "pre-install",
            HookEvent::PostInstall => "post-install",
            HookEvent::PreUpgrade => "pre-upgrade",
            HookEvent::PostUpgrade => "post-upgrade",
            HookEvent::PreRollback => "pre-rollback",
            HookEvent::PostRollback => "post-rollback",
            HookEvent::PreDelete => "pre-delete",
            HookEvent::PostDelete => "post-delete",
            HookEvent::Test => "test",
        }
    }

    /// Whether `hook` runs on this event.
    pub fn selects(self, hook: &Hook) -> bool {
        hook.events
            .iter()
            .any(|e| e == self.as_str() || (self == HookEvent::Test && e == "test-success"))
    }
}

/// Whether an operation runs its hooks (`--no-hooks` skips them), and how long each may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunHooks {
    /// Run them; each may take this long (`--timeout`).
    Run(Duration),
    /// Skip them (`--no-hooks`).
    Skip,
}

impl Default for RunHooks {
    fn default() -> RunHooks {
        RunHooks::Run(Duration::from_secs(300))
    }
}

/// The hooks of a render as a revision records them.
pub fn recorded(hooks: &[crate::render::Hook]) -> Vec<Hook> {
    hooks
        .iter()
        .map(|h| Hook {
            name: h.manifest.header.name.clone(),
            kind: h.manifest.header.kind.clone(),
            path: h.manifest.source.to_string(),
            manifest: h.manifest.text().to_string(),
            events: h.events.clone(),
            weight: h.weight,
            delete_policies: h.delete_policies.clone(),
            output_log_policies: Vec::new(),
            last_run: None,
        })
        .collect()
}

/// The indices of the hooks of `event` in the order they run: weight, then kind in install
/// order, then name.
pub fn run_order(hooks: &[Hook], event: HookEvent) -> Vec<usize> {
    let mut order: Vec<usize> = (0..hooks.len())
        .filter(|&i| event.selects(&hooks[i]))
        .collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&hooks[a], &hooks[b]);
        (a.weight, install_rank(&a.kind), &a.name).cmp(&(b.weight, install_rank(&b.kind), &b.name))
    });
    order
}

/// A hook an install or upgrade would run: what `charter diff` and `plan` show of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HookStep {
    /// The event it runs on, e.g. `pre-upgrade`.
    pub event: String,
    /// Its kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The template it came from.
    pub template: String,
    /// Its weight.
    pub weight: i64,
}

impl std::fmt::Display for HookStep {
    /// `EVENT Kind/name (template, weight N)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}/{} ({}, weight {})",
            self.event, self.kind, self.name, self.template, self.weight
        )
    }
}

/// The hooks an install (`install`) or upgrade of `hooks` would run, in the order they run,
/// with a digest over them and their objects' text: `apply --plan` refuses a plan whose hooks
/// changed since even when the ordinary objects did not.
pub fn would_run(hooks: &[crate::render::Hook], install: bool) -> (Vec<HookStep>, String) {
    let recorded = recorded(hooks);
    let events = if install {
        [HookEvent::PreInstall, HookEvent::PostInstall]
    } else {
        [HookEvent::PreUpgrade, HookEvent::PostUpgrade]
    };
    let mut digest = String::new();
    let steps = events
        .into_iter()
        .flat_map(|e| run_order(&recorded, e).into_iter().map(move |i| (e, i)))
        .map(|(e, i)| {
            let h = &recorded[i];
            let step = HookStep {
                event: e.as_str().to_string(),
                kind: h.kind.clone(),
                name: h.name.clone(),
                template: h.path.clone(),
                weight: h.weight,
            };
            digest.push_str(&format!("{step}\n{}\n---\n", h.manifest));
            step
        })
        .collect();
    (steps, crate::diff::sha256(digest.as_bytes()))
}

/// The objects the hooks of `events` make when they run (nothing with `--no-hooks`), as
/// `(kind, namespace, name)`, a hook without a namespace in `namespace`. An upgrade does not
/// prune an object of the previous revision that is now one of these: a pre hook already
/// replaced it, a post hook is about to.
pub fn made_by(
    hooks: &[Hook],
    events: &[HookEvent],
    run: RunHooks,
    namespace: &str,
) -> Vec<(String, String, String)> {
    if run == RunHooks::Skip {
        return Vec::new();
    }
    hooks
        .iter()
        .filter(|h| events.iter().any(|e| e.selects(h)))
        .map(|h| {
            let ns = crate::yaml::identity::scan(&h.manifest)
                .ok()
                .and_then(|r| r.namespace)
                .unwrap_or_else(|| namespace.to_string());
            (h.kind.clone(), ns, h.name.clone())
        })
        .collect()
}

/// `Kind/name (template)`, how messages name a hook.
pub fn describe(hook: &Hook) -> String {
    format!("{}/{} ({})", hook.kind, hook.name, hook.path)
}

fn has_policy(hook: &Hook, policy: &str) -> bool {
    hook.delete_policies.iter().any(|p| p == policy)
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// A hook that ran and succeeded, and the object it made.
struct HookOutcome {
    /// The hook's index in the revision's hooks.
    index: usize,
    /// The object, namespace resolved.
    item: ObjectRef,
}

impl Session<'_> {
    /// Runs the hooks of `event` in `hooks` (a revision's), recording each run in its
    /// `last_run`. Stops at the first hook that fails, with an error naming it.
    pub async fn run_hooks(
        &self,
        hooks: &mut [Hook],
        event: HookEvent,
        run: RunHooks,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let RunHooks::Run(timeout) = run else {
            return Ok(());
        };
        let mut outcomes = Vec::new();
        for index in run_order(hooks, event) {
            let hook = &mut hooks[index];
            let named = describe(hook);
            let fail = |error: OpError, events: String| OpError::HookFailed {
                event: event.as_str().to_string(),
                hook: named.clone(),
                error: Box::new(error),
                events,
            };
            let (obj, item) = self
                .hook_object(hook)
                .await
                .map_err(|e| fail(e, String::new()))?;
            report(Progress::Hook {
                event: event.as_str(),
                hook: &item,
                phase: "running",
            });
            if hook.delete_policies.is_empty() || has_policy(hook, "before-hook-creation") {
                self.delete_and_wait(&item, timeout)
                    .await
                    .map_err(|e| fail(e, String::new()))?;
            }
            hook.last_run = Some(HookRun {
                started_at: now(),
                completed_at: String::new(),
                phase: "Running".into(),
            });
            let created = self
                .cluster
                .apply(
                    &obj,
                    ApplyOptions {
                        force: true,
                        dry_run: false,
                    },
                )
                .await;
            let result = match created {
                Ok(live) => match self.wait(&[&item], Until::Complete, timeout, report).await {
                    Ok(()) => self.outcome_if_gone(&item, &live).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e.into()),
            };
            let succeeded = result.is_ok();
            if let Some(run) = &mut hook.last_run {
                run.completed_at = now();
                run.phase = if succeeded { "Succeeded" } else { "Failed" }.into();
            }
            report(Progress::Hook {
                event: event.as_str(),
                hook: &item,
                phase: if succeeded { "succeeded" } else { "failed" },
            });
            // The Events are read before a hook-failed policy deletes what they are about.
            // A wait that saw the hook fail already carries its Pods' Events and logs.
            let events = match (&result, &hook.last_run) {
                (Err(OpError::Failed { details, .. }), _) if !details.is_empty() => String::new(),
                (Err(_), Some(run)) => self.events_about(&item, &run.started_at).await,
                _ => String::new(),
            };
            if let Err(e) = result {
                if has_policy(hook, "hook-failed") {
                    self.cluster.delete_object(&item).await?;
                }
                return Err(fail(e, events));
            }
            outcomes.push(HookOutcome { index, item });
        }
        // Only once every hook of the event succeeded, last first, as Helm does: a later hook
        // may need an earlier one (a Job its ServiceAccount).
        for o in outcomes.iter().rev() {
            if has_policy(&hooks[o.index], "hook-succeeded") {
                self.cluster.delete_object(&o.item).await?;
            }
        }
        Ok(())
    }

    /// A hook's object as it is created: namespace resolved, the release's marks added.
    async fn hook_object(&self, hook: &Hook) -> Result<(Value, ObjectRef), OpError> {
        let bad = |message: String| OpError::Manifest {
            source_name: hook.path.clone(),
            message,
        };
        let header = crate::yaml::identity::scan(&hook.manifest).map_err(|(line, e)| {
            bad(format!("hook {}/{} line {line}: {e}", hook.kind, hook.name))
        })?;
        let manifest = Manifest::new(&hook.path, &hook.manifest, header);
        let mut desired = prepare_desired(
            self.cluster,
            &self.release,
            &self.namespace,
            &[],
            std::slice::from_ref(&manifest),
            &Default::default(),
            OwnerMarks::of(self.storage),
        )
        .await?;
        let d = desired
            .pop()
            .ok_or_else(|| bad(format!("hook {}/{} is empty", hook.kind, hook.name)))?;
        Ok((d.obj, d.item))
    }

    /// How a hook that is already gone when its wait ended (deleted by its
    /// ttlSecondsAfterFinished) ended: failed when an Event about the object it was (by uid)
    /// says so, else succeeded. `Ok` when it is still there: the wait saw it complete.
    async fn outcome_if_gone(&self, item: &ObjectRef, created: &Value) -> Result<(), OpError> {
        if self.cluster.get_object(item).await?.is_some() {
            return Ok(());
        }
        let uid = created.pointer("/metadata/uid").and_then(Value::as_str);
        let (Some(uid), Some(ns)) = (uid, item.ns()) else {
            return Ok(());
        };
        let events = self.cluster.list("v1", "Event", Some(ns), "").await?;
        let failure = events.iter().find(|e| {
            let text = |p: &str| events::field(e, p);
            text("/involvedObject/uid") == uid
                && matches!(
                    text("/reason"),
                    "BackoffLimitExceeded" | "DeadlineExceeded" | "Failed" | "PodFailurePolicy"
                )
        });
        match failure {
            None => Ok(()),
            Some(e) => Err(OpError::Failed {
                object: item.display(),
                why: format!(
                    "{} (then deleted by its ttlSecondsAfterFinished)",
                    e.pointer("/message")
                        .and_then(Value::as_str)
                        .unwrap_or("failed")
                ),
                details: String::new(),
            }),
        }
    }

    /// Deletes `item` if it exists and waits until it is gone.
    async fn delete_and_wait(&self, item: &ObjectRef, timeout: Duration) -> Result<(), OpError> {
        if self.cluster.delete_object(item).await? {
            self.wait(&[item], Until::Gone, timeout, &|_| {}).await?;
        }
        Ok(())
    }

    /// The Events since `since` (RFC 3339) about `item` and what it made (its Pods, named
    /// `name-…`), oldest first, one per line; empty when there are none or they cannot be read.
    async fn events_about(&self, item: &ObjectRef, since: &str) -> String {
        let Some(ns) = item.ns() else {
            return String::new();
        };
        event_lines(&self.events_in(ns).await, &item.name, since)
    }
}

/// `charter test --filter`: which test hooks run, by name (`name=X` selects, `!name=X`
/// leaves out; with no selecting term every test runs), as Helm's `--filter`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestFilter {
    /// Names to run; empty: all.
    pub include: Vec<String>,
    /// Names to leave out.
    pub exclude: Vec<String>,
}

impl TestFilter {
    /// Parses `--filter` terms (each `name=X` or `!name=X`); an error names the bad term.
    pub fn parse(terms: &[String]) -> Result<TestFilter, String> {
        let mut f = TestFilter::default();
        for term in terms {
            let (negated, rest) = match term.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, term.as_str()),
            };
            match rest.split_once('=') {
                Some(("name", v)) if !v.is_empty() => {
                    if negated {
                        f.exclude.push(v.to_string())
                    } else {
                        f.include.push(v.to_string())
                    }
                }
                _ => {
                    return Err(format!(
                        "--filter {term}: write name=NAME to run only that test or !name=NAME to leave it out (name is the one attribute)"
                    ));
                }
            }
        }
        Ok(f)
    }

    /// Whether the test hook `name` runs.
    pub fn admits(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|n| n == name))
            && !self.exclude.iter().any(|n| n == name)
    }
}

/// One test hook's run, for `charter test`.
#[derive(Debug)]
pub struct TestRun {
    /// The hook as the revision records it, with its last run.
    pub hook: Hook,
    /// Its containers' logs (`--logs`, Pods only): container, then the log or why it could
    /// not be read.
    pub logs: Vec<(String, Result<String, String>)>,
}

/// What `charter test` did.
#[derive(Debug)]
pub struct Tested {
    /// The revision tested, its test hooks' runs recorded.
    pub record: super::record::ReleaseRecord,
    /// The tests that ran, in the order they ran.
    pub runs: Vec<TestRun>,
    /// The failure, if a test failed.
    pub failure: Option<OpError>,
}

impl Session<'_> {
    /// Runs the deployed revision's test hooks that `filter` admits, records their runs with
    /// the revision, and (with `logs`) reads each test Pod's containers' logs.
    pub async fn test(
        &mut self,
        filter: &TestFilter,
        run: RunHooks,
        logs: bool,
        report: Report<'_>,
    ) -> Result<Tested, OpError> {
        let Some(mut record) = self.deployed().cloned() else {
            return Err(OpError::NotFound {
                release: self.release.clone(),
                namespace: self.namespace.clone(),
            });
        };
        // Copies without their earlier runs: those that run this time get one.
        let mut chosen: Vec<Hook> = record
            .hooks
            .iter()
            .filter(|h| HookEvent::Test.selects(h) && filter.admits(&h.name))
            .map(|h| Hook {
                last_run: None,
                ..h.clone()
            })
            .collect();
        let result = self
            .run_hooks(&mut chosen, HookEvent::Test, run, report)
            .await;
        let ran: Vec<usize> = run_order(&chosen, HookEvent::Test)
            .into_iter()
            .filter(|&i| chosen[i].last_run.is_some())
            .collect();
        for &i in &ran {
            let h = &chosen[i];
            if let Some(kept) = record
                .hooks
                .iter_mut()
                .find(|k| k.name == h.name && k.kind == h.kind)
            {
                kept.last_run = h.last_run.clone();
            }
        }
        self.put(&mut record).await?;
        let mut runs = Vec::new();
        for index in ran {
            let hook = &chosen[index];
            let mut out = TestRun {
                hook: hook.clone(),
                logs: Vec::new(),
            };
            if logs && hook.kind == "Pod" {
                out.logs = self.pod_logs(hook).await;
            }
            runs.push(out);
        }
        Ok(Tested {
            record,
            runs,
            failure: result.err(),
        })
    }

    /// The logs of each container of a hook Pod (from its manifest), or why each could not
    /// be read.
    async fn pod_logs(&self, hook: &Hook) -> Vec<(String, Result<String, String>)> {
        let Ok((obj, item)) = self.hook_object(hook).await else {
            return Vec::new();
        };
        let ns = item.ns().unwrap_or(&self.namespace).to_string();
        let containers: Vec<String> = obj
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
            .collect();
        let mut out = Vec::new();
        for c in containers {
            let log = self
                .cluster
                .logs(&ns, &item.name, Some(&c), None)
                .await
                .map_err(|e| e.to_string());
            out.push((c, log));
        }
        out
    }
}

/// The Events about the object `name` or objects named `name-…` from the second of `since` on
/// (an earlier hook of the same name had the same name), oldest first, as
/// `Type Reason Kind/name: message` lines.
fn event_lines(events: &[Value], name: &str, since: &str) -> String {
    let second = |t: &str| {
        t.parse::<jiff::Timestamp>()
            .map(|t| t.as_second())
            .unwrap_or(0)
    };
    let since = second(since);
    events::of_family(events, name)
        .into_iter()
        .filter(|e| second(events::time(e)) >= since)
        .map(|e| {
            format!(
                "{} {} {}/{}: {}",
                events::field(e, "/type"),
                events::field(e, "/reason"),
                events::field(e, "/involvedObject/kind"),
                events::field(e, "/involvedObject/name"),
                events::field(e, "/message").trim_end()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hook(name: &str, kind: &str, events: &[&str], weight: i64) -> Hook {
        Hook {
            name: name.into(),
            kind: kind.into(),
            path: format!("c/templates/{name}.yaml"),
            manifest: String::new(),
            events: events.iter().map(|e| e.to_string()).collect(),
            weight,
            delete_policies: Vec::new(),
            output_log_policies: Vec::new(),
            last_run: None,
        }
    }

    #[test]
    fn hooks_run_by_weight_then_kind_then_name() {
        let hooks = [
            hook("b", "Job", &["pre-install"], 0),
            hook("a", "Job", &["pre-install", "pre-upgrade"], 0),
            hook("z", "ServiceAccount", &["pre-install"], 0),
            hook("late", "Job", &["pre-install"], 5),
            hook("early", "Job", &["pre-install"], -5),
            hook("post", "Job", &["post-install"], -10),
            hook("t", "Pod", &["test-success"], 0),
        ];
        let names = |e| {
            run_order(&hooks, e)
                .into_iter()
                .map(|i| hooks[i].name.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(HookEvent::PreInstall),
            ["early", "z", "a", "b", "late"]
        );
        assert_eq!(names(HookEvent::PreUpgrade), ["a"]);
        assert_eq!(names(HookEvent::Test), ["t"]);
        assert!(names(HookEvent::PreDelete).is_empty());
    }

    #[test]
    fn the_events_of_a_hook_and_its_pods_oldest_first() {
        let ev = |name: &str, kind: &str, reason: &str, at: &str| {
            json!({"type": "Warning", "reason": reason, "message": "m\n", "lastTimestamp": at,
                   "involvedObject": {"kind": kind, "name": name}})
        };
        let events = [
            ev("migrate-x1", "Pod", "Failed", "2026-01-01T00:00:05Z"),
            ev(
                "migrate",
                "Job",
                "BackoffLimitExceeded",
                "2026-01-01T00:00:06Z",
            ),
            ev("migrate", "Job", "SuccessfulCreate", "2026-01-01T00:00:01Z"),
            ev("migrate2", "Job", "Other", "2026-01-01T00:00:01Z"),
            ev("migrate", "Job", "Earlier", "2026-01-01T00:00:00Z"),
        ];
        assert_eq!(
            event_lines(&events, "migrate", "2026-01-01T00:00:01.5Z"),
            "Warning SuccessfulCreate Job/migrate: m\nWarning Failed Pod/migrate-x1: m\nWarning BackoffLimitExceeded Job/migrate: m"
        );
    }
}
