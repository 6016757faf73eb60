//! Keys and certificates: `genPrivateKey`, `genCA`, `genSelfSignedCert`, `genSignedCert`
//! (and their `…WithKey` forms), `buildCustomCert`.
//!
//! The PEM blocks are Go's: `RSA PRIVATE KEY` (PKCS#1) for RSA, `EC PRIVATE KEY` (SEC1) for
//! ECDSA, `DSA PRIVATE KEY` (Go's own ASN.1 sequence) for DSA, `PRIVATE KEY` (PKCS#8) for
//! Ed25519. Certificates carry what Sprig's template sets: a random 128-bit serial, the
//! common name as the only subject attribute, validity from now for the given days, key usage
//! digitalSignature + keyEncipherment (+ certSign for a CA), extended key usage serverAuth +
//! clientAuth, critical basic constraints, the IPs and DNS names as SANs, a subject key id
//! for a CA and an authority key id when signed by one. Keys: RSA 4096 for `genPrivateKey`,
//! RSA 2048 for the certificates that make their own; certificates are signed with
//! SHA-256 (RSA, P-256), SHA-384 (P-384) or Ed25519, as Go chooses. Go cannot sign with DSA
//! keys, nor can this.

use gotemplate::{CallCtx, Object, Param, Value};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};

use crate::{R, Registry, arg, err, int_arg, sig, str_arg, string};

pub(crate) fn register(r: &mut Registry) {
    use Param::*;
    r.add("genPrivateKey", sig(&[String]), |a| {
        Ok(string(generate_private_key(str_arg(a, 0)?)))
    });
    r.add("buildCustomCert", sig(&[String, String]), |a| {
        build_custom_cert(str_arg(a, 0)?, str_arg(a, 1)?)
    });
    r.add("genCA", sig(&[String, Int]), |a| {
        let key = new_rsa(2048)?;
        ca(str_arg(a, 0)?, int_arg(a, 1)?, key)
    });
    r.add("genCAWithKey", sig(&[String, Int, String]), |a| {
        let key = parse_private_key_pem(str_arg(a, 2)?)
            .map_err(|e| err(format!("parsing private key: {e}")))?;
        ca(str_arg(a, 0)?, int_arg(a, 1)?, key)
    });
    r.add("genSelfSignedCert", sig(&[String, List, List, Int]), |a| {
        let key = new_rsa(2048)?;
        self_signed(a, key)
    });
    r.add(
        "genSelfSignedCertWithKey",
        sig(&[String, List, List, Int, String]),
        |a| {
            let key = parse_private_key_pem(str_arg(a, 4)?)
                .map_err(|e| err(format!("parsing private key: {e}")))?;
            self_signed(a, key)
        },
    );
    r.add("genSignedCert", sig(&[String, List, List, Int, Any]), |a| {
        let key = new_rsa(2048)?;
        signed(a, key)
    });
    r.add(
        "genSignedCertWithKey",
        sig(&[String, List, List, Int, Any, String]),
        |a| {
            let key = parse_private_key_pem(str_arg(a, 5)?)
                .map_err(|e| err(format!("parsing private key: {e}")))?;
            signed(a, key)
        },
    );
}

/// Sprig's `certificate`: a PEM certificate and its PEM key, fields `Cert` and `Key`.
#[derive(Clone, Debug)]
pub struct Certificate {
    pub cert: String,
    pub key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }

    fn kind(&self) -> &str {
        "struct"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(string(self.cert.clone())),
            "Key" => Some(string(self.key.clone())),
            _ => None,
        }
    }

    fn call_method(&self, name: &str, _ctx: &mut CallCtx<'_>, _args: &[Value]) -> R {
        Err(err(format!("sprig.certificate has no method {name}")))
    }

    /// What `%v` prints for the struct: `{CERT KEY}`.
    fn string(&self) -> Option<String> {
        Some(format!("{{{} {}}}", self.cert, self.key))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A private key of a kind Go's crypto/x509 reads.
enum PrivateKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
    Ed25519([u8; 32]),
    Dsa(DsaKey),
}

