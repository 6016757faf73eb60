//! `push`, `registry login` and `registry logout`: charts into OCI registries, and charter's
//! own registry logins (`registries.yaml`, see [`crate::oci::credentials`]).

use std::path::{Path, PathBuf};

use super::Error;
use crate::oci::{
    Client, CredentialStore, LoginEntry, PushOptions, Pushed, Reference, RegistryLogins,
    RegistrySettings,
};
use crate::repo::{Paths, Resolver};

/// A chart archive to push.
pub struct PushRequest {
    /// The `.tgz` (a `.tgz.prov` beside it is pushed with it, as Helm does).
    pub archive: PathBuf,
    /// `oci://HOST/PATH`: the chart goes to `oci://HOST/PATH/NAME:VERSION`.
    pub destination: String,
    /// How to reach the registry.
    pub registry: RegistrySettings,
}

/// Pushes a chart archive with Helm's artifact format. The manifest's creation time is the
/// archive's modification time, as `helm push` takes it, so both tools push the same manifest
/// for the same file.
pub fn push(req: &PushRequest) -> Result<Pushed, Error> {
    let archive = std::fs::read(&req.archive)
        .map_err(Error::io(format!("cannot read {}", req.archive.display())))?;
    let destination = crate::oci::Reference::parse(&req.destination)?;
    let mut prov_path = req.archive.clone().into_os_string();
    prov_path.push(".prov");
    let prov = match std::fs::read(&prov_path) {
        Ok(p) => Some(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Error::io(format!(
                "cannot read {}",
                Path::new(&prov_path).display()
            ))(e));
        }
    };
    let created = std::fs::metadata(&req.archive)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| crate::oci::artifact::rfc3339_seconds(d.as_secs()));
    let resolver = Resolver::from_env()?.with_registry(req.registry.client_options());
    Ok(resolver.oci()?.push_chart(
        &destination,
        &req.archive,
        archive,
        PushOptions { prov, created },
    )?)
}

/// `HOST[:PORT]` from what a user writes after `registry login` (`oci://` and a trailing `/`
/// tolerated).
pub fn registry_host(arg: &str) -> Result<String, Error> {
    let host = arg
        .strip_prefix(crate::oci::reference::SCHEME)
        .unwrap_or(arg)
        .trim_end_matches('/');
    if host.contains('/') {
        return Err(Error::Invalid(format!(
            "`{arg}` is not a registry host: give HOST[:PORT] only (credentials hold for the whole registry)"
        )));
    }
    // The same host rules as a chart reference's.
    Reference::parse(&format!("{}{host}/x", crate::oci::reference::SCHEME))
        .map_err(|e| Error::Invalid(format!("`{arg}`: {e}")))?;
    Ok(host.to_string())
}

/// A login to check and save.
pub struct LoginRequest {
    /// `HOST[:PORT]`.
    pub host: String,
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
    /// How to reach the registry for the check.
    pub registry: RegistrySettings,
}

/// Checks the credentials against the registry (`GET /v2/` with them, answering its Basic or
/// Bearer challenge), then saves them in `registries.yaml` (mode 0600). Nothing is saved when
/// the registry refuses them. Returns the file written.
pub fn login(req: &LoginRequest) -> Result<PathBuf, Error> {
    if req.username.is_empty() || req.password.is_empty() {
        return Err(Error::Invalid(
            "registry login needs a user name (--username) and a password (--password-stdin or --password)".into(),
        ));
    }
    let paths = Paths::from_env()?;
    let store = CredentialStore::with_password(&req.host, &req.username, &req.password);
    Client::new(req.registry.client_options(), store)?.check_login(&req.host)?;
    let _lock = paths.lock_config()?;
    let mut logins = RegistryLogins::load(&paths)?;
    logins.registries.insert(
        req.host.clone(),
        LoginEntry {
            username: req.username.clone(),
            password: req.password.clone(),
        },
    );
    logins.save(&paths)?;
    Ok(crate::oci::credentials::logins_file(&paths))
}

/// Removes charter's login for `host`; an error when there is none.
pub fn logout(host: &str) -> Result<PathBuf, Error> {
    let paths = Paths::from_env()?;
    let _lock = paths.lock_config()?;
    let mut logins = RegistryLogins::load(&paths)?;
    let file = crate::oci::credentials::logins_file(&paths);
    if logins.registries.remove(host).is_none() {
        return Err(Error::Invalid(format!(
            "not logged in to {host}: {} has no login for it (a Docker login is removed with `docker logout {host}`)",
            file.display()
        )));
    }
    logins.save(&paths)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_hosts() {
        assert_eq!(
            registry_host("oci://r.example:5000/").unwrap(),
            "r.example:5000"
        );
        assert_eq!(registry_host("127.0.0.1:5000").unwrap(), "127.0.0.1:5000");
        let e = registry_host("r.example/charts").unwrap_err().to_string();
        assert!(e.contains("HOST[:PORT]"), "{e}");
        let e = registry_host("bad host").unwrap_err().to_string();
        assert!(e.contains("invalid"), "{e}");
    }
}
