//! [`TestApp`]: the real application stack for `actix_web::test`, built as `serve` builds it
//! (store, key ring, bootstrap owner, services, runtimes), on a fresh database of its own:
//!
//! ```ignore
//! let app = TestApp::sqlite().with_clock(clock).with_settings(&[("AUTH_RATE_LIMIT", "4")]).start().await;
//! let (service, owner) = app.serve_as_owner().await;
//! ```
//!
//! Mail lands in [`TestApp::mail`]; [`TestApp::database`] keeps the database alive and reaches
//! it past every port; [`TestApp::replica`] is another process on the same database.

use std::sync::{Arc, OnceLock};

use actix_http::body::MessageBody;
use actix_http::Request;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::Error;
use tempfile::TempDir;
use user_service::http::state::AppState;
use user_service::http::{build_app, routes};
use user_service::wiring;
use usvc_core::ports::{Clock, HealthCheck, SecretBox, SystemClock};

use super::{config_with, secret_box};

/// Largest request body the test apps accept (the server's default).
pub const MAX_BODY: usize = 1024 * 1024;

/// Store work runs on a multi-threaded runtime, as in the server (actix test runtimes are
/// single-threaded, like actix workers).
fn store_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("store runtime")
    })
}

/// What keeps a test's database alive, and reaches it past every port.
pub enum TestDatabase {
    /// SQLite in a temporary directory.
    Sqlite(TempDir),
    /// A Postgres database of its own, dropped with the app.
    Postgres(usvc_postgres::testing::TestDatabase),
    /// A database someone else keeps (a replica's, an in-memory one).
    Shared,
}

impl TestDatabase {
    /// Runs raw SQL on the test's database, past every port (an attacker or a careless
    /// operator with database access).
    pub async fn execute(&self, sql: &str) -> Result<usize, usvc_core::CoreError> {
        match self {
            Self::Sqlite(dir) => usvc_sqlite::testing::execute(&dir.path().join("test.db"), sql),
            Self::Postgres(db) => db.execute(sql).await,
            Self::Shared => panic!("this app's database belongs to another"),
        }
    }
}

/// Where a [`Builder`] puts its app.
enum Place {
    FreshSqlite,
    FreshPostgres,
    At(String),
}

/// Chooses what differs from the app `serve` would build; [`Builder::start`] builds it.
pub struct Builder {
    place: Place,
    settings: Vec<(String, String)>,
    secrets: Option<Arc<dyn SecretBox>>,
    clock: Arc<dyn Clock>,
    health: Option<Arc<dyn HealthCheck>>,
}

impl Builder {
    fn at(place: Place) -> Self {
        Self {
            place,
            settings: Vec::new(),
            secrets: None,
            clock: Arc::new(SystemClock),
            health: None,
        }
    }

    /// Settings as the environment would give them (`WORKFLOW_HTTP_ALLOW`, `AUTH_RATE_LIMIT`, …).
    #[must_use]
    pub fn with_settings(mut self, settings: &[(&str, &str)]) -> Self {
        self.settings.extend(
            settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self
    }

    /// The master key's secret box (replicas of one deployment share it; a test that mints
    /// its own tokens with the service's key needs it).
    #[must_use]
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretBox>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// The clock every domain, runtime, store transaction and handler reads.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The database probe of the health endpoints (a dead database, say).
    #[must_use]
    pub fn with_health(mut self, health: Arc<dyn HealthCheck>) -> Self {
        self.health = Some(health);
        self
    }

    /// Builds and starts the app. Panics when its store is not available here (a Postgres app
    /// without `TEST_DATABASE_URL`: use [`Self::start_if_available`]).
    pub async fn start(self) -> TestApp {
        self.start_if_available()
            .await
            .expect("the store is not available (TEST_DATABASE_URL for Postgres)")
    }

    /// Builds and starts the app, or `None` when its store is not available here (Postgres
    /// without `TEST_DATABASE_URL`; with `REQUIRE_POSTGRES=1` that is a failure instead).
    pub async fn start_if_available(self) -> Option<TestApp> {
        let (url, database) = match self.place {
            Place::FreshSqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/test.db", dir.path().display());
                (url, TestDatabase::Sqlite(dir))
            }
            Place::FreshPostgres => {
                let db = usvc_postgres::testing::TestDatabase::from_env().await?;
                (db.url.clone(), TestDatabase::Postgres(db))
            }
            Place::At(url) => (url, TestDatabase::Shared),
        };
        let settings: Vec<(&str, &str)> = self
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let config = config_with(&url, &settings);
        let secrets = self.secrets.unwrap_or_else(secret_box);
        let mail = Mailbox::default();
        let clock = self.clock;
        let notifier = Arc::new(mail.clone());
        let mut state = store_runtime()
            .spawn({
                let secrets = secrets.clone();
                async move {
                    let adapters = wiring::start(&config, clock, secrets, notifier)
                        .await
                        .expect("the app starts");
                    AppState::assemble(&config, &adapters)
                }
            })
            .await
            .expect("join");
        if let Some(health) = self.health {
            state.db.health = health;
        }
        Some(TestApp {
            state,
            mail,
            database,
            url,
            secrets,
        })
    }
}

