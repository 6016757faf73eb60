//! Hashes, passwords, random values, AES, keys and certificates, as Sprig computes them with
//! Go's crypto and golang.org/x/crypto.
//!
//! Random and key-generating functions are checked by their properties (lengths, alphabets,
//! PEM types, certificate fields), since no two runs agree, in Go or here. Sprig's habit of
//! returning an error message *as the result* (`bcrypt`, `derivePassword`, `genPrivateKey`)
//! is kept: those functions never fail the template.

mod pki;
mod rsakey;

use gotemplate::Param;
use rand::Rng;
use sha2::Digest;

use crate::{R, Registry, err, int_arg, sig, str_arg, string};

pub use pki::Certificate;

pub(crate) fn register(r: &mut Registry) {
    use Param::*;
    r.add("sha1sum", sig(&[String]), |a| {
        Ok(string(hex(&sha1::Sha1::digest(str_arg(a, 0)?.as_bytes()))))
    });
    r.add("sha256sum", sig(&[String]), |a| {
        Ok(string(hex(&sha2::Sha256::digest(
            str_arg(a, 0)?.as_bytes(),
        ))))
    });
    r.add("sha512sum", sig(&[String]), |a| {
        Ok(string(hex(&sha2::Sha512::digest(
            str_arg(a, 0)?.as_bytes(),
        ))))
    });
    r.add("adler32sum", sig(&[String]), |a| {
        Ok(string(adler32(str_arg(a, 0)?.as_bytes()).to_string()))
    });
    r.add("bcrypt", sig(&[String]), |a| {
        Ok(string(bcrypt(str_arg(a, 0)?)))
    });
    r.add("htpasswd", sig(&[String, String]), |a| {
        let (user, password) = (str_arg(a, 0)?, str_arg(a, 1)?);
        if user.contains(':') {
            return Ok(string(format!("invalid username: {user}")));
        }
        Ok(string(format!("{user}:{}", bcrypt(password))))
    });
    r.add("randBytes", sig(&[Int]), |a| {
        let n = int_arg(a, 0)?;
        let n =
            usize::try_from(n).map_err(|_| err("runtime error: makeslice: len out of range"))?;
        check_random_len(n)?;
        let mut buf = vec![0u8; n];
        rand::rng().fill(buf.as_mut_slice());
        Ok(string(crate::encoding::base64_encode(&buf)))
    });
    r.add("uuidv4", sig(&[]), |_| Ok(string(uuidv4())));
    r.add("randAlphaNum", sig(&[Int]), |a| {
        random_string(int_arg(a, 0)?, |c| c.is_ascii_alphanumeric())
    });
    r.add("randAlpha", sig(&[Int]), |a| {
        random_string(int_arg(a, 0)?, |c| c.is_ascii_alphabetic())
    });
    r.add("randNumeric", sig(&[Int]), |a| {
        random_string(int_arg(a, 0)?, |c| c.is_ascii_digit())
    });
    r.add("randAscii", sig(&[Int]), |a| {
        // goutils draws from 32..=126 with no filter.
        random_string(int_arg(a, 0)?, |c| (' '..='~').contains(&c))
    });
    r.add(
        "derivePassword",
        sig(&[Int, String, String, String, String]),
        |a| {
            Ok(string(derive_password(
                int_arg(a, 0)? as u32,
                str_arg(a, 1)?,
                str_arg(a, 2)?,
                str_arg(a, 3)?,
                str_arg(a, 4)?,
            )))
        },
    );
    r.add("encryptAES", sig(&[String, String]), |a| {
        encrypt_aes(str_arg(a, 0)?, str_arg(a, 1)?)
    });
    r.add("decryptAES", sig(&[String, String]), |a| {
        decrypt_aes(str_arg(a, 0)?, str_arg(a, 1)?)
    });
    pki::register(r);
}

fn hex(bytes: &[u8]) -> std::string::String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `hash/adler32`.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    b << 16 | a
}

/// Sprig's `bcrypt`: x/crypto's `GenerateFromPassword` at the default cost (10), `$2a$`,
/// with 16 random bytes of salt.
fn bcrypt(password: &str) -> std::string::String {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    gobcrypt::hash(password.as_bytes(), 10, &salt)
        .unwrap_or_else(|e| format!("failed to encrypt string with bcrypt: {e}"))
}

/// More than any template needs; Go would try to allocate it.
const MAX_RANDOM: usize = 1 << 26;

fn check_random_len(n: usize) -> Result<(), gotemplate::FuncError> {
    if n > MAX_RANDOM {
        return Err(err(format!(
            "{n} random characters are beyond what a template can use"
        )));
    }
    Ok(())
}

