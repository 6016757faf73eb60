//! gobcrypt against published hashes (Go's x/crypto/bcrypt tests, OpenBSD's and jBCrypt's
//! vectors) and against the bcrypt crate, an independent implementation, for random
//! passwords, salts and costs.

/// `verify` recomputes the hash from the password, the cost and the salt in `want`: true only
/// when every byte agrees.
fn assert_rehashes(password: &[u8], want: &str) {
    assert!(
        gobcrypt::verify(password, want),
        "{want} is not the hash of {:?}",
        String::from_utf8_lossy(password)
    );
    let mut wrong = password.to_vec();
    wrong.push(b'!');
    assert!(!gobcrypt::verify(&wrong, want));
}

#[test]
fn gos_own_test_hashes() {
    assert_rehashes(
        b"allmine",
        "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga",
    );
    // Longer than Blowfish's 56-byte key.
    assert_rehashes(
        b"012345678901234567890123456789012345678901234567890123456",
        "$2a$10$XajjQvNhvvRt5GSeFk1xFe5l47dONXg781AmZtd869sO8zfsHuw7C",
    );
    assert_rehashes(
        b"passw0rd",
        "$2a$10$LK9XRuhNxHHCvjX3tdkRKei1QiCDUKrJRhZv7WWZPuQGRUM92rOUa",
    );
}

#[test]
fn openbsd_and_jbcrypt_vectors() {
    for (password, hash) in [
        (
            "",
            "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.",
        ),
        (
            "a",
            "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe",
        ),
        (
            "abc",
            "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i",
        ),
        (
            "abcdefghijklmnopqrstuvwxyz",
            "$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC",
        ),
        (
            "~!@#$%^&*()      ~!@#$%^&*()PNBFRD",
            "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO",
        ),
    ] {
        assert_rehashes(password.as_bytes(), hash);
    }
}

/// xorshift64: reproducible inputs without a random-number crate.
struct Inputs(u64);

impl Inputs {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn agrees_with_the_bcrypt_crate_on_random_inputs() {
    let mut rng = Inputs(0x9e37_79b9_7f4a_7c15);
    for case in 0..300 {
        // Every length from empty to the 72-byte limit, any byte (NUL and non-UTF-8 included).
        let len = case % 73;
        let password: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let salt: [u8; 16] = std::array::from_fn(|_| rng.next() as u8);
        let cost = 4 + (rng.next() % 3) as u32;
        let want = bcrypt::hash_with_salt(&password, cost, salt)
            .expect("the bcrypt crate hashes it")
            .format_for_version(bcrypt::Version::TwoA);
        assert_eq!(
            gobcrypt::hash(&password, cost, &salt).as_deref(),
            Ok(want.as_str()),
            "case {case}: password {password:?}, cost {cost}, salt {salt:?}"
        );
        assert!(gobcrypt::verify(&password, &want));
    }
}

#[test]
fn cost_ten_verifies_with_the_bcrypt_crate() {
    let salt = *b"sixteen  bytes!!";
    let hash = gobcrypt::hash(b"s3cret", 10, &salt).expect("a hash");
    assert!(hash.starts_with("$2a$10$") && hash.len() == 60, "{hash}");
    assert!(matches!(bcrypt::verify("s3cret", &hash), Ok(true)));
    assert!(matches!(bcrypt::verify("s3cret!", &hash), Ok(false)));
    assert!(gobcrypt::verify(b"s3cret", &hash));
}
