//! `SigningKeyRepository` (compiled into each adapter against its own schema).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::ports::{SigningKeyRepository, StoredSigningKey};
use usvc_core::CoreError;

use crate::errors;
use crate::schema::signing_keys;
use crate::store::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
struct SigningKeyRow {
    kid: String,
    algorithm: String,
    public_key: String,
    sealed_private_key: Vec<u8>,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

impl From<SigningKeyRow> for StoredSigningKey {
    fn from(row: SigningKeyRow) -> Self {
        Self {
            kid: row.kid,
            algorithm: row.algorithm,
            public_key: row.public_key,
            sealed_private_key: row.sealed_private_key,
            created_at: row.created_at,
            retired_at: row.retired_at,
        }
    }
}

#[async_trait]
impl SigningKeyRepository for Store {
    async fn insert(&self, key: &StoredSigningKey) -> Result<(), CoreError> {
        let row = SigningKeyRow {
            kid: key.kid.clone(),
            algorithm: key.algorithm.clone(),
            public_key: key.public_key.clone(),
            sealed_private_key: key.sealed_private_key.clone(),
            created_at: key.created_at,
            retired_at: key.retired_at,
        };
        self.run(move |conn| {
            Box::pin(async move {
                diesel::insert_into(signing_keys::table)
                    .values(&row)
                    .execute(conn)
                    .await
                    .map_err(|e| errors::conflict(e, "a signing key with this id exists"))?;
                Ok(())
            })
        })
        .await
    }

    async fn live(&self) -> Result<Vec<StoredSigningKey>, CoreError> {
        self.run(|conn| {
            Box::pin(async move {
                signing_keys::table
                    .filter(signing_keys::retired_at.is_null())
                    .order((signing_keys::created_at.desc(), signing_keys::kid.desc()))
                    .select(SigningKeyRow::as_select())
                    .load(conn)
                    .await
                    .map(|rows| rows.into_iter().map(StoredSigningKey::from).collect())
                    .map_err(errors::query)
            })
        })
        .await
    }

    async fn retire_older(
        &self,
        created_before: DateTime<Utc>,
        keep: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, CoreError> {
        let keep = keep.to_owned();
        let retired = self
            .run(move |conn| {
                Box::pin(async move {
                    diesel::update(
                        signing_keys::table
                            .filter(signing_keys::retired_at.is_null())
                            .filter(signing_keys::created_at.lt(created_before))
                            .filter(signing_keys::kid.ne(keep)),
                    )
                    .set(signing_keys::retired_at.eq(Some(now)))
                    .execute(conn)
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        Ok(retired as u64)
    }
}