/// goutils' `CryptoRandom` over ASCII, keeping the characters `keep` accepts; a negative
/// count is goutils' error, which Sprig turns into "".
fn random_string(count: i64, keep: fn(char) -> bool) -> R {
    if count <= 0 {
        return Ok(string(""));
    }
    let n = count as usize;
    check_random_len(n)?;
    let alphabet: Vec<char> = (' '..='~').filter(|&c| keep(c)).collect();
    let mut rng = rand::rng();
    Ok(string(
        (0..n)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect::<std::string::String>(),
    ))
}

fn uuidv4() -> std::string::String {
    let mut b = [0u8; 16];
    rand::rng().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

const MASTER_PASSWORD_SEED: &str = "com.lyndir.masterpassword";

fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_characters(c: u8) -> &'static str {
    match c {
        b'V' => "AEIOU",
        b'C' => "BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => "aeiou",
        b'c' => "bcdfghjklmnpqrstvwxyz",
        b'A' => "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => "0123456789",
        b'o' => "@&%?,=[]_:-+*$#!'^~;()/.",
        _ => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// Sprig's `derivePassword`: the Master Password algorithm (scrypt N=32768, r=8, p=2, then
/// HMAC-SHA256 over the site), deterministic, so compared with the oracle byte for byte.
fn derive_password(
    counter: u32,
    kind: &str,
    password: &str,
    user: &str,
    site: &str,
) -> std::string::String {
    use hmac::Mac;
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = Vec::new();
    salt.extend_from_slice(MASTER_PASSWORD_SEED.as_bytes());
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let params = match scrypt::Params::new(15, 8, 2, 64) {
        Ok(p) => p,
        Err(e) => return format!("failed to derive password: {e}"),
    };
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key) {
        return format!("failed to derive password: {e}");
    }
    let mut msg = Vec::new();
    msg.extend_from_slice(MASTER_PASSWORD_SEED.as_bytes());
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return "failed to derive password: bad key".into();
    };
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_characters(c).as_bytes();
            char::from(chars[usize::from(seed[i + 1]) % chars.len()])
        })
        .collect()
}

/// Sprig's `encryptAES`: AES-256-CBC, the password zero-padded (or cut) to 32 bytes, PKCS#7
/// padding, a random IV before the ciphertext, base64.
fn encrypt_aes(password: &str, plaintext: &str) -> R {
    use aes::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
    if plaintext.is_empty() {
        return Ok(string(""));
    }
    let key = aes_key(password);
    let mut iv = [0u8; 16];
    rand::rng().fill(&mut iv);
    let enc = cbc::Encryptor::<aes::Aes256>::new(&key.into(), &iv.into());
    let ct = enc.encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes());
    let mut out = iv.to_vec();
    out.extend(ct);
    Ok(string(crate::encoding::base64_encode(&out)))
}

fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    key
}

/// Sprig's `decryptAES`, with Go's failures: base64 errors, and the panics of a ciphertext
/// shorter than a block or not a whole number of blocks.
fn decrypt_aes(password: &str, crypt64: &str) -> R {
    use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
    if crypt64.is_empty() {
        return Ok(string(""));
    }
    let key = aes_key(password);
    let crypt = crate::encoding::base64_decode(crypt64.as_bytes())
        .map_err(|at| err(format!("illegal base64 data at input byte {at}")))?;
    if crypt.len() < 16 {
        return Err(err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        )));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err(err("crypto/cipher: input not full blocks"));
    }
    let Ok(dec) = cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, iv) else {
        return Err(err("crypto/aes: invalid key size"));
    };
    let plain = dec
        .decrypt_padded_vec_mut::<NoPadding>(body)
        .map_err(|_| err("crypto/cipher: input not full blocks"))?;
    // Sprig trusts the last byte as the padding length, as Go slices it.
    let pad = usize::from(*plain.last().unwrap_or(&0));
    if pad > plain.len() {
        return Err(err(format!(
            "runtime error: slice bounds out of range [:{}]",
            plain.len() as i64 - pad as i64
        )));
    }
    let text = &plain[..plain.len() - pad];
    Ok(string(
        std::string::String::from_utf8_lossy(text).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gotemplate::Value;

    #[test]
    fn adler32_known_values() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
    }

    #[test]
    fn aes_round_trip() {
        let Value::String(c) = encrypt_aes("secret", "hello world").unwrap() else {
            panic!()
        };
        let Value::String(p) = decrypt_aes("secret", &c).unwrap() else {
            panic!()
        };
        assert_eq!(&*p, "hello world");
    }
}
