//! Dedicated (unpooled) connections: migrations and the invalidation listener.

use std::time::Duration;

use diesel_async::AsyncConnection;
use usvc_core::CoreError;

use crate::backend::Connection;

/// Opens one connection, giving up after `timeout`; `purpose` names it in the error.
pub(crate) async fn connect(
    url: &str,
    timeout: Duration,
    purpose: &str,
) -> Result<Connection, CoreError> {
    match tokio::time::timeout(timeout, Connection::establish(url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(CoreError::Unavailable(format!("{purpose}: {e}"))),
        Err(_) => Err(CoreError::Unavailable(format!(
            "{purpose}: no connection within {} s",
            timeout.as_secs()
        ))),
    }
}
