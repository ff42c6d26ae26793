//! A tenant's look on the hosted pages (its settings' `branding`): the name shown, a logo, and
//! two colours, with the text colours on them chosen so that every pairing reads at a
//! contrast of at least 4.5:1 (WCAG 2.1 AA), whatever colours the tenant picked.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use usvc_core::branding::is_hex_colour;
use usvc_core::Tenant;

/// The page's look, as the templates use it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Brand {
    /// The heading's name: the branding's display name, else the tenant's name.
    pub name: String,
    /// The logo, if the tenant has one.
    pub logo_url: Option<String>,
    /// The tenant's colours as CSS custom properties (`:root{…}`), if it set any.
    pub style: Option<String>,
}

/// WCAG 2.1 relative luminance of a `#rrggbb` colour.
fn luminance(hex: &str) -> f64 {
    let channel = |i: usize| {
        let value = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if value <= 0.039_28 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

/// The contrast ratio of two colours (1 to 21).
fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Black or white, whichever reads better on `background`.
fn text_on(background: &str) -> &'static str {
    if contrast(background, "#000000") >= contrast(background, "#ffffff") {
        "#000000"
    } else {
        "#ffffff"
    }
}

/// The service's own text colour, used for links when the accent is too light on the white
/// card.
const TEXT: &str = "#111827";

impl Brand {
    /// The look of `tenant`'s pages.
    pub fn of(tenant: &Tenant) -> Self {
        let branding = &tenant.settings.branding;
        let mut properties = Vec::new();
        if let Some(accent) = branding
            .primary_color
            .as_deref()
            .filter(|c| is_hex_colour(c))
        {
            let link = if contrast(accent, "#ffffff") >= 4.5 {
                accent
            } else {
                TEXT
            };
            properties.push(format!(
                "--accent:{accent};--on-accent:{};--link:{link}",
                text_on(accent)
            ));
        }
        if let Some(background) = branding
            .background_color
            .as_deref()
            .filter(|c| is_hex_colour(c))
        {
            properties.push(format!("--bg:{background};--on-bg:{}", text_on(background)));
        }
        Self {
            name: branding
                .display_name
                .clone()
                .unwrap_or_else(|| tenant.name.clone()),
            logo_url: branding.logo_url.clone(),
            style: (!properties.is_empty()).then(|| format!(":root{{{}}}", properties.join(";"))),
        }
    }

    /// Just a name (pages shown before the tenant is known).
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// The CSP source allowing this brand's inline style and nothing else inline: its
    /// SHA-256 (`'sha256-…'`).
    pub fn style_source(&self) -> Option<String> {
        self.style
            .as_deref()
            .map(|style| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(style))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_on_any_accent_reads_at_four_and_a_half_to_one() {
        for colour in [
            "#ffff00", "#0000ff", "#777777", "#1d4ed8", "#ffffff", "#000000", "#00ff00",
        ] {
            let ratio = contrast(colour, text_on(colour));
            assert!(ratio >= 4.5, "{colour}: {ratio}");
        }
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 0.01);
    }

    #[test]
    fn a_light_accent_does_not_colour_links_on_the_white_card() {
        let now = chrono::Utc::now();
        let mut tenant = Tenant {
            id: usvc_core::TenantId::new(),
            slug: usvc_core::Slug::parse("acme").unwrap(),
            name: "Acme".into(),
            status: usvc_core::TenantStatus::Active,
            settings: usvc_core::TenantSettings::default(),
            created_at: now,
            updated_at: now,
        };
        tenant.settings.branding.primary_color = Some("#ffee00".into());
        tenant.settings.branding.background_color = Some("#101010".into());
        let brand = Brand::of(&tenant);
        let style = brand.style.clone().unwrap();
        assert!(style.contains("--on-accent:#000000"), "{style}");
        assert!(style.contains(&format!("--link:{TEXT}")), "{style}");
        assert!(style.contains("--on-bg:#ffffff"), "{style}");
        assert_eq!(brand.name, "Acme");
        assert!(brand.style_source().unwrap().starts_with("'sha256-"));
        assert_eq!(Brand::named("x").style_source(), None);
    }
}