/// The application on its database, started; see the module's documentation.
pub struct TestApp {
    /// What every handler reaches (services, runtimes, the store's ports).
    pub state: AppState,
    /// The mail the service sent.
    pub mail: Mailbox,
    /// The database, kept alive as long as the app.
    pub database: TestDatabase,
    url: String,
    secrets: Arc<dyn SecretBox>,
}

impl TestApp {
    /// On a fresh SQLite database (a file in a temporary directory).
    pub fn sqlite() -> Builder {
        Builder::at(Place::FreshSqlite)
    }

    /// On a fresh Postgres database of its own (`TEST_DATABASE_URL`).
    pub fn postgres() -> Builder {
        Builder::at(Place::FreshPostgres)
    }

    /// On the database at `url` (`sqlite::memory:`, or one the test keeps itself).
    pub fn on(url: &str) -> Builder {
        Builder::at(Place::At(url.to_owned()))
    }

    /// Another process of the same deployment: this app's database and master key.
    pub fn replica(&self) -> Builder {
        Builder::at(Place::At(self.url.clone())).with_secrets(self.secrets.clone())
    }

    /// The app's master key (to mint tokens as the service would).
    pub fn secrets(&self) -> Arc<dyn SecretBox> {
        self.secrets.clone()
    }

    /// The app as `actix_web::test` calls it.
    pub async fn service(
        &self,
    ) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = Error> {
        actix_web::test::init_service(build_app(self.state.clone(), MAX_BODY, routes)).await
    }

    /// [`Self::service`] and an access token of the bootstrap owner of tenant `default`.
    pub async fn serve_as_owner(
        &self,
    ) -> (
        impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = Error>,
        String,
    ) {
        let service = self.service().await;
        let token = super::owner_token(&service).await;
        (service, token)
    }
}

/// The mail the service sent, kept for the test to read (links included).
#[derive(Clone, Default)]
pub struct Mailbox(Arc<std::sync::Mutex<Vec<usvc_core::ports::Message>>>);

#[async_trait::async_trait]
impl usvc_core::ports::Notifier for Mailbox {
    async fn send(&self, message: usvc_core::ports::Message) -> Result<(), usvc_core::CoreError> {
        self.0.lock().expect("mailbox").push(message);
        Ok(())
    }
}

impl Mailbox {
    /// Every message sent to `to`, oldest first.
    pub fn to(&self, to: &str) -> Vec<usvc_core::ports::Message> {
        self.0
            .lock()
            .expect("mailbox")
            .iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to))
            .cloned()
            .collect()
    }

    /// The token in the newest link sent to `to`.
    pub fn token_for(&self, to: &str) -> Option<String> {
        let last = self.to(to).pop()?;
        let start = last.text.find("?token=")? + "?token=".len();
        Some(
            last.text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        )
    }
}
