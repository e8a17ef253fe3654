//! Tolerant decoding of Partner Center bodies: a leading BOM, strings that may be `null` or
//! numbers, counts that may be numeric strings, timestamps with or without an offset; and the
//! snippets of undecodable bodies that error messages quote.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use foldhash::fast::RandomState;
use serde::Deserialize;
use serde::de::{self, Deserializer, Unexpected, Visitor};

use crate::model::Text;

/// How many bytes of an undecodable body an error message quotes.
pub(crate) const SNIPPET_BYTES: usize = 200;

/// The body without a leading UTF-8 byte order mark, which serde_json rejects.
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// The first [`SNIPPET_BYTES`] bytes of a body as text (lossy UTF-8), for error messages.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let bytes = strip_bom(bytes);
    let cut = &bytes[..bytes.len().min(SNIPPET_BYTES)];
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > SNIPPET_BYTES {
        text.push('…');
    }
    text
}

/// Parses a JSON body after stripping a BOM. A key that appears twice in one object (which
/// serde's derived structs refuse as a "duplicate field", failing the whole page) takes its last
/// value, as JavaScript's `JSON.parse` does: on that error the body is parsed again through
/// `serde_json::Value`, whose maps keep the last value. Only such pages pay for the second parse.
pub(crate) fn from_body<T: de::DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let _interning = Interning::start();
    let bytes = strip_bom(bytes);
    // Checking the whole body's UTF-8 at once is cheaper than serde_json checking each of the
    // hundred thousand strings of a page on its own; a body that is not UTF-8 goes the slow way,
    // so that the error names the position.
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    };
    match parsed {
        Err(e) if e.is_data() && e.to_string().starts_with("duplicate field") => {
            let value: serde_json::Value = serde_json::from_slice(bytes)?;
            serde_json::from_value(value)
        }
        other => other,
    }
}

