//! Kubernetes Events for failure diagnostics, shared by the waits ([`super::wait`]) and the
//! hooks ([`super::hooks`]): which Events are about an object or the objects named after it (a
//! workload's ReplicaSets and Pods, a Job's Pods), when each happened, and how a line shows
//! one.

use serde_json::Value;

use super::session::Session;

/// A string field of an Event, empty when absent.
pub(super) fn field<'a>(e: &'a Value, pointer: &str) -> &'a str {
    e.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// When an Event last happened, as an RFC 3339 string (they sort as times); empty when it
/// says nothing.
pub(super) fn time(e: &Value) -> &str {
    [
        "/lastTimestamp",
        "/eventTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .map(|p| field(e, p))
    .find(|t| !t.is_empty())
    .unwrap_or_default()
}

/// Whether the Event is a Warning.
pub(super) fn is_warning(e: &Value) -> bool {
    field(e, "/type") == "Warning"
}

/// Whether the Event is about the object `kind`/`name` itself.
pub(super) fn about(e: &Value, kind: &str, name: &str) -> bool {
    field(e, "/involvedObject/kind") == kind && field(e, "/involvedObject/name") == name
}

/// Whether the Event is about an object named `name` or named after it (`name-…`), of any
/// kind.
pub(super) fn about_family(e: &Value, name: &str) -> bool {
    let on = field(e, "/involvedObject/name");
    on.strip_prefix(name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
}

/// The Events in `events` that [`about_family`] selects, oldest first.
pub(super) fn of_family<'e>(events: &'e [Value], name: &str) -> Vec<&'e Value> {
    let mut found: Vec<&Value> = events.iter().filter(|e| about_family(e, name)).collect();
    found.sort_by_key(|e| time(e));
    found
}

impl Session<'_> {
    /// The Events of namespace `ns`; none when they cannot be read (diagnostics are best
    /// effort and must not hide the failure they explain).
    pub(super) async fn events_in(&self, ns: &str) -> Vec<Value> {
        self.cluster
            .list("v1", "Event", Some(ns), "")
            .await
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_family_is_the_object_and_what_is_named_after_it_oldest_first() {
        let ev = |name: &str, at: Option<&str>, created: &str| {
            let mut e = json!({"involvedObject": {"kind": "Pod", "name": name},
                               "metadata": {"creationTimestamp": created}});
            if let Some(at) = at {
                e["lastTimestamp"] = json!(at);
            }
            e
        };
        let events = [
            ev(
                "web-7d9-abc",
                Some("2026-01-01T00:00:05Z"),
                "2026-01-01T00:00:00Z",
            ),
            ev("web", None, "2026-01-01T00:00:03Z"),
            ev(
                "webhook",
                Some("2026-01-01T00:00:01Z"),
                "2026-01-01T00:00:00Z",
            ),
            ev("we", Some("2026-01-01T00:00:01Z"), "2026-01-01T00:00:00Z"),
        ];
        let names: Vec<&str> = of_family(&events, "web")
            .into_iter()
            .map(|e| field(e, "/involvedObject/name"))
            .collect();
        assert_eq!(names, ["web", "web-7d9-abc"]);
        assert!(about(&events[1], "Pod", "web") && !about(&events[1], "Job", "web"));
        assert!(!is_warning(&events[0]));
    }
}
