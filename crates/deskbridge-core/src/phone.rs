//! Phone numbers as the contact center sees them.
//!
//! Every number that enters deskbridge goes through [`Phone::parse`] exactly once, at
//! the edge. After that the rest of the code only sees one of three things: a number
//! in E.164 form (the only form that is ever matched against contacts), a caller who
//! withheld their number, or something we could not understand. The last kind is
//! kept exactly as given so it can still be shown to an agent, but it never matches a
//! contact: guessing would attach one customer's call to another customer.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id as CountryId;
use serde::{Deserialize, Serialize};

/// A default region (ISO 3166 alpha-2, e.g. `US`, `GB`, `DE`) used for numbers that
/// are written without a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(CountryId);

impl Region {
    pub const US: Region = Region(CountryId::US);

    pub fn code(&self) -> String {
        format!("{:?}", self.0)
    }
}

impl Default for Region {
    fn default() -> Self {
        Region::US
    }
}

/// A region code that libphonenumber does not know.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown region {0:?}: use a two-letter ISO 3166 country code such as \"US\", \"GB\" or \"DE\""
)]
pub struct UnknownRegion(pub String);

impl FromStr for Region {
    type Err = UnknownRegion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        CountryId::from_str(&upper)
            .map(Region)
            .map_err(|_| UnknownRegion(s.to_string()))
    }
}

/// A phone number, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phone {
    /// A valid number in E.164 form, e.g. `+14155550100`.
    E164(String),
    /// The caller withheld their number (`anonymous`, `withheld`, `private`, ...).
    Anonymous,
    /// Not a number we can trust; kept as given, never matched.
    Invalid(String),
}

/// Words PBXs and carriers use for a withheld or missing caller id.
const WITHHELD: &[&str] = &[
    "",
    "anonymous",
    "withheld",
    "private",
    "restricted",
    "unknown",
    "unavailable",
    "unavailable caller",
    "blocked",
    "no caller id",
    "clid withheld",
];

impl Phone {
    /// Normalizes `raw` as written by a PBX, a carrier or a person.
    ///
    /// Accepts `+`, `00` and the region's own international prefix, trunk prefixes
    /// (`0` in most of Europe, `1` in NANP), spaces, dashes, dots, parentheses, a
    /// `(0)` written after the country code, and `sip:`/`tel:` URIs.
    pub fn parse(raw: &str, region: Region) -> Phone {
        let text = strip_uri(raw.trim());
        if WITHHELD.contains(&text.to_ascii_lowercase().as_str()) {
            return Phone::Anonymous;
        }
        if !text.chars().any(|c| c.is_ascii_digit()) {
            return Phone::Invalid(raw.to_string());
        }
        let cleaned = clean(text);
        match read(&cleaned, region) {
            Some(number) if phonenumber::is_valid(&number) || possible_international(&number) => {
                Phone::E164(number.format().mode(phonenumber::Mode::E164).to_string())
            }
            _ => Phone::Invalid(raw.to_string()),
        }
    }

