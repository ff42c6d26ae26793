//! Projects on SQLite, without HTTP: `usvc-project`'s use cases over the SQLite adapter, with
//! the built-in roles deciding who may do what, events relayed from the outbox, and the version
//! history the store keeps. Everything the HTTP API does to a project (validation, audit,
//! events, history) happens the same way here, because it is the domain crate that does it.
//!
//! ```text
//! cargo run -p usvc-examples --example projects_on_sqlite               # in memory
//! cargo run -p usvc-examples --example projects_on_sqlite -- sqlite://projects.db
//! ```

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use usvc_cache::{CacheRegistry, CacheSpec, LocalInvalidation};
use usvc_core::ports::SystemClock;
use usvc_core::{PageRequest, Project};
use usvc_project::{ProjectFields, ProjectPorts, ProjectService};
use usvc_runtime::{EventBus, OutboxRelay};
use usvc_user::RoleAuthorizer;

/// What the program did.
struct Outcome {
    /// The project after its change.
    project: Project,
    /// How many versions its history holds.
    versions: usize,
    /// The events it announced, in order.
    events: Vec<String>,
}

async fn run(url: &str) -> Result<Outcome, Box<dyn Error>> {
    let store = usvc_examples::sqlite(url).await?;
    let me = usvc_examples::owner(&store, "acme", "ada@example.com").await?;

    // The ports `ProjectService` needs: the store implements every repository port; caches
    // come from usvc-cache (one process: in-process invalidation); the event relay and bus
    // from usvc-runtime; the built-in roles from usvc-user.
    let caches = CacheRegistry::new(Arc::new(LocalInvalidation::new()));
    let bus = EventBus::new();
    let mut events = bus.subscribe();
    let relay = OutboxRelay::start(store.clone(), bus, Arc::new(SystemClock));
    let projects = ProjectService::new(ProjectPorts {
        projects: store.clone(),
        authorizer: Arc::new(RoleAuthorizer),
        clock: Arc::new(SystemClock),
        relay: relay.clone(),
        cache: caches.create(CacheSpec::PROJECTS),
        access: caches.create(CacheSpec::PROJECT_ACCESS),
        access_lists: store.clone(),
        audit: store.clone(),
        idempotency: store.clone(),
        analytics: store.clone(),
    });

    let created = projects
        .create(
            &me,
            ProjectFields {
                name: Some("Apollo".into()),
                tags: Some(vec!["space".into()]),
                ..ProjectFields::default()
            },
        )
        .await?;
    // A change names the version it was made against, as `If-Match` does over HTTP.
    let project = projects
        .update(
            &me,
            created.id,
            Some(created.version),
            ProjectFields {
                description: Some("To the moon".into()),
                ..ProjectFields::default()
            },
        )
        .await?;
    let versions = projects
        .versions(&me, project.id, PageRequest::first())
        .await?
        .items
        .len();

    // Each change staged its event in the outbox in its own transaction; the relay hands
    // them to the bus.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv()).await??;
        seen.push(event.kind);
    }
    relay.stop().await;
    Ok(Outcome {
        project,
        versions,
        events: seen,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite::memory:".into());
    let done = run(&url).await?;
    println!(
        "project {} ({}) at version {}: \"{}\"; {} versions in its history; events: {}",
        done.project.name,
        done.project.id,
        done.project.version,
        done.project.description,
        done.versions,
        done.events.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_project_is_created_changed_remembered_and_announced() {
        let done = super::run("sqlite::memory:")
            .await
            .expect("the example runs");
        assert_eq!(
            (
                done.project.name.as_str(),
                done.project.description.as_str()
            ),
            ("Apollo", "To the moon")
        );
        assert_eq!(done.project.version, 2);
        assert_eq!(done.versions, 2, "creation and change are in the history");
        assert_eq!(done.events, ["project.created", "project.updated"]);
    }
}
