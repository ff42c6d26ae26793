//! argon2id password hashing on a bounded blocking pool.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use tokio::runtime::Handle;
use usvc_core::ports::{HashLane, PasswordCheck, PasswordHasher};

use crate::fair_slots::FairSlots;
use usvc_core::{CoreError, Password};

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's minimum for argon2id (2023 cheat sheet): 19 MiB, 2 iterations, 1 lane.
    pub const OWASP: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    fn argon2(self) -> Result<Argon2<'static>, CoreError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| CoreError::Internal(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Whether a stored hash is at least this strong.
    fn satisfied_by(self, hash: &PasswordHash<'_>) -> bool {
        let param = |name: &str| hash.params.get_decimal(name).unwrap_or(0);
        hash.algorithm.as_str() == "argon2id"
            && hash.version == Some(Version::V0x13 as u32)
            && param("m") >= self.memory_kib
            && param("t") >= self.iterations
            && param("p") >= self.parallelism
    }
}

/// Requests one lane (tenant) may keep waiting for the hashing pool; past that they are
/// refused at once (429, `Retry-After: 1`).
pub const MAX_WAITING_PER_LANE: usize = 128;

/// `PasswordHasher` on argon2id. Every hash and verification runs on the runtime's blocking
/// pool, admitted by one slot per core shared fairly by tenants (`fair_slots`), so a login
/// flood queues here instead of occupying every thread (the cached hot paths keep their CPU),
/// one tenant's flood does not hold another's logins behind it, and no actix worker ever
/// computes a hash.
pub struct Argon2Hasher {
    params: HashParams,
    slots: Arc<FairSlots<HashLane>>,
    runtime: Handle,
    dummy_hash: String,
}

impl Argon2Hasher {
    /// A hasher with `params`, running at most `concurrency` hashes at once on `runtime`.
    /// Computes the dummy hash for unknown accounts once, here.
    pub fn new(params: HashParams, concurrency: usize, runtime: Handle) -> Result<Self, CoreError> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)
            .map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
        let dummy_hash = hash_with(params, &random)?;
        Ok(Self {
            params,
            slots: Arc::new(FairSlots::new(concurrency.max(1), MAX_WAITING_PER_LANE)),
            runtime,
            dummy_hash,
        })
    }

    /// The parameters new hashes use.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Runs `work` on the blocking pool in `lane`'s turn for a slot. The slot moves into the
    /// blocking task, so a caller that gives up cannot let more hashes run than slots.
    async fn bounded<T: Send + 'static>(
        &self,
        lane: HashLane,
        work: impl FnOnce() -> Result<T, CoreError> + Send + 'static,
    ) -> Result<T, CoreError> {
        let slot = self
            .slots
            .acquire(lane)
            .await
            .map_err(|_| CoreError::RateLimited {
                retry_after_secs: 1,
            })?;
        self.runtime
            .spawn_blocking(move || {
                let _slot = slot;
                work()
            })
            .await
            .map_err(|e| CoreError::Internal(format!("hashing task failed: {e}")))?
    }
}

fn hash_with(params: HashParams, password: &[u8]) -> Result<String, CoreError> {
    let salt = SaltString::generate(&mut OsRng);
    params
        .argon2()?
        .hash_password(password, &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| CoreError::Internal(format!("argon2 hashing failed: {e}")))
}

/// Costs an imported bcrypt hash may have (13: about half a second a check). Anything dearer
/// would let whoever imports hashes hold the hashing pool (one slot per core, shared by every
/// tenant) for seconds per login. docs/security.md lists these ceilings.
pub const BCRYPT_COSTS: std::ops::RangeInclusive<u32> = 4..=13;
/// Limits on the parameters of a stored argon2 hash, for the same reason (and so no hash can
/// ask for gigabytes of memory): 128 MiB, 8 passes, 8 lanes — and memory × passes at most
/// [`ARGON2_MAX_WORK_KIB`] (Django's default, 100 MiB × 2, fits; Keycloak's, 7 MiB × 5, too).
pub const ARGON2_MAX: HashParams = HashParams {
    memory_kib: 128 * 1024,
    iterations: 8,
    parallelism: 8,
};
/// The most memory × passes (KiB) a stored argon2 hash may ask for: 256 MiB-passes.
pub const ARGON2_MAX_WORK_KIB: u64 = 256 * 1024;

