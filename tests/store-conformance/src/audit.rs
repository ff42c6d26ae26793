//! `AuditLog`: one gapless hash chain per tenant, appended in the change's transaction.

use crate::audit;
use chrono::{Duration, Utc};
use usvc_core::ports::{AuditLog, TenantRepository, UserRepository};
use usvc_core::{
    chain_hash, AuditEntry, AuditFilter, AuditRecord, CoreError, Outcome, PageRequest, ResourceRef,
    TenantId, UserId,
};

use crate::users::{tenant, user};

/// Every row of `tenant`'s chain, checked link by link against `chain_hash`.
async fn checked_chain(log: &dyn AuditLog, tenant: TenantId) -> Vec<AuditRecord> {
    let rows = log.chain(tenant, 0, 10_000).await.expect("chain");
    let mut prev = String::new();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.seq, i64::try_from(i).unwrap() + 1, "gapless");
        assert_eq!(row.prev_hash, prev, "linked");
        assert_eq!(
            row.hash,
            chain_hash(row.id, row.seq, &row.entry, &row.prev_hash),
            "stored fields read back exactly as hashed"
        );
        prev.clone_from(&row.hash);
    }
    let head = log.head(tenant).await.expect("head");
    assert_eq!(
        head.map(|h| (h.seq, h.hash)),
        rows.last().map(|r| (r.seq, r.hash.clone()))
    );
    rows
}

pub(crate) async fn chains_are_per_tenant_gapless_and_roll_back_with_their_change<S>(store: &S)
where
    S: TenantRepository + UserRepository + AuditLog + Clone + 'static,
{
    let log: &dyn AuditLog = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;

    // Every field survives the round trip (and so does the hash).
    let actor = UserId::new();
    let entry = AuditEntry::system(acme.id, "authz.denied", Utc::now())
        .from(
            usvc_core::Actor::User {
                id: actor,
                session: Some(usvc_core::SessionId::new()),
            },
            &usvc_core::Origin {
                ip: Some("2001:db8::1".into()),
                user_agent: Some("curl/8 \"quoted\"\n".into()),
                request_id: Some("req-42".into()),
            },
        )
        .on(ResourceRef::one("user", UserId::new()))
        .outcome(Outcome::Denied)
        .details(serde_json::json!({"action": "users:delete", "n": 1.5, "nested": {"b": [1, 2]}}));
    log.append(entry.clone()).await.expect("append");
    let rows = checked_chain(log, acme.id).await;
    // tenant.created (from the helper) and the entry.
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].entry, entry);

    // Appends from many tasks at once still form one gapless chain.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let tenant = acme.id;
            tokio::spawn(async move {
                let entry = AuditEntry::system(tenant, "user.read", Utc::now())
                    .details(serde_json::json!({ "i": i }));
                AuditLog::append(&store, entry).await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("append");
    }
    assert_eq!(checked_chain(log, acme.id).await.len(), 22);

    // A change that fails writes no audit row either.
    let ada = user(&acme, "ada@example.com");
    let users: &dyn UserRepository = store;
    users
        .create(&ada, None, &audit(acme.id))
        .await
        .expect("create");
    let clash = user(&acme, "ADA@example.com");
    assert!(matches!(
        users.create(&clash, None, &audit(acme.id)).await,
        Err(CoreError::Conflict(_))
    ));
    assert_eq!(
        checked_chain(log, acme.id).await.len(),
        23,
        "only ada's row"
    );

    // The other tenant's chain is its own.
    assert_eq!(checked_chain(log, globex.id).await.len(), 1);
    let page = log
        .list(globex.id, AuditFilter::default(), PageRequest::first())
        .await
        .expect("list");
    assert!(page.items.iter().all(|r| r.entry.tenant == globex.id));

    // Filters combine; pages run newest first without overlap.
    let only = |filter| log.list(acme.id, filter, PageRequest::first());
    let denied = only(AuditFilter {
        outcome: Some(Outcome::Denied),
        ..AuditFilter::default()
    })
    .await
    .expect("list");
    assert_eq!(denied.items.len(), 1);
    let mine = only(AuditFilter {
        actor: Some(actor),
        action: Some("authz.denied".into()),
        resource: Some(ResourceRef::any("user")),
        from: Some(Utc::now() - Duration::hours(1)),
        until: Some(Utc::now() + Duration::hours(1)),
        ..AuditFilter::default()
    })
    .await
    .expect("list");
    assert_eq!(mine.items.len(), 1);
    let none = only(AuditFilter {
        resource: Some(ResourceRef::one("user", UserId::new())),
        ..AuditFilter::default()
    })
    .await
    .expect("list");
    assert!(none.items.is_empty());
    let first = log
        .list(
            acme.id,
            AuditFilter::default(),
            PageRequest::new(Some(10), None).unwrap(),
        )
        .await
        .expect("page 1");
    assert_eq!(first.items[0].seq, 23);
    let second = log
        .list(
            acme.id,
            AuditFilter::default(),
            PageRequest::new(Some(10), first.next_cursor).unwrap(),
        )
        .await
        .expect("page 2");
    assert_eq!(second.items[0].seq, 13);

    // Many rows in one transaction keep each chain's order, whatever the tenants' order.
    let initech = tenant(store, "initech").await;
    let numbered = |t: TenantId, n: u32| {
        AuditEntry::system(t, "user.read", Utc::now()).details(serde_json::json!({ "n": n }))
    };
    log.append_many(vec![
        numbered(initech.id, 1),
        numbered(globex.id, 2),
        numbered(initech.id, 3),
    ])
    .await
    .expect("append many");
    let rows = checked_chain(log, initech.id).await;
    let order: Vec<_> = rows[1..]
        .iter()
        .map(|r| r.entry.details["n"].clone())
        .collect();
    assert_eq!(order, [1, 3]);
    assert_eq!(checked_chain(log, globex.id).await.len(), 2);
}