/// Go's `DSAKeyFormat`: the parameters and both halves, as unsigned big-endian integers.
struct DsaKey {
    p: Vec<u8>,
    q: Vec<u8>,
    g: Vec<u8>,
    y: Vec<u8>,
    x: Vec<u8>,
}

fn new_rsa(bits: usize) -> Result<PrivateKey, gotemplate::FuncError> {
    super::rsakey::generate(bits)
        .map(|k| PrivateKey::Rsa(Box::new(k)))
        .map_err(|e| err(format!("error generating rsa key: {e}")))
}

/// Sprig's `genPrivateKey`: the PEM, or the message of what failed.
fn generate_private_key(kind: &str) -> String {
    let key = match kind {
        "" | "rsa" => match new_rsa(4096) {
            Ok(k) => k,
            Err(e) => return format!("failed to generate private key: {e}"),
        },
        "dsa" => {
            let components =
                dsa::Components::generate(&mut rand_core::OsRng, dsa::KeySize::DSA_2048_256);
            let signing = dsa::SigningKey::generate(&mut rand_core::OsRng, components);
            let verifying = signing.verifying_key();
            let c = verifying.components();
            PrivateKey::Dsa(DsaKey {
                p: c.p().to_bytes_be(),
                q: c.q().to_bytes_be(),
                g: c.g().to_bytes_be(),
                y: verifying.y().to_bytes_be(),
                x: signing.x().to_bytes_be(),
            })
        }
        "ecdsa" => PrivateKey::P256(p256::SecretKey::random(&mut rand_core::OsRng)),
        "ed25519" => {
            use rand::Rng;
            let mut seed = [0u8; 32];
            rand::rng().fill(&mut seed);
            PrivateKey::Ed25519(seed)
        }
        _ => return format!("Unknown type {kind}"),
    };
    match pem_block_for_key(&key) {
        Ok((label, der)) => pem_encode(label, &der),
        Err(e) => e,
    }
}

/// The PKCS#8 prefix of an Ed25519 key (version 0, OID 1.3.101.112, a 32-byte string).
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Sprig's `pemBlockForKey`.
fn pem_block_for_key(key: &PrivateKey) -> Result<(&'static str, Vec<u8>), String> {
    let fail = |e: &dyn std::fmt::Display| format!("failed to encode private key: {e}");
    Ok(match key {
        PrivateKey::Rsa(k) => (
            "RSA PRIVATE KEY",
            k.to_pkcs1_der().map_err(|e| fail(&e))?.as_bytes().to_vec(),
        ),
        PrivateKey::P256(k) => (
            "EC PRIVATE KEY",
            sec1(
                &k.to_bytes(),
                &P256_OID,
                k.public_key().to_encoded_point(false).as_bytes(),
            ),
        ),
        PrivateKey::P384(k) => (
            "EC PRIVATE KEY",
            sec1(
                &k.to_bytes(),
                &P384_OID,
                k.public_key().to_encoded_point(false).as_bytes(),
            ),
        ),
        PrivateKey::Ed25519(seed) => {
            let mut der = ED25519_PKCS8_PREFIX.to_vec();
            der.extend_from_slice(seed);
            ("PRIVATE KEY", der)
        }
        PrivateKey::Dsa(k) => {
            let mut body = der_integer(&[]);
            for n in [&k.p, &k.q, &k.g, &k.y, &k.x] {
                body.extend(der_integer(n));
            }
            ("DSA PRIVATE KEY", der_tlv(0x30, &body))
        }
    })
}

/// The DER of the named curves' OIDs (P-256: 1.2.840.10045.3.1.7, P-384: 1.3.132.0.34).
const P256_OID: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_OID: [u8; 7] = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// SEC1 `ECPrivateKey` as Go's `MarshalECPrivateKey` writes it: version 1, the private
/// scalar, the curve as `[0]` and the uncompressed public point as `[1]`.
fn sec1(private: &[u8], curve_oid: &[u8], public: &[u8]) -> Vec<u8> {
    let mut body = der_tlv(0x02, &[1]);
    body.extend(der_tlv(0x04, private));
    body.extend(der_tlv(0xa0, curve_oid));
    let mut bits = vec![0u8];
    bits.extend_from_slice(public);
    body.extend(der_tlv(0xa1, &der_tlv(0x03, &bits)));
    der_tlv(0x30, &body)
}

