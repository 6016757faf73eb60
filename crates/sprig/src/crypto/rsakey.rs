//! RSA key generation with a wider sieve than the `rsa` crate's, on two threads.
//!
//! `rsa::RsaPrivateKey::new` draws prime candidates that are only sieved by the odd primes up
//! to 53, so about 28% of the odd numbers it tries cost a full Miller-Rabin exponentiation
//! before they are rejected. Sieving by the odd primes below 2^14 as well leaves about 12%,
//! which halves the time of `genCA` and `genPrivateKey`. The primes accepted are tested
//! exactly as the `rsa` crate tests them (`probably_prime` with 20 rounds: Miller-Rabin and a
//! Lucas test), the top two bits are set so that the modulus has exactly the bits asked for,
//! and the key is assembled by the `rsa` crate (public exponent 65537, as Go's).
//!
//! A key needs two primes and the search for each is independent, so a second thread searches
//! beside the caller and the first two primes found make the key: with two cores that halves
//! the wall time of a key, and since both threads draw from one pool, a long search on one
//! thread is cut short by the other finding both primes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

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
#[cfg(test)]
fn random_prime(bits: usize) -> BigUint {
    let never = AtomicBool::new(false);
    random_prime_until(bits, &never).expect("the search is never stopped")
}

/// A random prime as [`random_prime`] draws it, or `None` once `stop` is set (checked before
/// each candidate's primality test, so a search stops within one test of being told).
fn random_prime_until(bits: usize, stop: &AtomicBool) -> Option<BigUint> {
    let primes = sieve_primes();
    let len = bits.div_ceil(8);
    let top = bits - 8 * (len - 1); // bits used in the first byte, 1..=8
    let mut bytes = vec![0u8; len];
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
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
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                if probably_prime(&candidate, ROUNDS) {
                    return Some(candidate);
                }
            }
            delta += 2;
        }
    }
}

/// The primes of one key as they are found: slot `i` wants a prime of `sizes[i]` bits.
struct Pool {
    sizes: [usize; 2],
    found: Mutex<[Option<BigUint>; 2]>,
    /// Set once both slots are filled: the searchers give up their current search.
    done: AtomicBool,
}

impl Pool {
    /// The size of a slot still empty, preferring slot `prefer`; `None` once both are filled.
    fn wanted(&self, prefer: usize) -> Option<usize> {
        let found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        [prefer, 1 - prefer]
            .into_iter()
            .find(|&i| found[i].is_none())
            .map(|i| self.sizes[i])
    }

    /// Files a prime in an empty slot of its size; true once both slots are filled.
    fn put(&self, prime: BigUint) -> bool {
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        let bits = prime.bits();
        if let Some(i) = (0..2).find(|&i| found[i].is_none() && self.sizes[i] == bits) {
            found[i] = Some(prime);
        }
        let full = found.iter().all(Option::is_some);
        if full {
            self.done.store(true, Ordering::Relaxed);
        }
        full
    }

    /// Searches for the primes still wanted until both slots are filled.
    fn search(&self, prefer: usize) {
        while let Some(bits) = self.wanted(prefer) {
            let Some(prime) = random_prime_until(bits, &self.done) else {
                return;
            };
            if self.put(prime) {
                return;
            }
        }
    }
}

/// Two primes of `p_bits` and `q_bits`, searched on the calling thread and, when the machine
/// has a second core, on a helper thread. The helper is not waited for: once both primes are
/// found it stops within one primality test, and the key does not wait for that test.
fn two_primes(p_bits: usize, q_bits: usize) -> (BigUint, BigUint) {
    let pool = Arc::new(Pool {
        sizes: [p_bits, q_bits],
        found: Mutex::new([None, None]),
        done: AtomicBool::new(false),
    });
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores > 1 {
        let helper = Arc::clone(&pool);
        // Without a thread (resource limits) the caller searches alone.
        let _ = std::thread::Builder::new()
            .name("rsa-primes".into())
            .spawn(move || helper.search(1));
    }
    pool.search(0);
    let mut found = pool.found.lock().unwrap_or_else(|e| e.into_inner());
    match (found[0].take(), found[1].take()) {
        (Some(p), Some(q)) => (p, q),
        // `search` on this thread returns only once both slots are filled.
        _ => unreachable!("the prime search returned before finding both primes"),
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
        let (p, q) = two_primes(bits - bits / 2, bits / 2);
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
        // 1025: primes of two sizes, so each searcher must fill the slot its prime fits.
        for bits in [512, 1024, 1025, 2048] {
            let key = generate(bits).unwrap();
            assert_eq!(key.n().bits(), bits);
            key.validate().unwrap();
            assert_eq!(key.e(), &BigUint::from(65537u32));
        }
    }

    #[test]
    fn the_pool_files_each_prime_in_a_slot_of_its_size() {
        for (p_bits, q_bits) in [(300, 300), (301, 300), (200, 420)] {
            let (p, q) = two_primes(p_bits, q_bits);
            assert_eq!((p.bits(), q.bits()), (p_bits, q_bits));
            assert!(probably_prime(&p, ROUNDS) && probably_prime(&q, ROUNDS));
        }
        let pool = Pool {
            sizes: [100, 120],
            found: Mutex::new([None, None]),
            done: AtomicBool::new(false),
        };
        assert_eq!(pool.wanted(1), Some(120));
        assert!(!pool.put(random_prime(120)));
        assert_eq!(pool.wanted(1), Some(100));
        // A prime of a size no empty slot wants is dropped.
        assert!(!pool.put(random_prime(120)));
        assert!(!pool.done.load(Ordering::Relaxed));
        assert!(pool.put(random_prime(100)));
        assert!(pool.done.load(Ordering::Relaxed));
        assert_eq!(pool.wanted(0), None);
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
