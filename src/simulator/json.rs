//! A small JSON writer over byte buffers, for bodies written by hand: string literals, objects
//! whose keys are trusted ASCII literals, and [`Rendered`] rows laid back to back so that a run
//! of rows is one contiguous slice (a page is then a copy, not a re-render).

use std::ops::Range;

/// Rows rendered back to back with `,` between them, so rows `i..j` are one contiguous slice.
#[derive(Debug, Default)]
pub struct Rendered {
    buf: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Rendered {
    /// Render every item with `f`.
    pub fn build<T>(items: impl Iterator<Item = T>, mut f: impl FnMut(&mut Vec<u8>, T)) -> Self {
        let mut out = Self::default();
        for item in items {
            if !out.spans.is_empty() {
                out.buf.push(b',');
            }
            let start = out.buf.len();
            f(&mut out.buf, item);
            out.spans.push((start, out.buf.len()));
        }
        out
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// One row.
    pub fn row(&self, i: usize) -> &[u8] {
        let (a, b) = self.spans[i];
        &self.buf[a..b]
    }

    /// Every row joined by commas, without copying.
    pub fn into_joined(self) -> Vec<u8> {
        self.buf
    }

    /// Rows `range` joined by commas (empty for an empty range).
    pub fn rows(&self, range: Range<usize>) -> &[u8] {
        if range.is_empty() {
            return &[];
        }
        &self.buf[self.spans[range.start].0..self.spans[range.end - 1].1]
    }
}

/// Append `s` as a JSON string literal.
pub fn json_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    let bytes = s.as_bytes();
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[plain..i]);
        if escaped.is_empty() {
            buf.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            buf.extend_from_slice(escaped);
        }
        plain = i + 1;
    }
    buf.extend_from_slice(&bytes[plain..]);
    buf.push(b'"');
}

/// A JSON object being written; keys are trusted ASCII literals.
pub struct Obj<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    /// Open an object.
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        buf.push(b'{');
        Self { buf, first: true }
    }

    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
        self.buf
    }

    /// A string member.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        let buf = self.key(key);
        json_str(buf, value);
        self
    }

    /// An integer member.
    pub fn int(&mut self, key: &str, value: u64) -> &mut Self {
        let buf = self.key(key);
        buf.extend_from_slice(value.to_string().as_bytes());
        self
    }

    /// A number member, always with a decimal point (`1.0`, as the examples show).
    pub fn float(&mut self, key: &str, value: f64) -> &mut Self {
        let buf = self.key(key);
        // Debug formatting of a finite f64 is the shortest round-trip form and keeps ".0".
        buf.extend_from_slice(format!("{value:?}").as_bytes());
        self
    }

    /// A member whose value is already JSON.
    pub fn raw(&mut self, key: &str, json: &[u8]) -> &mut Self {
        let buf = self.key(key);
        buf.extend_from_slice(json);
        self
    }

    /// `"attributes":{"objectType":…}`.
    pub fn object_type(&mut self, object_type: &str) -> &mut Self {
        let buf = self.key("attributes");
        buf.extend_from_slice(b"{\"objectType\":");
        json_str(buf, object_type);
        buf.push(b'}');
        self
    }

    /// Close the object.
    pub fn end(&mut self) {
        self.buf.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_backslashes_and_control_characters() {
        let mut buf = Vec::new();
        json_str(&mut buf, "a\"b\\c\nd\u{1}é🚀");
        let s = String::from_utf8(buf).unwrap();
        assert_eq!(serde_json::from_str::<String>(&s).unwrap(), "a\"b\\c\nd\u{1}é🚀");
    }

    #[test]
    fn rendered_rows_slice_into_valid_json_arrays() {
        let r = Rendered::build(0..5u64, |buf, i| {
            Obj::new(buf).int("n", i).end();
        });
        let json = format!("[{}]", String::from_utf8_lossy(r.rows(1..4)));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 3);
        assert_eq!(r.rows(2..2), b"");
    }

    #[test]
    fn floats_keep_a_decimal_point() {
        let mut buf = Vec::new();
        Obj::new(&mut buf).float("a", 1.0).float("b", 57.14).end();
        assert_eq!(String::from_utf8(buf).unwrap(), r#"{"a":1.0,"b":57.14}"#);
    }
}
