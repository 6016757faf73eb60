//! Readiness of live objects, in the spirit of kstatus: workloads rolled out, Jobs complete,
//! PVCs bound, load balancers addressed, CRDs established, anything else by a Ready condition
//! when it has one.

use serde_json::Value;

/// Whether an object is ready, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Ready.
    Ready,
    /// Not yet ready: the reason.
    Pending(String),
    /// Will not become ready without a change: the reason.
    Failed(String),
}

impl Readiness {
    /// Whether ready.
    pub fn is_ready(&self) -> bool {
        matches!(self, Readiness::Ready)
    }
}

fn i(v: &Value, p: &str) -> i64 {
    v.pointer(p).and_then(Value::as_i64).unwrap_or(0)
}

fn condition<'a>(v: &'a Value, ty: &str) -> Option<&'a Value> {
    v.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
}

fn cond_true(v: &Value, ty: &str) -> Option<bool> {
    condition(v, ty).map(|c| c.get("status").and_then(Value::as_str) == Some("True"))
}

/// Computes the readiness of a live object.
pub fn readiness(obj: &Value) -> Readiness {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let generation = i(obj, "/metadata/generation");
    let observed = i(obj, "/status/observedGeneration");
    let stale = generation > 0 && observed < generation;
    match kind {
        "Deployment" => {
            if stale {
                return Readiness::Pending(
                    "waiting for the controller to observe the new generation".into(),
                );
            }
            if let Some(c) = condition(obj, "Progressing")
                && c.get("reason").and_then(Value::as_str) == Some("ProgressDeadlineExceeded")
            {
                return Readiness::Failed("progress deadline exceeded".into());
            }
            let want = obj
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let updated = i(obj, "/status/updatedReplicas");
            let available = i(obj, "/status/availableReplicas");
            let total = i(obj, "/status/replicas");
            if updated < want {
                Readiness::Pending(format!("{updated}/{want} replicas updated"))
            } else if total > updated {
                Readiness::Pending(format!(
                    "{} old replicas pending termination",
                    total - updated
                ))
            } else if available < want {
                Readiness::Pending(format!("{available}/{want} replicas available"))
            } else {
                Readiness::Ready
            }
        }
        "StatefulSet" => {
            if stale {
                return Readiness::Pending(
                    "waiting for the controller to observe the new generation".into(),
                );
            }
            let want = obj
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let ready = i(obj, "/status/readyReplicas");
            let updated = i(obj, "/status/updatedReplicas");
            let partitioned = obj
                .pointer("/spec/updateStrategy/rollingUpdate/partition")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if ready < want {
                Readiness::Pending(format!("{ready}/{want} replicas ready"))
            } else if partitioned == 0 && updated < want {
                Readiness::Pending(format!("{updated}/{want} replicas updated"))
            } else {
                Readiness::Ready
            }
        }
        "DaemonSet" => {
            if stale {
                return Readiness::Pending(
                    "waiting for the controller to observe the new generation".into(),
                );
            }
            let want = i(obj, "/status/desiredNumberScheduled");
            let updated = i(obj, "/status/updatedNumberScheduled");
            let available = i(obj, "/status/numberAvailable");
            if updated < want {
                Readiness::Pending(format!("{updated}/{want} pods updated"))
            } else if available < want {
                Readiness::Pending(format!("{available}/{want} pods available"))
            } else {
                Readiness::Ready
            }
        }
        "Job" => {
            if cond_true(obj, "Complete") == Some(true) {
                Readiness::Ready
            } else if cond_true(obj, "Failed") == Some(true) {
                let msg = condition(obj, "Failed")
                    .and_then(|c| c.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("job failed");
                Readiness::Failed(msg.to_string())
            } else {
                Readiness::Pending(format!("{} succeeded", i(obj, "/status/succeeded")))
            }
        }
        "PersistentVolumeClaim" => match obj.pointer("/status/phase").and_then(Value::as_str) {
            Some("Bound") => Readiness::Ready,
            Some("Lost") => Readiness::Failed("claim lost its volume".into()),
            other => Readiness::Pending(format!("phase {}", other.unwrap_or("unknown"))),
        },
        "Service" => {
            if obj.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer") {
                let ingress = obj
                    .pointer("/status/loadBalancer/ingress")
                    .and_then(Value::as_array)
                    .map(|a| !a.is_empty())
                    .unwrap_or(false);
                if ingress {
                    Readiness::Ready
                } else {
                    Readiness::Pending("waiting for a load balancer address".into())
                }
            } else {
                Readiness::Ready
            }
        }
        "CustomResourceDefinition" => match cond_true(obj, "Established") {
            Some(true) => Readiness::Ready,
            _ => Readiness::Pending("not established yet".into()),
        },
        "Pod" => match obj.pointer("/status/phase").and_then(Value::as_str) {
            Some("Succeeded") => Readiness::Ready,
            Some("Failed") => Readiness::Failed("pod failed".into()),
            _ => match cond_true(obj, "Ready") {
                Some(true) => Readiness::Ready,
                _ => Readiness::Pending("pod not ready".into()),
            },
        },
        _ => {
            if stale && obj.pointer("/status/observedGeneration").is_some() {
                return Readiness::Pending(
                    "waiting for the controller to observe the new generation".into(),
                );
            }
            match cond_true(obj, "Ready") {
                Some(false) => {
                    let msg = condition(obj, "Ready")
                        .and_then(|c| c.get("message"))
                        .and_then(Value::as_str)
                        .unwrap_or("Ready condition is False");
                    Readiness::Pending(msg.to_string())
                }
                _ => Readiness::Ready,
            }
        }
    }
}

