//! `usvc-bench idle`: what a replica with nothing to do costs its database. It samples, at
//! the start and the end of a quiet window, the server's own count of units of database work
//! (`usvc_store_work_total` on `/metrics`, either store) and, on Postgres, the database's
//! transaction count (`pg_stat_database`), and reports both per second, with the server's
//! resident memory (`process_resident_memory_bytes`). Send no other load meanwhile.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::load::Target;

/// What one quiet window showed.
#[derive(Debug, Serialize)]
pub struct Idle {
    /// How long the window was, in seconds.
    pub seconds: f64,
    /// Units of database work the server did per second (`usvc_store_work_total`).
    pub store_work_per_second: f64,
    /// Transactions the database committed or rolled back per second, on Postgres (this
    /// tool's two samples taken off).
    pub transactions_per_second: Option<f64>,
    /// The server's resident memory at the end, in MB.
    pub rss_mb: Option<f64>,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Transactions of the current database so far (committed + rolled back).
async fn transactions(url: &str) -> anyhow::Result<i64> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let row: Count = diesel::sql_query(
        "SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database \
         WHERE datname = current_database()",
    )
    .get_result(&mut conn)
    .await?;
    Ok(row.n)
}

/// The value of an unlabelled series on the server's `/metrics`.
fn series(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

async fn metrics(target: &Target) -> anyhow::Result<String> {
    let (status, body) = target.get("/metrics").await?;
    anyhow::ensure!(status == 200, "GET /metrics answered {status}");
    Ok(body)
}

/// Watches the server at `target` (and its Postgres database at `database_url`, if given)
/// for `window`.
pub async fn watch(
    target: &Target,
    database_url: Option<&str>,
    window: Duration,
) -> anyhow::Result<Idle> {
    let postgres = database_url.filter(|u| u.starts_with("postgres"));
    let work_before = series(&metrics(target).await?, "usvc_store_work_total").unwrap_or(0.0);
    let tx_before = match postgres {
        Some(url) => Some(transactions(url).await?),
        None => None,
    };
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let tx_after = match postgres {
        Some(url) => Some(transactions(url).await?),
        None => None,
    };
    let seconds = started.elapsed().as_secs_f64();
    let end = metrics(target).await?;
    let work_after = series(&end, "usvc_store_work_total").unwrap_or(0.0);
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let transactions_per_second = tx_before
        .zip(tx_after)
        .map(|(before, after)| (after - before - 1).max(0) as f64 / seconds);
    Ok(Idle {
        seconds,
        store_work_per_second: (work_after - work_before) / seconds,
        transactions_per_second,
        rss_mb: series(&end, "process_resident_memory_bytes").map(|b| b / 1_048_576.0),
    })
}

impl Idle {
    /// The report as a small table.
    pub fn table(&self) -> String {
        let tx = self
            .transactions_per_second
            .map_or_else(|| "n/a (not Postgres)".to_owned(), |t| format!("{t:.2}"));
        let rss = self
            .rss_mb
            .map_or_else(|| "n/a".to_owned(), |m| format!("{m:.0}"));
        format!(
            "idle for {:.0} s\nstore work/s  {:.2}\ntransactions/s  {tx}\nRSS MB  {rss}\n",
            self.seconds, self.store_work_per_second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::series;

    #[test]
    fn a_series_is_read_by_its_exact_name() {
        let metrics = "# TYPE usvc_store_work_total counter\nusvc_store_work_total 42\n\
                       usvc_store_work_total_other 7\nprocess_resident_memory_bytes 1048576\n";
        assert_eq!(series(metrics, "usvc_store_work_total"), Some(42.0));
        assert_eq!(
            series(metrics, "process_resident_memory_bytes"),
            Some(1_048_576.0)
        );
        assert_eq!(series(metrics, "usvc_missing"), None);
    }
}
