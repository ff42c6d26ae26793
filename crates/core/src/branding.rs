//! How a tenant's hosted sign-in pages look (docs/oidc.md): its name as shown, a logo and two
//! colours. Kept in the tenant's settings; checked here so that nothing a tenant administrator
//! types can run on the pages or make them unreadable.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// A tenant's look on the hosted pages; every field optional (the service's look otherwise).
/// Read only from a JSON object (`[null]` is not a branding, though serde's derived form
/// would take a sequence for a struct).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct Branding {
    /// Shown as the pages' heading instead of the tenant's name (1-100 characters).
    pub display_name: Option<String>,
    /// An `https://` URL of the logo image, shown above the heading (at most 2048 characters).
    pub logo_url: Option<String>,
    /// The accent (`#rrggbb`): buttons, links and the focus ring.
    pub primary_color: Option<String>,
    /// The page background (`#rrggbb`).
    pub background_color: Option<String>,
}

/// The fields of a [`Branding`] as an object must have them.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct BrandingObject {
    display_name: Option<String>,
    logo_url: Option<String>,
    primary_color: Option<String>,
    background_color: Option<String>,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for Branding {
    type Error = serde_json::Error;

    fn try_from(object: serde_json::Map<String, serde_json::Value>) -> Result<Self, Self::Error> {
        let fields: BrandingObject = serde_json::from_value(serde_json::Value::Object(object))?;
        Ok(Self {
            display_name: fields.display_name,
            logo_url: fields.logo_url,
            primary_color: fields.primary_color,
            background_color: fields.background_color,
        })
    }
}

/// Whether `value` is a `#rrggbb` colour: the only form accepted, so a colour can be written
/// into a style sheet as it is.
pub fn is_hex_colour(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl Branding {
    /// Every field's problem, named `branding.<field>`.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut push = |field: &str, message: &str| {
            errors.push(FieldError {
                field: format!("branding.{field}"),
                message: message.into(),
            });
        };
        if let Some(name) = &self.display_name {
            let length = name.trim().chars().count();
            if !(1..=100).contains(&length) || name.chars().any(char::is_control) {
                push("display_name", "1-100 characters, no control characters");
            }
        }
        if let Some(url) = &self.logo_url {
            let parsed = url::Url::parse(url).ok();
            let ok = url.len() <= 2048
                && parsed.is_some_and(|u| {
                    u.scheme() == "https"
                        && u.host_str().is_some()
                        && u.username().is_empty()
                        && u.password().is_none()
                });
            if !ok {
                push(
                    "logo_url",
                    "an https:// URL without credentials, at most 2048 characters",
                );
            }
        }
        for (field, value) in [
            ("primary_color", &self.primary_color),
            ("background_color", &self.background_color),
        ] {
            if value.as_deref().is_some_and(|v| !is_hex_colour(v)) {
                push(field, "a colour as #rrggbb");
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_object_is_a_branding() {
        let read: Branding =
            serde_json::from_value(serde_json::json!({"primary_color": "#000000"}))
                .expect("an object");
        assert_eq!(read.primary_color.as_deref(), Some("#000000"));
        for not in [
            serde_json::json!([null, null]),
            serde_json::json!({"colour": "red"}),
        ] {
            assert!(
                serde_json::from_value::<Branding>(not.clone()).is_err(),
                "{not}"
            );
        }
    }

    #[test]
    fn only_plain_values_pass() {
        let good = Branding {
            display_name: Some("Acme".into()),
            logo_url: Some("https://cdn.acme.example/logo.svg".into()),
            primary_color: Some("#0F766e".into()),
            background_color: Some("#ffffff".into()),
        };
        assert!(good.problems().is_empty());
        let bad = Branding {
            display_name: Some(" ".into()),
            logo_url: Some("javascript:alert(1)".into()),
            primary_color: Some("red;}body{display:none".into()),
            background_color: Some("#fff".into()),
        };
        let fields: Vec<String> = bad.problems().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "branding.display_name",
                "branding.logo_url",
                "branding.primary_color",
                "branding.background_color"
            ]
        );
        for url in [
            "http://acme.example/l.png",
            "https://user:pw@acme.example/l.png",
        ] {
            let b = Branding {
                logo_url: Some(url.into()),
                ..Branding::default()
            };
            assert_eq!(b.problems().len(), 1, "{url}");
        }
    }
}
