//! Registry authentication: the `WWW-Authenticate` challenge, Basic credentials and Bearer
//! tokens from the registry's token service, cached per registry and scope.

use std::collections::HashMap;

use base64::Engine as _;
use reqwest::Url;

use super::{
    Access, Client, MAX_SMALL_BODY, OciError, Request, Response, read_response,
    registry_error_text, strip_query, unreachable_error,
};
use crate::oci::credentials::{CredentialSource, Secret};

/// What a registry asked for in `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Client {
    pub(super) fn scope(repository: Option<&str>, access: Access) -> String {
        match repository {
            Some(r) => format!("repository:{r}:{}", access.actions()),
            None => String::new(),
        }
    }

    /// The Authorization header known for this request, if any.
    pub(super) fn authorization(&self, req: &Request<'_>) -> Result<Option<String>, OciError> {
        let scope = Self::scope(req.repository, req.access);
        let basic = {
            let state = self.lock();
            let Some(s) = state.get(req.registry) else {
                return Ok(None);
            };
            if let Some(t) = s.tokens.get(&scope) {
                return Ok(Some(format!("Bearer {t}")));
            }
            s.basic
        };
        if basic && let Some(c) = self.credential(req.registry)? {
            return Ok(basic_header(&c.secret));
        }
        Ok(None)
    }

    pub(super) fn answer_challenge(
        &self,
        req: &Request<'_>,
        resp: &Response,
    ) -> Result<(), OciError> {
        let header = resp.header("www-authenticate").unwrap_or_default();
        let unauthorized = |source: CredentialSource, detail: String| OciError::Unauthorized {
            registry: req.registry.to_string(),
            repository: req.repository.map(str::to_string),
            status: 401,
            credential: source,
            detail,
        };
        match parse_challenge(header) {
            Some(Challenge::Basic) => {
                let credential = self.credential(req.registry)?;
                if credential.is_none() {
                    return Err(unauthorized(
                        CredentialSource::Anonymous,
                        "the registry requires a user name and password".into(),
                    ));
                }
                self.lock()
                    .entry(req.registry.to_string())
                    .or_default()
                    .basic = true;
                Ok(())
            }
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                let ours = Self::scope(req.repository, req.access);
                let wanted = scope.clone().unwrap_or_else(|| ours.clone());
                let token = self.fetch_token(req.registry, &realm, service.as_deref(), &wanted)?;
                let mut state = self.lock();
                let s = state.entry(req.registry.to_string()).or_default();
                s.tokens.insert(ours, token.clone());
                s.tokens.insert(wanted, token);
                Ok(())
            }
            None => Err(unauthorized(
                self.source(req.registry),
                format!(
                    "the registry answered 401 with an authentication scheme charter does not know (WWW-Authenticate: {header:?})"
                ),
            )),
        }
    }

    /// Gets a Bearer token from the realm: Basic credentials (or none) with GET, an identity
    /// token with the OAuth2 refresh-token POST.
    pub(super) fn fetch_token(
        &self,
        registry: &str,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, OciError> {
        let mut url = Url::parse(realm).map_err(|e| OciError::Protocol {
            registry: registry.to_string(),
            message: format!("the registry's token realm `{realm}` is not a URL: {e}"),
        })?;
        if url.scheme() != "https" && !(url.scheme() == "http" && self.options.plain_http) {
            return Err(OciError::Protocol {
                registry: registry.to_string(),
                message: format!(
                    "the registry's token realm `{realm}` is not https; refusing to send credentials there (use --plain-http only for a local registry)"
                ),
            });
        }
        let credential = self.credential(registry)?;
        let source = credential
            .as_ref()
            .map(|c| c.source.clone())
            .unwrap_or(CredentialSource::Anonymous);
        let mut builder = match credential.as_ref().map(|c| &c.secret) {
            Some(Secret::IdentityToken(t)) => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", t.as_str()),
                    ("client_id", "charter"),
                ];
                if let Some(s) = service {
                    form.push(("service", s));
                }
                if !scope.is_empty() {
                    form.push(("scope", scope));
                }
                self.http.post(url.clone()).form(&form)
            }
            other => {
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    if !scope.is_empty() {
                        q.append_pair("scope", scope);
                    }
                }
                let mut b = self.http.get(url.clone());
                if let Some(Secret::Password { username, password }) = other {
                    b = b.basic_auth(username, Some(password));
                }
                b
            }
        };
        builder = builder.header("Accept", "application/json");
        let mut attempt = 0u32;
        let resp = loop {
            let r = builder
                .try_clone()
                .ok_or_else(|| OciError::Protocol {
                    registry: registry.to_string(),
                    message: "the token request cannot be repeated".into(),
                })?
                .send()
                .map_err(|e| unreachable_error(registry, &url, &e))
                .and_then(|r| read_response(registry, r, MAX_SMALL_BODY));
            let retry = match &r {
                Err(OciError::Unreachable { .. }) => true,
                Ok(r) => r.status.is_server_error() || r.status.as_u16() == 429,
                Err(_) => false,
            };
            if retry && attempt < self.options.retries {
                std::thread::sleep(self.options.retry_delay * 2u32.saturating_pow(attempt));
                attempt += 1;
                continue;
            }
            break r?;
        };
        if resp.status.as_u16() == 401 || resp.status.as_u16() == 403 {
            return Err(OciError::Unauthorized {
                registry: registry.to_string(),
                repository: scope.split(':').nth(1).map(str::to_string),
                status: resp.status.as_u16(),
                credential: source,
                detail: format!(
                    "the token service {} refused them: {}",
                    strip_query(&url),
                    registry_error_text(&resp.body)
                ),
            });
        }
        if !resp.status.is_success() {
            return Err(OciError::Registry {
                registry: registry.to_string(),
                url: strip_query(&url),
                status: resp.status.as_u16(),
                message: registry_error_text(&resp.body),
            });
        }
        #[derive(serde::Deserialize)]
        struct TokenReply {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let reply: TokenReply =
            serde_json::from_slice(&resp.body).map_err(|e| OciError::Protocol {
                registry: registry.to_string(),
                message: format!("the token service answered something other than a token: {e}"),
            })?;
        reply
            .token
            .or(reply.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OciError::Protocol {
                registry: registry.to_string(),
                message: "the token service's answer holds no token".into(),
            })
    }
}

fn basic_header(secret: &Secret) -> Option<String> {
    match secret {
        Secret::Password { username, password } => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        )),
        Secret::IdentityToken(_) => None,
    }
}

/// Parses `WWW-Authenticate`.
pub(super) fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => {
            let params = parse_params(rest);
            let realm = params.get("realm")?.clone();
            Some(Challenge::Bearer {
                realm,
                service: params.get("service").cloned(),
                scope: params.get("scope").cloned(),
            })
        }
        _ => None,
    }
}

/// `k="v",k2=v2` (quoted values may hold commas and escaped quotes).
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                value.push(*c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_parsed() {
        assert_eq!(parse_challenge("Basic realm=\"r\""), Some(Challenge::Basic));
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge("bearer realm=https://t/x"),
            Some(Challenge::Bearer {
                realm: "https://t/x".into(),
                service: None,
                scope: None
            })
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
    }
}
