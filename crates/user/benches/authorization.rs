//! The cost of an authorization decision on the hot path (every endpoint asks one).
#![allow(missing_docs, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use usvc_core::ports::Authorizer as _;
use usvc_core::{permissions, Principal, ResourceRef, SessionId, TenantId, UserId};
use usvc_user::RoleAuthorizer;

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
                &permissions::PROJECTS_WRITE,
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
    group.finish();
}

criterion_group!(authorization_benches, benches);
criterion_main!(authorization_benches);
