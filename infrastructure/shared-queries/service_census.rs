//! `ServiceCensus`: what the service manages, counted across tenants on one connection
//! (compiled into each adapter against its own schema).

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::ports::ServiceCensus;
use usvc_core::{CoreError, ServiceCounts};

use crate::errors;
use crate::schema::{projects, tenants, users, workflow_executions};
use crate::store::Store;

#[async_trait]
impl ServiceCensus for Store {
    async fn counts(&self) -> Result<ServiceCounts, CoreError> {
        let (tenants, users, projects, running): (i64, i64, i64, i64) = self
            .run(move |conn| {
                Box::pin(async move {
                    let tenants = tenants::table
                        .count()
                        .get_result(conn)
                        .await
                        .map_err(errors::query)?;
                    let users = users::table
                        .filter(users::deleted_at.is_null())
                        .filter(users::status.eq("active"))
                        .count()
                        .get_result(conn)
                        .await
                        .map_err(errors::query)?;
                    let projects = projects::table
                        .filter(projects::deleted_at.is_null())
                        .filter(projects::status.eq("active"))
                        .count()
                        .get_result(conn)
                        .await
                        .map_err(errors::query)?;
                    let running = workflow_executions::table
                        .filter(
                            workflow_executions::status.eq_any(["pending", "running", "waiting"]),
                        )
                        .count()
                        .get_result(conn)
                        .await
                        .map_err(errors::query)?;
                    Ok((tenants, users, projects, running))
                })
            })
            .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(ServiceCounts {
            tenants: count(tenants),
            active_users: count(users),
            active_projects: count(projects),
            running_workflows: count(running),
        })
    }
}
