//! Connecting: which kubeconfig and context, or the in-cluster config inside a Pod.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::{Cluster, ClusterError, client, install_crypto_provider};

/// Which kubeconfig file applies: the flag, else $KUBECONFIG (first existing entry), else
/// ~/.kube/config.
pub fn kubeconfig_path(flag: Option<&Path>) -> Result<PathBuf, ClusterError> {
    if let Some(p) = flag {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        return Err(ClusterError::NoKubeconfig {
            looked: p.display().to_string(),
        });
    }
    let mut looked = Vec::new();
    if let Ok(env) = std::env::var("KUBECONFIG") {
        for p in std::env::split_paths(&env) {
            if p.is_file() {
                return Ok(p);
            }
            looked.push(p.display().to_string());
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = PathBuf::from(home).join(".kube/config");
        if p.is_file() {
            return Ok(p);
        }
        looked.push(p.display().to_string());
    }
    Err(ClusterError::NoKubeconfig {
        looked: looked.join(", "),
    })
}

/// The API server URL that `context` (default: the current one) of the kubeconfig
/// [`kubeconfig_path`] picks points at, read from the file alone, without connecting; `None`
/// when the file, the context or its cluster is not there (connecting then says why).
pub fn server_url(kubeconfig: Option<&Path>, context: Option<&str>) -> Option<String> {
    let kc = Kubeconfig::read_from(kubeconfig_path(kubeconfig).ok()?).ok()?;
    let name = context.map(str::to_string).or(kc.current_context)?;
    let cluster = kc
        .contexts
        .iter()
        .find(|c| c.name == name)?
        .context
        .as_ref()?
        .cluster
        .clone();
    let server = kc
        .clusters
        .iter()
        .find(|c| c.name == cluster)?
        .cluster
        .as_ref()?
        .server
        .clone()?;
    Some(server.trim_end_matches('/').to_string())
}

/// How long connecting may take by default: TCP and TLS, and the API server's first answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request may go without receiving a byte once the server has answered: then the
/// connection counts as lost and the request is retried ([`super::retry`]). Longer than the
/// first contact's bound: a loaded API server can queue a request for seconds.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

impl Cluster {
    /// Connects using a kubeconfig (see [`kubeconfig_path`]) and an optional context; inside a
    /// Pod without a kubeconfig, uses the in-cluster config. Connecting and the first answer
    /// are bounded by [`DEFAULT_REQUEST_TIMEOUT`].
    pub async fn connect(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Cluster, ClusterError> {
        Cluster::connect_within(kubeconfig, context, DEFAULT_REQUEST_TIMEOUT).await
    }

    /// [`Cluster::connect`], with `timeout` bounding the TCP connection and TLS handshake, and
    /// the first answer (`/version`): an API server that never answers fails within it, naming
    /// its URL and context, instead of hanging.
    pub async fn connect_within(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
        timeout: Duration,
    ) -> Result<Cluster, ClusterError> {
        install_crypto_provider();
        let path = match kubeconfig_path(kubeconfig) {
            Ok(p) => p,
            Err(e) => {
                if kubeconfig.is_none()
                    && context.is_none()
                    && let Ok(mut cfg) = kube::Config::incluster()
                {
                    cfg.connect_timeout = Some(timeout);
                    cfg.read_timeout = Some(READ_TIMEOUT.max(timeout));
                    let url = cfg.cluster_url.to_string();
                    let client = client::build(cfg).map_err(|e| ClusterError::Other {
                        what: "in-cluster config".into(),
                        message: e.to_string(),
                    })?;
                    return Ok(Cluster::new(
                        client,
                        url,
                        "in-cluster".into(),
                        "service account".into(),
                    ));
                }
                return Err(e);
            }
        };
        let file = path.display().to_string();
        let kc = Kubeconfig::read_from(&path).map_err(|e| ClusterError::Kubeconfig {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let ctx_name = match context {
            Some(c) => c.to_string(),
            None => kc
                .current_context
                .clone()
                .ok_or_else(|| ClusterError::Kubeconfig {
                    file: file.clone(),
                    message: "no current-context is set; pass --kube-context".into(),
                })?,
        };
        let Some(ctx) = kc.contexts.iter().find(|c| c.name == ctx_name) else {
            let available: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
            return Err(ClusterError::NoContext {
                context: ctx_name,
                file,
                available: if available.is_empty() {
                    "none".into()
                } else {
                    available.join(", ")
                },
            });
        };
        let user = ctx
            .context
            .as_ref()
            .and_then(|c| c.user.clone())
            .unwrap_or_default();
        let options = KubeConfigOptions {
            context: Some(ctx_name.clone()),
            ..Default::default()
        };
        let mut cfg = kube::Config::from_custom_kubeconfig(kc, &options)
            .await
            .map_err(|e| ClusterError::Kubeconfig {
                file: file.clone(),
                message: e.to_string(),
            })?;
        cfg.connect_timeout = Some(timeout);
        cfg.read_timeout = Some(READ_TIMEOUT.max(timeout));
        let url = cfg.cluster_url.to_string();
        let client = client::build(cfg).map_err(|e| ClusterError::Kubeconfig {
            file,
            message: e.to_string(),
        })?;
        let cluster = Cluster::new(client, url, ctx_name, user);
        // One cheap request now, so an unreachable server is one clear error up front rather
        // than a failure halfway into whatever the command does first.
        let silent = || ClusterError::Unreachable {
            url: cluster.url.clone(),
            context: cluster.context.clone(),
            cause: format!(
                "it did not answer within {}s (--request-timeout)",
                timeout.as_secs_f64()
            ),
        };
        match tokio::time::timeout(timeout, cluster.first_contact()).await {
            Ok(Ok(())) => Ok(cluster),
            // The connector's own timeout (TCP and TLS) can fire first: the same answer.
            Ok(Err(ClusterError::Unreachable { cause, .. }))
                if cause.contains("deadline has elapsed") =>
            {
                Err(silent())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(silent()),
        }
    }

    /// Asks for `/version`: the first request of every command. An answer that is not
    /// Kubernetes' (a web server's page: a wrong URL or port in the kubeconfig) is said in one
    /// line, with what answered.
    async fn first_contact(&self) -> Result<(), ClusterError> {
        let err = match self.retry(|| self.client.apiserver_version()).await {
            Ok(info) => {
                let _ = self.version.set(info.git_version);
                return Ok(());
            }
            Err(e) => e,
        };
        let answer = match &err {
            kube::Error::Api(s) if s.reason == super::error::NOT_A_STATUS => {
                format!("HTTP {} with {}", s.code, page(&s.message))
            }
            kube::Error::SerdeError(_) => {
                // A 2xx answer that is not the version JSON: fetch it as text to say what it is.
                let body = match http::Request::get("/version").body(Vec::new()) {
                    Ok(req) => self.client.request_text(req).await.ok(),
                    Err(_) => None,
                };
                match body {
                    Some(body) => format!("HTTP 200 with {}", page(&body)),
                    None => "an answer that is not the Kubernetes version document".to_string(),
                }
            }
            _ => return Err(self.map_err(err, "get", "version", None, "server version")),
        };
        Err(ClusterError::NotKubernetes {
            url: self.url.clone(),
            context: self.context.clone(),
            answer,
        })
    }
}

/// A page that answered instead of Kubernetes, in a few words.
fn page(body: &str) -> String {
    let what = super::error::brief(body);
    if body.trim_start().starts_with('<') {
        format!("an HTML page \"{what}\"")
    } else {
        format!("\"{what}\"")
    }
}