/// Why a Pod is not running and ready, from its own status: not schedulable (the scheduler's
/// message: which nodes and why), a container waiting on something that will not resolve by
/// itself (an image that does not pull, a crash loop, a bad config), a container that exited
/// with an error, or the Pod failed. `None` when the status names no problem (the Pod may
/// simply be starting).
pub fn pod_problem(pod: &Value) -> Option<String> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(c) = condition(pod, "PodScheduled")
        && c.get("status").and_then(Value::as_str) == Some("False")
    {
        let (reason, message) = (text(c, "reason"), text(c, "message"));
        return Some(
            format!("{reason}: {message}")
                .trim_matches([':', ' '])
                .to_string(),
        );
    }
    if pod.pointer("/status/phase").and_then(Value::as_str) == Some("Failed") {
        let (reason, message) = (
            text(&pod["status"], "reason"),
            text(&pod["status"], "message"),
        );
        let why = format!("{reason}: {message}");
        let why = why.trim_matches([':', ' ']);
        if !why.is_empty() {
            return Some(format!("failed: {why}"));
        }
    }
    let statuses = ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|k| pod.pointer(&format!("/status/{k}"))?.as_array())
        .flatten();
    for c in statuses {
        let name = text(c, "name");
        if let Some(w) = c.pointer("/state/waiting") {
            let reason = text(w, "reason");
            if !reason.is_empty() && reason != "ContainerCreating" && reason != "PodInitializing" {
                let message = text(w, "message");
                return Some(if message.is_empty() {
                    format!("container {name}: {reason}")
                } else {
                    format!("container {name}: {reason}: {message}")
                });
            }
        }
        if let Some(t) = c.pointer("/state/terminated")
            && t.get("exitCode").and_then(Value::as_i64).unwrap_or(0) != 0
        {
            return Some(format!(
                "container {name} exited with code {} ({})",
                t.get("exitCode").and_then(Value::as_i64).unwrap_or(0),
                text(t, "reason")
            ));
        }
    }
    None
}

/// Whether `pod` carries every label of `selector` (a workload's `spec.selector.matchLabels`).
pub fn selects(selector: &Value, pod: &Value) -> bool {
    let Some(want) = selector.as_object().filter(|m| !m.is_empty()) else {
        return false;
    };
    let labels = pod.pointer("/metadata/labels");
    want.iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_problems_name_the_reason() {
        let unschedulable = json!({"kind": "Pod", "status": {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."}]}});
        assert_eq!(
            pod_problem(&unschedulable).as_deref(),
            Some(
                "Unschedulable: 0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
            )
        );
        let pull = json!({"status": {"phase": "Pending", "containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x\""}}}]}});
        assert_eq!(
            pod_problem(&pull).as_deref(),
            Some("container app: ImagePullBackOff: Back-off pulling image \"x\"")
        );
        let starting = json!({"status": {"phase": "Pending", "containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
        assert_eq!(pod_problem(&starting), None);
        let crashed = json!({"status": {"phase": "Running", "containerStatuses": [
            {"name": "app", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}});
        assert_eq!(
            pod_problem(&crashed).as_deref(),
            Some("container app exited with code 1 (Error)")
        );
        let sel = json!({"app": "web"});
        assert!(selects(
            &sel,
            &json!({"metadata": {"labels": {"app": "web", "x": "y"}}})
        ));
        assert!(!selects(
            &sel,
            &json!({"metadata": {"labels": {"app": "db"}}})
        ));
        assert!(!selects(&json!({}), &json!({"metadata": {"labels": {}}})));
    }

    #[test]
    fn deployment_rollout() {
        let mut d = json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}});
        assert!(!readiness(&d).is_ready());
        d["status"]["observedGeneration"] = json!(2);
        assert!(readiness(&d).is_ready());
        d["status"]["availableReplicas"] = json!(1);
        assert_eq!(
            readiness(&d),
            Readiness::Pending("1/2 replicas available".into())
        );
    }

    #[test]
    fn jobs_pvcs_crds_and_conditions() {
        assert!(readiness(&json!({"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}})).is_ready());
        assert!(matches!(
            readiness(
                &json!({"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}})
            ),
            Readiness::Failed(_)
        ));
        assert!(
            readiness(&json!({"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}}))
                .is_ready()
        );
        assert!(
            !readiness(&json!({"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}))
                .is_ready()
        );
        assert!(!readiness(&json!({"kind": "CustomResourceDefinition", "status": {}})).is_ready());
        assert!(readiness(&json!({"kind": "ConfigMap"})).is_ready());
        assert!(!readiness(&json!({"kind": "Widget", "status": {"conditions": [{"type": "Ready", "status": "False"}]}})).is_ready());
        assert!(
            !readiness(&json!({"kind": "Service", "spec": {"type": "LoadBalancer"}, "status": {}}))
                .is_ready()
        );
    }
}