/// A GUID as the rest of the crate compares it: trimmed and lower-case.
pub(crate) fn guid(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

// ----- interning -----

thread_local! {
    /// The labels decoded so far in this thread's current [`from_body`] (`None` outside one).
    static INTERNED: RefCell<Option<HashSet<Text, RandomState>>> = const { RefCell::new(None) };
}

/// The interning of one body's labels: equal labels of a page's rows (a customer's id and name on
/// each of its rows, a product's on every customer's) share one allocation. Scoped to one body,
/// on the thread decoding it, so that it needs no lock and keeps nothing once the page is decoded.
struct Interning {
    /// Whether this call started the scope (a nested `from_body` leaves the outer one's alone).
    outer: bool,
}

impl Interning {
    fn start() -> Self {
        let outer =
            INTERNED.with_borrow_mut(|set| set.is_none().then(|| *set = Some(HashSet::default())).is_some());
        Interning { outer }
    }
}

impl Drop for Interning {
    fn drop(&mut self) {
        if self.outer {
            INTERNED.with_borrow_mut(|set| *set = None);
        }
    }
}

/// `s` as a [`Text`], shared with an equal label decoded earlier in the same body.
fn intern(s: &str) -> Text {
    if s.is_empty() {
        return Text::default();
    }
    INTERNED.with_borrow_mut(|set| match set {
        Some(set) => match set.get(s) {
            Some(t) => t.clone(),
            None => {
                let t = Text::from(s);
                set.insert(t.clone());
                t
            }
        },
        None => Text::from(s),
    })
}

/// [`guid`] of a decoded label: the label itself (still shared) when it already is trimmed and
/// lower-case, as it always is; else a new one.
pub(crate) fn guid_text(t: Text) -> Text {
    let clean = t.trim().len() == t.len() && !t.bytes().any(|b| b.is_ascii_uppercase());
    if clean { t } else { guid(&t).into() }
}

// ----- field decoders -----

/// What [`text`] and [`label`] make of a field's string: an owned `String`, or an interned [`Text`].
trait Lenient: Sized {
    fn from_str(s: &str) -> Self;
    fn from_string(s: String) -> Self;
}

impl Lenient for String {
    fn from_str(s: &str) -> Self {
        s.to_owned()
    }
    fn from_string(s: String) -> Self {
        s
    }
}

impl Lenient for Text {
    fn from_str(s: &str) -> Self {
        intern(s)
    }
    fn from_string(s: String) -> Self {
        intern(&s)
    }
}

/// A string that may also be `null` (→ empty) or, against the docs, a number or a boolean.
struct LenientVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for LenientVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, a number or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::from_str(v))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        Ok(T::from_string(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(T::from_string(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::from_string(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Ok(T::from_string(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        Ok(T::from_string(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::from_str(""))
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::from_str(""))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
}

/// A string field that may also be `null` (→ empty) or, against the docs, a number or a boolean
/// (analytics-resources.md types `workloadName` as a number).
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(LenientVisitor(std::marker::PhantomData))
}

/// [`text`] as an interned [`Text`], for the labels of the analytics rows.
pub(crate) fn label<'de, D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
    d.deserialize_any(LenientVisitor(std::marker::PhantomData))
}

/// Like [`text`], but `null`, absent and empty all mean "no value".
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = text(d)?;
    Ok(Some(s).filter(|s| !s.trim().is_empty()))
}

/// A number sent as a JSON number or as a numeric string; `null` and `""` mean "no value".
pub(crate) fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct CountVisitor;
    impl<'de> Visitor<'de> for CountVisitor {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number, a numeric string or null")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<f64>, E> {
            Ok(Some(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<f64>, E> {
            Ok(Some(v as f64))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<f64>, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<f64>, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            match t.parse::<f64>() {
                // "NaN" and "inf" parse as f64 but are not counts.
                Ok(n) if n.is_finite() => Ok(Some(n)),
                _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<f64>, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<f64>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<f64>, D::Error> {
            d.deserialize_any(CountVisitor)
        }
    }
    d.deserialize_any(CountVisitor)
}

/// A boolean sent as `true`/`false`, as text (`"true"`, `"False"`), as `0`/`1`, or `null`
/// (→ `None`). Anything else is `None` too: a flag is never worth failing an item for.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(match value {
        serde_json::Value::Bool(b) => Some(b),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        serde_json::Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

/// A timestamp string; see [`parse_timestamp`]. An unparseable value becomes `None` rather than
/// failing the whole page: `processed_at` is metadata, and losing it is visible in the metrics.
/// Read straight from the body's text, without an intermediate `String`: every row has one.
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    struct TimestampVisitor;
    impl<'de> Visitor<'de> for TimestampVisitor {
        type Value = Option<DateTime<Utc>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a timestamp string or null")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let v = v.trim();
            if v.is_empty() {
                return Ok(None);
            }
            let parsed = parse_timestamp(v);
            if parsed.is_none() {
                tracing::debug!(value = %v, "ignoring a processedDateTime in an unknown format");
            }
            Ok(parsed)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(TimestampVisitor)
        }
    }
    d.deserialize_any(TimestampVisitor)
}

/// Parses `2017-03-14T03:25:16.36+00:00`, `2018-10-14T00:00:00Z`, `2018-10-14T00:00:00` (UTC
/// assumed), `2018-10-14 00:00:00`, `+0000`-style offsets and plain dates.
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Some(t) = parse_iso_fast(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// The shapes Partner Center sends on every row, parsed by hand: `YYYY-MM-DD`, `T` or a space,
/// `HH:MM:SS`, an optional fraction, and an optional `Z`, `±HH:MM` or `±HHMM`. Trying chrono's
/// formats one after another cost several times more, and there is one timestamp per row.
/// Anything else (or an invalid date) is `None`, and [`parse_timestamp`] tries the slow way.
fn parse_iso_fast(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let time = chrono::NaiveTime::from_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)?;
    let offset_seconds: i64 = match &b[i..] {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [_, _, b':', _, _] => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                [_, _, _, _] => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                _ => return None,
            };
            let seconds = i64::from(h * 3600 + m * 60);
            if *sign == b'+' { seconds } else { -seconds }
        }
        _ => return None,
    };
    let local = NaiveDateTime::new(date, time).and_utc();
    local.checked_sub_signed(chrono::TimeDelta::seconds(offset_seconds))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[derive(Deserialize)]
    struct Row {
        #[serde(deserialize_with = "label")]
        tenant: Text,
        #[serde(deserialize_with = "label")]
        name: Text,
    }

    #[test]
    fn equal_labels_of_one_body_share_one_allocation() {
        let rows: Vec<Row> = from_body(
            br#"[{"tenant":"t1","name":"Contoso"},{"tenant":"t1","name":"Contoso"},{"tenant":"t2","name":7}]"#,
        )
        .unwrap();
        assert!(rows[0].tenant.shares_allocation_with(&rows[1].tenant));
        assert!(rows[0].name.shares_allocation_with(&rows[1].name));
        assert_eq!((rows[2].tenant.as_str(), rows[2].name.as_str()), ("t2", "7"));
        assert!(!rows[0].tenant.shares_allocation_with(&rows[2].tenant));
    }

    #[test]
    fn interning_ends_with_its_body() {
        let first: Vec<Row> = from_body(br#"[{"tenant":"t1","name":"a"}]"#).unwrap();
        let second: Vec<Row> = from_body(br#"[{"tenant":"t1","name":"a"}]"#).unwrap();
        assert!(!first[0].tenant.shares_allocation_with(&second[0].tenant));
        // Outside a body nothing is kept.
        assert!(!intern("t1").shares_allocation_with(&intern("t1")));
        INTERNED.with_borrow(|set| assert!(set.is_none()));
    }

    #[test]
    fn guid_labels_are_trimmed_and_lower_cased_and_clean_ones_kept_as_they_are() {
        let clean = Text::from("4a5b-c0de");
        assert!(guid_text(clean.clone()).shares_allocation_with(&clean));
        assert_eq!(guid_text(Text::from(" 4A5B-C0DE ")), "4a5b-c0de");
    }

    #[test]
    fn timestamps_with_and_without_offsets_are_utc() {
        let midnight = Utc.with_ymd_and_hms(2018, 10, 14, 0, 0, 0).unwrap();
        assert_eq!(parse_timestamp("2018-10-14T00:00:00"), Some(midnight));
        assert_eq!(parse_timestamp("2018-10-14T00:00:00Z"), Some(midnight));
        assert_eq!(parse_timestamp("2018-10-14T02:00:00+02:00"), Some(midnight));
        assert_eq!(parse_timestamp("2018-10-14T02:00:00+0200"), Some(midnight));
        assert_eq!(parse_timestamp("2018-10-14 00:00:00"), Some(midnight));
        assert_eq!(parse_timestamp("2018-10-14"), Some(midnight));
        let fractional = parse_timestamp("2017-03-14T03:25:16.36+00:00").unwrap();
        assert_eq!(fractional.timestamp_millis(), 1_489_461_916_360);
        assert_eq!(
            parse_timestamp("2017-03-14T03:25:16.3600000").map(|t| t.timestamp_millis()),
            Some(1_489_461_916_360)
        );
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(
            parse_timestamp("2018-10-14T01:30:00-01:30"),
            parse_timestamp("2018-10-14T03:00:00Z")
        );
        assert_eq!(
            parse_timestamp("2018-10-14T00:00"),
            Some(midnight),
            "minutes only: the slow way"
        );
    }

    #[test]
    fn the_fast_path_agrees_with_chrono_and_refuses_what_it_does_not_know() {
        for s in [
            "2026-11-21T00:00:00",
            "2026-11-21T00:00:00Z",
            "2026-11-21 13:14:15.123456789+05:30",
            "2026-11-21T13:14:15.1234567891-0800",
            "2017-03-14T03:25:16.36+00:00",
            "2024-02-29T23:59:59.5",
        ] {
            let slow = DateTime::parse_from_rfc3339(&s.replace(' ', "T"))
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%z").map(|t| t.with_timezone(&Utc))
                })
                .or_else(|_| {
                    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z").map(|t| t.with_timezone(&Utc))
                })
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc()))
                .ok();
            assert_eq!(parse_iso_fast(s), slow, "{s}");
            assert!(slow.is_some(), "{s}");
        }
        for s in [
            "2023-02-29T00:00:00",
            "2026-13-01T00:00:00",
            "2026-11-21T25:00:00",
            "2026-11-21T00:00:00.",
            "2026-11-21T00:00:00+1",
            "2026-11-21T00:00:00 UTC",
            "2026-11-2",
        ] {
            assert_eq!(parse_iso_fast(s), None, "{s}");
        }
    }

    #[test]
    fn flags_accept_booleans_text_and_numbers_and_ignore_the_rest() {
        #[derive(serde::Deserialize)]
        struct F {
            #[serde(default, deserialize_with = "flag")]
            f: Option<bool>,
        }
        let f = |json: &str| serde_json::from_str::<F>(json).unwrap().f;
        assert_eq!(f(r#"{"f": true}"#), Some(true));
        assert_eq!(f(r#"{"f": " False "}"#), Some(false));
        assert_eq!(f(r#"{"f": 1}"#), Some(true));
        assert_eq!(f(r#"{"f": null}"#), None);
        assert_eq!(f(r#"{"f": "maybe"}"#), None);
        assert_eq!(f(r#"{"f": [1]}"#), None);
        assert_eq!(f("{}"), None);
    }

    #[test]
    fn snippets_are_truncated_lossy_text() {
        let mut body = b"\xEF\xBB\xBF<html>\xFF".to_vec();
        body.extend(std::iter::repeat_n(b'a', 500));
        let s = snippet(&body);
        assert!(s.starts_with("<html>\u{FFFD}"), "{s}");
        assert!(s.ends_with('…'));
        assert!(s.chars().count() <= SNIPPET_BYTES + 1);
    }
}
