//! The functions no two runs agree on, in Go or here: random strings, UUIDs, bcrypt, AES with
//! a random IV, keys and certificates, the current time. Checked by their properties, and
//! where Go can say, by the *shape* of what Go produces from the same template (PEM types,
//! key sizes, certificate fields) and by each side reading what the other wrote.

mod common;

use common::oracle::{self, Case, Oracle, Outcome};
use gotemplate::FuncMap;
use x509_parser::prelude::*;

fn funcs() -> FuncMap {
    sprig::helm_funcs()
}

fn rust_render(template: &str) -> Result<String, String> {
    match oracle::rust(&Case::one(template, common::data()), &funcs()) {
        Outcome::Results(mut r) => r.remove(0),
        Outcome::ParseError(e) => Err(e),
    }
}

fn go_render(o: &mut Oracle, template: &str) -> Result<String, String> {
    match oracle::go_with(o, &Case::one(template, common::data()), "sprig") {
        Outcome::Results(mut r) => r.remove(0),
        Outcome::ParseError(e) => Err(e),
    }
}

fn ok(r: Result<String, String>) -> String {
    r.unwrap_or_else(|e| panic!("render failed: {e}"))
}

#[test]
fn random_strings_have_their_length_and_alphabet() {
    for n in [0, 1, 7, 64] {
        for (f, allowed) in [
            (
                "randAlphaNum",
                (|c: char| c.is_ascii_alphanumeric()) as fn(char) -> bool,
            ),
            ("randAlpha", |c: char| c.is_ascii_alphabetic()),
            ("randNumeric", |c: char| c.is_ascii_digit()),
            ("randAscii", |c: char| (' '..='~').contains(&c)),
        ] {
            let s = ok(rust_render(&format!("{{{{ {f} {n} }}}}")));
            assert_eq!(s.chars().count(), n, "{f} {n}: {s:?}");
            assert!(s.chars().all(allowed), "{f} {n}: {s:?}");
        }
    }
    assert_eq!(ok(rust_render("{{ randAlphaNum -3 }}")), "");
    let a = ok(rust_render("{{ randAlphaNum 32 }}"));
    let b = ok(rust_render("{{ randAlphaNum 32 }}"));
    assert_ne!(a, b, "two draws of 32 characters agree");
}

