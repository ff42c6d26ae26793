//! Whole numbers in request bodies as JSON Schema counts them: `725.0` is the integer 725
//! (serde would refuse it for an integer field), anything with a fraction is not one.

use serde::{Deserialize, Deserializer};

/// Reads an optional whole number that may be written `725` or `725.0`.
pub fn whole<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let Some(number) = Option::<serde_json::Number>::deserialize(de)? else {
        return Ok(None);
    };
    let value = number.as_u64().or_else(|| {
        // Within 0..=2^53 every whole f64 is exact, so the cast neither truncates nor wraps.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= 9_007_199_254_740_992.0)
            .map(|f| f as u64)
    });
    value
        .and_then(|v| T::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("{number} is not a whole number in range")))
}

/// [`whole`] for a field where `null` and absence differ (`Some(None)`: set to nothing).
pub fn nullable_whole<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    whole(de).map(Some)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Q {
        #[serde(default, deserialize_with = "super::whole")]
        n: Option<u32>,
    }

    #[test]
    fn whole_numbers_may_carry_a_zero_fraction() {
        let read = |s: &str| serde_json::from_str::<Q>(s).map(|q| q.n);
        assert_eq!(read(r#"{"n": 725}"#).unwrap(), Some(725));
        assert_eq!(read(r#"{"n": 725.0}"#).unwrap(), Some(725));
        assert_eq!(read(r#"{"n": null}"#).unwrap(), None);
        assert_eq!(read("{}").unwrap(), None);
        assert!(read(r#"{"n": 7.5}"#).is_err());
        assert!(read(r#"{"n": -1}"#).is_err());
        assert!(read(r#"{"n": 5000000000}"#).is_err());
    }
}