/// `pem.EncodeToMemory`: 64-column base64 between the BEGIN and END lines.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = crate::encoding::base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or(""));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// `pem.Decode`: the first block's type and bytes.
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let end_type = after.find("-----")?;
        let label = &after[..end_type];
        let body_start = &after[end_type + 5..];
        let end_marker = format!("-----END {label}-----");
        if let Some(end) = body_start.find(&end_marker) {
            let body = &body_start[..end];
            // Headers (`Key: value` lines before a blank line) are not part of the data.
            let data_part = match body.find("\n\n") {
                Some(i) if body[..i].contains(':') => &body[i + 2..],
                _ => body,
            };
            let clean: Vec<u8> = data_part
                .bytes()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            if let Ok(der) = crate::encoding::base64_decode(&clean) {
                return Some((label.to_string(), der));
            }
        }
        rest = &after[end_type..];
    }
    None
}

/// Sprig's `parsePrivateKeyPEM`, with its error texts.
fn parse_private_key_pem(text: &str) -> Result<PrivateKey, String> {
    let (label, der) = pem_decode(text).ok_or("no PEM data in input")?;
    if label == "PRIVATE KEY" {
        return parse_pkcs8(&der).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
    }
    let Some(kind) = label.strip_suffix(" PRIVATE KEY") else {
        return Err(format!("no private key data in PEM block of type {label}"));
    };
    match kind {
        "RSA" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
            .map(|k| PrivateKey::Rsa(Box::new(k)))
            .map_err(|e| format!("parsing RSA private key from PEM: x509: {e}")),
        "EC" => p256::SecretKey::from_sec1_der(&der)
            .map(PrivateKey::P256)
            .or_else(|_| p384::SecretKey::from_sec1_der(&der).map(PrivateKey::P384))
            .map_err(|e| format!("parsing EC private key from PEM: x509: {e}")),
        "DSA" => parse_dsa(&der)
            .ok_or_else(|| "parsing DSA private key from PEM: asn1: structure error".to_string()),
        _ => Err(format!("invalid private key type {label}")),
    }
}

fn parse_pkcs8(der: &[u8]) -> Result<PrivateKey, String> {
    if der.len() == 48 && der[..16] == ED25519_PKCS8_PREFIX {
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&der[16..]);
        return Ok(PrivateKey::Ed25519(seed));
    }
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(der) {
        return Ok(PrivateKey::Rsa(Box::new(k)));
    }
    if let Ok(k) = p256::SecretKey::from_pkcs8_der(der) {
        return Ok(PrivateKey::P256(k));
    }
    if let Ok(k) = p384::SecretKey::from_pkcs8_der(der) {
        return Ok(PrivateKey::P384(k));
    }
    Err(
        "x509: failed to parse private key (use ParseECPrivateKey instead for this key format)"
            .into(),
    )
}

/// A DER TLV with a short or long length.
fn der_tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = body.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(body);
    out
}

/// A non-negative DER INTEGER from big-endian bytes.
fn der_integer(be: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = be.iter().copied().skip_while(|&b| b == 0).collect();
    let mut body = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|&b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend(trimmed);
    der_tlv(0x02, &body)
}

/// Reads one TLV: (tag, body, rest).
fn der_read(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 8 {
            return None;
        }
        let mut len = 0usize;
        for &x in b.get(2..2 + n)? {
            len = len.checked_mul(256)?.checked_add(usize::from(x))?;
        }
        (len, 2 + n)
    };
    let body = b.get(hdr..hdr.checked_add(len)?)?;
    Some((tag, body, &b[hdr + len..]))
}