/// Whether `stored` is a bcrypt hash (`$2a$`, `$2b$`, `$2y$` with a cost and 53 characters
/// of salt and digest) at an affordable cost, as other systems export them.
fn is_bcrypt(stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    matches!(parts.as_slice(), ["", "2a" | "2b" | "2y", cost, rest]
        if cost.len() == 2
            && cost.parse::<u32>().is_ok_and(|c| BCRYPT_COSTS.contains(&c))
            && rest.len() == 53)
}

/// Whether an argon2 hash's parameters are within [`ARGON2_MAX`].
fn affordable(hash: &PasswordHash<'_>) -> bool {
    let param = |name: &str| hash.params.get_decimal(name).unwrap_or(u32::MAX);
    param("m") <= ARGON2_MAX.memory_kib
        && param("t") <= ARGON2_MAX.iterations
        && param("p") <= ARGON2_MAX.parallelism
        && u64::from(param("m")) * u64::from(param("t")) <= ARGON2_MAX_WORK_KIB
}

fn verify_with(
    policy: HashParams,
    password: &[u8],
    stored: &str,
) -> Result<PasswordCheck, CoreError> {
    if is_bcrypt(stored) {
        // Imported from another system: always re-hashed as argon2id once proven.
        let matches = bcrypt::verify(password, stored)
            .map_err(|_| CoreError::Internal("a stored bcrypt hash is malformed".into()))?;
        return Ok(PasswordCheck {
            matches,
            needs_rehash: matches,
        });
    }
    let hash = PasswordHash::new(stored)
        .map_err(|_| CoreError::Internal("a stored password hash is malformed".into()))?;
    if !hash.algorithm.as_str().starts_with("argon2") {
        return Err(CoreError::Internal(format!(
            "unsupported password hash algorithm {}",
            hash.algorithm
        )));
    }
    if !affordable(&hash) {
        tracing::warn!("a stored argon2 hash has parameters above the limits; it never matches");
        return Ok(PasswordCheck {
            matches: false,
            needs_rehash: false,
        });
    }
    let matches = Argon2::default().verify_password(password, &hash).is_ok();
    Ok(PasswordCheck {
        matches,
        needs_rehash: matches && !policy.satisfied_by(&hash),
    })
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, lane: HashLane, password: &Password) -> Result<String, CoreError> {
        let params = self.params;
        let secret = password.expose().as_bytes().to_vec();
        self.bounded(lane, move || hash_with(params, &secret)).await
    }

    async fn verify(
        &self,
        lane: HashLane,
        password: &Password,
        hash: &str,
    ) -> Result<PasswordCheck, CoreError> {
        let policy = self.params;
        let secret = password.expose().as_bytes().to_vec();
        let stored = hash.to_owned();
        self.bounded(lane, move || verify_with(policy, &secret, &stored))
            .await
    }

    fn accepts_hash(&self, hash: &str) -> bool {
        is_bcrypt(hash)
            || PasswordHash::new(hash).is_ok_and(|h| {
                matches!(h.algorithm.as_str(), "argon2id" | "argon2i" | "argon2d")
                    && h.hash.is_some()
                    && h.salt.is_some()
                    && affordable(&h)
            })
    }

    async fn verify_dummy(&self, lane: HashLane, password: &Password) -> Result<(), CoreError> {
        self.verify(lane, password, &self.dummy_hash.clone())
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LANE: HashLane = HashLane::Unknown;

    /// Cheap parameters for tests that are about behaviour, not cost.
    const WEAK: HashParams = HashParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };

    fn hasher(params: HashParams) -> Argon2Hasher {
        Argon2Hasher::new(params, 2, Handle::current()).expect("hasher")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_are_owasp_argon2id_salted_and_verify() {
        let hasher = hasher(HashParams::OWASP);
        let password = Password::new("correct horse battery staple");
        let first = hasher.hash(LANE, &password).await.expect("hash");
        let second = hasher.hash(LANE, &password).await.expect("hash");
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, second, "every hash has its own salt");
        let ok = hasher
            .verify(LANE, &password, &first)
            .await
            .expect("verify");
        assert_eq!(
            ok,
            PasswordCheck {
                matches: true,
                needs_rehash: false
            }
        );
        let wrong = hasher
            .verify(LANE, &Password::new("Correct horse battery staple"), &first)
            .await;
        assert_eq!(
            wrong.ok(),
            Some(PasswordCheck {
                matches: false,
                needs_rehash: false
            })
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn weaker_hashes_verify_and_are_flagged_for_rehash() {
        let old = hasher(WEAK)
            .hash(LANE, &Password::new("pa55word!"))
            .await
            .expect("hash");
        let policy = hasher(HashParams::OWASP);
        let check = policy
            .verify(LANE, &Password::new("pa55word!"), &old)
            .await
            .expect("verify");
        assert_eq!(
            check,
            PasswordCheck {
                matches: true,
                needs_rehash: true
            }
        );
        let wrong = policy
            .verify(LANE, &Password::new("nope"), &old)
            .await
            .expect("verify");
        assert!(
            !wrong.matches && !wrong.needs_rehash,
            "only a proven password is re-hashed"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn malformed_and_foreign_hashes_are_errors_not_matches() {
        let hasher = hasher(WEAK);
        let p = Password::new("x");
        for stored in [
            "",
            "plaintext",
            "$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01",
        ] {
            assert!(
                matches!(
                    hasher.verify(LANE, &p, stored).await,
                    Err(CoreError::Internal(_))
                ),
                "{stored:?}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn imported_bcrypt_hashes_verify_and_are_always_upgraded() {
        let hasher = hasher(WEAK);
        let imported = bcrypt::hash("tr0ub4dor&3", 4).expect("bcrypt");
        assert!(hasher.accepts_hash(&imported), "{imported}");
        let check = hasher
            .verify(LANE, &Password::new("tr0ub4dor&3"), &imported)
            .await
            .expect("verify");
        assert_eq!(
            check,
            PasswordCheck {
                matches: true,
                needs_rehash: true
            }
        );
        let wrong = hasher
            .verify(LANE, &Password::new("tr0ub4dor&4"), &imported)
            .await
            .expect("verify");
        assert!(!wrong.matches);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_verifiable_hashes_are_accepted_for_import() {
        let hasher = hasher(WEAK);
        let argon = hasher
            .hash(LANE, &Password::new("pa55word!"))
            .await
            .expect("hash");
        assert!(hasher.accepts_hash(&argon));
        for foreign in [
            "",
            "plaintext",
            "$pbkdf2-sha256$29000$N2bsvbfWeu/d2/t/7z3nvA$9s5ZqEWRMKmwNn3KuXzmT4ydFhn3Fv5H3fCSB3Uh2Qw",
            "$2b$12$tooshort",
            "$2b$31$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$argon2id$v=19$m=4194304,t=4294967295,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            // Above the ceilings: 128 MiB × 3 passes, 9 passes, 16 lanes, bcrypt cost 14.
            "$argon2id$v=19$m=131072,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$argon2id$v=19$m=8192,t=9,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$argon2id$v=19$m=8192,t=2,p=16$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$2b$14$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0",
        ] {
            assert!(!hasher.accepts_hash(foreign), "{foreign:?}");
        }
        // What other systems ship by default is within them: Django (100 MiB × 2, 8 lanes),
        // Keycloak (7 MiB × 5), bcrypt cost 12.
        for common in [
            "$argon2id$v=19$m=102400,t=2,p=8$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$argon2id$v=19$m=7168,t=5,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$2b$12$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0",
        ] {
            assert!(hasher.accepts_hash(common), "{common:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_dummy_verification_runs_a_real_hash_and_never_matches() {
        let hasher = hasher(WEAK);
        assert!(hasher
            .verify_dummy(LANE, &Password::new("anything"))
            .await
            .is_ok());
        let check = hasher
            .verify(LANE, &Password::new("anything"), &hasher.dummy_hash.clone())
            .await
            .expect("verify");
        assert!(!check.matches);
    }
}
