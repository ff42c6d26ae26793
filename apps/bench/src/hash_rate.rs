//! The `login` yardstick: how many argon2id verifications per second this machine computes,
//! with the service's own hasher (`usvc-security`, OWASP parameters) and the service's
//! concurrency (all cores but one), in this process, just before `login` is measured. A
//! login can be no faster than its hash: the ratio says what the rest of it costs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use usvc_core::ports::{HashLane, PasswordHasher as _};
use usvc_core::Password;
use usvc_security::{Argon2Hasher, HashParams};

/// As the service sizes its hashing pool: all cores but one.
fn concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    cores.saturating_sub(1).max(1)
}

/// Verifications per second over `window`.
pub async fn measure(window: Duration) -> anyhow::Result<f64> {
    let hasher = Arc::new(Argon2Hasher::new(
        HashParams::OWASP,
        concurrency(),
        tokio::runtime::Handle::current(),
    )?);
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + window;
    // One more caller than slots keeps every slot busy.
    let callers: Vec<_> = (0..=concurrency())
        .map(|_| {
            let (hasher, done) = (hasher.clone(), done.clone());
            tokio::spawn(async move {
                let password = Password::new("bench password 123");
                while Instant::now() < until {
                    hasher.verify_dummy(HashLane::Unknown, &password).await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for caller in callers {
        caller.await??;
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    Ok(rate)
}
