//! Connecting: which kubeconfig and context, or the in-cluster config inside a Pod.

use std::path::{Path, PathBuf};

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

/// The context and API server URL a kubeconfig context names, read from the file without
/// contacting the server (to tell whether two targets deploy to the same cluster). `None` when
/// the kubeconfig, the context or its cluster cannot be found; connecting says why.
pub fn server_of(kubeconfig: Option<&Path>, context: Option<&str>) -> Option<(String, String)> {
    let path = kubeconfig_path(kubeconfig).ok()?;
    let kc = Kubeconfig::read_from(&path).ok()?;
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
    Some((name, server.trim_end_matches('/').to_string()))
}

impl Cluster {
    /// Connects using a kubeconfig (see [`kubeconfig_path`]) and an optional context; inside a
    /// Pod without a kubeconfig, uses the in-cluster config.
    pub async fn connect(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Cluster, ClusterError> {
        install_crypto_provider();
        let path = match kubeconfig_path(kubeconfig) {
            Ok(p) => p,
            Err(e) => {
                if kubeconfig.is_none()
                    && context.is_none()
                    && let Ok(cfg) = kube::Config::incluster()
                {
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
        let cfg = kube::Config::from_custom_kubeconfig(kc, &options)
            .await
            .map_err(|e| ClusterError::Kubeconfig {
                file: file.clone(),
                message: e.to_string(),
            })?;
        let url = cfg.cluster_url.to_string();
        let client = client::build(cfg).map_err(|e| ClusterError::Kubeconfig {
            file,
            message: e.to_string(),
        })?;
        let cluster = Cluster::new(client, url, ctx_name, user);
        // One cheap request now, so an unreachable server is one clear error up front rather
        // than a failure halfway into whatever the command does first.
        cluster.server_version().await?;
        Ok(cluster)
    }
}
