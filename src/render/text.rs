//! The text exposition format, written by hand: label values escaped, sample values spelled the
//! way Prometheus parses them, and one series per line. These run once per series per run, so
//! the common cases (values that need no escaping, whole numbers) take a fast path.

use std::fmt::Write as _;

/// Escape a label value per the text exposition format: backslash, double quote and line feed.
pub(crate) fn escape_label_value(out: &mut String, value: &str) {
    // Ids and most names need no escaping: copy them whole.
    if !value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Format a sample value the way Prometheus parses it (`+Inf`, `-Inf`, `NaN`, shortest float).
pub(crate) fn write_value(out: &mut String, value: f64) {
    // License counts are whole numbers: integer formatting is several times faster than the
    // shortest-float algorithm and gives the same text. 2^53 keeps the conversion exact.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if value.fract() == 0.0 && value.abs() < EXACT {
        // Writing to a String cannot fail.
        let _ = write!(out, "{}", value as i64);
    } else if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        // Debug is the shortest representation that parses back, with an exponent for very large
        // and very small values (Display would write 1e300 as 301 digits).
        let _ = write!(out, "{value:?}");
    }
}

/// `# HELP` and `# TYPE … gauge` of a family.
pub(crate) fn write_header(out: &mut String, name: &str, help: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// The constant parts of a family's series lines: `name{first="`, `",second="`, …, `"} `, so
/// that writing a series is a few copies and the label values.
pub(crate) struct SeriesTemplate {
    /// One piece before each label value.
    pieces: Vec<String>,
    /// What follows the last label value (or the name when there are no labels).
    end: String,
}

impl SeriesTemplate {
    pub(crate) fn new(name: &str, labels: &[&str]) -> Self {
        let mut pieces = Vec::with_capacity(labels.len());
        for (i, label) in labels.iter().enumerate() {
            let before = if i == 0 {
                format!("{name}{{")
            } else {
                "\",".to_owned()
            };
            pieces.push(format!("{before}{label}=\""));
        }
        let end = if labels.is_empty() {
            format!("{name} ")
        } else {
            "\"} ".to_owned()
        };
        Self { pieces, end }
    }

    /// One series line: the label values in the template's order, then the value.
    pub(crate) fn write(&self, out: &mut String, values: &[&str], value: f64) {
        for (piece, v) in self.pieces.iter().zip(values) {
            out.push_str(piece);
            escape_label_value(out, v);
        }
        out.push_str(&self.end);
        write_value(out, value);
        out.push('\n');
    }

    /// Like [`SeriesTemplate::write`], with label values escaped already.
    pub(crate) fn write_escaped(&self, out: &mut String, values: &[&str], value: f64) {
        for (piece, v) in self.pieces.iter().zip(values) {
            out.push_str(piece);
            out.push_str(v);
        }
        out.push_str(&self.end);
        write_value(out, value);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_float_values_use_the_exposition_spelling() {
        let mut s = String::new();
        for v in [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            0.25,
            12.0,
            -3.0,
            1e300,
            0.1 + 0.2,
        ] {
            write_value(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, "+Inf -Inf NaN 0.25 12 -3 1e300 0.30000000000000004 ");
    }

    #[test]
    fn label_values_with_quotes_backslashes_and_newlines_are_escaped() {
        let mut s = String::new();
        escape_label_value(&mut s, "A \"B\" \\ C\nD — Zürich");
        assert_eq!(s, r#"A \"B\" \\ C\nD — Zürich"#);
    }

    #[test]
    fn a_template_writes_name_labels_and_value() {
        let t = SeriesTemplate::new("m", &["a", "b"]);
        let mut s = String::new();
        t.write(&mut s, &["x", "y\"z"], 2.0);
        SeriesTemplate::new("n", &[]).write(&mut s, &[], 0.5);
        assert_eq!(s, "m{a=\"x\",b=\"y\\\"z\"} 2\nn 0.5\n");
    }
}
