//! How to reach a registry, as a command's flags (`--ca-file`, `--insecure-skip-tls-verify`,
//! `--plain-http`) or a deploy tree's `charter.yaml` (`registry:`) give it. Every field is
//! optional so that sources layer: flags over the deepest `charter.yaml` over shallower ones.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ClientOptions;

/// Registry connection settings; unset fields defer to the next source, then to the defaults
/// (system roots, TLS verified, HTTPS).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrySettings {
    /// PEM CA certificates that sign the registry's certificate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (unsafe).
    #[serde(default)]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Plain HTTP instead of HTTPS (a local registry).
    #[serde(default)]
    pub plain_http: Option<bool>,
}

impl RegistrySettings {
    /// These settings, each unset one taken from `lower`.
    pub fn over(&self, lower: &RegistrySettings) -> RegistrySettings {
        RegistrySettings {
            ca_file: self.ca_file.clone().or_else(|| lower.ca_file.clone()),
            insecure_skip_tls_verify: self
                .insecure_skip_tls_verify
                .or(lower.insecure_skip_tls_verify),
            plain_http: self.plain_http.or(lower.plain_http),
        }
    }

    /// A relative `ca_file` made relative to `dir` (the directory of the file that named it).
    pub fn relative_to(mut self, dir: &Path) -> RegistrySettings {
        if let Some(ca) = &self.ca_file
            && ca.is_relative()
        {
            self.ca_file = Some(dir.join(ca));
        }
        self
    }

    /// The client options these settings give (retries as by default).
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            ca_file: self.ca_file.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify.unwrap_or(false),
            plain_http: self.plain_http.unwrap_or(false),
            ..ClientOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_layer_field_by_field() {
        let root = RegistrySettings {
            ca_file: Some("ca.pem".into()),
            plain_http: Some(true),
            ..Default::default()
        }
        .relative_to(Path::new("deploy/app"));
        let leaf = RegistrySettings {
            plain_http: Some(false),
            insecure_skip_tls_verify: Some(true),
            ..Default::default()
        };
        let merged = leaf.over(&root);
        assert_eq!(
            merged.ca_file.as_deref(),
            Some(Path::new("deploy/app/ca.pem"))
        );
        assert_eq!(merged.plain_http, Some(false));
        let o = merged.client_options();
        assert!(o.insecure_skip_tls_verify && !o.plain_http);
        assert!(!RegistrySettings::default().client_options().plain_http);
    }
}