/// Appending queues; sequencing chains what is queued in order, once, however many
/// sequencers run at once; every read of a tenant's trail chains its queue first.
pub(crate) async fn queued_entries_are_chained_once_in_order_by_any_sequencer<S>(store: &S)
where
    S: TenantRepository + AuditLog + Clone + 'static,
{
    let log: &dyn AuditLog = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    // What the tenant helper queued (tenant.created) goes in first.
    log.sequence(100).await.expect("sequence");
    assert_eq!(log.queued(acme.id).await.expect("queued"), 0);

    let numbered = |t: TenantId, n: u32| {
        AuditEntry::system(t, "user.read", Utc::now()).details(serde_json::json!({ "n": n }))
    };
    log.append_many((1..=60).map(|n| numbered(acme.id, n)).collect())
        .await
        .expect("append");
    log.append(numbered(globex.id, 1)).await.expect("append");
    // A store chains at once (one writer at a time: SQLite) or queues for the sequencer.
    let waiting = log.queued(acme.id).await.expect("queued");
    assert!(waiting == 60 || waiting == 0, "{waiting} queued");

    // Four sequencers at once (replicas): every entry is chained once, in queue order.
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { AuditLog::sequence(&store, 100).await })
        })
        .collect();
    let mut moved = 0;
    for run in runs {
        moved += run.await.expect("join").expect("sequence");
    }
    let chained_at_once = waiting == 0;
    assert_eq!(
        moved,
        if chained_at_once { 0 } else { 61 },
        "each entry moved by exactly one sequencer"
    );
    assert_eq!(log.queued(acme.id).await.expect("queued"), 0);
    let rows = checked_chain(log, acme.id).await;
    let order: Vec<u64> = rows[1..]
        .iter()
        .filter_map(|r| r.entry.details["n"].as_u64())
        .collect();
    assert_eq!(order, (1..=60).collect::<Vec<u64>>(), "queue order kept");
    assert_eq!(checked_chain(log, globex.id).await.len(), 2);

    // No sequencer ran: a read chains the tenant's queue before it reads.
    log.append(numbered(acme.id, 61)).await.expect("append");
    let page = log
        .list(acme.id, AuditFilter::default(), PageRequest::first())
        .await
        .expect("list");
    assert_eq!(page.items[0].entry.details["n"], 61);
    assert_eq!(page.items[0].seq, 62);
    assert_eq!(log.queued(acme.id).await.expect("queued"), 0);
    assert_eq!(
        log.sequence(100).await.expect("sequence"),
        0,
        "nothing left"
    );
    // A backlog longer than one sequencing pass takes (1 000 rows) is chained whole, in order,
    // every field and hash intact, however the store writes a batch.
    log.append_many((62..=1261).map(|n| numbered(acme.id, n)).collect())
        .await
        .expect("append");
    while log.sequence(100).await.expect("sequence") > 0 {}
    let rows = checked_chain(log, acme.id).await;
    let order: Vec<u64> = rows[1..]
        .iter()
        .filter_map(|r| r.entry.details["n"].as_u64())
        .collect();
    assert_eq!(order, (1..=1261).collect::<Vec<u64>>(), "queue order kept");
}

/// One sequencing pass reaches every tenant with queued entries, however many wait: more than
/// a store finds one by one (it then groups the queue), the longest-waiting first, none left
/// for a later pass that might never come while others keep queuing.
pub(crate) async fn a_sequencing_pass_reaches_every_waiting_tenant<S>(store: &S)
where
    S: TenantRepository + AuditLog,
{
    let log: &dyn AuditLog = store;
    let mut tenants = Vec::new();
    for i in 0..70 {
        tenants.push(tenant(store, &format!("t{i:02}")).await);
    }
    // What the tenant helper queued (tenant.created) goes in first.
    while log.sequence(100).await.expect("sequence") > 0 {}
    for t in &tenants {
        log.append(AuditEntry::system(t.id, "user.read", Utc::now()))
            .await
            .expect("append");
    }
    let queued = log.queued(tenants[69].id).await.expect("queued");
    let moved = log.sequence(100).await.expect("sequence");
    // A store chains at once (one writer at a time: SQLite) or queues for the sequencer.
    assert_eq!(
        moved,
        if queued == 0 { 0 } else { 70 },
        "one pass, every tenant"
    );
    for t in &tenants {
        assert_eq!(log.queued(t.id).await.expect("queued"), 0);
        assert_eq!(checked_chain(log, t.id).await.len(), 2);
    }
}
