//! RSA key generation with a wider sieve than the `rsa` crate's.
//!
//! `rsa::RsaPrivateKey::new` draws prime candidates that are only sieved by the odd primes up
//! to 53, so about 28% of the odd numbers it tries cost a full Miller-Rabin exponentiation
//! before they are rejected. Sieving by the odd primes below 2^14 as well leaves about 12%,
//! which halves the time of `genCA` and `genPrivateKey`. The primes accepted are tested
//! exactly as the `rsa` crate tests them (`probably_prime` with 20 rounds: Miller-Rabin and a
//! Lucas test), the top two bits are set so that the modulus has exactly the bits asked for,
//! and the key is assembled by the `rsa` crate (public exponent 65537, as Go's).

use std::sync::OnceLock;

use num_bigint_dig::prime::probably_prime;
use rand_core::{OsRng, RngCore};
use rsa::{BigUint, RsaPrivateKey};

/// Miller-Rabin rounds before the Lucas test: the `rsa` crate's own count.
const ROUNDS: usize = 20;
/// Sieve primes are the odd primes below this.
const SIEVE_LIMIT: u32 = 1 << 14;
/// How far past a random start the sieve looks before drawing a new start.
const MAX_DELTA: u64 = 1 << 20;

fn sieve_primes() -> &'static [u32] {
    static PRIMES: OnceLock<Vec<u32>> = OnceLock::new();
    PRIMES.get_or_init(|| {
        let n = SIEVE_LIMIT as usize;
        let mut composite = vec![false; n];
        let mut out = Vec::new();
        for i in 3..n {
            if i % 2 == 1 && !composite[i] {
                out.push(i as u32);
                for j in (i * i..n).step_by(2 * i) {
                    composite[j] = true;
                }
            }
        }
        out
    })
}

/// A random prime of exactly `bits` bits (at least 16) with its top two bits set.
fn random_prime(bits: usize) -> BigUint {
    let primes = sieve_primes();
    let len = bits.div_ceil(8);
    let top = bits - 8 * (len - 1); // bits used in the first byte, 1..=8
    let mut bytes = vec![0u8; len];
    loop {
        OsRng.fill_bytes(&mut bytes);
        bytes[0] &= ((1u16 << top) - 1) as u8;
        if top >= 2 {
            bytes[0] |= 3 << (top - 2);
        } else {
            bytes[0] |= 1;
            bytes[1] |= 0x80;
        }
        bytes[len - 1] |= 1;
        let start = BigUint::from_bytes_be(&bytes);
        let residues: Vec<u32> = primes
            .iter()
            .map(|&p| {
                let p = u64::from(p);
                let r = bytes
                    .iter()
                    .fold(0u64, |r, &b| ((r << 8) | u64::from(b)) % p);
                r as u32
            })
            .collect();
        let mut delta = 0u64;
        while delta < MAX_DELTA {
            let clear = primes
                .iter()
                .zip(&residues)
                .all(|(&p, &r)| !(u64::from(r) + delta).is_multiple_of(u64::from(p)));
            if clear {
                let candidate = &start + delta;
                if candidate.bits() != bits {
                    break;
                }
                if probably_prime(&candidate, ROUNDS) {
                    return candidate;
                }
            }
            delta += 2;
        }
    }
}

/// A new RSA private key of `bits` bits (two primes of `bits / 2`, exponent 65537).
pub(super) fn generate(bits: usize) -> rsa::Result<RsaPrivateKey> {
    if bits < 64 {
        // Too small to sieve meaningfully; the crate's own generator handles (and refuses) it.
        return RsaPrivateKey::new(&mut OsRng, bits);
    }
    let exp = BigUint::from(65537u32);
    loop {
        let p = random_prime(bits - bits / 2);
        let q = random_prime(bits / 2);
        if p == q {
            continue;
        }
        // e not invertible modulo (p-1)(q-1): draw again, as the crate's generator does.
        match RsaPrivateKey::from_primes(vec![p, q], exp.clone()) {
            Ok(key) => return Ok(key),
            Err(rsa::Error::InvalidPrime | rsa::Error::InvalidModulus) => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PublicKeyParts;

    #[test]
    fn keys_have_the_size_asked_and_validate() {
        for bits in [512, 1024, 2048] {
            let key = generate(bits).unwrap();
            assert_eq!(key.n().bits(), bits);
            key.validate().unwrap();
            assert_eq!(key.e(), &BigUint::from(65537u32));
        }
    }

    #[test]
    fn sieve_primes_are_the_odd_primes_below_the_limit() {
        let p = sieve_primes();
        assert_eq!(&p[..6], &[3, 5, 7, 11, 13, 17]);
        assert_eq!(p.len(), 1899); // π(16384) = 1900, less the prime 2
        assert!(
            p.iter()
                .all(|&x| (2..x).take_while(|d| d * d <= x).all(|d| x % d != 0))
        );
    }

    #[test]
    fn primes_have_their_top_two_bits_set() {
        for bits in [64, 100, 512] {
            let p = random_prime(bits);
            assert_eq!(p.bits(), bits);
            assert_eq!(&p >> (bits - 2), BigUint::from(3u32));
            assert!(probably_prime(&p, ROUNDS));
        }
    }
}
