//! `SpentOnce`: a single-use proof is accepted once per kind, and forgotten once expired.

use chrono::{SubsecRound as _, Utc};
use usvc_core::ports::{SingleUse, SpentOnce};

pub(crate) async fn proofs_are_spent_once_per_kind<S>(store: &S)
where
    S: SpentOnce,
{
    let proofs: &dyn SpentOnce = store;
    let now = Utc::now().trunc_subsecs(6);
    let later = now + chrono::Duration::minutes(5);
    let spend = |kind, key: &str, until, at| proofs.spend(kind, key.to_owned(), until, at);
    assert!(spend(SingleUse::ClientAssertion, "a1", later, now)
        .await
        .unwrap());
    assert!(
        !spend(SingleUse::ClientAssertion, "a1", later, now)
            .await
            .unwrap(),
        "a replay is refused"
    );
    assert!(spend(SingleUse::ClientAssertion, "a2", later, now)
        .await
        .unwrap());
    // The same key of another kind is another proof.
    assert!(spend(SingleUse::PasskeyChallenge, "a1", later, now)
        .await
        .unwrap());
    assert!(
        !spend(SingleUse::PasskeyChallenge, "a1", later, now)
            .await
            .unwrap(),
        "a replayed challenge is refused"
    );
    // Once a proof has expired it cannot be presented anyway: it is forgotten.
    let soon = now + chrono::Duration::seconds(1);
    assert!(spend(SingleUse::PasskeyChallenge, "c2", soon, now)
        .await
        .unwrap());
    let after = now + chrono::Duration::seconds(2);
    assert!(spend(SingleUse::PasskeyChallenge, "c2", later, after)
        .await
        .unwrap());
    // One not yet expired is still remembered at that later time.
    assert!(!spend(SingleUse::ClientAssertion, "a2", later, after)
        .await
        .unwrap());
}
