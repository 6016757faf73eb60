//! Errors talking to the cluster, mapped from kube's so each names the object, verb or URL and
//! says what to do.

use super::Cluster;

/// A field another manager owns that an apply tried to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// The field path as the server reports it.
    pub field: String,
    /// The manager that owns it.
    pub manager: String,
}

/// Errors talking to the cluster. Each says which object, verb or URL, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No kubeconfig file where one was looked for.
    #[error("no kubeconfig found: looked for {looked}. Pass --kubeconfig FILE or set KUBECONFIG")]
    NoKubeconfig {
        /// The places looked at.
        looked: String,
    },
    /// The kubeconfig could not be read.
    #[error("kubeconfig {file}: {message}")]
    Kubeconfig {
        /// The file.
        file: String,
        /// The problem.
        message: String,
    },
    /// The context does not exist.
    #[error("kube context `{context}` is not in {file}; contexts there: {available}")]
    NoContext {
        /// The context asked for.
        context: String,
        /// The kubeconfig.
        file: String,
        /// The contexts that exist.
        available: String,
    },
    /// The API server cannot be reached.
    #[error(
        "cannot reach the Kubernetes API server at {url} (context `{context}`): {cause}. Check that the cluster is running and the kubeconfig points to it"
    )]
    Unreachable {
        /// Server URL.
        url: String,
        /// The kube context.
        context: String,
        /// The last cause.
        cause: String,
    },
    /// Something answered at the API server's URL, but not Kubernetes.
    #[error(
        "{url} (context `{context}`) is not a Kubernetes API server: GET /version answered {answer}. Check the server URL of the context in the kubeconfig"
    )]
    NotKubernetes {
        /// Server URL.
        url: String,
        /// The kube context.
        context: String,
        /// What answered, in a few words.
        answer: String,
    },
    /// RBAC forbids an operation.
    #[error("forbidden: user `{user}` cannot {verb} {resource}{in_ns}: {message}")]
    Forbidden {
        /// The user.
        user: String,
        /// The verb.
        verb: String,
        /// The resource.
        resource: String,
        /// " in namespace X" or "".
        in_ns: String,
        /// The server's message.
        message: String,
    },
    /// Server-side apply conflicts with other field managers.
    #[error("{object}: apply conflicts with fields owned by other managers:\n{}\nRe-run with --force-conflicts to take ownership of these fields", format_conflicts(.conflicts))]
    Conflict {
        /// The object.
        object: String,
        /// The conflicting fields.
        conflicts: Vec<FieldConflict>,
    },
    /// The object has a field its kind's schema does not declare (field validation is strict).
    #[error(
        "{object}: {field} is not a field of this kind (a typo, or misplaced): fix the template that renders it. The API server said: {message}"
    )]
    UnknownField {
        /// The object.
        object: String,
        /// The field path, e.g. `.spec.prots`.
        field: String,
        /// The server's message.
        message: String,
    },
    /// The server rejected the object.
    #[error("{object}: the API server rejected it ({code} {reason}): {message}")]
    Rejected {
        /// The object.
        object: String,
        /// HTTP code.
        code: u16,
        /// Reason.
        reason: String,
        /// Message (names the field path for validation errors).
        message: String,
    },
    /// The kind is not served by the cluster.
    #[error(
        "{api_version} {kind} is not served by the cluster at {url}; install its CRD first or fix apiVersion/kind"
    )]
    UnknownKind {
        /// apiVersion.
        api_version: String,
        /// kind.
        kind: String,
        /// Server URL.
        url: String,
    },
    /// Anything else from the client.
    #[error("{what}: {message}")]
    Other {
        /// What was being done.
        what: String,
        /// The message.
        message: String,
    },
}