fn parse_dsa(der: &[u8]) -> Option<PrivateKey> {
    let (tag, mut body, _) = der_read(der)?;
    if tag != 0x30 {
        return None;
    }
    let mut ints = Vec::new();
    while !body.is_empty() {
        let (t, v, rest) = der_read(body)?;
        if t != 0x02 {
            return None;
        }
        ints.push(v.to_vec());
        body = rest;
    }
    if ints.len() != 6 {
        return None;
    }
    Some(PrivateKey::Dsa(DsaKey {
        p: ints[1].clone(),
        q: ints[2].clone(),
        g: ints[3].clone(),
        y: ints[4].clone(),
        x: ints[5].clone(),
    }))
}

/// The key as rcgen signs with it, or Go's refusal.
fn key_pair(key: &PrivateKey) -> Result<KeyPair, String> {
    let fail = |e: &dyn std::fmt::Display| format!("error creating certificate: x509: {e}");
    let (der, alg) = match key {
        PrivateKey::Rsa(k) => (
            k.to_pkcs8_der().map_err(|e| fail(&e))?.as_bytes().to_vec(),
            &rcgen::PKCS_RSA_SHA256,
        ),
        PrivateKey::P256(k) => (
            k.to_pkcs8_der().map_err(|e| fail(&e))?.as_bytes().to_vec(),
            &rcgen::PKCS_ECDSA_P256_SHA256,
        ),
        PrivateKey::P384(k) => (
            k.to_pkcs8_der().map_err(|e| fail(&e))?.as_bytes().to_vec(),
            &rcgen::PKCS_ECDSA_P384_SHA384,
        ),
        PrivateKey::Ed25519(seed) => {
            let mut der = ED25519_PKCS8_PREFIX.to_vec();
            der.extend_from_slice(seed);
            (der, &rcgen::PKCS_ED25519)
        }
        PrivateKey::Dsa(_) => {
            return Err(
                "error creating certificate: x509: certificate private key does not implement crypto.Signer"
                    .into(),
            );
        }
    };
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(der);
    KeyPair::from_pkcs8_der_and_sign_algo(&der, alg).map_err(|e| fail(&e))
}

/// Sprig's `getBaseCertTemplate`.
fn base_params(cn: &str, ips: &Value, dns: &Value, days: i64) -> Result<CertificateParams, String> {
    let mut params = CertificateParams::default();
    let mut names = Vec::new();
    for v in list_items(dns) {
        match v {
            Value::String(s) => {
                names.push(SanType::DnsName(s.to_string().try_into().map_err(|e| {
                    format!("error processing alternate dns name: {e}")
                })?))
            }
            other => {
                return Err(format!(
                    "error processing alternate dns name: {} is not a string",
                    gotemplate::gofmt::sprint(&[other])
                ));
            }
        }
    }
    let mut addrs = Vec::new();
    for v in list_items(ips) {
        match v {
            Value::String(s) => addrs.push(SanType::IpAddress(
                s.parse::<std::net::IpAddr>()
                    .map_err(|_| format!("error parsing ip: {s}"))?,
            )),
            other => {
                return Err(format!(
                    "error parsing ip: {} is not a string",
                    gotemplate::gofmt::sprint(&[other])
                ));
            }
        }
    }
    // Go writes DNS names before IP addresses in the SAN extension.
    names.extend(addrs);
    params.subject_alt_names = names;
    let mut dn = DistinguishedName::new();
    if !cn.is_empty() {
        let value = match rcgen::string::PrintableString::try_from(cn.to_string()) {
            Ok(p) => DnValue::PrintableString(p),
            Err(_) => DnValue::Utf8String(cn.to_string()),
        };
        dn.push(DnType::CommonName, value);
    }
    params.distinguished_name = dn;
    let mut serial = [0u8; 16];
    {
        use rand::Rng;
        rand::rng().fill(&mut serial);
    }
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now;
    params.not_after = now
        .checked_add(
            time::Duration::hours(24).saturating_mul(days.clamp(-1_000_000, 1_000_000) as i32),
        )
        .ok_or("error creating certificate: x509: validity out of range")?;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    // Critical basic constraints with CA false, and (as Go) no subject key id on a leaf.
    params.is_ca = IsCa::NoCa;
    let mut bc = CustomExtension::from_oid_content(&[2, 5, 29, 19], vec![0x30, 0x00]);
    bc.set_criticality(true);
    params.custom_extensions = vec![bc];
    Ok(params)
}

