use std::collections::HashSet;

use crate::audit;
use chrono::Utc;
use usvc_core::ports::TenantRepository;
use usvc_core::{CoreError, Cursor, NewTenant, PageRequest, Slug, Tenant, TenantId};

fn tenant(slug: &str) -> Tenant {
    NewTenant::parse(slug, &format!("Tenant {slug}"))
        .expect("valid")
        .into_tenant(Utc::now())
}

pub(crate) async fn create_then_read_back_by_id_and_slug(repo: &dyn TenantRepository) {
    let acme = tenant("acme");
    repo.create(&acme, &audit(acme.id)).await.expect("create");
    assert_eq!(repo.get(acme.id).await.expect("get"), Some(acme.clone()));
    let by_slug = repo.get_by_slug(&acme.slug).await.expect("get by slug");
    assert_eq!(by_slug, Some(acme));
}

pub(crate) async fn unknown_ids_and_slugs_are_none(repo: &dyn TenantRepository) {
    assert_eq!(repo.get(TenantId::new()).await.expect("get"), None);
    let slug = Slug::parse("nobody").expect("valid");
    assert_eq!(repo.get_by_slug(&slug).await.expect("get"), None);
}

pub(crate) async fn a_taken_slug_is_a_conflict_and_writes_nothing(repo: &dyn TenantRepository) {
    let first = tenant("taken");
    repo.create(&first, &audit(first.id)).await.expect("create");
    let second = tenant("taken");
    match repo.create(&second, &audit(second.id)).await {
        Err(CoreError::Conflict(message)) => assert!(message.contains("slug"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(repo.get(second.id).await.expect("get"), None);
    assert_eq!(repo.count().await.expect("count"), 1);
    let kept = repo.get_by_slug(&first.slug).await.expect("get");
    assert_eq!(kept.map(|t| t.id), Some(first.id));
}

pub(crate) async fn list_walks_every_tenant_once_in_creation_order(repo: &dyn TenantRepository) {
    let mut created = Vec::new();
    for i in 0..5 {
        let t = tenant(&format!("t{i}"));
        repo.create(&t, &audit(t.id)).await.expect("create");
        created.push(t.id);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = repo
            .list(PageRequest::new(Some(2), cursor).expect("valid"))
            .await
            .expect("list");
        pages += 1;
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|t| t.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "creation order, no gaps, no repeats");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);
    assert_eq!(repo.count().await.expect("count"), 5);
}

pub(crate) async fn a_forged_cursor_is_a_validation_error(repo: &dyn TenantRepository) {
    for raw in ["%%%", "bm90LWEtdXVpZA"] {
        let page = PageRequest::new(Some(2), Some(Cursor::from_wire(raw))).expect("valid");
        match repo.list(page).await {
            Err(CoreError::Validation(fields)) => assert_eq!(fields[0].field, "cursor"),
            other => panic!("expected a cursor validation error for {raw}, got {other:?}"),
        }
    }
}