#[test]
fn rand_bytes_uuid_shuffle_and_rand_int() {
    let b64 = ok(rust_render("{{ randBytes 12 }}"));
    assert_eq!(b64.len(), 16);
    // 12 random bytes, read back lossily as text: at least 12 bytes of it.
    let len: usize = ok(rust_render(&format!("{{{{ b64dec {b64:?} | len }}}}")))
        .parse()
        .unwrap_or(0);
    assert!(len >= 12, "{len}");
    let re =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .unwrap();
    for _ in 0..20 {
        let u = ok(rust_render("{{ uuidv4 }}"));
        assert!(re.is_match(&u), "{u}");
    }
    let s = ok(rust_render(r#"{{ shuffle "héllo wörld" }}"#));
    let mut got: Vec<char> = s.chars().collect();
    let mut want: Vec<char> = "héllo wörld".chars().collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for _ in 0..50 {
        let n: i64 = ok(rust_render("{{ randInt 3 7 }}")).parse().unwrap_or(-1);
        assert!((3..7).contains(&n), "{n}");
    }
    assert!(
        rust_render("{{ randInt 5 5 }}").is_err_and(|e| e.contains("invalid argument to Intn"))
    );
}

#[test]
fn bcrypt_and_htpasswd_verify_and_go_reads_them() {
    let h = ok(rust_render(r#"{{ bcrypt "s3cret" }}"#));
    assert!(h.starts_with("$2a$10$") && h.len() == 60, "{h}");
    assert!(bcrypt::verify("s3cret", &h).unwrap_or(false));
    let line = ok(rust_render(r#"{{ htpasswd "admin" "pw" }}"#));
    let (user, hash) = line.split_once(':').unwrap_or_default();
    assert_eq!(user, "admin");
    assert!(bcrypt::verify("pw", hash).unwrap_or(false));
    let Some(mut o) = Oracle::get("bcrypt") else {
        return;
    };
    // Go's hash verifies here, and has the same form.
    let go_hash = ok(go_render(&mut o, r#"{{ bcrypt "s3cret" }}"#));
    assert!(
        go_hash.starts_with("$2a$10$") && go_hash.len() == 60,
        "{go_hash}"
    );
    assert!(bcrypt::verify("s3cret", &go_hash).unwrap_or(false));
    // Ours is Go's, byte for byte: with the salt Go drew, the same cost-10 hash (so Go's
    // CompareHashAndPassword, which recomputes it, accepts ours).
    for password in ["s3cret", "", "pässwörd with spaces", &"x".repeat(72)] {
        let go_hash = ok(go_render(
            &mut o,
            &format!("{{{{ htpasswd \"u\" {password:?} }}}}"),
        ));
        let go_hash = go_hash.strip_prefix("u:").unwrap_or_default();
        assert!(gobcrypt::verify(password.as_bytes(), go_hash), "{go_hash}");
        assert!(!gobcrypt::verify(b"other", go_hash));
    }
    let too_long = format!("{{{{ bcrypt {:?} }}}}", "x".repeat(73));
    assert_eq!(ok(rust_render(&too_long)), ok(go_render(&mut o, &too_long)));
}

#[test]
fn aes_round_trips_both_ways_with_go() {
    let Some(mut o) = Oracle::get("aes") else {
        return;
    };
    for text in ["x", "exactly16bytes!!", "a longer secret with ünïcode"] {
        let ours = ok(rust_render(&format!(
            "{{{{ encryptAES \"pw\" {text:?} }}}}"
        )));
        let theirs = ok(go_render(
            &mut o,
            &format!("{{{{ encryptAES \"pw\" {text:?} }}}}"),
        ));
        assert_eq!(ours.len(), theirs.len(), "same IV + padded length");
        let by_go = ok(go_render(
            &mut o,
            &format!("{{{{ decryptAES \"pw\" {ours:?} }}}}"),
        ));
        let by_us = ok(rust_render(&format!(
            "{{{{ decryptAES \"pw\" {theirs:?} }}}}"
        )));
        assert_eq!(by_go, text);
        assert_eq!(by_us, text);
    }
}

#[test]
fn now_and_relative_times() {
    let year = ok(rust_render(r#"{{ now | date "2006" }}"#));
    let this_year = jiff::Zoned::now().year().to_string();
    assert_eq!(year, this_year);
    let epoch: i64 = ok(rust_render("{{ now | unixEpoch }}"))
        .parse()
        .unwrap_or(0);
    let real = jiff::Timestamp::now().as_second();
    assert!((epoch - real).abs() <= 2, "{epoch} vs {real}");
    assert_eq!(ok(rust_render("{{ ago now }}")), "0s");
    assert_eq!(
        ok(rust_render(r#"{{ now | dateModify "-1h" | ago }}"#)),
        "1h0m0s"
    );
    assert_eq!(
        ok(rust_render(
            r#"{{ now | dateModify "-49h" | durationRound }}"#
        )),
        "2d"
    );
    let shown = ok(rust_render("{{ now }}"));
    let re =
        regex::Regex::new(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \S+ m=\+\d+\.\d{9}$")
            .unwrap();
    assert!(re.is_match(&shown), "{shown}");
    // Go formats the same instant the same way.
    let Some(mut o) = Oracle::get("now") else {
        return;
    };
    let t = r#"{{ now | htmlDate }} {{ now | date "Jan 2006 MST -0700" }} {{ typeOf now }}"#;
    assert_eq!(ok(go_render(&mut o, t)), ok(rust_render(t)));
}

/// What a PEM block is: its type and, for keys, the algorithm and size; for certificates,
/// the fields Sprig sets.
fn shape(pem: &str) -> String {
    let (_, block) = parse_x509_pem(pem.as_bytes()).unwrap_or_else(|e| panic!("PEM: {e}: {pem}"));
    match block.label.as_str() {
        "CERTIFICATE" => {
            let (_, cert) =
                parse_x509_certificate(&block.contents).unwrap_or_else(|e| panic!("cert: {e}"));
            cert_shape(&cert)
        }
        "RSA PRIVATE KEY" => {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let k = rsa::RsaPrivateKey::from_pkcs1_der(&block.contents).expect("PKCS#1");
            format!("RSA PRIVATE KEY rsa{}", k.n().bits())
        }
        "EC PRIVATE KEY" => {
            let k = p256::SecretKey::from_sec1_der(&block.contents).expect("SEC1 P-256");
            format!(
                "EC PRIVATE KEY p256 {}",
                k.public_key().to_sec1_bytes().len()
            )
        }
        "PRIVATE KEY" => format!("PRIVATE KEY pkcs8 {} bytes", block.contents.len()),
        "DSA PRIVATE KEY" => {
            // SEQUENCE { version, p, q, g, y, x }: the sizes of p and q in bits.
            let bits = der_integer_bits(&block.contents);
            format!(
                "DSA PRIVATE KEY {} ints p{} q{}",
                bits.len(),
                bits[1],
                bits[2]
            )
        }
        other => format!("{other}?"),
    }
}

fn cert_shape(cert: &X509Certificate<'_>) -> String {
    let mut s = format!(
        "v{} sig {} subject [{}] issuer [{}] days {} serial<=128 {} key {}",
        cert.version().0 + 1,
        cert.signature_algorithm.algorithm,
        cert.subject(),
        cert.issuer(),
        (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp() + 30)
            / 86400,
        cert.tbs_certificate.serial.bits() <= 128,
        cert.public_key().algorithm.algorithm,
    );
    let mut exts: Vec<String> = cert
        .extensions()
        .iter()
        .map(|e| {
            let detail = match e.parsed_extension() {
                ParsedExtension::KeyUsage(k) => format!("{k}"),
                ParsedExtension::ExtendedKeyUsage(k) => {
                    format!("server {} client {}", k.server_auth, k.client_auth)
                }
                ParsedExtension::BasicConstraints(b) => {
                    format!("ca {} pathlen {:?}", b.ca, b.path_len_constraint)
                }
                ParsedExtension::SubjectAlternativeName(san) => {
                    let mut names: Vec<String> =
                        san.general_names.iter().map(|n| format!("{n}")).collect();
                    names.sort();
                    names.join(",")
                }
                ParsedExtension::SubjectKeyIdentifier(_) => "ski".into(),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    format!("aki keyid {}", a.key_identifier.is_some())
                }
                other => format!("{other:?}"),
            };
            format!("{} critical {} {detail}", e.oid, e.critical)
        })
        .collect();
    exts.sort();
    s.push_str(&format!(" exts [{}]", exts.join("; ")));
    s
}

/// The bit lengths of the INTEGERs in a DER SEQUENCE (short and long lengths).
fn der_integer_bits(der: &[u8]) -> Vec<usize> {
    fn tlv(b: &[u8]) -> (u8, &[u8], &[u8]) {
        let (len, hdr) = if b[1] < 0x80 {
            (usize::from(b[1]), 2)
        } else {
            let n = usize::from(b[1] & 0x7f);
            (
                b[2..2 + n].iter().fold(0, |l, &x| l * 256 + usize::from(x)),
                2 + n,
            )
        };
        (b[0], &b[hdr..hdr + len], &b[hdr + len..])
    }
    let (_, mut body, _) = tlv(der);
    let mut out = Vec::new();
    while !body.is_empty() {
        let (_, int, rest) = tlv(body);
        let first = int.iter().position(|&x| x != 0).unwrap_or(int.len());
        let digits = &int[first..];
        out.push(digits.first().map_or(0, |d| {
            (digits.len() - 1) * 8 + (8 - d.leading_zeros() as usize)
        }));
        body = rest;
    }
    out
}

/// The shapes of every PEM block a template prints, blocks separated by `@@`.
fn shapes(output: &str) -> Vec<String> {
    output
        .split("@@")
        .filter(|p| !p.trim().is_empty())
        .map(shape)
        .collect()
}

#[test]
fn keys_and_certificates_have_gos_shape() {
    let Some(mut o) = Oracle::get("pki") else {
        return;
    };
    let templates = [
        r#"{{ genPrivateKey "rsa" }}@@{{ genPrivateKey "ecdsa" }}@@{{ genPrivateKey "ed25519" }}"#,
        r#"{{ $ca := genCA "my-ca" 365 }}{{ $ca.Cert }}@@{{ $ca.Key }}"#,
        r#"{{ $c := genSelfSignedCert "self.example" (list "10.0.0.1" "::1") (list "a.example" "b.example") 30 }}{{ $c.Cert }}@@{{ $c.Key }}"#,
        r#"{{ $ca := genCA "my-ca" 365 }}{{ $c := genSignedCert "leaf" (list "192.168.1.1") (list "leaf.example") 10 $ca }}{{ $c.Cert }}@@{{ $c.Key }}"#,
        r#"{{ $k := genPrivateKey "ecdsa" }}{{ $ca := genCAWithKey "ec-ca" 2 $k }}{{ $c := genSignedCertWithKey "l" nil nil 3 $ca (genPrivateKey "ed25519") }}{{ $ca.Cert }}@@{{ $c.Cert }}@@{{ $c.Key }}"#,
        r#"{{ $c := genSelfSignedCertWithKey "ed" nil (list "x.example") 1 (genPrivateKey "ed25519") }}{{ $c.Cert }}"#,
    ];
    for t in templates {
        let go = shapes(&ok(go_render(&mut o, t)));
        let ours = shapes(&ok(rust_render(t)));
        assert_eq!(ours, go, "{t}");
    }
}

#[test]
fn signed_certificates_chain_to_their_ca() {
    let out = ok(rust_render(
        r#"{{ $ca := genCA "ca" 1 }}{{ $c := genSignedCert "leaf" nil (list "l.example") 1 $ca }}{{ $ca.Cert }}@@{{ $c.Cert }}"#,
    ));
    let parts: Vec<&str> = out.split("@@").collect();
    let der = |p: &str| parse_x509_pem(p.as_bytes()).expect("pem").1.contents;
    let (ca_der, leaf_der) = (der(parts[0]), der(parts[1]));
    let (_, ca) = parse_x509_certificate(&ca_der).expect("ca");
    let (_, leaf) = parse_x509_certificate(&leaf_der).expect("leaf");
    assert_eq!(leaf.issuer(), ca.subject());
    let ski = ca
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        });
    let aki = leaf
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        });
    assert!(
        ski.is_some() && ski == aki,
        "the leaf's AKI is the CA's SKI"
    );
}

#[test]
fn keys_cross_between_go_and_rust() {
    let Some(mut o) = Oracle::get("keys") else {
        return;
    };
    for kind in ["rsa", "ecdsa", "ed25519"] {
        let theirs = ok(go_render(
            &mut o,
            &format!("{{{{ genPrivateKey {kind:?} }}}}"),
        ));
        let ours = ok(rust_render(&format!("{{{{ genPrivateKey {kind:?} }}}}")));
        let use_key = |k: &str| format!("{{{{ (genCAWithKey \"x\" 1 {k:?}).Key }}}}");
        // Each side signs with the other's key and writes it back unchanged.
        assert_eq!(
            ok(rust_render(&use_key(&theirs))),
            theirs,
            "{kind}: Go's key here"
        );
        assert_eq!(
            ok(go_render(&mut o, &use_key(&ours))),
            ours,
            "{kind}: our key in Go"
        );
        let build = |k: &str, c: &str| {
            format!("{{{{ (buildCustomCert (b64enc {c:?}) (b64enc {k:?})).Key }}}}")
        };
        let cert = ok(rust_render(&format!(
            "{{{{ (genCAWithKey \"x\" 1 {ours:?}).Cert }}}}"
        )));
        assert_eq!(
            ok(go_render(&mut o, &build(&ours, &cert))),
            ours,
            "{kind}: Go builds ours"
        );
    }
}

#[test]
fn dsa_keys_are_gos_format_and_refused_for_signing_as_in_go() {
    let Some(mut o) = Oracle::get("dsa") else {
        return;
    };
    let ours = ok(rust_render(r#"{{ genPrivateKey "dsa" }}"#));
    let theirs = ok(go_render(&mut o, r#"{{ genPrivateKey "dsa" }}"#));
    assert_eq!(shape(&ours), shape(&theirs));
    let t = |k: &str| format!("{{{{ genCAWithKey \"x\" 1 {k:?} }}}}");
    let go_err = go_render(&mut o, &t(&ours)).expect_err("Go cannot sign with DSA");
    let our_err = rust_render(&t(&theirs)).expect_err("nor can this");
    let tail = |e: &str| {
        e.split("error calling genCAWithKey: ")
            .nth(1)
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(tail(&our_err), tail(&go_err));
}

#[test]
fn time_values_print_and_encode_as_go() {
    let Some(mut o) = Oracle::get("time json") else {
        return;
    };
    for t in [
        r#"{{ toDate "2006-01-02 15:04:05.000" "2024-03-04 05:06:07.890" | toJson }}"#,
        r#"{{ toDate "2006-01-02" "2024-03-04" }}"#,
        r#"{{ (toDate "2006-01-02" "2024-03-04").UTC }}"#,
        r#"{{ toDate "2006-01-02T15:04:05Z07:00" "2024-03-04T05:06:07+05:30" }}"#,
        r#"{{ semver "1.2.3" | toJson }} {{ genCA "x" 1 | typeOf }}"#,
    ] {
        assert_eq!(ok(rust_render(t)), ok(go_render(&mut o, t)), "{t}");
    }
}

#[test]
fn env_functions_only_when_asked_for() {
    let helm = Case::one(r#"{{ env "PATH" }}"#, common::data());
    assert!(matches!(
        oracle::rust(&helm, &funcs()),
        Outcome::ParseError(e) if e.contains(r#"function "env" not defined"#)
    ));
    let mut all = FuncMap::new();
    sprig::register(&mut all, sprig::Env::Visible);
    let path = std::env::var("PATH").unwrap_or_default();
    // `$$` is the shell's special variable `$`, unset here, as os.Expand reads it.
    let case = Case::one(
        r#"{{ env "PATH" }}|{{ expandenv "$PATH-${PATH}-$$" }}"#,
        common::data(),
    );
    assert_eq!(
        oracle::rust(&case, &all),
        Outcome::Results(vec![Ok(format!("{path}|{path}-{path}-"))])
    );
}
