//! [`Text`]: the immutable, cheaply cloned string of a row's labels.
//!
//! A run decodes hundreds of thousands of rows whose labels repeat: a customer's tenant id and
//! name on each of its rows, a product's id and name on every customer's rows. Decoding interns
//! them per page ([`Interner`]), so that equal labels share one allocation, and cloning a row (the
//! unused-licence join clones the commercial rows) copies pointers instead of strings.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable string shared by reference count; compares, hashes and orders as its `str`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

impl Text {
    /// The text as a `&str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the two share one allocation (what interning is for).
    pub fn shares_allocation_with(&self, other: &Text) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for Text {
    fn default() -> Self {
        // One shared empty string: rows have many empty fields.
        thread_local!(static EMPTY: Text = Text(Arc::from("")));
        EMPTY.with(Text::clone)
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Arc::from(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Arc::from(s))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        *self == *other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        **self == *other.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Text::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_compares_as_its_string_and_serializes_as_one() {
        let t = Text::from("Contoso");
        assert_eq!(t, "Contoso");
        assert_eq!("Contoso", t);
        assert_eq!(t, "Contoso".to_owned());
        let later = Text::from("Fabrikam");
        assert!(t < later, "ordered as strings");
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""Contoso""#);
        assert_eq!(serde_json::from_str::<Text>(r#""Contoso""#).unwrap(), t);
        assert_eq!(format!("{t} {t:?}"), r#"Contoso "Contoso""#);
        assert!(Text::default().is_empty());
    }

    #[test]
    fn clones_share_the_allocation_and_equal_texts_made_apart_do_not() {
        let t = Text::from("x");
        assert!(t.clone().shares_allocation_with(&t));
        assert!(!Text::from("x").shares_allocation_with(&t));
    }
}
