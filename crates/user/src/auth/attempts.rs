//! One guess at a time per account name, in this process.
//!
//! The lockout is a check (is the name locked?), then a slow password or code check, then a
//! count of the failure. Sent in parallel, a hundred guesses would all pass the first step
//! before any failure was counted, and an unlocked window would buy a hundred guesses at a
//! six-digit code instead of one. So the three steps run one attempt at a time per name:
//! each sees the failures of those before it, and once the name is locked the rest are
//! refused at the check, without hashing. Across replicas at most one attempt per replica
//! runs at once.
//!
//! Names share a fixed set of locks (striped by a per-process random hash, so nobody can
//! aim two names at one lock on purpose); two names on one lock wait for each other's
//! check — one hash at most, as the hashing pool queues anyway.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use futures::lock::{Mutex, MutexGuard};
use usvc_core::TenantId;

/// How many locks the names share.
const STRIPES: usize = 256;

/// The locks, one per stripe of account names.
pub struct Attempts {
    stripes: Vec<Mutex<()>>,
    hash: RandomState,
}

/// An attempt's turn: the next attempt on its name waits until this is dropped.
pub type Turn<'a> = MutexGuard<'a, ()>;

impl Default for Attempts {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hash: RandomState::new(),
        }
    }
}

impl Attempts {
    /// Waits for the turn of the account name `name` (normalised) in `tenant`.
    pub async fn turn(&self, tenant: TenantId, name: &str) -> Turn<'_> {
        let stripe = self.hash.hash_one((tenant, name));
        // The remainder is below STRIPES, so it fits.
        let index = usize::try_from(stripe % STRIPES as u64).unwrap_or(0);
        self.stripes[index].lock().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use futures::FutureExt;

    use super::*;

    #[tokio::test]
    async fn attempts_on_one_name_run_one_at_a_time() {
        let attempts = Arc::new(Attempts::default());
        let tenant = TenantId::new();
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tries = (0..20).map(|_| {
            let (attempts, inside, most) = (attempts.clone(), inside.clone(), most.clone());
            async move {
                let _turn = attempts.turn(tenant, "ada@example.com").await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Give the others every chance to enter meanwhile.
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                inside.fetch_sub(1, Ordering::SeqCst);
            }
        });
        futures::future::join_all(tries).await;
        assert_eq!(most.load(Ordering::SeqCst), 1);
        // Another name is not held up by a turn taken.
        let _held = attempts.turn(tenant, "ada@example.com").await;
        let other = (0..STRIPES)
            .map(|i| format!("user{i}@example.com"))
            .find(|name| attempts.turn(tenant, name).now_or_never().is_some());
        assert!(other.is_some(), "every name waits on one lock");
    }
}
