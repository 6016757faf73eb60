//! Reading what Pods say about themselves beyond their status: their containers' logs.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;

use super::{Cluster, ClusterError};

impl Cluster {
    /// The last `tail` lines (all when `None`) of the log of `container` in Pod `ns/pod`; the
    /// Pod's only container when `container` is `None`. A container that has not started has no
    /// log yet: the API server answers 400, returned as an error like any other.
    pub async fn logs(
        &self,
        ns: &str,
        pod: &str,
        container: Option<&str>,
        tail: Option<i64>,
    ) -> Result<String, ClusterError> {
        let api: Api<Pod> = Api::namespaced(self.client(), ns);
        let params = LogParams {
            container: container.map(str::to_string),
            tail_lines: tail,
            ..Default::default()
        };
        let what = match container {
            Some(c) => format!("Pod {ns}/{pod} container {c}"),
            None => format!("Pod {ns}/{pod}"),
        };
        self.retry(|| api.logs(pod, &params))
            .await
            .map_err(|e| self.map_err(e, "get logs of", "pods/log", Some(ns), &what))
    }
}
