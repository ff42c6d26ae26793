//! The chain check itself, free of I/O so it runs the same in the service and on an export.

use usvc_core::{chain_hash, AuditRecord, ChainHead, ChainReport, TenantId};

/// Checks rows of one tenant's chain fed in order.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    tenant: TenantId,
    seq: i64,
    hash: String,
    checked: u64,
}

impl ChainVerifier {
    /// A verifier at the start of `tenant`'s chain.
    pub fn new(tenant: TenantId) -> Self {
        Self {
            tenant,
            seq: 0,
            hash: String::new(),
            checked: 0,
        }
    }

    /// The position of the last row accepted (0 before the first).
    pub const fn position(&self) -> i64 {
        self.seq
    }

    /// Accepts the next row, or reports why it does not fit.
    pub fn check(&mut self, row: &AuditRecord) -> Result<(), ChainReport> {
        let problem = if row.entry.tenant != self.tenant {
            Some("the row belongs to another tenant's chain".to_owned())
        } else if row.seq != self.seq + 1 {
            Some(format!(
                "row {} follows row {}: rows were removed or re-ordered",
                row.seq, self.seq
            ))
        } else if row.prev_hash != self.hash {
            Some(format!(
                "row {} does not link to the row before it",
                row.seq
            ))
        } else if chain_hash(row.id, row.seq, &row.entry, &row.prev_hash) != row.hash {
            Some(format!("row {} was changed after it was written", row.seq))
        } else {
            None
        };
        self.checked += 1;
        if let Some(problem) = problem {
            return Err(ChainReport {
                valid: false,
                checked: self.checked,
                first_invalid_id: Some(row.id),
                problem: Some(problem),
                queued: 0,
            });
        }
        self.seq = row.seq;
        self.hash.clone_from(&row.hash);
        Ok(())
    }

    /// The verdict once every row was fed: the last row must be the head's.
    pub fn finish(self, head: Option<&ChainHead>) -> ChainReport {
        let (head_seq, head_hash) = head.map_or((0, ""), |h| (h.seq, h.hash.as_str()));
        let problem = (head_seq != self.seq || head_hash != self.hash).then(|| {
            format!(
                "the chain ends at row {} but {} rows were written: rows were removed from the end",
                self.seq, head_seq
            )
        });
        ChainReport {
            valid: problem.is_none(),
            checked: self.checked,
            first_invalid_id: None,
            problem,
            queued: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use usvc_core::{AuditEntry, AuditId, Outcome};

    use super::*;

    fn chain(tenant: TenantId, n: i64) -> Vec<AuditRecord> {
        let mut prev = String::new();
        (1..=n)
            .map(|seq| {
                let entry = AuditEntry::system(tenant, "user.updated", Utc::now());
                let record = AuditRecord::chained(AuditId::new(), seq, entry, prev.clone());
                prev.clone_from(&record.hash);
                record
            })
            .collect()
    }

    fn run(tenant: TenantId, rows: &[AuditRecord], head: Option<&ChainHead>) -> ChainReport {
        let mut verifier = ChainVerifier::new(tenant);
        for row in rows {
            if let Err(report) = verifier.check(row) {
                return report;
            }
        }
        verifier.finish(head)
    }

    fn head(rows: &[AuditRecord]) -> ChainHead {
        let last = rows.last().expect("rows");
        ChainHead {
            seq: last.seq,
            hash: last.hash.clone(),
        }
    }

    #[test]
    fn an_intact_chain_is_valid() {
        let tenant = TenantId::new();
        let rows = chain(tenant, 5);
        let report = run(tenant, &rows, Some(&head(&rows)));
        assert!(report.valid, "{report:?}");
        assert_eq!(report.checked, 5);
        assert!(run(tenant, &[], None).valid, "an empty chain is valid");
    }

    #[test]
    fn an_edited_row_is_named() {
        let tenant = TenantId::new();
        let mut rows = chain(tenant, 5);
        let h = head(&rows);
        rows[2].entry.outcome = Outcome::Denied;
        let report = run(tenant, &rows, Some(&h));
        assert!(!report.valid);
        assert_eq!(report.first_invalid_id, Some(rows[2].id));
        assert_eq!(report.checked, 3);
    }

    #[test]
    fn a_removed_row_is_found_after_the_gap() {
        let tenant = TenantId::new();
        let mut rows = chain(tenant, 5);
        let h = head(&rows);
        rows.remove(1);
        let report = run(tenant, &rows, Some(&h));
        assert_eq!(report.first_invalid_id, Some(rows[1].id));
    }

    #[test]
    fn swapped_rows_are_found() {
        let tenant = TenantId::new();
        let mut rows = chain(tenant, 5);
        let h = head(&rows);
        // Swap the positions too, as someone re-ordering rows in the table would.
        let (a, b) = (rows[1].seq, rows[3].seq);
        rows.swap(1, 3);
        rows[1].seq = a;
        rows[3].seq = b;
        let report = run(tenant, &rows, Some(&h));
        assert!(!report.valid);
        assert_eq!(report.first_invalid_id, Some(rows[1].id));
    }

    #[test]
    fn rows_removed_from_the_end_are_found_through_the_head() {
        let tenant = TenantId::new();
        let mut rows = chain(tenant, 5);
        let h = head(&rows);
        rows.truncate(3);
        let report = run(tenant, &rows, Some(&h));
        assert!(!report.valid);
        assert_eq!(report.first_invalid_id, None);
        assert!(report
            .problem
            .is_some_and(|p| p.contains("removed from the end")));
    }

    #[test]
    fn another_tenants_row_does_not_fit() {
        let tenant = TenantId::new();
        let rows = chain(TenantId::new(), 1);
        assert!(!run(tenant, &rows, None).valid);
    }
}
