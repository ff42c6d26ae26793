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
//! Each (tenant, name) has a lock of its own, so a flood at one account (or one tenant) holds
//! up no other; and only [`MAX_WAITING`] attempts may wait for one name — past that they are
//! refused at once, as the hashing pool refuses a lane that is full.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use futures::lock::{Mutex, OwnedMutexGuard};
use usvc_core::TenantId;

/// Attempts that may wait for one account name's turn.
pub const MAX_WAITING: usize = 16;
/// Past this many names known, the idle ones are forgotten.
const PRUNE_AT: usize = 4096;

/// An account name: its tenant and normalised email.
type Name = (TenantId, String);

/// The account names' locks.
#[derive(Default)]
pub struct Attempts {
    locks: StdMutex<HashMap<Name, Arc<Mutex<()>>>>,
}

/// An attempt's turn: the next attempt on its name waits until this is dropped.
pub struct Turn {
    _held: OwnedMutexGuard<()>,
}

/// Too many attempts already wait for this name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl Attempts {
    /// Waits for the turn of the account name `name` (normalised) in `tenant`; `Busy` at
    /// once if [`MAX_WAITING`] attempts already wait for it.
    pub async fn turn(&self, tenant: TenantId, name: &str) -> Result<Turn, Busy> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            if locks.len() >= PRUNE_AT {
                // Only the map holds an idle name's lock.
                locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            }
            let lock = locks.entry((tenant, name.to_owned())).or_default().clone();
            // The map's and this one aside, each holder is an attempt running or waiting.
            if Arc::strong_count(&lock) > MAX_WAITING + 2 {
                return Err(Busy);
            }
            lock
        };
        Ok(Turn {
            _held: lock.lock_owned().await,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::FutureExt;

    use super::*;

    #[tokio::test]
    async fn attempts_on_one_name_run_one_at_a_time() {
        let attempts = Arc::new(Attempts::default());
        let tenant = TenantId::new();
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tries = (0..MAX_WAITING).map(|_| {
            let (attempts, inside, most) = (attempts.clone(), inside.clone(), most.clone());
            async move {
                let _turn = attempts.turn(tenant, "ada@example.com").await.unwrap();
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
    }

    #[tokio::test]
    async fn other_names_and_tenants_do_not_wait_and_a_crowd_is_refused() {
        let attempts = Attempts::default();
        let tenant = TenantId::new();
        let _held = attempts.turn(tenant, "ada@example.com").await.unwrap();
        for (t, name) in [
            (tenant, "bob@example.com"),
            (TenantId::new(), "ada@example.com"),
        ] {
            assert!(
                attempts.turn(t, name).now_or_never().is_some(),
                "{name} waits for nobody"
            );
        }
        // MAX_WAITING wait for Ada's turn; one more is refused without waiting.
        let mut waiting: Vec<_> = (0..MAX_WAITING)
            .map(|_| attempts.turn(tenant, "ada@example.com").boxed())
            .collect();
        for w in &mut waiting {
            assert!(w.as_mut().now_or_never().is_none(), "waits");
        }
        assert!(matches!(
            attempts.turn(tenant, "ada@example.com").now_or_never(),
            Some(Err(Busy))
        ));
    }
}