fn list_items(v: &Value) -> Vec<Value> {
    match v {
        Value::List(l) => l.items().to_vec(),
        _ => Vec::new(),
    }
}

fn certificate(cert_pem: String, key: &PrivateKey) -> R {
    let (label, der) =
        pem_block_for_key(key).map_err(|e| err(format!("error pem-encoding key: {e}")))?;
    Ok(Value::object(Certificate {
        cert: cert_pem,
        key: pem_encode(label, &der),
    }))
}

fn ca(cn: &str, days: i64, key: PrivateKey) -> R {
    let mut params = base_params(cn, &Value::Nil, &Value::Nil, days).map_err(err)?;
    params.key_usages.push(KeyUsagePurpose::KeyCertSign);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.custom_extensions.clear();
    let kp = key_pair(&key).map_err(err)?;
    let cert = params
        .self_signed(&kp)
        .map_err(|e| err(format!("error creating certificate: {e}")))?;
    certificate(cert.pem(), &key)
}

fn self_signed(a: &[Value], key: PrivateKey) -> R {
    let params = base_params(str_arg(a, 0)?, arg(a, 1), arg(a, 2), int_arg(a, 3)?).map_err(err)?;
    let kp = key_pair(&key).map_err(err)?;
    let cert = params
        .self_signed(&kp)
        .map_err(|e| err(format!("error creating certificate: {e}")))?;
    certificate(cert.pem(), &key)
}

fn signed(a: &[Value], key: PrivateKey) -> R {
    let ca = match arg(a, 4) {
        Value::Object(o) => o.as_any().downcast_ref::<Certificate>().cloned(),
        _ => None,
    }
    .ok_or_else(|| crate::wrong_type("sprig.certificate", arg(a, 4)))?;
    let (_, ca_der) = pem_decode(&ca.cert).ok_or_else(|| err("unable to decode certificate"))?;
    x509_parser::parse_x509_certificate(&ca_der).map_err(|e| {
        err(format!(
            "error parsing certificate: decodedSignerCert.Bytes: x509: {e}"
        ))
    })?;
    let ca_key = parse_private_key_pem(&ca.key)
        .map_err(|e| err(format!("error parsing private key: {e}")))?;
    let mut params =
        base_params(str_arg(a, 0)?, arg(a, 1), arg(a, 2), int_arg(a, 3)?).map_err(err)?;
    params.use_authority_key_identifier_extension = true;
    let ca_kp = key_pair(&ca_key).map_err(err)?;
    let issuer = Issuer::from_ca_cert_der(&rustls_pki_types::CertificateDer::from(ca_der), ca_kp)
        .map_err(|e| err(format!("error creating certificate: {e}")))?;
    let kp = key_pair(&key).map_err(err)?;
    let cert = params
        .signed_by(&kp, &issuer)
        .map_err(|e| err(format!("error creating certificate: {e}")))?;
    certificate(cert.pem(), &key)
}

fn build_custom_cert(b64cert: &str, b64key: &str) -> R {
    let cert = crate::encoding::base64_decode(b64cert.as_bytes())
        .map_err(|_| err("unable to decode base64 certificate"))?;
    let key = crate::encoding::base64_decode(b64key.as_bytes())
        .map_err(|_| err("unable to decode base64 private key"))?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let (_, der) = pem_decode(&cert).ok_or_else(|| err("unable to decode certificate"))?;
    x509_parser::parse_x509_certificate(&der).map_err(|e| {
        err(format!(
            "error parsing certificate: decodedCert.Bytes: x509: {e}"
        ))
    })?;
    parse_private_key_pem(&key).map_err(|e| err(format!("error parsing private key: {e}")))?;
    Ok(Value::object(Certificate { cert, key }))
}
