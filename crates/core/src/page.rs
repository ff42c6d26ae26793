//! Cursor pagination: `?limit=&cursor=` in, `{items, next_cursor}` out.
//!
//! Cursors are opaque to callers (base64url of an adapter-defined keyset position), so the
//! storage layout can change without breaking clients that stored a cursor.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::CoreError;

/// The default page size when the caller gives none.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page a caller may ask for.
pub const MAX_LIMIT: u32 = 200;

/// An opaque position in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Encodes a keyset position (for example the last id of a page).
    pub fn encode(position: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(position))
    }

    /// Wraps a cursor received from a caller; it is checked when decoded.
    pub fn from_wire(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The keyset position, or a validation error naming `cursor` if it was tampered with.
    pub fn decode(&self) -> Result<String, CoreError> {
        URL_SAFE_NO_PAD
            .decode(&self.0)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| CoreError::invalid("cursor", "is not a cursor returned by this API"))
    }

    /// The wire form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a caller asked for: how many items, starting after which cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Page size, already validated to `1..=MAX_LIMIT`.
    pub limit: u32,
    /// Continue after this position; `None` starts at the beginning.
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// Validates caller input: a missing limit means [`DEFAULT_LIMIT`]; 0 or more than
    /// [`MAX_LIMIT`] is a validation error rather than a silent clamp. An empty cursor
    /// (`?cursor=`, what a form or a generated client sends for "none") is the first page.
    pub fn new(limit: Option<u32>, after: Option<Cursor>) -> Result<Self, CoreError> {
        let after = after.filter(|c| !c.0.is_empty());
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(CoreError::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        Ok(Self { limit, after })
    }

    /// The position to continue after, parsed as the listing's keyset type (an id, a
    /// sequence number); a cursor that does not parse is a validation error naming `cursor`.
    pub fn after_position<T: std::str::FromStr>(&self) -> Result<Option<T>, CoreError> {
        self.after
            .as_ref()
            .map(|cursor| {
                cursor.decode()?.parse::<T>().map_err(|_| {
                    CoreError::invalid("cursor", "is not a cursor returned by this API")
                })
            })
            .transpose()
    }

    /// The first page with the default size.
    pub fn first() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only proves there is more.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, position: impl Fn(&T) -> String) -> Self {
        let limit = limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| Cursor::encode(&position(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_validated_not_clamped() {
        assert_eq!(PageRequest::new(None, None).map(|p| p.limit).ok(), Some(50));
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(201), None).is_err());
    }

    #[test]
    fn overfetch_sets_cursor_only_when_more_rows_exist() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2, ToString::to_string);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(
            page.next_cursor.map(|c| c.decode().ok()),
            Some(Some("2".into()))
        );
        let last = Page::from_overfetch(vec![1, 2], 2, ToString::to_string);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn an_empty_cursor_is_the_first_page() {
        let page = PageRequest::new(None, Some(Cursor::from_wire(""))).unwrap();
        assert_eq!(page.after, None);
        assert_eq!(page.after_position::<u64>().unwrap(), None);
    }

    #[test]
    fn tampered_cursor_is_a_validation_error() {
        let err = Cursor::from_wire("%%%").decode();
        assert!(matches!(err, Err(CoreError::Validation(ref f)) if f[0].field == "cursor"));
    }
}
