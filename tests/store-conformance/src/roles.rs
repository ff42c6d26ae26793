//! `RoleRepository`: custom roles per tenant.

use crate::audit;
use chrono::{SubsecRound, Utc};
use usvc_core::ports::{RoleRepository, TenantRepository, UserRepository};
use usvc_core::{permissions, CoreError, Role, RoleId, Tenant};

use crate::users::{tenant, user};

fn role(t: &Tenant, name: &str) -> Role {
    let now = Utc::now().trunc_subsecs(6);
    Role {
        id: RoleId::new(),
        tenant_id: t.id,
        name: name.into(),
        description: "reads the audit log".into(),
        permissions: vec![permissions::AUDIT_READ, permissions::USERS_READ],
        created_at: now,
        updated_at: now,
    }
}

pub(crate) async fn custom_roles_round_trip_stay_in_their_tenant_and_cannot_be_deleted_while_held<
    S,
>(
    store: &S,
) where
    S: TenantRepository + UserRepository + RoleRepository,
{
    let roles: &dyn RoleRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let auditor = role(&acme, "auditor");
    roles
        .create(&auditor, &audit(auditor.tenant_id))
        .await
        .expect("create");
    assert!(matches!(
        roles.create(&role(&acme, "auditor"), &audit(acme.id)).await,
        Err(CoreError::Conflict(_))
    ));
    roles
        .create(&role(&globex, "auditor"), &audit(globex.id))
        .await
        .expect("same name, other tenant");
    assert_eq!(
        roles.get(acme.id, auditor.id).await.expect("get"),
        Some(auditor.clone())
    );
    assert_eq!(roles.get(globex.id, auditor.id).await.expect("get"), None);
    assert_eq!(
        roles.list(acme.id).await.expect("list"),
        std::slice::from_ref(&auditor)
    );

    let mut renamed = auditor.clone();
    renamed.name = "compliance".into();
    renamed.permissions = vec![permissions::AUDIT_READ];
    roles
        .update(&renamed, &audit(renamed.tenant_id))
        .await
        .expect("update");
    assert_eq!(
        roles.get(acme.id, auditor.id).await.expect("get"),
        Some(renamed.clone())
    );
    let mut foreign = renamed.clone();
    foreign.tenant_id = globex.id;
    assert!(matches!(
        roles.update(&foreign, &audit(foreign.tenant_id)).await,
        Err(CoreError::NotFound(_))
    ));

    let mut holder = user(&acme, "c@example.com");
    holder.roles = vec!["member".into(), "compliance".into()];
    UserRepository::create(store, &holder, None, &audit(holder.tenant_id))
        .await
        .expect("user");
    assert!(matches!(
        roles.delete(acme.id, auditor.id, &audit(acme.id)).await,
        Err(CoreError::Conflict(_))
    ));
    assert!(matches!(
        roles.delete(globex.id, auditor.id, &audit(globex.id)).await,
        Err(CoreError::NotFound(_))
    ));
    let users: &dyn UserRepository = store;
    users
        .erase(acme.id, holder.id, Utc::now(), false, &audit(acme.id))
        .await
        .expect("erase");
    roles
        .delete(acme.id, auditor.id, &audit(acme.id))
        .await
        .expect("no holder left");
    assert_eq!(roles.list(acme.id).await.expect("list"), []);
}