    /// The E.164 form, when the number is one we can match on.
    pub fn e164(&self) -> Option<&str> {
        match self {
            Phone::E164(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, Phone::Anonymous)
    }

    /// How the number is stored and shown: E.164, `anonymous`, or the raw text.
    pub fn as_str(&self) -> &str {
        match self {
            Phone::E164(s) | Phone::Invalid(s) => s,
            Phone::Anonymous => "anonymous",
        }
    }

    /// The country of an E.164 number and its national significant number
    /// (`+14155550100` → `US`, `4155550100`): what a helpdesk search must ask for
    /// when numbers were typed without the country code. `None` for anything
    /// libphonenumber cannot place.
    pub fn national(e164: &str) -> Option<(Region, String)> {
        let number = phonenumber::parse(None, e164).ok()?;
        let region = number.country().id()?;
        let national = number.national();
        let zeros = "0".repeat(national.zeros() as usize);
        Some((Region(region), format!("{zeros}{}", national.value())))
    }

    /// The ways a person most often types `e164` into a helpdesk, for a
    /// helpdesk whose search matches numbers only as typed (Freshdesk): as
    /// given, without the `+`, the national digits with the trunk prefix,
    /// and libphonenumber's national and international formats. Empty when
    /// `e164` is no number.
    pub fn spellings(e164: &str) -> Vec<String> {
        let Ok(number) = phonenumber::parse(None, e164) else {
            return Vec::new();
        };
        let national = phonenumber::format(&number)
            .mode(phonenumber::Mode::National)
            .to_string();
        let international = phonenumber::format(&number)
            .mode(phonenumber::Mode::International)
            .to_string();
        let digits: String = national.chars().filter(char::is_ascii_digit).collect();
        let mut all = vec![
            e164.to_string(),
            e164.trim_start_matches('+').to_string(),
            digits,
            national,
            international,
        ];
        let mut seen = std::collections::HashSet::new();
        all.retain(|s| !s.is_empty() && seen.insert(s.clone()));
        all
    }

    /// Reads back a value written by [`Phone::as_str`] (from the database).
    pub fn from_stored(s: &str) -> Phone {
        if s == "anonymous" {
            Phone::Anonymous
        } else if s.starts_with('+') && s.len() > 1 && s[1..].bytes().all(|b| b.is_ascii_digit()) {
            Phone::E164(s.to_string())
        } else {
            Phone::Invalid(s.to_string())
        }
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Phone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Phone::from_stored(&s))
    }
}

/// A phone shows as one string: E.164, `anonymous`, or the text as given.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Phone {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "E.164 (`+14155550100`), `anonymous` for a withheld number, or the text as \
                 given when it is not a valid number",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Phone {}

/// The number `text` is, read in `region`. The `phonenumber` crate (0.3)
/// reads the national number of a number written with a country code by the
/// *default region's* rules: in `US`, `+49 151 ...` loses the `1` as if it
/// were a US trunk prefix (`+49 51 ...`: another number, and for a possible
/// one another person). So a number written with a country code is read
/// again without the region, from its own `+` (a leading international
/// prefix of the region, such as `011` in the US, turned into one).
fn read(text: &str, region: Region) -> Option<phonenumber::PhoneNumber> {
    use phonenumber::country::Source;
    let number = phonenumber::parse(Some(region.0), text).ok()?;
    match number.code().source() {
        Source::Plus => phonenumber::parse(None, text).ok(),
        Source::Idd => {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            let meta = phonenumber::metadata::DATABASE.by_id(region.code().as_str())?;
            let idd = meta.international_prefix()?.find(&digits)?;
            match idd.start() {
                0 => phonenumber::parse(None, format!("+{}", &digits[idd.end()..])).ok(),
                _ => Some(number),
            }
        }
        _ => Some(number),
    }
}

