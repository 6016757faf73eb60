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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