fn format_conflicts(c: &[FieldConflict]) -> String {
    c.iter()
        .map(|c| format!("  {} (owned by {})", c.field, c.manager))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Cluster {
    pub(super) fn map_err(
        &self,
        e: kube::Error,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
        object: &str,
    ) -> ClusterError {
        match e {
            kube::Error::Api(s) => {
                if s.code == 403 {
                    return ClusterError::Forbidden {
                        user: self.user.clone(),
                        verb: verb.to_string(),
                        resource: resource.to_string(),
                        in_ns: namespace
                            .map(|n| format!(" in namespace {n}"))
                            .unwrap_or_default(),
                        message: s.message.clone(),
                    };
                }
                if s.code == 409 && s.reason == "Conflict" && verb == "patch" {
                    let conflicts = parse_conflicts(&s);
                    if !conflicts.is_empty() {
                        return ClusterError::Conflict {
                            object: object.to_string(),
                            conflicts,
                        };
                    }
                }
                if let Some(field) = undeclared_field(&s.message) {
                    return ClusterError::UnknownField {
                        object: object.to_string(),
                        field,
                        message: s.message.clone(),
                    };
                }
                ClusterError::Rejected {
                    object: object.to_string(),
                    code: s.code,
                    reason: s.reason.clone(),
                    message: status_message(&s),
                }
            }
            e if is_transient(&e) => ClusterError::Unreachable {
                url: self.url.clone(),
                context: self.context.clone(),
                cause: root_cause(&e),
            },
            e => ClusterError::Other {
                what: object.to_string(),
                message: root_cause(&e),
            },
        }
    }
}

/// Extracts `field (manager)` pairs from an apply conflict: the server lists them in
/// `details.causes` with type `FieldManagerConflict`, message `conflict with "mgr": .spec.x`.
fn parse_conflicts(s: &kube::core::Status) -> Vec<FieldConflict> {
    let mut out = Vec::new();
    if let Some(details) = &s.details {
        for c in &details.causes {
            let msg = c.message.as_str();
            let manager = msg
                .split('"')
                .nth(1)
                .unwrap_or("another manager")
                .to_string();
            let field = if c.field.is_empty() {
                msg.rsplit(": ").next().unwrap_or(msg).to_string()
            } else {
                c.field.clone()
            };
            out.push(FieldConflict { field, manager });
        }
    }
    out
}

/// The reason kube gives an error answer whose body is not a Kubernetes `Status` (a proxy's or
/// web server's page); the body is then the message.
pub(super) const NOT_A_STATUS: &str = "Failed to parse error data";

/// A kube error for a message: an API error as `CODE REASON: message` (kube's own display
/// appends the whole Status in debug form).
pub fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} {}: {}", s.code, s.reason, status_message(s)),
        e => root_cause(e),
    }
}

/// A Status's message; for an answer that was no Status (an HTML page), its title or first
/// line instead of the whole page.
fn status_message(s: &kube::core::Status) -> String {
    if s.reason == NOT_A_STATUS {
        format!("the server answered: {}", brief(&s.message))
    } else {
        s.message.clone()
    }
}

/// An answer body in a few words: the `<title>` of an HTML page, else its first line, at most
/// 120 characters.
pub(super) fn brief(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    let title = lower.find("<title>").and_then(|start| {
        let rest = &body[start + 7..];
        let end = rest.to_ascii_lowercase().find("</title>")?;
        Some(rest[..end].trim().to_string())
    });
    let text = title.filter(|t| !t.is_empty()).unwrap_or_else(|| {
        body.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string()
    });
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(119).collect::<String>())
    } else {
        text
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let m = s.to_string();
        if !msg.contains(&m) {
            msg = format!("{msg}: {m}");
        }
        src = s.source();
    }
    msg
}

pub(super) fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 429 || (s.code >= 500 && !is_untyped_patch(&s.message)),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Whether a server error is a server-side apply that cannot be typed against the kind's
/// schema (an undeclared field under strict validation): the API server answers 500, but
/// asking again gives the same answer.
pub(super) fn is_untyped_patch(message: &str) -> bool {
    message.contains("failed to create typed patch object")
}

/// The field path of a strict-validation refusal, e.g. `.spec.prots` from
/// `... (ns/x; /v1, Kind=Service): .spec.prots: field not declared in schema`, or from
/// `strict decoding error: unknown field "spec.prots"`.
fn undeclared_field(message: &str) -> Option<String> {
    if let Some(end) = message.find(": field not declared in schema") {
        let head = &message[..end];
        let start = head.rfind(": ").map_or(0, |i| i + 2);
        return Some(head[start..].to_string());
    }
    let rest = &message[message.find("unknown field \"")? + "unknown field \"".len()..];
    Some(format!(".{}", &rest[..rest.find('"')?]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_validation_refusals_name_the_field_and_are_not_retried() {
        let ssa = "failed to create typed patch object (st1/x-svc; /v1, Kind=Service): .spec.prots: field not declared in schema";
        assert_eq!(undeclared_field(ssa).as_deref(), Some(".spec.prots"));
        let decode = r#"Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.prots""#;
        assert_eq!(undeclared_field(decode).as_deref(), Some(".spec.prots"));
        assert_eq!(undeclared_field("spec.replicas: Invalid value: -1"), None);
        let status = |code, message: &str| {
            kube::Error::Api(Box::new(
                kube::core::Status::failure(message, "InternalError").with_code(code),
            ))
        };
        assert!(!is_transient(&status(500, ssa)));
        assert!(is_transient(&status(500, "etcdserver: leader changed")));
        assert!(is_transient(&status(429, "slow down")));
        assert!(!is_transient(&status(422, "invalid")));
    }
}
