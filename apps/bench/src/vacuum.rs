//! Vacuuming the suite's Postgres database when the server's autovacuum is off (this
//! project's CI configures its server so). Without vacuum every dead row version of a run
//! stays in the indexes, and the workflow engine's queue indexes (due steps, live leases)
//! then grow with every step ever run: figures no deployment, with autovacuum on, would see.
//! The suite vacuums before each workflow scenario there and says so under its table.

use anyhow::Context as _;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    setting: String,
}

/// Runs `VACUUM ANALYZE` on the database at `url` if the server's autovacuum is off; whether
/// it did.
pub async fn if_autovacuum_is_off(url: &str) -> anyhow::Result<bool> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let autovacuum: Setting =
        diesel::sql_query("SELECT setting FROM pg_settings WHERE name = 'autovacuum'")
            .get_result(&mut conn)
            .await
            .context("reading the server's autovacuum setting")?;
    if autovacuum.setting == "on" {
        return Ok(false);
    }
    conn.batch_execute("VACUUM ANALYZE")
        .await
        .context("vacuuming the suite's database")?;
    Ok(true)
}
