//! The cost of an authorization decision on the hot path (every endpoint asks one).
#![allow(missing_docs, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::sync::Arc;
use usvc_core::ports::Authorizer as _;

use usvc_core::ports::{MockAuditLog, MockPlatformAdmins, MockRoleRepository, SystemClock};
use usvc_core::{permissions, Principal, ResourceRef, Role, RoleId, SessionId, TenantId, UserId};
use usvc_user::{AuthorizerPorts, RoleAuthorizer, TenantAuthorizer};

/// The service's authorizer with one custom role (`auditor`: `audit:read`) in the tenant and
/// the caller holding the platform grant; both answers come from their caches after the
/// first call.
fn tenant_authorizer(tenant: TenantId) -> TenantAuthorizer {
    let auditor = Role {
        id: RoleId::new(),
        tenant_id: tenant,
        name: "auditor".into(),
        description: String::new(),
        permissions: vec![permissions::AUDIT_READ],
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    };
    let mut roles = MockRoleRepository::new();
    roles
        .expect_list()
        .returning(move |_| Ok(vec![auditor.clone()]));
    let projects = usvc_core::ports::MockProjectAccess::new();
    let mut platform = MockPlatformAdmins::new();
    platform.expect_is_platform_admin().returning(|_| Ok(true));
    let bus: Arc<dyn usvc_core::ports::Invalidation> =
        Arc::new(usvc_cache::LocalInvalidation::new());
    TenantAuthorizer::new(AuthorizerPorts {
        roles: Arc::new(roles),
        definitions: usvc_cache::NamedCache::new(usvc_cache::CacheSpec::PERMISSIONS, bus.clone()),
        platform: Arc::new(platform),
        platform_grants: usvc_cache::NamedCache::new(
            usvc_cache::CacheSpec::PLATFORM_ADMINS,
            bus.clone(),
        ),
        projects: Arc::new(projects),
        project_access: usvc_cache::NamedCache::new(usvc_cache::CacheSpec::PROJECT_ACCESS, bus),
        audit: Arc::new(MockAuditLog::new()),
        clock: Arc::new(SystemClock),
    })
}

fn benches(c: &mut Criterion) {
    let principal = Principal {
        user: UserId::new(),
        tenant: TenantId::new(),
        session: SessionId::new(),
        roles: vec!["viewer".into(), "member".into()],
        origin: usvc_core::Origin::default(),
    };
    let resource = ResourceRef::one("project", "p-1");
    let mut group = c.benchmark_group("authorizer");
    group.bench_function("check_allowed_second_role", |b| {
        b.iter(|| {
            futures::executor::block_on(RoleAuthorizer.check(
                &principal,
                &permissions::PROJECTS_CREATE,
                &resource,
            ))
            .expect("decision")
        });
    });
    group.bench_function("check_denied", |b| {
        b.iter(|| {
            futures::executor::block_on(RoleAuthorizer.check(
                &principal,
                &permissions::USERS_DELETE,
                &resource,
            ))
            .expect("decision")
        });
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let custom = Principal {
        roles: vec!["viewer".into(), "auditor".into()],
        ..principal.clone()
    };
    let authorizer = tenant_authorizer(custom.tenant);
    let audit = ResourceRef::any("audit");
    group.bench_function("tenant_check_custom_role_cached", |b| {
        b.iter(|| {
            runtime
                .block_on(authorizer.check(&custom, &permissions::AUDIT_READ, &audit))
                .expect("decision")
        });
    });
    let tenants = ResourceRef::any("tenant");
    group.bench_function("tenant_check_platform_grant_cached", |b| {
        b.iter(|| {
            runtime
                .block_on(authorizer.check(&custom, &permissions::TENANTS_MANAGE, &tenants))
                .expect("decision")
        });
    });
    group.finish();
}

criterion_group!(authorization_benches, benches);
criterion_main!(authorization_benches);