/// A number written with its country code (`+`, `00` or the region's
/// international prefix) that libphonenumber finds *possible* (a length some
/// number of that country has) though not *valid* (in no range it knows): new
/// ranges, test numbers, the numbers of Zammad's own CTI fixtures
/// (`+4912347114711`). DESIGN's convention normalizes it to `+digits`, so the
/// caller of such a number is matched exactly, by calls and by the CRM alike
/// (both read numbers with [`Phone::parse`]). A number written nationally must
/// be valid: without a country code, a possible length proves nothing.
fn possible_international(number: &phonenumber::PhoneNumber) -> bool {
    use phonenumber::country::Source;
    if !matches!(number.code().source(), Source::Plus | Source::Idd) {
        return false;
    }
    let national = number.national();
    let digits = national.zeros() as usize + national.value().to_string().len();
    let Ok(length) = u16::try_from(digits) else {
        return false;
    };
    let Some(regions) = phonenumber::metadata::DATABASE.by_code(&number.code().value()) else {
        return false;
    };
    // As libphonenumber judges it: by the lengths of the code's main country
    // (the US for +1), its general lengths being those of every number type.
    let main = regions
        .iter()
        .find(|meta| meta.is_main_country_for_code())
        .or(regions.first());
    main.is_some_and(|meta| {
        let d = meta.descriptors();
        [
            Some(d.general()),
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .any(|desc| desc.possible_length().contains(&length))
    })
}

/// `sip:+4930123@pbx.example;user=phone` and `tel:+1-415-555-0100` carry the number in
/// their user part.
fn strip_uri(text: &str) -> &str {
    let scheme_len = ["sip:", "sips:", "tel:"].iter().find_map(|scheme| {
        text.get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .map(|_| scheme.len())
    });
    let Some(len) = scheme_len else {
        return text;
    };
    let rest = &text[len..];
    let end = rest.find(['@', ';']).unwrap_or(rest.len());
    &rest[..end]
}

/// Removes the written `(0)` trunk hint that follows a country code
/// (`+49 (0) 30 ...`), and turns a leading `00` into `+`, which libphonenumber then
/// reads as an international number in any region.
fn clean(text: &str) -> String {
    let mut out = text.replace("(0)", "");
    let digits_start = out.trim_start();
    if let Some(rest) = digits_start.strip_prefix("00") {
        out = format!("+{rest}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> Region {
        "DE".parse().unwrap()
    }

    #[test]
    fn a_numbers_spellings_are_the_ways_people_type_it() {
        assert_eq!(
            Phone::spellings("+14155550123"),
            [
                "+14155550123",
                "14155550123",
                "4155550123",
                "(415) 555-0123",
                "+1 415-555-0123"
            ]
        );
        assert_eq!(
            Phone::spellings("+442079460000"),
            [
                "+442079460000",
                "442079460000",
                "02079460000",
                "020 7946 0000",
                "+44 20 7946 0000"
            ]
        );
        assert!(Phone::spellings("anonymous").is_empty());
    }

    #[test]
    fn the_national_number_of_an_e164() {
        let (region, national) = Phone::national("+14155550100").unwrap();
        assert_eq!((region, national.as_str()), (Region::US, "4155550100"));
        let (region, national) = Phone::national("+442079460958").unwrap();
        assert_eq!(
            (region.code(), national.as_str()),
            ("GB".into(), "2079460958")
        );
        assert_eq!(Phone::national("anonymous"), None);
    }

    #[test]
    fn formats_from_the_field() {
        let us = Region::US;
        let cases = [
            ("+1 (415) 555-0100", us, "+14155550100"),
            ("415-555-0100", us, "+14155550100"),
            ("(415) 555 0100", us, "+14155550100"),
            ("1-888-407-4747", us, "+18884074747"),
            ("001 415 555 0100", de(), "+14155550100"),
            ("+44 20 7946 0958", us, "+442079460958"),
            ("020 7946 0958", "GB".parse().unwrap(), "+442079460958"),
            ("030 60000000", de(), "+493060000000"),
            ("+49 (0) 30 60 00 00 00-0", de(), "+4930600000000"),
            ("022 1234567", de(), "+49221234567"),
            ("sip:+14155550100@pbx.example.com", us, "+14155550100"),
            ("tel:+1-415-555-0100", us, "+14155550100"),
        ];
        for (raw, region, want) in cases {
            assert_eq!(
                Phone::parse(raw, region),
                Phone::E164(want.to_string()),
                "{raw}"
            );
        }
    }

    #[test]
    fn withheld_numbers() {
        for raw in [
            "anonymous",
            "Anonymous",
            "withheld",
            "PRIVATE",
            "unknown",
            "",
            "  ",
        ] {
            assert_eq!(Phone::parse(raw, Region::US), Phone::Anonymous, "{raw:?}");
        }
    }

    #[test]
    fn invalid_numbers_are_kept_as_given() {
        for raw in ["12", "hello", "+999 1234", "555-01"] {
            assert_eq!(
                Phone::parse(raw, Region::US),
                Phone::Invalid(raw.to_string())
            );
            assert_eq!(Phone::parse(raw, Region::US).e164(), None);
        }
    }

    /// Possible but not valid numbers written internationally, from Zammad's
    /// CTI request spec (zammad/zammad, spec/requests/integration/cti_spec.rb:
    /// the caller `4912347114711`, the caller id `41715880339000`), are
    /// normalized; written nationally, or impossible, they are kept as given.
    #[test]
    fn possible_international_numbers_are_normalized() {
        for (raw, want) in [
            ("+4912347114711", "+4912347114711"),
            ("0049 1234 7114711", "+4912347114711"),
            ("+41715880339000", "+41715880339000"),
            ("+4930600000000", "+4930600000000"),
        ] {
            assert_eq!(Phone::parse(raw, de()), Phone::E164(want.into()), "{raw}");
            assert_eq!(
                Phone::parse(raw, Region::US),
                Phone::E164(want.into()),
                "{raw}"
            );
        }
        // Read by the number's own country's rules, not the region's: the US
        // trunk prefix `1` is not stripped from a German number.
        assert_eq!(
            Phone::parse("+49 151 12345678", Region::US),
            Phone::E164("+4915112345678".into())
        );
        assert_eq!(
            Phone::parse("011 49 1234 7114711", Region::US),
            Phone::E164("+4912347114711".into())
        );
        for raw in ["012347114711", "+49 1", "+999 1234", "+1 555 0100"] {
            assert_eq!(Phone::parse(raw, de()), Phone::Invalid(raw.into()), "{raw}");
        }
    }

    #[test]
    fn region_codes() {
        assert_eq!("gb".parse::<Region>().unwrap().code(), "GB");
        assert!("XX".parse::<Region>().is_err());
    }

    #[test]
    fn stored_form_round_trips() {
        for p in [
            Phone::E164("+14155550100".into()),
            Phone::Anonymous,
            Phone::Invalid("12x".into()),
        ] {
            assert_eq!(Phone::from_stored(p.as_str()), p);
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Valid US numbers: NXX-NXX-XXXX with a real-looking area code.
        fn us_number() -> impl Strategy<Value = (u32, u32, u32)> {
            (201u32..990, 200u32..999, 0u32..10000).prop_filter(
                "valid in libphonenumber",
                |(a, e, s)| {
                    // Valid, not only possible: written nationally, a possible
                    // number is kept as given.
                    phonenumber::parse(None, format!("+1{a}{e}{s:04}"))
                        .is_ok_and(|n| phonenumber::is_valid(&n))
                },
            )
        }

        proptest! {
            #[test]
            fn every_written_form_normalizes_the_same((a, e, s) in us_number(), sep in prop::sample::select(vec![" ", "-", ".", ""])) {
                let canonical = Phone::parse(&format!("+1{a}{e}{s:04}"), Region::US);
                let forms = [
                    format!("({a}){sep}{e}{sep}{s:04}"),
                    format!("{a}{sep}{e}{sep}{s:04}"),
                    format!("1{sep}{a}{sep}{e}{sep}{s:04}"),
                    format!("+1{sep}{a}{sep}{e}{sep}{s:04}"),
                    format!("001{sep}{a}{sep}{e}{sep}{s:04}"),
                ];
                for form in forms {
                    let region = if form.starts_with("00") { "DE".parse().unwrap() } else { Region::US };
                    prop_assert_eq!(Phone::parse(&form, region), canonical.clone(), "{}", form);
                }
            }

            #[test]
            fn normalizing_is_idempotent(raw in "[+0-9 ()-]{0,20}") {
                let once = Phone::parse(&raw, Region::US);
                if let Phone::E164(e) = &once {
                    prop_assert_eq!(Phone::parse(e, Region::US), once.clone());
                    prop_assert!(e.starts_with('+') && e[1..].bytes().all(|b| b.is_ascii_digit()));
                }
            }

            #[test]
            fn never_panics(raw in "\\PC{0,40}") {
                let _ = Phone::parse(&raw, Region::US);
            }
        }
    }
}
